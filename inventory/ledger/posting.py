"""Posting a batch of events: classify, write the ledger lines, move the positions.

`ingest_events` is the one way events enter the tower: the REST API, the demo
loader and the replay of rejections all call it. It validates a batch as a
batch, writes the new ledger lines in bulk (COPY on PostgreSQL) and moves the
positions with one set-based update, inside one transaction.

Rules kept here (DOMAIN.md):
- (source, transaction_id) is the idempotency key: same content is a
  duplicate, different content a conflict (kept as a RejectedEvent).
- Sales are facts: never refused for lack of stock.
- A cycle count is the truth as of its count time: a ledger line that
  occurred at or before the latest count of a state does not move that state.
- Bad input is rejected per event and kept for replay; the batch goes on.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from controltower.db import (
    UNNEST_PAIRS,
    aware,
    chunks,
    db_time,
    int_array,
    select_rows,
    values_clause,
)

from .. import counts, fields
from ..ingest_counts import count_batch
from ..lanes import lane_of
from ..models import (
    STATES,
    CountAnchor,
    EventType,
    RejectedEvent,
    SourceSystem,
    Transfer,
)
from .validation import MasterData, validate_event


class IngestError(ValueError):
    """The batch as a whole cannot be taken (too large, not a list)."""


@dataclass
class EventResult:
    transaction_id: str
    status: str  # accepted | duplicate | conflict | rejected | ignored
    errors: dict = field(default_factory=dict)
    reason: str = ""  # why an item of a source's document was ignored (inventory.adapters.Ignored)
    detail: str = ""

    def as_dict(self):
        if self.status == "ignored":
            answer = {"transaction_id": self.transaction_id, "status": self.status, "reason": self.reason}
            return answer | ({"detail": self.detail} if self.detail else {})
        return {"transaction_id": self.transaction_id, "status": self.status, "errors": self.errors}


@dataclass
class IngestReport:
    results: list
    # A format that can ignore items of its documents counts them (inventory.adapters).
    counts_ignored: bool = False

    @property
    def counts(self):
        counts = {"accepted": 0, "duplicate": 0, "conflict": 0, "rejected": 0}
        if self.counts_ignored:
            counts["ignored"] = 0
        for result in self.results:
            counts[result.status] += 1
        return counts

    def as_dict(self):
        return {"counts": self.counts, "results": [r.as_dict() for r in self.results]}


def ingest_events(source: SourceSystem, raw_events, received_at=None, keep_rejections=True,
                  counted=True, reversals=False) -> IngestReport:
    """Validate and post a batch of raw events from `source`.

    Returns one result per event, in order. Never raises for a bad event;
    raises IngestError only when the batch itself is unusable. Rejected
    events are kept for replay unless `keep_rejections` is off (the replay
    itself updates the rows it already has). The answers are counted per
    source and day (inventory.ingest_counts) unless `counted` is off (a
    replay of kept rejections: they were counted when first received).
    Only the tower's own corrections may post `reversals`; a source that
    sends one has it rejected.
    """
    if not isinstance(raw_events, list):
        raise IngestError("'events' must be a list of event objects.")
    if len(raw_events) > settings.INGEST_MAX_EVENTS:
        raise IngestError(f"At most {settings.INGEST_MAX_EVENTS} events per request; got {len(raw_events)}.")
    received_at = received_at or timezone.now()
    master = MasterData(raw_events, source)
    lane = lane_of(source)

    results = [None] * len(raw_events)
    lines, rejections = [], []
    for index, raw in enumerate(raw_events):
        line, errors = validate_event(raw, index, master, received_at)
        if line is not None and line.type == EventType.REVERSAL and not reversals:
            line, errors = None, {"type": ["Only the control tower posts reversals (from a suspected-duplicate case)."]}
        if line is not None:
            errors = lane.errors_for_event(line.type, line.location_id, str(raw["location"]).strip())
            if errors:
                line = None
        if line is None:
            txn = fields.code(raw.get("transaction_id"), max_length=128) if isinstance(raw, dict) else None
            results[index] = EventResult(txn or "", "rejected", errors)
            if keep_rejections:
                rejections.append(_rejection(source, txn or "", raw, errors, received_at))
        else:
            lines.append(line)

    resends = []
    with transaction.atomic():
        statuses, conflicts = _post(source, lines, received_at, resends)
        if rejections or conflicts:
            RejectedEvent.objects.bulk_create(rejections + conflicts)
        if counted:
            answers = Counter(status for status, _ in statuses.values())
            answers["rejected"] += len(raw_events) - len(lines)
            count_batch(source, received_at, answers, max(resends, default=None))

    for line in lines:
        status, errors = statuses[line.index]
        results[line.index] = EventResult(line.transaction_id, status, errors)
    if raw_events and counted:  # the source is alive, even when it sent only refused lines (not a replay)
        source.heard_from(received_at)
    return IngestReport(results)


def _rejection(source, transaction_id, raw, errors, received_at, kind=RejectedEvent.Kind.REJECTED):
    payload = raw if isinstance(raw, dict) else {"value": raw}
    return RejectedEvent(
        source=source,
        transaction_id=transaction_id,
        kind=kind,
        payload=fields.storable(payload),
        errors=fields.storable(errors),
        cause=next(iter(errors), "unknown"),
        received_at=received_at,
    )


def _post(source, lines, received_at, resends):
    """Inside one transaction: classify, write, lock, move positions.

    Returns ({index: (status, errors)}, [conflict RejectedEvents]); adds to
    `resends` the seconds between each duplicate's first receipt and now.
    """
    statuses = {}
    if not lines:
        return statuses, []
    if connection.vendor == "postgresql":
        # A batch looks up a few thousand ledger keys and positions, each one
        # index probe away. With the default random_page_cost (4, made for
        # disks) the planner prefers to scan the whole positions table into a
        # hash join once it holds ~100k rows (175k positions: lock 97 -> 21 ms,
        # update 169 -> 68 ms by index). For this transaction only.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL random_page_cost = 1.1")

    # Idempotency: compare with the ledger and within the batch. This runs
    # before the position locks, so a resent batch locks nothing and the
    # locks are held for the new lines only.
    recorded = _recorded(source, {line.transaction_id for line in lines})
    new_lines = []
    for line in lines:
        is_new = line.transaction_id not in recorded
        if is_new:
            recorded[line.transaction_id] = (line.content_hash, received_at)
            new_lines.append(line)
        content_hash, first_received = recorded[line.transaction_id]
        statuses[line.index] = _classify(line, content_hash, is_new)
        if statuses[line.index][0] == "duplicate":
            resends.append(int((received_at - first_received).total_seconds()))
    if not new_lines:
        return _with_conflicts(source, lines, statuses, received_at)

    # The ledger lines go in before the position locks, to keep the locks
    # short. Other batches see them only after commit, and the count anchors
    # are read and moved under the locks, so the result is the same.
    ids = _insert_ledger_lines(source, new_lines, received_at)
    raced = {line.transaction_id for line in new_lines if line.transaction_id not in ids}
    if raced:
        # A concurrent request posted these keys after our read: the insert
        # skipped them, and they are duplicates or conflicts of what it posted.
        theirs = _recorded(source, raced)
        for line in lines:
            if line.transaction_id in raced:
                statuses[line.index] = _classify(line, theirs[line.transaction_id][0], False)
        new_lines = [line for line in new_lines if line.transaction_id in ids]
        if not new_lines:
            return _with_conflicts(source, lines, statuses, received_at)
    pairs = set()
    for line in new_lines:
        pairs.add((line.location_id, line.sku_id))
        if line.to_location_id:
            pairs.add((line.to_location_id, line.sku_id))
    _lock_positions(sorted(pairs))
    _record_transfers(new_lines)
    recomputed = _advance_count_anchors(new_lines, ids)
    held_by_counts = _apply_deltas(new_lines, recomputed)
    if recomputed:
        _recompute_states(recomputed)
    counts.record_variances(new_lines, ids, held_by_counts)
    return _with_conflicts(source, lines, statuses, received_at)


CONFLICT_ERRORS = {
    "transaction_id": [
        "Already received from this source with different content; "
        "send a new transaction id for a new event."
    ]
}


def _classify(line, recorded_hash, is_new):
    """(status, errors) of a line against the content recorded for its key."""
    if is_new:
        return ("accepted", {})
    if recorded_hash == line.content_hash:
        return ("duplicate", {})
    return ("conflict", CONFLICT_ERRORS)


def _with_conflicts(source, lines, statuses, received_at):
    """(statuses, the conflicts kept as RejectedEvents)."""
    conflicts = [
        _rejection(
            source, line.transaction_id, _line_payload(line), CONFLICT_ERRORS, received_at,
            kind=RejectedEvent.Kind.CONFLICT,
        )
        for line in lines
        if statuses[line.index][0] == "conflict"
    ]
    return statuses, conflicts


def _ledger_keys(source, transaction_ids, column):
    """{transaction_id: column} for the ledger lines of `source` with these ids."""
    return dict(select_rows(
        f"SELECT transaction_id, {column} FROM inventory_inventoryevent "
        "WHERE source_id = %s AND transaction_id {}",
        transaction_ids, params=[source.pk],
    ))


def _recorded(source, transaction_ids):
    """{transaction_id: (content_hash, received_at)} for the ledger lines of `source` with these ids."""
    return {
        txn: (content_hash, aware(received))
        for txn, content_hash, received in select_rows(
            "SELECT transaction_id, content_hash, received_at FROM inventory_inventoryevent "
            "WHERE source_id = %s AND transaction_id {}",
            transaction_ids, params=[source.pk],
        )
    }


def _line_payload(line):
    return {
        "transaction_id": line.transaction_id,
        "type": line.type,
        "location_id": line.location_id,
        "sku_id": line.sku_id,
        "quantity": line.quantity,
        "from_state": line.from_state,
        "to_state": line.to_state,
        "to_location_id": line.to_location_id,
        "reference": line.reference,
        "reason": line.reason,
        "occurred_at": line.occurred_at.isoformat(),
        "cashier": line.cashier,
    }


def _lock_positions(pairs):
    """Make sure a position row exists for every pair, then lock them all in
    (location, sku) order, so two batches touching the same positions queue
    instead of losing an update or deadlocking."""
    now = db_time(timezone.now())
    columns = ", ".join(("location_id", "sku_id") + STATES + ("safety_stock", "updated_at"))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Two statements for the whole batch, the pairs passed as two arrays.
            arrays = [int_array(loc for loc, _ in pairs), int_array(sku for _, sku in pairs)]
            zeros = ", ".join(["0"] * (len(STATES) + 1))
            cursor.execute(
                f"INSERT INTO inventory_position ({columns}) "
                f"SELECT v.loc, v.sku, {zeros}, %s FROM {UNNEST_PAIRS} ORDER BY v.loc, v.sku "
                "ON CONFLICT (location_id, sku_id) DO NOTHING",
                [now, *arrays],
            )
            cursor.execute(
                f"SELECT p.id FROM inventory_position p JOIN {UNNEST_PAIRS} "
                "ON p.location_id = v.loc AND p.sku_id = v.sku "
                "ORDER BY p.location_id, p.sku_id FOR UPDATE OF p",
                arrays,
            )
        else:
            # SQLite: the IMMEDIATE transaction already holds the database write lock.
            zeros = [0] * (len(STATES) + 1)
            placeholders = ", ".join(["%s"] * (len(STATES) + 4))
            cursor.executemany(
                f"INSERT INTO inventory_position ({columns}) VALUES ({placeholders}) "
                "ON CONFLICT (location_id, sku_id) DO NOTHING",
                [(loc, sku, *zeros, now) for loc, sku in pairs],
            )


LEDGER_COLUMNS = (
    "id", "source_id", "transaction_id", "type", "location_id", "sku_id", "quantity",
    "from_state", "to_state", "to_location_id", "reference", "reason",
    "occurred_at", "received_at", "latency_ms", "content_hash",
    "entered_quantity", "entered_unit", "cashier",
)


# PostgreSQL types of LEDGER_COLUMNS, for COPY in binary format.
LEDGER_COPY_TYPES = (
    "int8", "int8", "text", "text", "int8", "int8", "int8", "text", "text", "int8", "text", "text",
    "timestamptz", "timestamptz", "int8", "text", "numeric", "text", "text",
)


def _insert_ledger_lines(source, lines, received_at):
    """Write the lines; returns {transaction_id: ledger id} of those written.

    On PostgreSQL a concurrent request may have committed one of these keys
    since they were read: the insert skips it (ON CONFLICT DO NOTHING) and it
    is missing from the result. The rows are staged with COPY and inserted
    in transaction-id order, so two batches sharing keys wait for each other
    in one order instead of deadlocking; their ledger ids are drawn first,
    in batch order, since a later line of the batch is a later ledger line
    (a count's tie-break). On SQLite the write transaction already excludes
    every other writer: every line is written."""
    rows = [
        (
            source.pk, line.transaction_id, line.type, line.location_id, line.sku_id,
            line.quantity, line.from_state, line.to_state, line.to_location_id, line.reference,
            line.reason, db_time(line.occurred_at), db_time(received_at),
            int((received_at - line.occurred_at).total_seconds() * 1000),
            line.content_hash, line.entered_quantity, line.entered_unit, line.cashier,
        )
        for line in lines
    ]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            columns = ", ".join(LEDGER_COLUMNS[1:])
            placeholders = ", ".join(["%s"] * (len(LEDGER_COLUMNS) - 1))
            cursor.executemany(
                f"INSERT INTO inventory_inventoryevent ({columns}) VALUES ({placeholders})", rows
            )
            return _ledger_keys(source, {line.transaction_id for line in lines}, "id")
        columns = ", ".join(LEDGER_COLUMNS)
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('inventory_inventoryevent', 'id')) "
            "FROM generate_series(1, %s)",
            [len(rows)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
        # A temporary staging table of this connection, emptied per batch.
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS ledger_stage ON COMMIT DELETE ROWS AS "
            f"SELECT {columns} FROM inventory_inventoryevent WITH NO DATA"
        )
        cursor.execute("TRUNCATE ledger_stage")
        with connection.wrap_database_errors, cursor.cursor.copy(
            f"COPY ledger_stage ({columns}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(LEDGER_COPY_TYPES)
            for ledger_id, row in zip(ids, rows):
                copy.write_row((ledger_id, *row))
        cursor.execute(
            f"INSERT INTO inventory_inventoryevent ({columns}) "
            f"SELECT {columns} FROM ledger_stage ORDER BY transaction_id "
            "ON CONFLICT (source_id, transaction_id) DO NOTHING RETURNING transaction_id, id"
        )
        return dict(cursor.fetchall())


def _record_transfers(lines):
    """Keep the Transfer record (shipped and received per transfer x SKU)."""
    totals = {}
    for line in lines:
        if line.type not in (EventType.TRANSFER_OUT, EventType.TRANSFER_IN):
            continue
        key = (line.reference, line.sku_id)
        entry = totals.setdefault(
            key, {"from": None, "to": None, "shipped": 0, "received": 0, "shipped_at": None, "received_at": None}
        )
        if line.type == EventType.TRANSFER_OUT:
            entry["from"], entry["to"] = line.location_id, line.to_location_id
            entry["shipped"] += line.quantity
            entry["shipped_at"] = max(filter(None, (entry["shipped_at"], line.occurred_at)))
        else:
            entry["to"] = entry["to"] or line.location_id
            entry["received"] += line.quantity
            entry["received_at"] = max(filter(None, (entry["received_at"], line.occurred_at)))
    if not totals:
        return
    rows = [
        (ref, sku, e["from"], e["to"], e["shipped"], e["received"], db_time(e["shipped_at"]),
         db_time(e["received_at"]))
        for (ref, sku), e in sorted(totals.items())  # one order for every batch: no lock cycles
    ]
    t = "inventory_transfer"
    insert = (
        f"INSERT INTO {t} (reference, sku_id, from_location_id, to_location_id, quantity_shipped, "
        "quantity_received, shipped_at, received_at) "
    )
    upsert = (
        "ON CONFLICT (reference, sku_id) DO UPDATE SET "
        f"from_location_id = COALESCE(excluded.from_location_id, {t}.from_location_id), "
        f"to_location_id = CASE WHEN excluded.from_location_id IS NOT NULL "
        f"THEN excluded.to_location_id ELSE {t}.to_location_id END, "
        f"quantity_shipped = {t}.quantity_shipped + excluded.quantity_shipped, "
        f"quantity_received = {t}.quantity_received + excluded.quantity_received, "
        f"shipped_at = COALESCE(excluded.shipped_at, {t}.shipped_at), "
        f"received_at = COALESCE(excluded.received_at, {t}.received_at)"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement for the batch (a column array each): one row per
            # (reference, sku), so no row is upserted twice in it.
            cursor.execute(
                insert + "SELECT * FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::bigint[], "
                "%s::bigint[], %s::bigint[], %s::timestamptz[], %s::timestamptz[]) " + upsert,
                [list(column) for column in zip(*rows)],
            )
        else:
            cursor.executemany(insert + "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) " + upsert, rows)


def reversal_transaction_id(line):
    """One reversal per ledger line, whichever case, click or document asks for it."""
    return f"reversal-of-{line.pk}"


def reversal_of(line, reason):
    """The tower's ledger line that undoes `line` (posted with `reversals=True`):
    the same legs with the quantity negated, keyed by the line so no line is
    reversed twice."""
    return {
        "transaction_id": reversal_transaction_id(line),
        "type": "reversal",
        "location": line.location.code,
        "sku": line.sku.code,
        "quantity": -line.quantity,
        "from_state": line.from_state,
        "to_state": line.to_state,
        "to_location": line.to_location.code if line.to_location_id else None,
        "reference": f"event {line.pk}",
        "reason": reason,
        # When the reversed line occurred: a cycle count since then holds neither.
        "occurred_at": line.occurred_at.isoformat(),
    }


def reverse_transfer_line(line):
    """A transfer line the tower reversed as a duplicate leaves its Transfer:
    shipped (a transfer_out) or received (a transfer_in) less by its
    quantity. Its twin, the earlier line, stays, and with it the times.
    Called in the transaction that posts the reversal."""
    field = {EventType.TRANSFER_OUT: "quantity_shipped", EventType.TRANSFER_IN: "quantity_received"}.get(line.type)
    if field is not None:
        Transfer.objects.filter(reference=line.reference, sku_id=line.sku_id).update(
            **{field: F(field) - line.quantity})


def _advance_count_anchors(lines, ledger_ids):
    """Move CountAnchor forward for counts in this batch that are newer than
    the latest known count. Returns the (location, sku, state) keys whose
    quantity must be recomputed from the ledger."""
    counts = {}
    for line in lines:
        if line.type == EventType.CYCLE_COUNT:
            key = (line.location_id, line.sku_id, line.to_state)
            # Later in the batch wins a tie, as a higher ledger id would.
            if key not in counts or line.occurred_at >= counts[key].occurred_at:
                counts[key] = line
    if not counts:
        return set()
    anchors = {
        (a.location_id, a.sku_id, a.state): a
        for a in CountAnchor.objects.filter(
            location_id__in={k[0] for k in counts}, sku_id__in={k[1] for k in counts}
        )
    }
    recompute = set()
    to_create, to_update = [], []
    for key, line in counts.items():
        anchor = anchors.get(key)
        if anchor is not None and anchor.counted_at > line.occurred_at:
            continue  # an older count arriving late changes nothing
        if anchor is None:
            anchor = CountAnchor(location_id=key[0], sku_id=key[1], state=key[2])
            to_create.append(anchor)
        else:
            to_update.append(anchor)
        anchor.counted_at = line.occurred_at
        anchor.counted_quantity = line.quantity
        anchor.event_id = ledger_ids[line.transaction_id]
        recompute.add(key)
    CountAnchor.objects.bulk_create(to_create)
    rows = [(db_time(a.counted_at), a.counted_quantity, a.event_id, a.id) for a in to_update]
    with connection.cursor() as cursor:
        # Not bulk_update: its CASE per row costs more to build than to run.
        if connection.vendor == "postgresql":
            if rows:
                at, quantities, events, ids = zip(*rows)
                cursor.execute(
                    "UPDATE inventory_countanchor a SET counted_at = v.at, counted_quantity = v.quantity, "
                    "event_id = v.event FROM unnest(%s::timestamptz[], %s::bigint[], %s::bigint[], %s::bigint[]) "
                    "AS v(at, quantity, event, id) WHERE a.id = v.id",
                    [list(at), int_array(quantities), int_array(events), int_array(ids)],
                )
        else:
            cursor.executemany(
                "UPDATE inventory_countanchor SET counted_at = %s, counted_quantity = %s, event_id = %s WHERE id = %s",
                rows,
            )
    return recompute


def _apply_deltas(lines, recomputed):
    """Add this batch's moves to the positions: one UPDATE for the batch on
    PostgreSQL, one per touched position on SQLite. Returns the legs
    (location, sku, state, occurred_at) it left to a count: they change a
    count's variance (inventory.counts), not the position."""
    anchors = _anchor_times({(loc, line.sku_id) for line in lines for loc, _, _ in line.legs()})
    deltas = defaultdict(lambda: [0] * len(STATES))
    state_index = {s: i for i, s in enumerate(STATES)}
    held = []
    for line in lines:
        for loc, state, delta in line.legs():
            key = (loc, line.sku_id, state)
            counted_at = anchors.get(key)
            if key in recomputed or (counted_at is not None and line.occurred_at <= counted_at):
                # Set from its new count, or already inside a count: changes its variance, not the position.
                held.append((*key, line.occurred_at))
                continue
            deltas[(loc, line.sku_id)][state_index[state]] += delta
    rows = [(loc, sku, *d) for (loc, sku), d in sorted(deltas.items()) if any(d)]
    if not rows:
        return held
    now = db_time(timezone.now())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One UPDATE for the batch: a column array per state.
            sets = ", ".join(f"{s} = p.{s} + v.{s}" for s in STATES)
            arrays = ", ".join(["%s::bigint[]"] * (len(STATES) + 2))
            cursor.execute(
                f"UPDATE inventory_position p SET {sets}, updated_at = %s "
                f"FROM unnest({arrays}) AS v(loc, sku, {', '.join(STATES)}) "
                "WHERE p.location_id = v.loc AND p.sku_id = v.sku",
                [now, *(int_array(column) for column in zip(*rows))],
            )
        else:
            sets = ", ".join(f"{s} = {s} + %s" for s in STATES)
            cursor.executemany(
                f"UPDATE inventory_position SET {sets}, updated_at = %s WHERE location_id = %s AND sku_id = %s",
                [(*d, now, loc, sku) for loc, sku, *d in rows],
            )
    return held


def _anchor_times(pairs):
    if not pairs:
        return {}
    found = {}
    pairs = sorted(pairs)
    select = "SELECT a.location_id, a.sku_id, a.state, a.counted_at FROM inventory_countanchor a JOIN "
    on = " ON a.location_id = v.loc AND a.sku_id = v.sku"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = [int_array(loc for loc, _ in pairs), int_array(sku for _, sku in pairs)]
            cursor.execute(select + UNNEST_PAIRS + on, arrays)
            rows = cursor.fetchall()
        else:
            rows = []
            for chunk in chunks(pairs, 5000):
                values, params = values_clause(chunk, 2)
                cursor.execute(f"WITH v(loc, sku) AS (VALUES {values}) " + select + "v" + on, params)
                rows += cursor.fetchall()
    for loc, sku, state, counted_at in rows:
        found[(loc, sku, state)] = aware(counted_at)
    return found


def _recompute_states(keys):
    """Set the given (location, sku, state) quantities to their count anchor
    plus the ledger lines that occurred after it: the fold of that state,
    reading only the lines since the count, not the whole history."""
    values, params = values_clause(sorted(keys), 3)
    after_count = "e.sku_id = a.sku_id AND e.occurred_at > a.counted_at AND e.type <> 'cycle_count'"
    sql = f"""
        WITH k(loc, sku, state) AS (VALUES {values})
        SELECT a.location_id, a.sku_id, a.state, a.counted_quantity
            - COALESCE((SELECT SUM(e.quantity) FROM inventory_inventoryevent e
                        WHERE e.location_id = a.location_id AND {after_count}
                          AND e.from_state = a.state), 0)
            + COALESCE((SELECT SUM(e.quantity) FROM inventory_inventoryevent e
                        WHERE e.location_id = a.location_id AND {after_count}
                          AND e.to_state = a.state AND e.to_location_id IS NULL), 0)
            + COALESCE((SELECT SUM(e.quantity) FROM inventory_inventoryevent e
                        WHERE e.to_location_id = a.location_id AND {after_count}
                          AND e.to_state = a.state), 0)
        FROM inventory_countanchor a
        JOIN k ON a.location_id = k.loc AND a.sku_id = k.sku AND a.state = k.state
    """
    now = db_time(timezone.now())
    by_state = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for loc, sku, state, quantity in cursor.fetchall():
            by_state[state].append((int(quantity), loc, sku))
        for state, rows in by_state.items():
            if connection.vendor == "postgresql":
                # One statement per state, a column array each.
                cursor.execute(
                    f"UPDATE inventory_position p SET {state} = v.quantity, updated_at = %s "
                    "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS v(quantity, loc, sku) "
                    "WHERE p.location_id = v.loc AND p.sku_id = v.sku",
                    [now, *(int_array(column) for column in zip(*rows))],
                )
            else:
                cursor.executemany(
                    f"UPDATE inventory_position SET {state} = %s, updated_at = %s "
                    "WHERE location_id = %s AND sku_id = %s",
                    [(quantity, now, loc, sku) for quantity, loc, sku in rows],
                )
