"""Purchase order lines as master data, so a receipt can be matched to its PO.

`import_po_lines` takes rows as dicts (a csv.DictReader or a list from the
API): po_number, line, location, sku, quantity (base units), expected_at,
and optionally status (open or closed, default open). It is an upsert by
(po_number, line), safe to re-import; a bad row is refused with
{field: [messages]} and the rest still load.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

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


def _whole(raw, name, errors, minimum):
    value = raw.get(name)
    if value in (None, ""):
        errors.setdefault(name, []).append("This field is required.")
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        errors.setdefault(name, []).append("Must be a whole number.")
        return None
    if number < minimum:
        errors.setdefault(name, []).append(f"Must be at least {minimum}.")
        return None
    return number


def _validate_row(raw, master, now):
    if not isinstance(raw, dict):
        return None, {"non_field_errors": ["Each row must be an object."]}
    errors = {}
    po_number = str(raw.get("po_number") or "").strip()
    if not po_number:
        errors["po_number"] = ["This field is required."]
    elif len(po_number) > 64:
        errors["po_number"] = ["At most 64 characters."]
    line = _whole(raw, "line", errors, 1)
    location_code = str(raw.get("location") or "").strip()
    location_id = master.locations.get(location_code)
    if location_id is None:
        errors["location"] = [f"Unknown location '{location_code}'." if location_code else "This field is required."]
    sku_code = str(raw.get("sku") or "").strip()
    sku_id = master.sku_ids.get(sku_code)
    if sku_id is None:
        errors["sku"] = [f"Unknown or inactive SKU '{sku_code}'." if sku_code else "This field is required."]
    quantity = _whole(raw, "quantity", errors, 1)
    expected_at = None
    if raw.get("expected_at"):
        try:
            expected_at = datetime.fromisoformat(str(raw["expected_at"]).strip())
        except ValueError:
            errors["expected_at"] = ["Not an ISO 8601 time (e.g. 2026-11-25T08:00:00+01:00)."]
        else:
            if expected_at.tzinfo is None:
                errors["expected_at"] = ["Must include a UTC offset (e.g. +01:00 or Z)."]
    status = str(raw.get("status") or PurchaseOrderLine.Status.OPEN).strip()
    if status not in PurchaseOrderLine.Status.values:
        errors["status"] = [f"Unknown status '{status}'; open or closed."]
    if errors:
        return None, errors
    return PurchaseOrderLine(
        po_number=po_number, line=line, location_id=location_id, sku_id=sku_id,
        quantity_ordered=quantity, status=status, expected_at=expected_at, updated_at=now,
    ), {}


def import_po_lines(rows) -> PurchaseOrderReport:
    if not isinstance(rows, list):
        raise PurchaseOrderError("'lines' must be a list of PO line objects.")
    if len(rows) > MAX_ROWS:
        raise PurchaseOrderError(f"At most {MAX_ROWS} PO lines at once; got {len(rows)}.")
    now = timezone.now()
    accepted, rejected, seen = {}, [], {}
    for start in range(0, len(rows), LOOKUP_CHUNK):
        chunk = rows[start:start + LOOKUP_CHUNK]
        master = MasterData(chunk)
        for index, raw in enumerate(chunk, start):
            po_line, errors = _validate_row(raw, master, now)
            if po_line is not None:
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
    return PurchaseOrderReport(len(rows), rejected)
