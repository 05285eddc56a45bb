"""simulate: generate a retailer and run it through simulated time with
injected faults (rollout.simulator); --score measures what the tower caught."""
import time

import orjson

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rollout.models import Simulation
from rollout.simulator import SimulationExists, score, simulate
from rollout.simulator.faults import FAULTS, RatesError, parse_rates


class Command(BaseCommand):
    help = ("Generate a simulated retailer and run it through time with injected faults, posting everything "
            "through the tower's ingest services; --score runs every detector and scores what it caught.")

    def add_arguments(self, parser):
        parser.add_argument("--stores", type=int, help="Stores (default 12).")
        parser.add_argument("--skus", type=int, help="SKUs (default 200).")
        parser.add_argument("--days", type=int, help="Simulated days (default 28).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1): a seed gives the same run.")
        parser.add_argument("--faults", default=None, metavar="RATES",
                            help="KIND=RATE,... over the defaults; 0 for a clean run. Kinds: " + ", ".join(FAULTS))
        parser.add_argument("--score", action="store_true",
                            help="Score the simulation (after running one when --stores, --skus or --days is given).")
        parser.add_argument("--score-json", metavar="FILE", help="Also write the score to FILE as JSON.")

    def handle(self, *args, stores, skus, days, seed, faults, score: bool, score_json=None, **options):
        console = Console(file=self.stdout, force_terminal=False, width=110)
        run_one = not (score or score_json) or any(v is not None for v in (stores, skus, days)) or faults is not None
        if run_one:
            try:
                rates = parse_rates(faults)
            except RatesError as exc:
                raise CommandError(str(exc)) from None
            self._simulate(console, stores or 12, skus or 200, days or 28, seed, rates)
        if score or score_json:
            result = self._score(console)
            if score_json:
                with open(score_json, "wb") as handle:
                    handle.write(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2))

    def _simulate(self, console, stores, skus, days, seed, rates):
        started = time.monotonic()
        columns = (TextColumn("Simulating"), BarColumn(), MofNCompleteColumn(), TextColumn("days"),
                   TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("days", total=days)
            try:
                simulation = simulate(stores, skus, days, seed, rates,
                                      progress=lambda done: progress.update(task, completed=done))
            except (SimulationExists, ValueError) as exc:
                raise CommandError(str(exc)) from None
        summary = simulation.summary
        console.print(f"Simulated {stores} stores, a DC and a web node, {skus} SKUs, {days} days "
                      f"(seed {seed}) in {time.monotonic() - started:.1f} s, "
                      f"{simulation.starts_at:%Y-%m-%d} to {simulation.ends_at:%Y-%m-%d %H:%M} UTC (simulated).")
        sent = ", ".join(f"{n:,} {what}" for what, n in summary["sent"].items())
        answers = ", ".join(f"{n:,} {status}" for status, n in summary["answers"].items())
        console.print(f"Sent: {sent}. The tower answered: {answers}. Its scheduled runs: {summary['tower_runs']}.")
        console.print(f"Sales: {summary['sales']:,} lines over {summary['sold_pairs']:,} store x SKU pairs. "
                      f"Pilot live: {', '.join(summary['pilot'])}; both tills at {summary['coexisting']}.")
        injected = ", ".join(f"{n} {kind}" for kind, n in summary["faults"].items()) or "none (a clean run)"
        console.print(f"Faults injected (the ground truth): {injected}.")

    def _score(self, console):
        if not Simulation.objects.exists():
            raise CommandError("No simulation in this database: run manage.py simulate first.")
        started = time.monotonic()
        result = score()
        table = Table(title=f"What the tower caught (scored in {time.monotonic() - started:.1f} s)")
        for column in ("fault kind", "nature", "injected", "found", "recall", "target", ""):
            table.add_column(column, justify="right" if column in ("injected", "found", "recall", "target") else "left")
        for kind in result.kinds:
            recall = "-" if kind.recall is None else f"{kind.recall:.0%}"
            verdict = "" if kind.met is None else ("met" if kind.met else "BELOW TARGET")
            table.add_row(kind.kind, kind.nature, str(kind.injected), str(kind.found), recall,
                          f"{kind.target:.0%}", verdict)
        console.print(table)
        confounded = sum(kind.confounded for kind in result.kinds)
        if confounded:
            console.print(f"Not scored: {confounded} late replay(s) at a pair another fault moved (confounded).")
        precision = "-" if result.precision is None else f"{result.precision:.1%}"
        share = "-" if result.false_share is None else f"{result.false_share:.2%}"
        console.print(f"Cases: {result.cases}; matching no injected fault: {result.false_cases} "
                      f"(precision {precision}); false cases over the {result.sold_pairs:,} store x SKU pairs "
                      f"that sold: {share} (target under 2%).")
        if result.false_by_kind:
            console.print("False cases by kind: " + ", ".join(
                f"{kind} {n}" for kind, n in sorted(result.false_by_kind.items())) + ".")
        return result
