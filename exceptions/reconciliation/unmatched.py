"""Movements that did not match: a release or pick of more than was reserved,
a fulfil of more than was staged, a transfer_in whose transfer was never
shipped.

The sources' facts are posted as they come (the state goes below zero and
negative_stock opens its case for the state); these kinds are about the
EVENT that did not match, one case per event, referenced by its key
"<source code>:<transaction id>". So the state's negative_stock case says
"reserved is -3 at S001" and lists every line since it was last >= 0, while
each event that took more than there was has its own case saying what it
took and what the ledger held then. The state's case clears when the state
is back to >= 0; an event's case clears when the ledger, as folded now,
held enough at its time (a late reserve that occurred before the pick).
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone

from django.utils import timezone

from controltower.db import aware, db_time
from inventory.ledger import book_sql

from ..detectors import Detector, Route, register
from ..findings import REFERENCE_LENGTH, CaseKind, Finding
from .common import config, fetch_rows, money, severity_for_value, to_decimal


# The movement checks: the state the event takes from, the event types judged.
OUT_OF = {
    CaseKind.BEYOND_RESERVED: ("reserved", ("release", "pick")),
    CaseKind.FULFIL_BEYOND_STAGED: ("staged", ("fulfil",)),
}

VERBS = {"release": "released", "pick": "picked", "fulfil": "fulfilled"}

IMPACT = {
    "pick": "An order was picked from stock that was not reserved for it: another order may be short.",
    "release": "More was released to sale than was held for orders: available may show stock that is not there.",
    "fulfil": "More was collected or shipped than was staged: an order left with stock the tower did not see staged.",
}

# How much later than its scope a run may compute its findings: the scope
# uses the window of a time this much later, so a run that passes midnight
# UTC between the two never clears the case of a day that left the window.
RUN_MARGIN = timedelta(hours=1)


def movement_window_start(now):
    """Events that occurred from this time on are judged: midnight UTC,
    `movement_lookback_days` before today. Older events keep their cases as
    they are (their walk is not recomputed every few minutes)."""
    today = datetime.combine(now.astimezone(dt_timezone.utc).date(), time(), tzinfo=dt_timezone.utc)
    return today - timedelta(days=config("movement_lookback_days"))


def clearable_movement_cases(kind, now) -> list[int]:
    """The cases of a movement kind a run may resolve: those of events
    inside the window (exceptions.reconciliation passes them to
    sync_findings as its scope)."""
    types = OUT_OF[kind][1]
    since = movement_window_start(now + RUN_MARGIN)
    rows = fetch_rows(
        f"""
        SELECT DISTINCT c.id FROM exceptions_case c
        JOIN exceptions_caselink l ON l.case_id = c.id AND l.kind = 'event'
        JOIN inventory_inventoryevent e ON e.id = l.object_id
        WHERE c.kind = %s AND e.type IN ({", ".join(["%s"] * len(types))}) AND e.occurred_at >= %s
        """,
        [kind, *types, db_time(since)],
    )
    return [row["id"] for row in rows]


def beyond_reserved(now=None) -> list[Finding]:
    """Each release or pick that took more than was reserved at its time."""
    return _beyond(CaseKind.BEYOND_RESERVED, now)


def fulfil_beyond_staged(now=None) -> list[Finding]:
    """Each fulfil that took more than was staged at its time."""
    return _beyond(CaseKind.FULFIL_BEYOND_STAGED, now)


def _beyond(kind, now):
    """The events of the window that took more out of the state than it held.

    What the state held before an event is the ledger's running quantity in
    the fold's order (inventory.ledger.fold, as since_non_negative walks
    it): lines by the time they occurred, then ledger id, a cycle count after
    the other lines of its instant and setting the state to what was
    counted. So a reserve that occurred before the pick counts even when it
    arrived after it, and the pick's case clears on the next run. An event
    at or before the latest count of the state does not move it (the fold's
    rule): the count holds it, and any difference is the count's variance,
    so it is not judged.

    Only the event that took the state from zero or more to below zero has
    a case of its own: the excess is what it took beyond what the state
    held. While the state stays below zero the lines after it are not
    judged one by one (a later order that reserved and picked its own units
    would look beyond reserved only because of the earlier one); the
    state's negative_stock case lists them, and once the state is back to
    zero or more every event is judged again.

    One query: window functions over the ledger lines of the (location,
    SKU) pairs that had such an event in the window, for the one state (a
    running sum restarted at each count).
    """
    state, types = OUT_OF[kind]
    since = movement_window_start(now or timezone.now())
    marks = ", ".join(["%s"] * len(types))

    def leg_scope(location_column):
        return (
            f" AND ({location_column}, e.sku_id) IN (SELECT m.location_id, m.sku_id "
            f"FROM inventory_inventoryevent m WHERE m.type IN ({marks}) AND m.occurred_at >= %s)",
            [*types, db_time(since)],
        )

    ctes, params = book_sql(leg_scope=leg_scope)
    fold_order = "ORDER BY at, is_count, id ROWS UNBOUNDED PRECEDING"
    rows = fetch_rows(
        f"""
        WITH {ctes},
        walk AS (
            SELECT id, loc, sku, delta, at, is_count,
                   SUM(is_count) OVER (PARTITION BY loc, sku {fold_order}) AS segment,
                   MAX(CASE WHEN is_count = 1 THEN at END) OVER (PARTITION BY loc, sku) AS latest_count_at
            FROM legs WHERE state = %s
        ),
        running AS (
            SELECT id, loc, sku, delta, at, is_count, latest_count_at,
                   CAST(SUM(delta) OVER (PARTITION BY loc, sku, segment {fold_order}) AS BIGINT) AS held_after,
                   MAX(CASE WHEN is_count = 1 THEN id END) OVER (PARTITION BY loc, sku, segment) AS count_id
            FROM walk
        )
        SELECT r.id, r.loc AS location_id, r.sku AS sku_id, r.held_after - r.delta AS held,
               r.count_id, e.type, e.quantity, e.transaction_id, e.occurred_at, e.source_id,
               s.code AS source_code, loc.code AS location_code, k.code AS sku_code, k.unit_cost
        FROM running r
        JOIN inventory_inventoryevent e ON e.id = r.id
        JOIN inventory_sourcesystem s ON s.id = e.source_id
        JOIN inventory_location loc ON loc.id = r.loc
        JOIN inventory_sku k ON k.id = r.sku
        WHERE r.is_count = 0 AND r.at >= %s AND (r.latest_count_at IS NULL OR r.at > r.latest_count_at)
          AND r.held_after - r.delta >= 0 AND r.held_after < 0
          AND e.type IN ({marks})
        ORDER BY r.id
        """,
        [*params, state, db_time(since), *types],
    )
    findings = []
    for row in rows:
        held = int(row["held"])
        excess = row["quantity"] - held
        value = money(excess * to_decimal(row["unit_cost"]))
        key = f"{row['source_code']}:{row['transaction_id']}"
        details = {
            "type": row["type"],
            "transaction": key,
            "quantity": row["quantity"],
            "state": state,
            "held": held,
            "excess": excess,
            "occurred_at": aware(row["occurred_at"]).isoformat(),
        }
        lineage = [("event", row["id"])]
        if row["count_id"] is not None:  # the count that set what was held
            lineage.append(("event", row["count_id"]))
        findings.append(Finding(
            kind=kind,
            location_id=row["location_id"],
            sku_id=row["sku_id"],
            source_id=row["source_id"],
            reference=_event_reference(key, row["id"]),
            severity=severity_for_value(value),
            quantity_at_risk=excess,
            value_at_risk=value,
            customer_impact=IMPACT[row["type"]],
            summary=(
                f"{key} {VERBS[row['type']]} {row['quantity']} {row['sku_code']} at {row['location_code']} "
                f"when {_held_words(held, state)}"
            ),
            details=details,
            lineage=lineage,
        ))
    return findings


def _held_words(held, state):
    """"2 were reserved", "1 was staged", "none were reserved"."""
    if held == 0:
        return f"none were {state}"
    return f"{held} {'was' if held == 1 else 'were'} {state}"


def _event_reference(key, event_id):
    # A key longer than Case.reference is named by its ledger line instead (the key stays in details).
    return key if len(key) <= REFERENCE_LENGTH else f"event {event_id}"


def transfer_in_without_out(now=None) -> list[Finding]:
    """Each transfer_in whose transfer (reference and SKU) has no
    transfer_out, once the sender's feed has had its grace.

    inventory.Transfer keeps both ends per reference x SKU as they are
    posted: shipped 0 means no transfer_out came in. The transfer_out
    occurred before the transfer_in, so the grace runs from the
    transfer_in's time: a sender whose feed lags less than
    `transfer_out_grace_hours` has delivered it by then. The case clears
    when the transfer_out is posted. A transfer_in of more than was shipped
    is not this kind (the transfer has a transfer_out)."""
    grace_hours = config("transfer_out_grace_hours")
    cutoff = (now or timezone.now()) - timedelta(hours=grace_hours)
    rows = fetch_rows(
        """
        SELECT e.id, t.id AS transfer_id, e.location_id, e.sku_id, e.quantity, e.reference, e.transaction_id,
               e.occurred_at, e.source_id, s.code AS source_code, loc.code AS location_code, k.code AS sku_code, k.unit_cost
        FROM inventory_transfer t
        JOIN inventory_inventoryevent e ON e.reference = t.reference AND e.sku_id = t.sku_id
        JOIN inventory_sourcesystem s ON s.id = e.source_id
        JOIN inventory_location loc ON loc.id = e.location_id
        JOIN inventory_sku k ON k.id = e.sku_id
        WHERE t.quantity_shipped = 0 AND e.type = 'transfer_in' AND e.occurred_at < %s
        ORDER BY e.id
        """,
        [db_time(cutoff)],
    )
    findings = []
    for row in rows:
        value = money(row["quantity"] * to_decimal(row["unit_cost"]))
        key = f"{row['source_code']}:{row['transaction_id']}"
        findings.append(Finding(
            kind=CaseKind.TRANSFER_IN_WITHOUT_OUT,
            location_id=row["location_id"],
            sku_id=row["sku_id"],
            source_id=row["source_id"],
            reference=_event_reference(key, row["id"]),
            severity=severity_for_value(value),
            quantity_at_risk=row["quantity"],
            value_at_risk=value,
            customer_impact="The sender's stock and the stock in transit are wrong until its shipment is posted.",
            summary=(
                f"{key}: {row['location_code']} received {row['quantity']} {row['sku_code']} on transfer "
                f"{row['reference']}, and no transfer out of it came in within {grace_hours} h"
            ),
            details={
                "transaction": key,
                "transfer": row["reference"],
                "quantity": row["quantity"],
                "occurred_at": aware(row["occurred_at"]).isoformat(),
                "grace_hours": grace_hours,
            },
            lineage=[("event", row["id"]), ("transfer", row["transfer_id"])],
        ))
    return findings


# A walk of the ledger history of the location x SKUs with such a movement in
# the look-back (1M lines: about 10 s). Only the events of the look-back
# window are judged again.
register(Detector(
    CaseKind.BEYOND_RESERVED, "Release or pick beyond reserved", beyond_reserved, every_s=900, timed=True,
    clearable=lambda now, since: {"pk__in": clearable_movement_cases(CaseKind.BEYOND_RESERVED, now)},
))
register(Detector(
    CaseKind.FULFIL_BEYOND_STAGED, "Fulfilment beyond staged", fulfil_beyond_staged, every_s=900, timed=True,
    clearable=lambda now, since: {"pk__in": clearable_movement_cases(CaseKind.FULFIL_BEYOND_STAGED, now)},
))
# The sender's transfer_out is missing from the ledger, most often a feed that lost it: integration.
register(Detector(CaseKind.TRANSFER_IN_WITHOUT_OUT, "Transfer received, never shipped", transfer_in_without_out,
                  every_s=900, timed=True, routes=(Route("INTEGRATION"),)))
