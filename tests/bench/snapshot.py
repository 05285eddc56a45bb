"""Timing snapshot_mismatch on a large generated snapshot (PostgreSQL only).

`bench_snapshot(lines)` generates, inside one transaction that is rolled
back at the end, a store estate of lines / 10,000 stores x 10,000 SKUs, a
snapshot with one line per store x SKU, and a receipt in the ledger for one
SKU in ten, then times the comparison of that snapshot with the ledger.
One line in a thousand is off by 5 units, beyond tolerance. The snapshot
is compared twice: as sent (scope `lines`) and as a `full` snapshot of its
locations (every SKU with ledger stock there compared, unlisted ones as zero).
"""
import time
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from exceptions.reconciliation import mismatches_in
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
        "seconds": round(seconds, 2),
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
    cursor.execute(
        "INSERT INTO inventory_inventoryevent (source_id, transaction_id, type, location_id, sku_id, "
        "quantity, to_state, reference, reason, occurred_at, received_at, latency_ms, content_hash, "
        "entered_quantity, entered_unit) "
        f"SELECT %s, 'BENCH-' || l.id || '-' || k.id, 'receipt', l.id, k.id, {stocked}, 'available', "
        f"'BENCH', '', %s, %s, 0, 'bench', {stocked}, 'EA' {pairs} AND k.id %% 10 = 0",
        [source_id, as_of - timedelta(days=1), as_of - timedelta(days=1)],
    )
    cursor.execute(
        "INSERT INTO inventory_snapshotline (snapshot_id, location_id, sku_id, state, quantity) "
        f"SELECT %s, l.id, k.id, 'available', "
        f"CASE WHEN k.id %% 10 = 0 THEN {stocked} ELSE 0 END "
        f"+ CASE WHEN (l.id * 7 + k.id) %% 1000 = 0 THEN 5 ELSE 0 END {pairs}",
        [snapshot_id],
    )
    cursor.execute("ANALYZE inventory_snapshotline")
    cursor.execute("ANALYZE inventory_inventoryevent")
