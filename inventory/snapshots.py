"""Snapshots: what a source system says it holds, as of a time.

`ingest_snapshot` is the one way a snapshot enters the tower (API and CSV
command). Lines are validated as a batch with the ledger's master-data
lookups and unit conversions; bad lines are refused one by one with
{field: [messages]} and the rest go in. Accepted lines are written with COPY
on PostgreSQL. Reconciliation compares a snapshot with the ledger as of its
`as_of` (exceptions.reconciliation).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from . import fields
from .lanes import lane_of
from .ledger.validation import MasterData, validate_event
from .models import EventType, Snapshot, SourceSystem

MAX_LINES = 100_000
# Lines per master-data lookup: keeps each IN (...) list well inside
# SQLite's limit on bound parameters.
LOOKUP_CHUNK = 5000
LINE_COLUMNS = ("snapshot_id", "location_id", "sku_id", "state", "quantity", "value")


class SnapshotError(ValueError):
    """The snapshot as a whole cannot be taken (bad as_of, lines not a list, too many)."""


@dataclass
class SnapshotReport:
    snapshot: Snapshot | None
    received: int
    rejected: list = field(default_factory=list)  # [{"index": i, "errors": {field: [...]}}]

    @property
    def counts(self):
        return {
            "received": self.received,
            "accepted": self.received - len(self.rejected),
            "rejected": len(self.rejected),
        }

    def as_dict(self):
        return {
            "snapshot": self.snapshot.pk if self.snapshot else None,
            "counts": self.counts,
            "rejected": self.rejected,
        }


def parse_as_of(value, now=None):
    """An ISO 8601 time with a UTC offset, not in the future, in UTC."""
    errors = {}
    parsed = fields.time({"as_of": value}, "as_of", errors, now or timezone.now())
    if parsed is None:
        raise SnapshotError(f"'as_of': {errors['as_of'][0]}")
    return parsed


def _validate_line(raw, master, as_of, now):
    """Return ((location_id, sku_id, state, quantity, value), {}) or (None, errors).

    A snapshot line says what a count says: this state held this quantity as
    of that time. So it is validated as a cycle_count through the ledger's
    own rules (location, SKU or barcode, unit conversion, a whole and
    non-negative base quantity, a known state)."""
    if not isinstance(raw, dict):
        return None, {"non_field_errors": ["Each line must be a JSON object."]}
    as_count = {key: raw.get(key) for key in ("location", "sku", "barcode", "quantity", "unit")}
    as_count.update(
        transaction_id="snapshot", type=EventType.CYCLE_COUNT, occurred_at=as_of,
        to_state=raw.get("state") or "available",
    )
    line, errors = validate_event(as_count, 0, master, now)
    if "to_state" in errors:
        errors["state"] = errors.pop("to_state")
    value = _parse_value(raw, errors)
    if errors:
        return None, errors
    return (line.location_id, line.sku_id, line.to_state, line.quantity, value), {}


def _parse_value(raw, errors):
    value = fields.number(raw, "value", errors, maximum=fields.MAX_VALUE, required=False)
    return None if value is None else value.quantize(Decimal("0.01"))


def ingest_snapshot(
    source: SourceSystem, as_of, lines, received_at=None, kind=Snapshot.Kind.ON_HAND,
    scope=Snapshot.Scope.LINES,
) -> SnapshotReport:
    """Validate and store one snapshot from `source`, of `kind` (on_hand or
    valuation) and `scope`: `lines` (the default) speaks for the lines it
    lists only, `full` for every SKU of the locations it names (a SKU it
    does not list counts as zero there; exceptions.reconciliation.snapshots).

    Raises SnapshotError when the envelope is unusable; otherwise returns the
    report, listing each refused line with its index. A location x SKU x
    state given twice is refused the second time. No snapshot is created
    when no line is accepted. A kind outside the source's lane refuses the
    snapshot; a line at a location outside it is refused.
    """
    received_at = received_at or timezone.now()
    as_of = parse_as_of(as_of, received_at)
    if kind not in Snapshot.Kind.values:
        raise SnapshotError(f"'kind' must be one of {', '.join(Snapshot.Kind.values)}.")
    if scope not in Snapshot.Scope.values:
        raise SnapshotError(
            f"'scope' must be one of {', '.join(Snapshot.Scope.values)}: lines (the default) speaks for "
            "the lines given only, full for every SKU of the locations it names."
        )
    lane = lane_of(source)
    if refusal := lane.snapshot_kind_refusal(kind):
        raise SnapshotError(refusal)
    if not isinstance(lines, list):
        raise SnapshotError("'lines' must be a list of line objects.")
    if len(lines) > MAX_LINES:
        raise SnapshotError(f"At most {MAX_LINES} lines per snapshot; got {len(lines)}.")

    rows, rejected, seen = [], [], {}
    for start in range(0, len(lines), LOOKUP_CHUNK):
        # Empty cells (CSV) count as absent, so a blank sku falls back to the barcode.
        chunk = [
            {k: v for k, v in raw.items() if v not in ("", None)} if isinstance(raw, dict) else raw
            for raw in lines[start:start + LOOKUP_CHUNK]
        ]
        master = MasterData(chunk, source)
        for index, raw in enumerate(chunk, start):
            row, errors = _validate_line(raw, master, as_of, received_at)
            if row is not None:
                errors = lane.errors_for_line(row[0], str(raw["location"]).strip())
            if row is not None and not errors:
                key = row[:3]
                if key in seen:
                    errors = {"state": [f"Line {seen[key]} already gives this location, SKU and state."]}
                else:
                    seen[key] = index
                    rows.append(row)
            if errors:
                rejected.append({"index": index, "errors": errors})

    source.heard_from(received_at)  # a snapshot is a sign of life, as events are
    if not rows:
        return SnapshotReport(None, len(lines), rejected)
    with transaction.atomic():
        snapshot = Snapshot.objects.create(
            source=source,
            kind=kind,
            scope=scope,
            as_of=as_of,
            received_at=received_at,
            line_count=len(rows),
            rejected_count=len(rejected),
            status=Snapshot.Status.PARTIAL if rejected else Snapshot.Status.LOADED,
        )
        _write_lines(snapshot.pk, rows)
    return SnapshotReport(snapshot, len(lines), rejected)


def _write_lines(snapshot_id, rows):
    columns = ", ".join(LINE_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY inventory_snapshotline ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((snapshot_id, *row))
        else:
            cursor.executemany(
                f"INSERT INTO inventory_snapshotline ({columns}) VALUES (%s, %s, %s, %s, %s, %s)",
                [(snapshot_id, *row) for row in rows],
            )
