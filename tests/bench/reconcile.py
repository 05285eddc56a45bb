"""Every reconciliation kind at the ingest target (PostgreSQL only).

`bench_reconcile(lines, generate_budget_s)` generates, inside one
transaction rolled back at the end, `lines` ledger lines received in the
last hour (36 million: 10,000 events/s for an hour) over 600 stores x up to
20,000 SKUs: an opening adjustment of 100 for each store x SKU the lines
touch (one line in ten), then single-unit sales (a receipt number each;
nine a store x SKU, so no stock goes negative), in batches of 5,000 received
together; one batch sent again under new transaction ids a minute later
(one suspected-duplicate case) and one line in a million sent again alone.
The positions are the fold of those lines. Generation stops at the end of
its budget, and the bench says how far it got.

Then each kind is run as beat runs it (exceptions.reconciliation.runs.
run_kind: its lock, its statement timeout, its record) with its interval as
its budget (or less: `kind_budget_s`): a kind slower than that is stopped
and reported as timed out. The incremental kinds run twice: first over their whole
look-back (no watermark: a first run, or after a restore), then as they run
every interval at the ingest target, with the watermark one interval of
lines (10,000 a second) behind the newest.
"""
import time
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from exceptions.detectors import DETECTORS
from exceptions.reconciliation.runs import run_kind
from exceptions.models import ReconciliationRun
from inventory.models import SKU, Location, Region, SourceSystem

STORES, SKUS = 600, 20_000
BATCH = 5_000
CHUNK = 1_000_000
INGEST_TARGET = 10_000  # events a second


def bench_reconcile(lines=36_000_000, generate_budget_s=900, kind_budget_s=None):
    if connection.vendor != "postgresql":
        raise RuntimeError("The reconciliation bench needs PostgreSQL (DATABASE_URL).")
    now = timezone.now()
    result = {"lines_asked": lines, "generate_budget_s": generate_budget_s, "kind_budget_s": kind_budget_s,
              "kinds": []}
    with transaction.atomic():
        started = time.perf_counter()
        source = _estate()
        result["lines"] = _generate(source, lines, now, started + generate_budget_s)
        result["generate_seconds"] = round(time.perf_counter() - started, 1)
        with connection.cursor() as cursor:
            cursor.execute("SELECT MAX(id) FROM inventory_inventoryevent")
            newest = cursor.fetchone()[0]
        for kind, detector in DETECTORS.items():
            interval = detector.every()
            budget = min(interval, kind_budget_s or interval)
            result["kinds"].append(_timed(kind, interval, budget, "whole look-back" if detector.incremental else ""))
            if detector.incremental:
                steady = INGEST_TARGET * interval
                ReconciliationRun.objects.create(kind=kind, started_at=now, finished_at=now, outcome="ok",
                                                 watermark=max(0, newest - steady))
                result["kinds"].append(_timed(kind, interval, budget, f"from the watermark ({steady:,} lines)"))
        transaction.set_rollback(True)
    return result


def _timed(kind, interval, budget, how):
    started = time.perf_counter()
    run = run_kind(kind, budget_s=budget)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:  # the run's timeout outlives it in the bench's one transaction
        cursor.execute("SET LOCAL statement_timeout = 0")
    return {"kind": kind, "how": how, "interval_s": interval, "budget_s": budget, "seconds": round(seconds, 2),
            "outcome": run.outcome, "counts": run.counts, "error": run.error[:200],
            "within_interval": run.outcome == "ok" and seconds < interval,
            "stopped_at_cap": run.outcome == "timed_out" and budget < interval}


def _estate():
    region = Region.objects.create(code="RECBENCH", name="Reconcile bench")
    Location.objects.bulk_create(
        [Location(code=f"RB-L{n:04d}", name=f"Bench store {n}", region=region) for n in range(STORES)])
    SKU.objects.bulk_create(
        [SKU(code=f"RB-K{n:05d}", description="Bench item", category="Bench", unit_cost="2.50")
         for n in range(SKUS)], batch_size=5000)
    return SourceSystem.objects.create(code="RB-POS", kind=SourceSystem.Kind.POS, expected_interval_s=3600)


COLUMNS = ("source_id, transaction_id, type, location_id, sku_id, quantity, from_state, to_state, reference, "
           "reason, occurred_at, received_at, latency_ms, content_hash, entered_quantity, entered_unit")


def _generate(source, lines, now, deadline):
    """Insert up to `lines` lines in chunks until `deadline`; returns how many."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id) FROM inventory_location WHERE code LIKE 'RB-L%%'")
        first_location = cursor.fetchone()[0]
        cursor.execute("SELECT MIN(id) FROM inventory_sku WHERE code LIKE 'RB-K%%'")
        first_sku = cursor.fetchone()[0]
        # Line g: store g mod 600, SKU (g / 600) mod `skus`; its batch of 5,000 is received at one
        # time in the hour before `now`; the first line of each store x SKU is its opening stock
        # (one line in ten), the others single-unit sales.
        skus = max(1, min(SKUS, lines // 10 // STORES))
        pairs = STORES * skus
        received = f"%(start)s::timestamptz + (g / {BATCH}) * {BATCH} * (interval '3600 seconds' / %(lines)s)"
        select = (
            f"SELECT %(source)s, 'RB-' || g, CASE WHEN g < {pairs} THEN 'adjustment' ELSE 'sale' END, "
            f"%(loc)s + g %% {STORES}, %(sku)s + (g / {STORES}) %% {skus}, "
            f"CASE WHEN g < {pairs} THEN 100 ELSE 1 END, "
            f"CASE WHEN g < {pairs} THEN NULL ELSE 'available' END, "
            f"CASE WHEN g < {pairs} THEN 'available' END, "
            f"CASE WHEN g < {pairs} THEN '' ELSE 'RCPT-' || g END, "
            f"CASE WHEN g < {pairs} THEN 'opening' ELSE '' END, "
            f"{received} - interval '2 seconds', {received}, 2000, md5(g::text), "
            f"CASE WHEN g < {pairs} THEN 100 ELSE 1 END, 'EA' "
        )
        params = {"source": source.pk, "loc": first_location, "sku": first_sku,
                  "start": now - timedelta(hours=1), "lines": lines}
        done = 0
        while done < lines and time.perf_counter() < deadline:
            end = min(done + CHUNK, lines)
            cursor.execute(f"INSERT INTO inventory_inventoryevent ({COLUMNS}) {select} "
                           f"FROM generate_series(%(from)s, %(to)s) g", {**params, "from": done, "to": end - 1})
            done = end
        # The replays: the middle batch again under new ids a minute later, and one line in a million alone.
        middle = (done // 2) // BATCH * BATCH
        cursor.execute(
            f"INSERT INTO inventory_inventoryevent ({COLUMNS}) "
            "SELECT source_id, 'AGAIN-' || transaction_id, type, location_id, sku_id, quantity, from_state, "
            "to_state, reference, reason, occurred_at, received_at + interval '1 minute', latency_ms, "
            "md5(transaction_id), entered_quantity, entered_unit FROM inventory_inventoryevent "
            "WHERE source_id = %s AND transaction_id IN (SELECT 'RB-' || g FROM generate_series(%s, %s) g "
            "UNION ALL SELECT 'RB-' || g FROM generate_series(%s, %s, 1000000) g)",
            [source.pk, middle, middle + BATCH - 1, min(pairs, done) + 777, done - 1],
        )
        cursor.execute(
            "INSERT INTO inventory_position (location_id, sku_id, available, reserved, picked, packed, staged, "
            "in_transit, damaged, returned, pending_inspection, quarantined, safety_stock, updated_at) "
            "SELECT location_id, sku_id, SUM(CASE WHEN type = 'adjustment' THEN quantity ELSE -quantity END), "
            "0, 0, 0, 0, 0, 0, 0, 0, 0, 0, now() FROM inventory_inventoryevent WHERE source_id = %s "
            "GROUP BY location_id, sku_id",
            [source.pk],
        )
        cursor.execute("UPDATE inventory_sourcesystem SET last_event_at = %s WHERE id = %s", [now, source.pk])
        cursor.execute("ANALYZE inventory_inventoryevent")
        cursor.execute("ANALYZE inventory_position")
    return done


def reconcile_table(result):
    lines = [
        f"reconcile: {result['lines']:,} of {result['lines_asked']:,} ledger lines received in the last hour "
        f"generated in {result['generate_seconds']:,.0f} s (budget {result['generate_budget_s']} s); "
        "each kind run as beat runs it, its interval as its budget"
        f"{' (at most ' + str(result['kind_budget_s']) + ' s here)' if result['kind_budget_s'] else ''}",
        f"  {'kind':<26}{'how':<34}{'interval s':>11}{'seconds':>10}{'opened':>8}  outcome",
    ]
    for row in result["kinds"]:
        if row["stopped_at_cap"]:
            verdict = f"stopped at the bench's {row['budget_s']} s: not measured to its interval"
        else:
            verdict = "within its interval" if row["within_interval"] else "NOT within its interval"
        lines.append(f"  {row['kind']:<26}{row['how']:<34}{row['interval_s']:>11}{row['seconds']:>10.1f}"
                     f"{row['counts'].get('opened', ''):>8}  "
                     f"{row['outcome']} ({verdict})"
                     f"{': ' + row['error'] if row['error'] else ''}")
    return "\n".join(lines)
