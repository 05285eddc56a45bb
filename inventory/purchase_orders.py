"""Purchase order lines as master data, so a receipt can be matched to its PO.

`import_po_lines` takes rows as dicts (a csv.DictReader or a list from the
API): po_number, line, location, sku, quantity (base units), expected_at,
and optionally status (open or closed, default open). It is an upsert by
(po_number, line), safe to re-import; a bad row is refused with
{field: [messages]} and the rest still load.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from . import fields
from .lanes import lane_of
from .ledger import MasterData
from .models import PurchaseOrderLine

MAX_ROWS = 50_000
LOOKUP_CHUNK = 5000
UPDATED_FIELDS = ["location", "sku", "quantity_ordered", "status", "expected_at", "updated_at"]


class PurchaseOrderError(ValueError):
    """The rows as a whole cannot be taken."""


@dataclass
class PurchaseOrderReport:
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
        return {"counts": self.counts, "rejected": self.rejected}


def _validate_row(raw, master, now):
    if not isinstance(raw, dict):
        return None, {"non_field_errors": ["Each row must be an object."]}
    errors = {}
    po_number = fields.text(raw, "po_number", errors, required=True, max_length=64)
    line = fields.whole(raw, "line", errors, minimum=1, maximum=fields.MAX_SMALL_INTEGER)
    location_code = fields.text(raw, "location", errors, required=True, max_length=32)
    location_id = master.locations.get(location_code)
    if location_code and location_id is None:
        errors["location"] = [f"Unknown location {fields.shown(location_code)}."]
    sku_code = fields.text(raw, "sku", errors, required=True, max_length=64)
    sku_id = master.sku_ids.get(sku_code)
    if sku_code and sku_id is None:
        errors["sku"] = [f"Unknown or inactive SKU {fields.shown(sku_code)}."]
    quantity = fields.whole(raw, "quantity", errors, minimum=1, maximum=fields.MAX_QUANTITY)
    # A PO is expected in the coming weeks; more than a year ahead is a typo.
    expected_at = fields.time(
        raw, "expected_at", errors, now, required=False, future=timedelta(days=366)
    )
    status = fields.text(raw, "status", errors, max_length=8) or PurchaseOrderLine.Status.OPEN
    if "status" not in errors and status not in PurchaseOrderLine.Status.values:
        errors["status"] = [f"Unknown status {fields.shown(status)}; open or closed."]
    if errors:
        return None, errors
    return PurchaseOrderLine(
        po_number=po_number, line=line, location_id=location_id, sku_id=sku_id,
        quantity_ordered=quantity, status=status, expected_at=expected_at, updated_at=now,
    ), {}


def import_po_lines(rows, source=None, received_at=None) -> PurchaseOrderReport:
    """`source`: the source system loading the rows (None for a person); a
    row at a location outside its lane is refused. `received_at` (default:
    the clock) is when they came in, as ingest_events takes it."""
    if not isinstance(rows, list):
        raise PurchaseOrderError("'lines' must be a list of PO line objects.")
    if len(rows) > MAX_ROWS:
        raise PurchaseOrderError(f"At most {MAX_ROWS} PO lines at once; got {len(rows)}.")
    now = received_at or timezone.now()
    lane = lane_of(source) if source is not None else None
    accepted, rejected, seen = {}, [], {}
    for start in range(0, len(rows), LOOKUP_CHUNK):
        chunk = rows[start:start + LOOKUP_CHUNK]
        master = MasterData(chunk, source)
        for index, raw in enumerate(chunk, start):
            po_line, errors = _validate_row(raw, master, now)
            if po_line is not None and lane is not None:
                errors = lane.errors_for_line(po_line.location_id, str(raw["location"]).strip())
            if po_line is not None and not errors:
                key = (po_line.po_number, po_line.line)
                if key in seen:
                    errors = {"line": [f"Row {seen[key]} already gives {key[0]} line {key[1]}."]}
                else:
                    seen[key] = index
                    accepted[key] = po_line
            if errors:
                rejected.append({"index": index, "errors": errors})
    PurchaseOrderLine.objects.bulk_create(
        list(accepted.values()),
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["po_number", "line"],
        update_fields=UPDATED_FIELDS,
    )
    if source is not None and rows:  # PO lines are a sign of life, as events are
        source.heard_from(now)
    return PurchaseOrderReport(len(rows), rejected)
