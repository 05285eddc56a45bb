"""load_demo: build (or top up) the demo retailer and print the logins."""
import time

from django.core.management.base import BaseCommand

from controltower.demo.retailer import DEMO_PASSWORD, SIZES, load_demo, roll_up_kpis


class Command(BaseCommand):
    help = "Load the demo retailer and roll up its KPIs (idempotent: a second run tops up master data and users, posts no events)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument("--size", choices=SIZES, default="full",
                            help="full (default: the simulator's retailer) or small (the tests' hand-written one).")

    def handle(self, *args, seed, size, **options):
        started = time.monotonic()
        report = load_demo(seed=seed, size=size)
        elapsed = time.monotonic() - started
        started = time.monotonic()
        rollup = roll_up_kpis(report)
        rolled_in = time.monotonic() - started
        out = self.stdout
        created = ", ".join(f"{n} {noun}" for noun, n in report.created.items() if n) or "nothing new"
        out.write(f"Demo data (seed {seed}, size {size}) in {elapsed:.1f} s. Created: {created}.")
        if report.events_loaded:
            counts = ", ".join(f"{n} {status}" for status, n in report.ingest.items())
            batches = f" in {report.batches} batches" if report.batches else ""  # the simulator's are its pushes
            out.write(f"Posted events through the ledger{batches}: {counts}.")
        else:
            out.write(
                "Demo events were already in the ledger: none posted "
                "(for fresh times start from an empty database: make clean demo)."
            )
        out.write("In the database: " + ", ".join(f"{n} {noun}" for noun, n in report.totals.items()) + ".")
        out.write(f"KPI rollups: {rollup['days']} day(s), {rollup['rows']} row(s) written in {rolled_in:.1f} s.")
        if report.tokens:
            out.write("\nAPI tokens issued now (shown once; send as 'Authorization: Token <token>'):")
            for code, raw in report.tokens.items():
                out.write(f"  {code:<15} {raw}")
        else:
            out.write(
                "Every demo source already has an API token; if one is lost, "
                "`manage.py add_source CODE --kind KIND` issues a new one."
            )
        out.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        out.write(f"  {'username':<16} {'role':<20} scope")
        for username, role, scope in report.logins:
            out.write(f"  {username:<16} {role:<20} {scope}")
