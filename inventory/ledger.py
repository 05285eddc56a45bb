"""The inventory ledger: validating, posting and folding inventory events.

`ingest_events` is the one way events enter the tower: the REST API, the demo
loader and the replay of rejections all call it. It validates a batch as a
batch (one query per kind of master data), writes the new ledger lines in
bulk (COPY on PostgreSQL) and moves the positions with one set-based update.

The ledger is the truth. `fold_ledger` recomputes quantities per location x
SKU x state from it (optionally as of a time); `rebuild_positions` compares
or repairs the projection with that fold.

Rules kept here (DOMAIN.md):
- (source, transaction_id) is the idempotency key: same content is a
  duplicate, different content a conflict (kept as a RejectedEvent).
- Sales are facts: never refused for lack of stock.
- A cycle count is the truth as of its count time: a ledger line that
  occurred at or before the latest count of a state does not move that state.
- Bad input is rejected per event and kept for replay; the batch goes on.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from controltower.db import aware, db_time

from . import fields
from .lanes import lane_of
from .models import (
    STATES,
    SKU,
    CountAnchor,
    EventType,
    InventoryEvent,
    Location,
    Position,
    RejectedEvent,
    SourceSystem,
)


WRITTEN_OFF = "written_off"

# type -> (allowed from_states, default from, allowed to_states, default to).
# None means the leg does not exist for that type.
MOVES = {
    EventType.RECEIPT: ((), None, ("available", "pending_inspection"), "available"),
    EventType.SALE: (("available",), "available", (), None),
    EventType.RESERVE: (("available",), "available", ("reserved",), "reserved"),
    EventType.RELEASE: (("reserved",), "reserved", ("available",), "available"),
    EventType.PICK: (("reserved",), "reserved", ("picked",), "picked"),
    EventType.PACK: (("picked",), "picked", ("packed",), "packed"),
    EventType.STAGE: (("packed",), "packed", ("staged",), "staged"),
    EventType.FULFIL: (("staged",), "staged", (), None),
    EventType.RETURN: ((), None, ("returned",), "returned"),
    EventType.DISPOSITION: (
        ("returned", "pending_inspection"),
        "returned",
        ("available", "damaged", "quarantined", WRITTEN_OFF),
        None,
    ),
    EventType.DAMAGE: (("available",), "available", ("damaged",), "damaged"),
    EventType.WRITE_OFF: (("damaged", "quarantined"), "damaged", (), None),
    EventType.TRANSFER_OUT: (("available",), "available", ("in_transit",), "in_transit"),
    EventType.TRANSFER_IN: (("in_transit",), "in_transit", ("available",), "available"),
    EventType.ADJUSTMENT: ((), None, STATES, "available"),
    EventType.CYCLE_COUNT: ((), None, STATES, "available"),
    EventType.SALES_POSTING: ((), None, (), None),
}
EVENT_TYPES = {t.value for t in EventType}


class IngestError(ValueError):
    """The batch as a whole cannot be taken (too large, not a list)."""


@dataclass
class EventResult:
    transaction_id: str
    status: str  # accepted | duplicate | conflict | rejected
    errors: dict = field(default_factory=dict)

    def as_dict(self):
        return {"transaction_id": self.transaction_id, "status": self.status, "errors": self.errors}


@dataclass
class IngestReport:
    results: list

    @property
    def counts(self):
        counts = {"accepted": 0, "duplicate": 0, "conflict": 0, "rejected": 0}
        for result in self.results:
            counts[result.status] += 1
        return counts

    def as_dict(self):
        return {"counts": self.counts, "results": [r.as_dict() for r in self.results]}


@dataclass
class _Line:
    """A validated event, ready for the ledger."""

    index: int
    transaction_id: str
    type: str
    location_id: int
    sku_id: int
    quantity: int
    from_state: str | None
    to_state: str | None
    to_location_id: int | None
    reference: str
    reason: str
    occurred_at: datetime
    entered_quantity: Decimal
    entered_unit: str
    content_hash: str = ""
    event_id: int | None = None

    def legs(self):
        """(location, state, delta) for each state this line moves."""
        if self.type == EventType.CYCLE_COUNT:
            return []
        legs = []
        if self.from_state:
            legs.append((self.location_id, self.from_state, -self.quantity))
        if self.to_state:
            legs.append((self.to_location_id or self.location_id, self.to_state, self.quantity))
        return legs


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------

def _state(raw, name, allowed, default, errors):
    value = raw.get(name) or default
    if not allowed:
        if raw.get(name):
            errors.setdefault(name, []).append("Not used by this event type.")
        return None
    if value is None:
        errors.setdefault(name, []).append(f"This field is required; one of {', '.join(allowed)}.")
        return None
    if not isinstance(value, str) or value not in allowed:
        errors.setdefault(name, []).append(
            f"{fields.shown(value)} is not allowed here; one of {', '.join(allowed)}."
        )
        return None
    return value


def _select(sql, *value_sets, params=()):
    """Rows of `sql`, each {} in it matching any value of the next set: one
    array parameter on PostgreSQL (thousands of IN placeholders cost more to
    build than the query takes), an IN list elsewhere. `params` come first."""
    matches, values = [], list(params)
    for value_set in value_sets:
        if connection.vendor == "postgresql":
            matches.append("= ANY(%s)")
            values.append(list(value_set))
        else:
            matches.append(f"IN ({', '.join(['%s'] * len(value_set))})")
            values.extend(value_set)
    with connection.cursor() as cursor:
        cursor.execute(sql.format(*matches), values)
        return cursor.fetchall()


class MasterData:
    """Location, SKU, barcode and unit lookups for one batch: one query each."""

    def __init__(self, raw_events):
        location_codes, sku_codes, barcodes = set(), set(), set()
        for raw in raw_events:
            if not isinstance(raw, dict):
                continue
            # Only values that can be codes reach the queries (a NUL or a
            # list would fail the query for the whole batch).
            for key in ("location", "to_location"):
                location_codes.add(fields.code(raw.get(key)))
            sku_codes.add(fields.code(raw.get("sku")))
            barcodes.add(fields.code(raw.get("barcode")))
        location_codes.discard(None)
        sku_codes.discard(None)
        barcodes.discard(None)
        self.locations = dict(_select(
            "SELECT code, id FROM inventory_location WHERE active AND code {}", location_codes
        ))
        self.barcodes = dict(_select(
            "SELECT b.code, b.sku_id FROM inventory_barcode b JOIN inventory_sku s ON s.id = b.sku_id "
            "WHERE s.active AND b.code {}",
            barcodes,
        ))
        skus = _select(
            "SELECT id, code, base_unit FROM inventory_sku WHERE active AND (code {} OR id {})",
            sku_codes, set(self.barcodes.values()),
        )
        self.sku_ids = {}
        self.base_units = {}
        for sku_id, code, base_unit in skus:
            self.sku_ids[code] = sku_id
            self.base_units[sku_id] = base_unit
        self.factors = {
            (sku_id, unit): factor
            for sku_id, unit, factor in _select(
                "SELECT sku_id, unit, factor FROM inventory_unitconversion WHERE sku_id {}", self.base_units
            )
        }

    def factor(self, sku_id, unit):
        if unit == self.base_units[sku_id]:
            return 1
        return self.factors.get((sku_id, unit))


def _content_hash(line):
    # Normalised content, so the same event sent by barcode or by SKU code,
    # in cases or in eaches, is recognised as the same.
    key = "|".join(
        str(v)
        for v in (
            line.type,
            line.location_id,
            line.sku_id,
            line.quantity,
            line.from_state,
            line.to_state,
            line.to_location_id,
            line.reference,
            line.reason,
            line.occurred_at.timestamp(),
        )
    )
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def validate_event(raw, index, master, now):
    """Return (_Line, {}) or (None, errors) for one raw event."""
    if not isinstance(raw, dict):
        return None, {"non_field_errors": ["Each event must be a JSON object."]}
    errors = {}
    transaction_id = fields.text(raw, "transaction_id", errors, required=True)
    event_type = raw.get("type")
    if not isinstance(event_type, str) or event_type not in EVENT_TYPES:
        if event_type is None or event_type == "":
            errors["type"] = ["This field is required."]
        elif not isinstance(event_type, str):
            errors["type"] = ["Must be a string: one of " + ", ".join(sorted(EVENT_TYPES)) + "."]
        else:
            errors["type"] = [f"Unknown event type {fields.shown(event_type)}."]
        return None, errors

    location_code = fields.text(raw, "location", errors, required=True, max_length=32)
    location_id = master.locations.get(location_code) if location_code else None
    if location_code and location_id is None:
        errors.setdefault("location", []).append(f"Unknown location {fields.shown(location_code)}.")

    sku_id = None
    sku_code = fields.text(raw, "sku", errors, max_length=64)
    if sku_code:
        sku_id = master.sku_ids.get(sku_code)
        if sku_id is None:
            errors.setdefault("sku", []).append(f"Unknown or inactive SKU {fields.shown(sku_code)}.")
    elif "sku" not in errors:
        barcode = fields.text(raw, "barcode", errors, max_length=64)
        if barcode:
            sku_id = master.barcodes.get(barcode)
            if sku_id is None:
                errors.setdefault("barcode", []).append(f"Unknown barcode {fields.shown(barcode)}.")
        elif "barcode" not in errors:
            errors.setdefault("sku", []).append("Give a sku code or a barcode.")

    # Bounded before the conversion: the largest factor times the largest
    # entered quantity still fits, and is checked again in base units below.
    quantity = fields.number(
        raw, "quantity", errors, maximum=fields.MAX_QUANTITY, places=fields.QUANTITY_PLACES
    )
    unit = fields.text(raw, "unit", errors, max_length=16)
    base_quantity = None
    if sku_id is not None and quantity is not None and "unit" not in errors:
        unit = unit or master.base_units[sku_id]
        factor = master.factor(sku_id, unit)
        if factor is None:
            errors.setdefault("unit", []).append(
                f"Unknown unit {fields.shown(unit)} for this SKU (base unit {master.base_units[sku_id]})."
            )
        else:
            exact = quantity * factor
            if exact != exact.to_integral_value():
                errors.setdefault("quantity", []).append(
                    f"{quantity} {unit} is {exact} base units: not a whole number."
                )
            elif abs(exact) > fields.MAX_QUANTITY:
                errors.setdefault("quantity", []).append(
                    f"{quantity} {unit} is {exact:,} base units: at most {fields.MAX_QUANTITY:,}."
                )
            else:
                base_quantity = int(exact)
    if base_quantity is not None:
        if event_type == EventType.ADJUSTMENT:
            if base_quantity == 0:
                errors.setdefault("quantity", []).append("An adjustment must not be zero.")
        elif event_type == EventType.CYCLE_COUNT:
            if base_quantity < 0:
                errors.setdefault("quantity", []).append("A counted quantity cannot be negative.")
        elif base_quantity <= 0:
            errors.setdefault("quantity", []).append("Must be greater than zero.")

    occurred_at = fields.time(raw, "occurred_at", errors, now)
    allowed_from, default_from, allowed_to, default_to = MOVES[event_type]
    from_state = _state(raw, "from_state", allowed_from, default_from, errors)
    to_state = _state(raw, "to_state", allowed_to, default_to, errors)
    reference = fields.text(raw, "reference", errors)
    reason = fields.text(raw, "reason", errors, max_length=64)

    to_location_id = None
    if event_type == EventType.TRANSFER_OUT:
        to_code = fields.text(raw, "to_location", errors, required=True, max_length=32)
        if to_code:
            to_location_id = master.locations.get(to_code)
            if to_location_id is None:
                errors.setdefault("to_location", []).append(f"Unknown location {fields.shown(to_code)}.")
            elif to_location_id == location_id:
                errors.setdefault("to_location", []).append("Must differ from location.")
    elif raw.get("to_location"):
        errors.setdefault("to_location", []).append("Only a transfer_out has a to_location.")
    if event_type in (EventType.TRANSFER_OUT, EventType.TRANSFER_IN) and not reference:
        errors.setdefault("reference", []).append("A transfer needs its transfer id as reference.")
    if event_type == EventType.ADJUSTMENT and not reason:
        errors.setdefault("reason", []).append("An adjustment needs a reason code.")
    if event_type == EventType.DISPOSITION and to_state == WRITTEN_OFF:
        to_state = None
        reason = reason or WRITTEN_OFF

    if errors:
        return None, errors
    line = _Line(
        index=index,
        transaction_id=transaction_id,
        type=event_type,
        location_id=location_id,
        sku_id=sku_id,
        quantity=base_quantity,
        from_state=from_state,
        to_state=to_state,
        to_location_id=to_location_id,
        reference=reference,
        reason=reason,
        occurred_at=occurred_at,
        entered_quantity=quantity,
        entered_unit=unit,
    )
    line.content_hash = _content_hash(line)
    return line, {}


# --------------------------------------------------------------------------
# Posting
# --------------------------------------------------------------------------

def ingest_events(source: SourceSystem, raw_events, received_at=None, keep_rejections=True) -> IngestReport:
    """Validate and post a batch of raw events from `source`.

    Returns one result per event, in order. Never raises for a bad event;
    raises IngestError only when the batch itself is unusable. Rejected
    events are kept for replay unless `keep_rejections` is off (the replay
    itself updates the rows it already has).
    """
    if not isinstance(raw_events, list):
        raise IngestError("'events' must be a list of event objects.")
    if len(raw_events) > settings.INGEST_MAX_EVENTS:
        raise IngestError(f"At most {settings.INGEST_MAX_EVENTS} events per request; got {len(raw_events)}.")
    received_at = received_at or timezone.now()
    master = MasterData(raw_events)
    lane = lane_of(source)

    results = [None] * len(raw_events)
    lines, rejections = [], []
    for index, raw in enumerate(raw_events):
        line, errors = validate_event(raw, index, master, received_at)
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

    with transaction.atomic():
        statuses, conflicts = _post(source, lines, received_at)
        if rejections or conflicts:
            RejectedEvent.objects.bulk_create(rejections + conflicts)

    for line in lines:
        status, errors = statuses[line.index]
        results[line.index] = EventResult(line.transaction_id, status, errors)
    if lines:
        latest = received_at
        SourceSystem.objects.filter(pk=source.pk).exclude(last_event_at__gte=latest).update(
            last_event_at=latest
        )
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


def _post(source, lines, received_at):
    """Inside one transaction: classify, write, lock, move positions.

    Returns ({index: (status, errors)}, [conflict RejectedEvents]).
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
    recorded = _ledger_keys(source, {line.transaction_id for line in lines}, "content_hash")
    new_lines = []
    for line in lines:
        is_new = line.transaction_id not in recorded
        if is_new:
            recorded[line.transaction_id] = line.content_hash
            new_lines.append(line)
        statuses[line.index] = _classify(line, recorded[line.transaction_id], is_new)
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
        theirs = _ledger_keys(source, raced, "content_hash")
        for line in lines:
            if line.transaction_id in raced:
                statuses[line.index] = _classify(line, theirs[line.transaction_id], False)
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
    _apply_deltas(new_lines, recomputed)
    if recomputed:
        _recompute_states(recomputed)
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
    return dict(_select(
        f"SELECT transaction_id, {column} FROM inventory_inventoryevent "
        "WHERE source_id = %s AND transaction_id {}",
        transaction_ids, params=[source.pk],
    ))


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
    }


def _values_clause(rows, width):
    row = "(" + ", ".join(["%s"] * width) + ")"
    return ", ".join([row] * len(rows)), [v for r in rows for v in r]


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


# (location, sku) pairs passed to PostgreSQL as two arrays.
_UNNEST_PAIRS = "unnest(%s::bigint[], %s::bigint[]) AS v(loc, sku)"


def _int_array(values):
    """A bigint[] parameter as its text literal. psycopg adapts a list one
    element at a time in Python, which costs more than the query itself for
    a few thousand rows."""
    return "{" + ",".join(map(str, values)) + "}"


def _lock_positions(pairs):
    """Make sure a position row exists for every pair, then lock them all in
    (location, sku) order, so two batches touching the same positions queue
    instead of losing an update or deadlocking."""
    now = db_time(timezone.now())
    columns = ", ".join(("location_id", "sku_id") + STATES + ("safety_stock", "updated_at"))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Two statements for the whole batch, the pairs passed as two arrays.
            arrays = [_int_array(loc for loc, _ in pairs), _int_array(sku for _, sku in pairs)]
            zeros = ", ".join(["0"] * (len(STATES) + 1))
            cursor.execute(
                f"INSERT INTO inventory_position ({columns}) "
                f"SELECT v.loc, v.sku, {zeros}, %s FROM {_UNNEST_PAIRS} ORDER BY v.loc, v.sku "
                "ON CONFLICT (location_id, sku_id) DO NOTHING",
                [now, *arrays],
            )
            cursor.execute(
                f"SELECT p.id FROM inventory_position p JOIN {_UNNEST_PAIRS} "
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
    "entered_quantity", "entered_unit",
)
# PostgreSQL types of LEDGER_COLUMNS, for COPY in binary format.
LEDGER_COPY_TYPES = (
    "int8", "int8", "text", "text", "int8", "int8", "int8", "text", "text", "int8", "text", "text",
    "timestamptz", "timestamptz", "int8", "text", "numeric", "text",
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
            line.content_hash, line.entered_quantity, line.entered_unit,
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
                    [list(at), _int_array(quantities), _int_array(events), _int_array(ids)],
                )
        else:
            cursor.executemany(
                "UPDATE inventory_countanchor SET counted_at = %s, counted_quantity = %s, event_id = %s WHERE id = %s",
                rows,
            )
    return recompute


def _apply_deltas(lines, recomputed):
    """Add this batch's moves to the positions: one UPDATE for the batch on
    PostgreSQL, one per touched position on SQLite."""
    anchors = _anchor_times({(loc, line.sku_id) for line in lines for loc, _, _ in line.legs()})
    deltas = defaultdict(lambda: [0] * len(STATES))
    state_index = {s: i for i, s in enumerate(STATES)}
    for line in lines:
        for loc, state, delta in line.legs():
            key = (loc, line.sku_id, state)
            if key in recomputed:
                continue
            counted_at = anchors.get(key)
            if counted_at is not None and line.occurred_at <= counted_at:
                continue  # already inside that count: changes its variance, not the position
            deltas[(loc, line.sku_id)][state_index[state]] += delta
    rows = [(loc, sku, *d) for (loc, sku), d in sorted(deltas.items()) if any(d)]
    if not rows:
        return
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
                [now, *(_int_array(column) for column in zip(*rows))],
            )
        else:
            sets = ", ".join(f"{s} = {s} + %s" for s in STATES)
            cursor.executemany(
                f"UPDATE inventory_position SET {sets}, updated_at = %s WHERE location_id = %s AND sku_id = %s",
                [(*d, now, loc, sku) for loc, sku, *d in rows],
            )


def _anchor_times(pairs):
    if not pairs:
        return {}
    found = {}
    pairs = sorted(pairs)
    select = "SELECT a.location_id, a.sku_id, a.state, a.counted_at FROM inventory_countanchor a JOIN "
    on = " ON a.location_id = v.loc AND a.sku_id = v.sku"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = [_int_array(loc for loc, _ in pairs), _int_array(sku for _, sku in pairs)]
            cursor.execute(select + _UNNEST_PAIRS + on, arrays)
            rows = cursor.fetchall()
        else:
            rows = []
            for chunk in _chunks(pairs, 5000):
                values, params = _values_clause(chunk, 2)
                cursor.execute(f"WITH v(loc, sku) AS (VALUES {values}) " + select + "v" + on, params)
                rows += cursor.fetchall()
    for loc, sku, state, counted_at in rows:
        found[(loc, sku, state)] = aware(counted_at)
    return found


def _recompute_states(keys):
    """Set the given (location, sku, state) quantities to their count anchor
    plus the ledger lines that occurred after it: the fold of that state,
    reading only the lines since the count, not the whole history."""
    values, params = _values_clause(sorted(keys), 3)
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
                    [now, *(_int_array(column) for column in zip(*rows))],
                )
            else:
                cursor.executemany(
                    f"UPDATE inventory_position SET {state} = %s, updated_at = %s "
                    "WHERE location_id = %s AND sku_id = %s",
                    [(quantity, now, loc, sku) for quantity, loc, sku in rows],
                )


# --------------------------------------------------------------------------
# Folding the ledger
# --------------------------------------------------------------------------

def fold_ledger(pairs=None, as_of=None, location_ids=None, exclude_event_id=None):
    """Quantities per (location, sku, state) recomputed from the ledger.

    The latest cycle count of a state (by count time, then ledger id) sets
    it; only lines that occurred after that count move it further. `pairs`
    limits the fold to some (location, sku); `as_of` to lines that occurred
    at or before that time; `location_ids` to some locations. Returns
    {(location_id, sku_id, state): quantity}.
    """
    where, params = [], []
    if as_of is not None:
        where.append("e.occurred_at <= %s")
        params.append(db_time(as_of))
    if exclude_event_id is not None:
        where.append("e.id <> %s")
        params.append(exclude_event_id)
    where_sql = (" AND " + " AND ".join(where)) if where else ""

    def leg_scope(location_column):
        clauses, scope_params = [], []
        if pairs is not None:
            values, values_params = _values_clause(pairs, 2)
            clauses.append(f"({location_column}, e.sku_id) IN (VALUES {values})")
            scope_params += values_params
        if location_ids is not None:
            clauses.append(f"{location_column} IN ({', '.join(['%s'] * len(location_ids))})")
            scope_params += list(location_ids)
        return "".join(" AND " + c for c in clauses), scope_params

    # The into-leg lands at to_location when set, else at location. The two
    # cases are separate selects so each can use an index on its own column
    # (a scope on COALESCE(to_location_id, location_id) scans the whole ledger).
    here_scope, here_params = leg_scope("e.location_id")
    there_scope, there_params = leg_scope("e.to_location_id")
    sql = f"""
        WITH legs AS (
            SELECT e.id, e.location_id AS loc, e.sku_id AS sku, e.from_state AS state,
                   -e.quantity AS delta, e.occurred_at AS at, 0 AS is_count
            FROM inventory_inventoryevent e
            WHERE e.from_state IS NOT NULL AND e.type <> 'cycle_count'{where_sql}{here_scope}
            UNION ALL
            SELECT e.id, e.location_id, e.sku_id, e.to_state, e.quantity, e.occurred_at,
                   CASE WHEN e.type = 'cycle_count' THEN 1 ELSE 0 END
            FROM inventory_inventoryevent e
            WHERE e.to_state IS NOT NULL AND e.to_location_id IS NULL{where_sql}{here_scope}
            UNION ALL
            SELECT e.id, e.to_location_id, e.sku_id, e.to_state, e.quantity, e.occurred_at,
                   CASE WHEN e.type = 'cycle_count' THEN 1 ELSE 0 END
            FROM inventory_inventoryevent e
            WHERE e.to_state IS NOT NULL AND e.to_location_id IS NOT NULL{where_sql}{there_scope}
        ),
        counts AS (
            SELECT loc, sku, state, delta AS quantity, at,
                   ROW_NUMBER() OVER (PARTITION BY loc, sku, state ORDER BY at DESC, id DESC) AS rn
            FROM legs WHERE is_count = 1
        )
        SELECT l.loc, l.sku, l.state,
               COALESCE(MAX(c.quantity), 0) + SUM(
                   CASE WHEN l.is_count = 0 AND (c.at IS NULL OR l.at > c.at) THEN l.delta ELSE 0 END
               )
        FROM legs l
        LEFT JOIN counts c ON c.rn = 1 AND c.loc = l.loc AND c.sku = l.sku AND c.state = l.state
        GROUP BY l.loc, l.sku, l.state
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, (params + here_params) * 2 + params + there_params)
        return {(loc, sku, state): int(qty) for loc, sku, state, qty in cursor.fetchall()}


def count_variance(event: InventoryEvent):
    """Counted minus book quantity as of the count time, for a cycle_count.

    A late event that occurred before the count changes this figure, not
    the position."""
    # The book as of the count includes everything that occurred at or before
    # it, but not the count itself (nor another count at the same instant).
    key = (event.location_id, event.sku_id)
    book = fold_ledger(pairs=[key], as_of=event.occurred_at, exclude_event_id=event.id)
    return event.quantity - book.get((*key, event.to_state), 0)


@dataclass
class RebuildReport:
    positions_checked: int
    differences: list  # (location_code, sku_code, state, stored, ledger)
    repaired: bool


def rebuild_positions(repair=False, location_ids=None) -> RebuildReport:
    """Compare every position with the ledger fold; with repair, fix them
    (and the count anchors) inside one transaction."""
    with transaction.atomic():
        folded = fold_ledger(location_ids=location_ids)
        positions = Position.objects.all()
        if location_ids is not None:
            positions = positions.filter(location_id__in=location_ids)
        if repair and connection.vendor == "postgresql":
            positions = positions.select_for_update()
        stored = {
            (row["location_id"], row["sku_id"]): row
            for row in positions.values("id", "location_id", "sku_id", *STATES)
        }
        keys = set(stored) | {(loc, sku) for loc, sku, _ in folded}
        differences = []
        fixes = defaultdict(dict)
        for loc, sku in keys:
            row = stored.get((loc, sku), {})
            for state in STATES:
                have = row.get(state, 0)
                want = folded.get((loc, sku, state), 0)
                if have != want:
                    differences.append((loc, sku, state, have, want))
                    fixes[(loc, sku)][state] = want
        if repair:
            missing = [pair for pair in fixes if pair not in stored]
            Position.objects.bulk_create(
                [Position(location_id=loc, sku_id=sku) for loc, sku in missing], ignore_conflicts=True
            )
            for (loc, sku), values in fixes.items():
                Position.objects.filter(location_id=loc, sku_id=sku).update(**values, updated_at=timezone.now())
            _rebuild_count_anchors(location_ids)
    codes = _codes_for(differences)
    named = [
        (codes["loc"][loc], codes["sku"][sku], state, have, want)
        for loc, sku, state, have, want in sorted(differences)
    ]
    return RebuildReport(positions_checked=len(keys), differences=named, repaired=repair)


def _rebuild_count_anchors(location_ids=None):
    counts = InventoryEvent.objects.filter(type=EventType.CYCLE_COUNT)
    anchors = CountAnchor.objects.all()
    if location_ids is not None:
        counts = counts.filter(location_id__in=location_ids)
        anchors = anchors.filter(location_id__in=location_ids)
    latest = {}
    for event in counts.order_by("occurred_at", "id").only(
        "id", "location_id", "sku_id", "to_state", "occurred_at", "quantity"
    ):
        latest[(event.location_id, event.sku_id, event.to_state)] = event
    anchors.delete()
    CountAnchor.objects.bulk_create(
        [
            CountAnchor(
                location_id=loc, sku_id=sku, state=state, counted_at=e.occurred_at,
                event_id=e.id, counted_quantity=e.quantity,
            )
            for (loc, sku, state), e in latest.items()
        ]
    )


def _codes_for(differences):
    loc_ids = {d[0] for d in differences}
    sku_ids = {d[1] for d in differences}
    return {
        "loc": dict(Location.objects.filter(id__in=loc_ids).values_list("id", "code")),
        "sku": dict(SKU.objects.filter(id__in=sku_ids).values_list("id", "code")),
    }


# --------------------------------------------------------------------------
# Replaying rejections
# --------------------------------------------------------------------------

def replay_rejections(source=None, limit=50000):
    """Post kept rejections again, after the master data was fixed.

    A rejection that goes in now (accepted, or a duplicate of what is in the
    ledger) is closed with that status; one still rejected stays open with
    its new errors. Returns the counts of this replay."""
    pending = RejectedEvent.objects.filter(replayed_at__isnull=True, kind=RejectedEvent.Kind.REJECTED)
    if source is not None:
        pending = pending.filter(source=source)
    totals = {"accepted": 0, "duplicate": 0, "conflict": 0, "rejected": 0}
    by_source = defaultdict(list)
    for rejection in pending.select_related("source").order_by("id")[:limit]:
        by_source[rejection.source].append(rejection)
    for replay_source, rejections in by_source.items():
        for chunk in _chunks(rejections, settings.INGEST_MAX_EVENTS):
            report = ingest_events(replay_source, [r.payload for r in chunk], keep_rejections=False)
            now = timezone.now()
            for rejection, result in zip(chunk, report.results):
                totals[result.status] += 1
                rejection.replay_status = result.status
                if result.status == "rejected":
                    rejection.errors = result.errors
                    rejection.cause = next(iter(result.errors), "unknown")
                else:
                    rejection.replayed_at = now
            RejectedEvent.objects.bulk_update(chunk, ["replay_status", "replayed_at", "errors", "cause"])
    return totals


__all__ = [
    "ingest_events",
    "IngestError",
    "IngestReport",
    "fold_ledger",
    "rebuild_positions",
    "replay_rejections",
    "count_variance",
]
