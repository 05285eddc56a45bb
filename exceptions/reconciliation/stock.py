"""The ledger against itself: suspected duplicate events and negative stock."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from controltower.db import aware, db_time, seconds_apart_sql
from inventory.models import Position

from ..findings import CaseKind, Finding
from .common import (
    config,
    fetch_rows,
    money,
    severity_for_value,
    to_decimal,
)


def suspected_duplicate(now=None) -> list[Finding]:
    """The same location, SKU, type and quantity under two transaction ids
    within the duplicate window: a replay with new keys, or a double scan.

    Looks at events received in the look-back; each such event is paired
    with the earliest earlier one it repeats. Severity by value, never above
    3: it is a suspicion, not a fact."""
    window = config("duplicate_window_s")
    since = (now or timezone.now()) - timedelta(hours=config("duplicate_lookback_hours"))
    rows = fetch_rows(
        f"""
        WITH pairs AS (
            SELECT MIN(o.id) AS earlier_id, d.id AS later_id
            FROM inventory_inventoryevent d
            JOIN inventory_inventoryevent o
              ON o.location_id = d.location_id AND o.sku_id = d.sku_id AND o.type = d.type
             AND o.quantity = d.quantity AND o.id < d.id AND o.transaction_id <> d.transaction_id
            WHERE d.received_at >= %s AND d.type <> 'cycle_count'
              AND {seconds_apart_sql("o.occurred_at", "d.occurred_at")} <= %s
            GROUP BY d.id
        )
        SELECT p.earlier_id, p.later_id, d.location_id, d.sku_id, d.type, d.quantity,
               o.transaction_id AS earlier_txn, d.transaction_id AS later_txn,
               os.code AS earlier_source, ds.code AS later_source,
               o.occurred_at AS earlier_at, d.occurred_at AS later_at,
               loc.code AS location_code, k.code AS sku_code, k.unit_cost
        FROM pairs p
        JOIN inventory_inventoryevent o ON o.id = p.earlier_id
        JOIN inventory_inventoryevent d ON d.id = p.later_id
        JOIN inventory_sourcesystem os ON os.id = o.source_id
        JOIN inventory_sourcesystem ds ON ds.id = d.source_id
        JOIN inventory_location loc ON loc.id = d.location_id
        JOIN inventory_sku k ON k.id = d.sku_id
        ORDER BY p.later_id
        """,
        [db_time(since), window],
    )
    findings = []
    for row in rows:
        value = money(abs(row["quantity"]) * to_decimal(row["unit_cost"]))
        seconds = abs((aware(row["later_at"]) - aware(row["earlier_at"])).total_seconds())
        findings.append(Finding(
            kind=CaseKind.SUSPECTED_DUPLICATE,
            location_id=row["location_id"],
            sku_id=row["sku_id"],
            reference=f"events {row['earlier_id']}+{row['later_id']}",
            severity=max(severity_for_value(value), 3),
            quantity_at_risk=abs(row["quantity"]),
            value_at_risk=value,
            summary=(
                f"{row['type']} of {row['quantity']} {row['sku_code']} at {row['location_code']} posted twice "
                f"{seconds:.0f} s apart: {row['earlier_source']}:{row['earlier_txn']} and "
                f"{row['later_source']}:{row['later_txn']}"
            ),
            details={
                "type": row["type"],
                "quantity": row["quantity"],
                "seconds_apart": seconds,
                "window_s": window,
                "transactions": [
                    f"{row['earlier_source']}:{row['earlier_txn']}", f"{row['later_source']}:{row['later_txn']}"
                ],
            },
            lineage=[("event", row["earlier_id"]), ("event", row["later_id"])],
        ))
    return findings


def negative_stock() -> list[Finding]:
    """Positions whose available is below zero (phantom stock: sales are
    facts and are posted anyway). Severity by the value at risk."""
    findings = []
    positions = Position.objects.filter(available__lt=0).select_related("location", "sku").order_by("id")
    for position in positions:
        short = -position.available
        value = money(short * position.sku.unit_cost)
        findings.append(Finding(
            kind=CaseKind.NEGATIVE_STOCK,
            location_id=position.location_id,
            sku_id=position.sku_id,
            severity=severity_for_value(value),
            quantity_at_risk=short,
            value_at_risk=value,
            customer_impact="Availability shown to customers and replenishment are wrong for this item.",
            summary=(
                f"POS sold {short} more {position.sku.code} than {position.location.code} had; "
                f"available is {position.available}"
            ),
            details={"available": position.available, "unit_cost": str(position.sku.unit_cost)},
        ))
    return findings
