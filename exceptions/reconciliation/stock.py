"""The ledger against itself: suspected duplicate events and negative stock
(in any state)."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from functools import reduce
from operator import or_

from django.db.models import Q
from django.utils import timezone

from controltower.db import aware, db_time, seconds_apart_sql
from inventory.ledger import since_non_negative
from inventory.models import STATES, InventoryEvent, Position

from ..findings import CaseKind, Finding
from .common import (
    LINEAGE_LIMIT,
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
    facts and are posted anyway), and positions below zero in any other
    state (negative_states). Severity by the value at risk."""
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
    return findings + negative_states()


# Every state but available, whose case above keeps its fingerprint (no reference).
OTHER_STATES = tuple(state for state in STATES if state != "available")

STATE_IMPACT = {
    "reserved": "Orders are promised stock the store does not hold for them.",
    "picked": "Orders in fulfilment are short: customers may not get what they ordered.",
    "packed": "Orders in fulfilment are short: customers may not get what they ordered.",
    "staged": "Orders waiting for collection or shipping are short.",
    "in_transit": "Stock between two locations is unaccounted for.",
}


def negative_states() -> list[Finding]:
    """Positions below zero in a state other than available: as impossible
    on the shelf as negative available (the ledger posts what the sources
    report: a pick of more than was reserved, a transfer_in with no
    transfer_out). The same kind as negative available, one case per
    (location, SKU, state) with the state as the reference, so the kind
    filter and routing see all negative stock together. The lineage is the
    ledger lines since the state was last >= 0 (inventory.ledger.
    since_non_negative), the summary says in words what they did.

    One query over the positions (`reserved < 0 OR picked < 0 ...`). It has
    no index: a partial index over those columns would make every in-place
    update of a position that moves one of them a non-HOT update on
    PostgreSQL (a new index entry for each), which costs more over a day
    of picks and packs than a scan of the positions every few minutes."""
    positions = list(
        Position.objects.filter(reduce(or_, [Q(**{f"{state}__lt": 0}) for state in OTHER_STATES]))
        .select_related("location", "sku").order_by("id")
    )
    negative = [(p, state) for p in positions for state in OTHER_STATES if getattr(p, state) < 0]
    walks = since_non_negative([(p.location_id, p.sku_id, state) for p, state in negative], LINEAGE_LIMIT)
    types = dict(InventoryEvent.objects.filter(
        id__in=[line for walk in walks.values() for line in walk["latest"]]
    ).values_list("id", "type"))
    findings = []
    for position, state in negative:
        quantity = getattr(position, state)
        walk = walks.get((position.location_id, position.sku_id, state))
        short = -quantity
        value = money(short * position.sku.unit_cost)
        details = {"state": state, "quantity": quantity, "unit_cost": str(position.sku.unit_cost)}
        if walk:
            details.update(before=walk["before"], lines=walk["lines"])
        findings.append(Finding(
            kind=CaseKind.NEGATIVE_STOCK,
            location_id=position.location_id,
            sku_id=position.sku_id,
            reference=state,
            severity=severity_for_value(value),
            quantity_at_risk=short,
            value_at_risk=value,
            customer_impact=STATE_IMPACT.get(state, "On-hand and its value are wrong for this item."),
            summary=_negative_words(position, state, quantity, walk, types),
            details=details,
            lineage=[("event", line) for line in walk["latest"]] if walk else [],
        ))
    return findings


def _counted(counter):
    """"2 picks and 1 release" from {"pick": 2, "release": 1}."""
    parts = [f"{n} {kind.replace('_', ' ')}{'s' if n != 1 else ''}" for kind, n in sorted(counter.items())]
    if not parts:
        return "earlier lines"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _negative_words(position, state, quantity, walk, types):
    """"Reserved is -3 at S001 for SKU00017: 1 pick took 5 when 2 were reserved"."""
    phrase = state.replace("_", " ")
    head = f"{phrase[:1].upper()}{phrase[1:]} is {quantity} at {position.location.code} for {position.sku.code}"
    if not walk:
        return f"{head}; the ledger does not explain it (positions differ from the ledger: projection drift)"
    took, came = Counter(), Counter()
    taken = given = 0
    for line, delta in walk["deltas"].items():
        if delta < 0:
            took[types.get(line, "event")] += 1
            taken -= delta
        else:
            came[types.get(line, "event")] += 1
            given += delta
    before = walk["before"]
    had = "none" if before == 0 else str(before)
    words = f"{head}: {_counted(took)} took {taken} when {had} {'was' if before == 1 else 'were'} {phrase}"
    if came:
        words += f"; {_counted(came)} brought back {given} since"
    if walk["lines"] > len(walk["deltas"]):
        words += f" (the latest {len(walk['deltas'])} of {walk['lines']} lines)"
    return words
