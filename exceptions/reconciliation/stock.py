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
from controltower.when import when
from inventory.ledger import since_non_negative
from inventory.models import STATES, InventoryEvent, Position

from ..detectors import Detector, register
from ..findings import CaseKind, Finding, duplicate_batch_reference, duplicate_pairs, duplicate_reference
from ..models import Case, DuplicateVerdict
from .common import (
    LINEAGE_LIMIT,
    config,
    fetch_rows,
    money,
    severity_for_value,
    to_decimal,
)


def suspected_duplicate(now=None, since=None) -> list[Finding]:
    """A replay under a new transaction id: a line received after another
    with the same content (type, location, SKU, quantity, states,
    destination, reason), at most the later line's source's replay window
    later (SourceSystem.replay_window_s, else RECONCILIATION
    duplicate_window_s), that shares what a replay shares:
    - the same business reference (receipt, order or document number), its
      time within the window (a till may stamp a resend with the time it
      resends); two different references are never duplicates;
    - or, when either gives no reference, the very time it occurred;
    - or, when both references are receipts numbered by the key (the
      reference begins the transaction id, as a POSLog line's
      store/workstation/sequence/day begins its key: a till resending under
      a new sequence number renumbers the receipt too), the very time it
      occurred, the same cashier and the same line of the receipt. A cashier
      serves one customer at a time: two customers buying the same item
      are two receipts ended at two different seconds.
    Ten sales of one SKU 30 s apart are ten sales: their receipts, or
    without receipts their times, differ. Lines received together (one
    batch: the lines of one receipt) are never a replay of each other.

    Looks at lines received in the look-back (and after the ledger line
    `since`, the watermark of an incremental run); each is paired with the
    earliest earlier line it repeats. The replayed lines of one batch (one
    source, received together) are one finding listing its pairs, reversed
    together; a lone replayed line is a finding of its own. A pair a person
    settled (the later line reversed, or explained as not a duplicate:
    DuplicateVerdict) is not raised again, nor is a line already reversed.
    Severity by value, never above 3: it is a suspicion, not a fact.

    Each later line is matched by a lookup of its own through an index: its
    location x SKU x time occurred (ledger_loc_sku_time), or its business
    reference (ledger_reference). (As a join, PostgreSQL would read the
    whole ledger to merge it with the lines looked at.)"""
    default_window = config("duplicate_window_s")
    same = f"""
        o.location_id = d.location_id AND o.sku_id = d.sku_id
        AND o.type = d.type AND o.quantity = d.quantity AND o.id < d.id
        AND COALESCE(o.from_state, '') = COALESCE(d.from_state, '')
        AND COALESCE(o.to_state, '') = COALESCE(d.to_state, '')
        AND COALESCE(o.to_location_id, 0) = COALESCE(d.to_location_id, 0)
        AND o.reason = d.reason AND o.received_at < d.received_at
        AND {seconds_apart_sql("o.received_at", "d.received_at")} <= d.window_s
        AND NOT EXISTS (
            SELECT 1 FROM exceptions_duplicateverdict v
            WHERE (v.later_event_id = d.id AND (v.earlier_event_id = o.id OR v.verdict = 'reversed'))
               OR (v.later_event_id = o.id AND v.verdict = 'reversed'))"""
    rows = fetch_rows(
        f"""
        WITH d AS (
            SELECT d.*, COALESCE(ds.replay_window_s, %s) AS window_s
            FROM inventory_inventoryevent d JOIN inventory_sourcesystem ds ON ds.id = d.source_id
            WHERE d.id > %s AND d.received_at >= %s AND d.type NOT IN ('cycle_count', 'reversal')
        ), candidates AS (
            SELECT d.id AS later_id, (
                SELECT MIN(o.id) FROM inventory_inventoryevent o
                WHERE o.occurred_at = d.occurred_at
                  AND (o.reference = '' OR d.reference = '' OR ({_numbered_by_key("o")} AND {_numbered_by_key("d")}
                       AND o.cashier = d.cashier AND {_line_of("o")} = {_line_of("d")}))
                  AND {same}
            ) AS earlier_id FROM d
            UNION ALL
            SELECT d.id, (
                SELECT MIN(o.id) FROM inventory_inventoryevent o
                WHERE o.reference = d.reference
                  AND {seconds_apart_sql("o.occurred_at", "d.occurred_at")} <= d.window_s AND {same}
            ) FROM d WHERE d.reference <> ''
        ), pairs AS (
            SELECT MIN(earlier_id) AS earlier_id, later_id FROM candidates
            GROUP BY later_id HAVING MIN(earlier_id) IS NOT NULL
        )
        SELECT p.earlier_id, p.later_id, d.location_id, d.sku_id, d.type, d.quantity, d.source_id,
               o.transaction_id AS earlier_txn, d.transaction_id AS later_txn,
               os.code AS earlier_source, ds.code AS later_source,
               COALESCE(ds.replay_window_s, %s) AS window_s,
               o.received_at AS earlier_received, d.received_at AS later_received,
               o.occurred_at AS earlier_occurred, d.occurred_at AS later_occurred,
               o.reference AS earlier_reference, d.reference AS later_reference,
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
        [default_window, since or 0, db_time(duplicate_lookback(now)), default_window],
    )
    batches = {}
    for row in rows:  # a batch: the lines one source sent in one call (received at one time)
        batches.setdefault((row["source_id"], aware(row["later_received"])), []).append(row)
    return [_pair_finding(rows[0]) if len(rows) == 1 else _batch_finding(rows) for rows in batches.values()]


def _numbered_by_key(line):
    """SQL: `line`'s reference is a receipt numbered by its key (the reference begins its transaction id)."""
    return (f"SUBSTR({line}.transaction_id, 1, LENGTH({line}.reference) + 1) = {line}.reference || '/'")


def _line_of(line):
    """SQL: the line of its receipt, what `line`'s transaction id says after its reference."""
    return f"SUBSTR({line}.transaction_id, LENGTH({line}.reference) + 2)"


def _pair_finding(row):
    value = money(abs(row["quantity"]) * to_decimal(row["unit_cost"]))
    seconds = round((aware(row["later_received"]) - aware(row["earlier_received"])).total_seconds())
    reference = row["later_reference"] or row["earlier_reference"]
    occurred = aware(row["earlier_occurred"])
    return Finding(
        kind=CaseKind.SUSPECTED_DUPLICATE,
        location_id=row["location_id"],
        sku_id=row["sku_id"],
        reference=duplicate_reference(row["earlier_id"], row["later_id"]),
        severity=max(severity_for_value(value), 3),
        quantity_at_risk=abs(row["quantity"]),
        value_at_risk=value,
        summary=(
            f"{row['type'].replace('_', ' ').capitalize()} of {row['quantity']} {row['sku_code']} at "
            f"{row['location_code']}"
            f"{f' ({reference})' if reference else ''} that occurred {when(occurred)} "
            f"was received again {seconds} s later under another transaction id: "
            f"{row['earlier_source']}:{row['earlier_txn']} and {row['later_source']}:{row['later_txn']}"
        ),
        details={
            "type": row["type"],
            "quantity": row["quantity"],
            **({"business_reference": reference} if reference else {}),
            "occurred_at": occurred.isoformat(),
            "replay_occurred_at": aware(row["later_occurred"]).isoformat(),
            "received_seconds_apart": seconds,
            "window_seconds": row["window_s"],
            "transactions": [
                f"{row['earlier_source']}:{row['earlier_txn']}", f"{row['later_source']}:{row['later_txn']}"
            ],
        },
        lineage=[("event", row["earlier_id"]), ("event", row["later_id"])],
    )


def _batch_finding(rows):
    """The replayed lines of one batch: one finding, its pairs in details (all
    of them: they are reversed together), the first LINEAGE_LIMIT linked."""
    value = money(sum(abs(row["quantity"]) * to_decimal(row["unit_cost"]) for row in rows))
    locations = {row["location_id"] for row in rows}
    skus = {row["sku_id"] for row in rows}
    first = rows[0]
    received = aware(first["later_received"])
    earliest = min(aware(row["earlier_received"]) for row in rows)
    return Finding(
        kind=CaseKind.SUSPECTED_DUPLICATE,
        location_id=first["location_id"] if len(locations) == 1 else None,
        sku_id=first["sku_id"] if len(skus) == 1 else None,
        reference=duplicate_batch_reference([row["later_id"] for row in rows]),
        severity=max(severity_for_value(value), 3),
        quantity_at_risk=sum(abs(row["quantity"]) for row in rows),
        value_at_risk=value,
        summary=(
            f"{first['later_source']} sent {len(rows)} lines again under new transaction ids at "
            f"{when(received)} ({len(locations)} location{'s' if len(locations) > 1 else ''}, "
            f"{len(skus)} SKU{'s' if len(skus) > 1 else ''}), lines first received from "
            f"{when(earliest)}: one replay, reversed together"
        ),
        details={
            "lines": len(rows),
            "received_at": received.isoformat(),
            "source": first["later_source"],
            "pairs": [[row["earlier_id"], row["later_id"]] for row in rows],
        },
        lineage=[("event", row["later_id"]) for row in rows[:LINEAGE_LIMIT]],
    )


def duplicate_lookback(now=None):
    """The earliest receipt time a suspected_duplicate run looks at."""
    return (now or timezone.now()) - timedelta(hours=config("duplicate_lookback_hours"))


def clearable_duplicates(now, since=None):
    """The active suspected-duplicate cases a run may resolve: those whose
    pairs a person settled (a DuplicateVerdict on each pair, or a line
    reversed), and those whose later lines the run looks at again (received
    within the look-back, after `since`) and no longer finds. A pair older
    than the look-back, or before the watermark, is not looked at, so its
    case stays as it is. `now` is taken before the run: a minute's margin
    keeps a line that leaves the look-back while the run starts out of this scope."""
    verdicts = list(DuplicateVerdict.objects.values_list("earlier_event_id", "later_event_id", "verdict"))
    settled = {(earlier, later) for earlier, later, _ in verdicts}
    reversed_lines = {later for _, later, verdict in verdicts if verdict == DuplicateVerdict.Verdict.REVERSED}
    cases = {
        pk: pairs
        for pk, reference, details in Case.objects.filter(
            kind=CaseKind.SUSPECTED_DUPLICATE, status__in=Case.ACTIVE).values_list("id", "reference", "details")
        if (pairs := duplicate_pairs(reference, details))
    }
    looked_at = set(InventoryEvent.objects.filter(
        pk__in=[later for pairs in cases.values() for _, later in pairs if later > (since or 0)],
        received_at__gte=duplicate_lookback(now) + timedelta(minutes=1),
    ).values_list("id", flat=True))
    return [
        pk for pk, pairs in cases.items()
        if all((earlier, later) in settled or {earlier, later} & reversed_lines for earlier, later in pairs)
        or all(later in looked_at for _, later in pairs)
    ]


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


register(Detector(
    CaseKind.SUSPECTED_DUPLICATE, "Suspected duplicate", suspected_duplicate, every_s=300, timed=True,
    # Pairs a person settled, and pairs still inside the look-back; older ones keep their cases.
    clearable=lambda now, since: {"pk__in": clearable_duplicates(now, since)},
    incremental=InventoryEvent, settled_by_a_person=True,
))
register(Detector(CaseKind.NEGATIVE_STOCK, "Negative stock", negative_stock, every_s=300))
