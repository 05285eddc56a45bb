"""Timing snapshot_mismatch on a large generated snapshot (PostgreSQL only).

`bench_snapshot(lines)` generates, inside one transaction that is rolled
back at the end, a store estate of lines / 10,000 stores x 10,000 SKUs, a
snapshot with one line per store x SKU, and a receipt in the ledger for one
SKU in ten, then times the comparison of that snapshot with the ledger.
One line in a thousand is off, beyond tolerance, and each such line is
classified (exceptions.reconciliation.drift) like a real one: the off
lines of one SKU in four are a timing lag (a sale of 5 before the snapshot
time received after it), of one in four a unit-of-measure error (a receipt
of 1 where the store got a case of 12, CS12), of one in four a missing
event (a transfer of 5 to the store with no transfer_in: a Transfer record
only, the bench posts no transfer lines) and the rest 5 units off with
nothing behind them (unexplained, or a missing event where the key's
receipt without a PO line happens to be 5). The snapshot is compared
twice: as sent (scope `lines`) and as a `full` snapshot of its locations
(every SKU with ledger stock there compared, unlisted ones as zero).
"""
import time
from collections import Counter
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from exceptions.reconciliation import mismatches_in
from exceptions.reconciliation.drift import classify
from inventory.models import Snapshot, SourceSystem

SKUS = 10_000


def bench_snapshot(lines=10_000_000):
    if connection.vendor != "postgresql":
        raise RuntimeError("The reconciliation bench needs PostgreSQL (DATABASE_URL).")
    skus = min(SKUS, lines)
    stores = max(1, lines // skus)
    as_of = timezone.now() - timedelta(hours=1)
    with transaction.atomic():
        started = time.perf_counter()
        source = SourceSystem.objects.create(code="BENCH-ERP", kind=SourceSystem.Kind.ERP)
        snapshot = Snapshot.objects.create(source=source, as_of=as_of, received_at=as_of)
        with connection.cursor() as cursor:
            _generate(cursor, source.pk, snapshot.pk, stores, skus, as_of)
            cursor.execute("SELECT COUNT(*) FROM inventory_snapshotline WHERE snapshot_id = %s", [snapshot.pk])
            line_count = cursor.fetchone()[0]
            cursor.execute("SELECT COUNT(*) FROM inventory_inventoryevent WHERE source_id = %s", [source.pk])
            event_count = cursor.fetchone()[0]
        setup_seconds = time.perf_counter() - started

        started = time.perf_counter()
        findings = mismatches_in(snapshot)
        seconds = time.perf_counter() - started
        # The classification alone (mismatches_in above includes it), run again on its findings.
        started = time.perf_counter()
        classify(snapshot, findings)
        drift_seconds = time.perf_counter() - started

        # The same snapshot as a full one: every SKU with ledger stock at its
        # locations is compared, the ones it does not list as zero.
        Snapshot.objects.filter(pk=snapshot.pk).update(scope=Snapshot.Scope.FULL)
        snapshot.refresh_from_db()
        started = time.perf_counter()
        full_findings = mismatches_in(snapshot)
        full_seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return {
        "snapshot_lines": line_count,
        "ledger_events": event_count,
        "stores": stores,
        "skus": skus,
        "mismatches": len(findings),
        "drift": dict(sorted(Counter(f.drift for f in findings).items())),
        "seconds": round(seconds, 2),
        "drift_seconds": round(drift_seconds, 2),
        "full_mismatches": len(full_findings),
        "full_seconds": round(full_seconds, 2),
        "setup_seconds": round(setup_seconds, 2),
    }


def _generate(cursor, source_id, snapshot_id, stores, skus, as_of):
    cursor.execute("INSERT INTO inventory_region (code, name) VALUES ('SNAPBENCH', 'Snapshot bench') RETURNING id")
    region_id = cursor.fetchone()[0]
    cursor.execute(
        "INSERT INTO inventory_location (code, name, kind, region_id, timezone, banner, format, active) "
        "SELECT 'SNAPBENCH-L' || g, 'Bench store ' || g, 'store', %s, 'UTC', '', '', true "
        "FROM generate_series(1, %s) g",
        [region_id, stores],
    )
    cursor.execute(
        "INSERT INTO inventory_sku (code, description, category, unit_cost, base_unit, active) "
        "SELECT 'SNAPBENCH-K' || g, 'Bench item', 'Bench', 2.50, 'EA', true FROM generate_series(1, %s) g",
        [skus],
    )
    pairs = (
        "FROM inventory_location l CROSS JOIN inventory_sku k "
        "WHERE l.code LIKE 'SNAPBENCH-L%%' AND k.code LIKE 'SNAPBENCH-K%%'"
    )
    stocked = "(l.id + k.id) %% 50 + 1"
    off = "(l.id * 7 + k.id) %% 1000 = 0"
    # A store's off SKUs are 1000 apart: counted from the first bench SKU,
    # its ten off lines fall in groups 0-3 as 3, 3, 2 and 2.
    cursor.execute("SELECT MIN(id) FROM inventory_sku WHERE code LIKE 'SNAPBENCH-K%%'")
    group = f"((k.id - {int(cursor.fetchone()[0])}) / 1000) %% 4"
    cursor.execute(
        "INSERT INTO inventory_inventoryevent (source_id, transaction_id, type, location_id, sku_id, "
        "quantity, to_state, reference, reason, occurred_at, received_at, latency_ms, content_hash, "
        "entered_quantity, entered_unit) "
        f"SELECT %s, 'BENCH-' || l.id || '-' || k.id, 'receipt', l.id, k.id, {stocked}, 'available', "
        f"'BENCH', '', %s, %s, 0, 'bench', {stocked}, 'EA' {pairs} AND k.id %% 10 = 0",
        [source_id, as_of - timedelta(days=1), as_of - timedelta(days=1)],
    )
    event = (
        "INSERT INTO inventory_inventoryevent (source_id, transaction_id, type, location_id, sku_id, "
        "quantity, from_state, to_state, reference, reason, occurred_at, received_at, latency_ms, content_hash, "
        "entered_quantity, entered_unit) "
    )
    # Timing lag: a sale of 5 before the snapshot time that arrived after the snapshot.
    cursor.execute(
        event + "SELECT %s, 'BENCH-LATE-' || l.id || '-' || k.id, 'sale', l.id, k.id, 5, 'available', NULL, "
        f"'', '', %s, %s, 1200000, 'bench', 5, 'EA' {pairs} AND {off} AND {group} = 0",
        [source_id, as_of - timedelta(minutes=10), as_of + timedelta(minutes=10)],
    )
    # Unit of measure: a receipt of 1 where a case of 12 arrived.
    cursor.execute(
        event + "SELECT %s, 'BENCH-UOM-' || l.id || '-' || k.id, 'receipt', l.id, k.id, 1, NULL, 'available', "
        f"'BENCH', '', %s, %s, 0, 'bench', 1, 'EA' {pairs} AND {off} AND {group} = 1",
        [source_id, as_of - timedelta(hours=2), as_of - timedelta(hours=2)],
    )
    cursor.execute(
        "INSERT INTO inventory_unitconversion (sku_id, unit, factor) "
        "SELECT k.id, 'CS12', 12 FROM inventory_sku k WHERE k.code LIKE 'SNAPBENCH-K%%'"
    )
    # Missing event: 5 shipped to the store, never received.
    cursor.execute(
        "INSERT INTO inventory_transfer (reference, sku_id, from_location_id, to_location_id, quantity_shipped, "
        "quantity_received, shipped_at, received_at) "
        f"SELECT 'BENCH-T-' || l.id || '-' || k.id, k.id, NULL, l.id, 5, 0, %s, NULL {pairs} AND {off} AND {group} = 2",
        [as_of - timedelta(days=1)],
    )
    cursor.execute(
        "INSERT INTO inventory_snapshotline (snapshot_id, location_id, sku_id, state, quantity) "
        f"SELECT %s, l.id, k.id, 'available', "
        f"CASE WHEN k.id %% 10 = 0 THEN {stocked} ELSE 0 END "
        f"+ CASE WHEN {off} THEN (CASE {group} WHEN 0 THEN 0 WHEN 1 THEN 12 ELSE 5 END) ELSE 0 END {pairs}",
        [snapshot_id],
    )
    cursor.execute("ANALYZE inventory_snapshotline")
    cursor.execute("ANALYZE inventory_inventoryevent")
