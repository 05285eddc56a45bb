"""Run the benchmarks: print a table, write var/bench/<section>.json.

`main(argv)` is what `python -m tests.bench` (`make bench`) runs once
Django is set up; the arguments are the ones `manage.py bench` took.
"""
import argparse
import sys

import orjson
from django.conf import settings

from . import ingest
from .adapters import adapters_section, adapters_table
from .anomalies import anomalies_table, bench_anomalies
from .browser import bench_browser, browser_table
from .cases import bench_cases
from .reconcile import bench_reconcile, reconcile_table
from .rollout import bench_rollout, rollout_table
from .rollups import bench_rollups, rollups_table
from .simulate import bench_simulate, simulate_table
from .snapshot import bench_snapshot

LABELS = {
    "events_per_s": ("HTTP bulk ingest (POST /api/v1/events)", "events/s"),
    "copy_rows_per_s": ("raw COPY into a ledger copy (limit)", "rows/s"),
    "naive_events_per_s": ("naive: ORM save per event + position RMW", "events/s"),
}


SECTIONS = ["ingest", "adapters", "snapshot", "cases", "rollout", "rollups", "reconcile", "anomalies", "simulate",
            "browser"]

DESCRIPTION = (
    "Measure ingest through the HTTP bulk endpoint against raw COPY and the naive path, each source format "
    "(POSLog...) end to end beside the same lines as JSON, "
    "snapshot-vs-ledger reconciliation on a large snapshot, the case screens' server time, and the "
    "rollout (every gate of 10 waves over 600 stores evaluated, the PMO board's server time), and the KPI "
    "rollups (one day, 90 days from scratch, the pages that read them), and every reconciliation kind "
    "at 36 million ledger lines received in the last hour, the anomaly detectors over 90 days of an "
    "estate's sales "
    "(PostgreSQL only), what the detectors catch of a simulated retailer's injected faults (recall per "
    "kind, false cases on a clean run), and the demo's pages in Chromium (load time per page, the embedded demo)."
)


def parser():
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=DESCRIPTION)
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=SECTIONS)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--adapter-items", type=int, default=20_000,
                        help="adapters: line items (events) per format, posted as documents and again as JSON")
    parser.add_argument("--snapshot-lines", type=int, default=10_000_000,
                        help="lines of the generated ERP snapshot (target: 10M under 60 s)")
    parser.add_argument("--active-cases", type=int, default=50_000,
                        help="open-to-waiting cases behind the case screens (plus twice as many done)")
    parser.add_argument("--fresh-cases", action="store_true",
                        help="rebuild the bench cases even when their numbers match")
    parser.add_argument("--reuse-rollups", action="store_true",
                        help="rollups: skip the from-scratch 90 days when the bench database has them all")
    parser.add_argument("--ledger-lines", type=int, default=36_000_000,
                        help="reconcile: ledger lines received in the last hour (10,000 events/s for an hour)")
    parser.add_argument("--generate-budget-s", type=int, default=900,
                        help="reconcile: seconds to generate them in; the bench says how far it got")
    parser.add_argument("--kind-budget-s", type=int, default=None,
                        help="reconcile: stop each kind after this many seconds (default: its interval)")
    parser.add_argument("--anomaly-estate", type=int, nargs=3, default=[600, 20_000, 90],
                        metavar=("STORES", "SKUS", "DAYS"),
                        help="anomalies: the estate whose sales the detectors read (target: 600 20000 90)")
    parser.add_argument("--anomaly-summarised", action="store_true",
                        help="anomalies: only the sale lines the runs read; the sales summary's other days "
                             "drawn straight into it (its build not timed)")
    parser.add_argument("--sim-stores", type=int, default=12, help="simulate: stores")
    parser.add_argument("--sim-skus", type=int, default=200, help="simulate: SKUs")
    parser.add_argument("--sim-days", type=int, default=28, help="simulate: days")
    parser.add_argument("--sim-seed", type=int, default=1, help="simulate: seed")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--skip-http", action="store_true", help="only the COPY and naive references")
    return parser


def main(argv=None, stdout=None):
    """Run the sections asked for; returns the exit status (1 when the bench
    cannot run here, e.g. on SQLite)."""
    args = parser().parse_args(argv)
    stdout = stdout or sys.stdout
    out = settings.VAR_DIR / "bench"
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    try:
        if "ingest" in args.sections:
            results["ingest"] = ingest.ingest_section(events=args.events, workers=args.workers,
                                                      skip_http=args.skip_http)
        if "adapters" in args.sections:
            results["adapters"] = adapters_section(items=args.adapter_items, workers=args.workers)
        if "snapshot" in args.sections:
            ingest.require_postgres()
            results["snapshot"] = bench_snapshot(lines=args.snapshot_lines)
        if "cases" in args.sections:
            ingest.require_postgres()
            results["cases"] = bench_cases(active=args.active_cases, done=2 * args.active_cases,
                                           fresh=args.fresh_cases)
        if "rollout" in args.sections:
            ingest.require_postgres()
            results["rollout"] = bench_rollout()
        if "rollups" in args.sections:
            ingest.require_postgres()
            results["rollups"] = bench_rollups(events=args.events, reuse_days=args.reuse_rollups)
        if "reconcile" in args.sections:
            ingest.require_postgres()
            results["reconcile"] = bench_reconcile(lines=args.ledger_lines,
                                                   generate_budget_s=args.generate_budget_s,
                                                   kind_budget_s=args.kind_budget_s)
        if "anomalies" in args.sections:
            ingest.require_postgres()
            stores, skus, days = args.anomaly_estate
            results["anomalies"] = bench_anomalies(stores=stores, skus=skus, days=days,
                                                   summarised=args.anomaly_summarised)
        if "simulate" in args.sections:
            ingest.require_postgres()
            results["simulate"] = bench_simulate(args.sim_stores, args.sim_skus, args.sim_days, args.sim_seed)
        if "browser" in args.sections:
            results["browser"] = bench_browser()
    except ingest.BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    for section, result in results.items():
        path = out / f"{section}.json"
        path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        print(table(section, result), file=stdout)
        print(f"written to {path}", file=stdout)
    return 0


def table(section, result):
    if section == "adapters":
        return adapters_table(result)
    if section == "cases":
        return cases_table(result)
    if section == "rollout":
        return rollout_table(result)
    if section == "rollups":
        return rollups_table(result)
    if section == "reconcile":
        return reconcile_table(result)
    if section == "anomalies":
        return anomalies_table(result)
    if section == "browser":
        return browser_table(result)
    if section == "simulate":
        return simulate_table(result)
    if section == "snapshot":
        return (
            f"snapshot: {result['snapshot_lines']:,} ERP snapshot lines ({result['stores']:,} locations x "
            f"{result['skus']:,} SKUs) against {result['ledger_events']:,} ledger events\n"
            f"  {'snapshot_mismatch (ledger as of the snapshot)':<44} {result['seconds']:>10,.1f} s, "
            f"{result['mismatches']:,} mismatches (target < 60 s)\n"
            f"  {'of which the drift classification':<44} {result['drift_seconds']:>10,.1f} s, "
            f"{', '.join(f'{n:,} {name}' for name, n in result['drift'].items())}\n"
            f"  {'the same snapshot with scope full':<44} {result['full_seconds']:>10,.1f} s, "
            f"{result['full_mismatches']:,} mismatches"
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
    if "projection_drift_seconds" in result:
        lines.append(f"  {'projection_drift (every position vs the fold)':<44} "
                     f"{result['projection_drift_seconds']:>10,.1f} s, {result['projection_drift_positions']:,} "
                     f"positions, {result['projection_drift_ledger_lines']:,} ledger lines, "
                     f"{result['projection_drift_cases_opened']} cases opened")
    if "reservation_ageing_seconds" in result:
        lines.append(f"  {'reservation ageing check (30 min web hold)':<44} "
                     f"{result['reservation_ageing_check_seconds']:>10,.1f} s, "
                     f"{result['reservation_ageing_findings']:,} overdue reservations")
        lines.append(f"  {'... and the case sync (the scheduled kind)':<44} "
                     f"{result['reservation_ageing_seconds']:>10,.1f} s, {result['reservation_ageing_reserves']:,} "
                     f"reserves, {result['reservation_ageing_cases_opened']:,} cases opened")
        lines.append(f"  {'... with the tower releasing expired holds':<44} "
                     f"{result['reservation_release_seconds']:>10,.1f} s, {result['reservation_release_lines']:,} "
                     f"release lines, {result['reservation_release_cases_resolved']:,} cases resolved")
    if "ratio_to_copy" in result:
        lines.append(f"  {'ingest / COPY':<44} {result['ratio_to_copy']:>10.1%}")
        lines.append(f"  {'ingest / naive':<44} {result['speedup_over_naive']:>9,.1f}x")
    return "\n".join(lines)


def cases_table(result):
    lines = [
        f"cases: {result['active_cases']:,} active ({result['breached_cases']:,} breached) and "
        f"{result['done_cases']:,} done cases over {result['locations']:,} locations x {result['skus']:,} SKUs; "
        f"server time per request (target p95 < {result['target_p95_ms']} ms)",
        f"  {'person':<24}{'page':<32}{'in scope':>9}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
        f"{'queries':>9}{'kB':>7}",
    ]
    for row in result["pages"]:
        lines.append(
            f"  {row['person']:<24}{row['page']:<32}{row['cases_in_scope']:>9,}{row['requests']:>5}"
            f"{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}{row['max_ms']:>9.1f}{row['queries']:>9}{row['kb']:>7.1f}"
        )
    verdict = "met" if result["worst_p95_ms"] < result["target_p95_ms"] else "NOT met"
    lines.append(f"  worst p95 {result['worst_p95_ms']:.1f} ms: target {verdict}")
    return "\n".join(lines)
