"""Run the benchmarks: print a table, write var/bench/<section>.json."""
import orjson
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from controltower import bench
from exceptions.bench_reconciliation import bench_snapshot

LABELS = {
    "events_per_s": ("HTTP bulk ingest (POST /api/v1/events)", "events/s"),
    "copy_rows_per_s": ("raw COPY into a ledger copy (limit)", "rows/s"),
    "naive_events_per_s": ("naive: ORM save per event + position RMW", "events/s"),
}


class Command(BaseCommand):
    help = (
        "Measure ingest through the HTTP bulk endpoint against raw COPY and the naive path, "
        "and snapshot-vs-ledger reconciliation on a large snapshot (PostgreSQL only)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sections", nargs="+", choices=["ingest", "snapshot"], default=["ingest", "snapshot"])
        parser.add_argument("--events", type=int, default=200_000)
        parser.add_argument("--snapshot-lines", type=int, default=10_000_000,
                            help="lines of the generated ERP snapshot (target: 10M under 60 s)")
        parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
        parser.add_argument("--skip-http", action="store_true", help="only the COPY and naive references")

    def handle(self, *args, sections, events, snapshot_lines, workers, skip_http, **options):
        out = settings.VAR_DIR / "bench"
        out.mkdir(parents=True, exist_ok=True)
        results = {}
        try:
            if "ingest" in sections:
                results["ingest"] = bench.ingest_section(events=events, workers=workers, skip_http=skip_http)
            if "snapshot" in sections:
                bench.require_postgres()
                results["snapshot"] = bench_snapshot(lines=snapshot_lines)
        except bench.BenchError as exc:
            raise CommandError(str(exc)) from exc
        for section, result in results.items():
            path = out / f"{section}.json"
            path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
            self.stdout.write(self.table(section, result))
            self.stdout.write(f"written to {path}")

    def table(self, section, result):
        if section == "snapshot":
            return (
                f"snapshot: {result['snapshot_lines']:,} ERP snapshot lines ({result['stores']:,} locations x "
                f"{result['skus']:,} SKUs) against {result['ledger_events']:,} ledger events\n"
                f"  {'snapshot_mismatch (ledger as of the snapshot)':<44} {result['seconds']:>10,.1f} s, "
                f"{result['mismatches']:,} mismatches (target < 60 s)"
            )
        lines = [
            f"{section}: {result['events']:,} events in batches of {result['batch_size']}, "
            f"{result['duplicates_share']:.1%} duplicates, {result['workers']} workers, "
            f"{result['cores']} cores, {result['db_vendor']} {result['db_version']}",
        ]
        for key, (label, unit) in LABELS.items():
            if key in result:
                lines.append(f"  {label:<44} {result[key]:>10,} {unit}")
        if "position_differences" in result:
            lines.append(f"  {'positions equal to the ledger fold':<44} {result['positions_checked']:>10,} checked, "
                         f"{result['position_differences']} differences")
        if "ratio_to_copy" in result:
            lines.append(f"  {'ingest / COPY':<44} {result['ratio_to_copy']:>10.1%}")
            lines.append(f"  {'ingest / naive':<44} {result['speedup_over_naive']:>9,.1f}x")
        return "\n".join(lines)
