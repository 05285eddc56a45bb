"""Safety stock per location x SKU, set by planners' files, the API and the admin.

`set_safety_stock(rows)` takes dicts with `location` (code), `sku` (code) and
`safety_stock` (a whole number of base units, 0 to MAX_QUANTITY) and returns
an ImportReport: each row is validated on its own, a refused row writes
nothing and is listed with its row number and errors per field, the rest
loads. A location x SKU with no position yet gets one (every state 0), so
safety stock can be set before the first receipt.

Only the `safety_stock` column is written, with one UPDATE per row: the
states of a position belong to the ledger (ingest updates them at the same
time; a whole-row save could undo a posting). rebuild_positions writes the
states only, so a repair keeps safety stock. Each value set or changed is in
the audit trail (controltower.audit.Load: who, from where, before and
after, the position named "SKU at location"); a value set again as it was
is not.
"""
from __future__ import annotations

from django.db import transaction

from controltower.audit import Load
from controltower.imports import ImportReport, RefusedRow

from . import fields
from .masterdata import QUERY_CHUNK, _cell, _chunks
from .models import SKU, Location, Position

SAFETY_STOCK_COLUMNS = ("location", "sku", "safety_stock")


def set_safety_stock(rows) -> ImportReport:
    rows = list(rows)
    report = ImportReport(label="safety stock line")
    locations, skus = _codes(rows, "location", Location), _codes(rows, "sku", SKU)
    seen, wanted, names = {}, {}, {}
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            report.refused.append(RefusedRow(number, "", {"row": ["Must be an object of column: value."]}))
            continue
        errors = {}
        location_code = _cell(row, "location", errors, required=True, max_length=32)
        sku_code = _cell(row, "sku", errors, required=True, max_length=64)
        quantity = fields.whole(row, "safety_stock", errors, minimum=0, maximum=fields.MAX_QUANTITY)
        if location_code and location_code not in locations:
            errors.setdefault("location", []).append(f"Unknown location '{location_code}'.")
        if sku_code and sku_code not in skus:
            errors.setdefault("sku", []).append(f"Unknown SKU '{sku_code}'.")
        key = (location_code, sku_code)
        if not errors and key in seen:
            errors.setdefault("sku", []).append(f"Appears again in this file (first at row {seen[key]}).")
        label = f"{location_code}/{sku_code}"
        if errors:
            report.refused.append(RefusedRow(number, label, errors))
            continue
        seen[key] = number
        position = (locations[location_code], skus[sku_code])
        wanted[position], names[position] = quantity, f"{sku_code} at {location_code}"

    with transaction.atomic():
        stored = _stored(wanted)
        new = [key for key in wanted if key not in stored]
        Position.objects.bulk_create(
            [Position(location_id=loc, sku_id=sku) for loc, sku in new],
            ignore_conflicts=True,  # an ingest may create the same position meanwhile
        )
        ids = {key: pk for key, (pk, _) in (stored | _stored(new)).items()}
        trail = Load(fields=("safety_stock",))
        for (loc, sku), quantity in sorted(wanted.items()):
            row = Position(pk=ids[(loc, sku)], location_id=loc, sku_id=sku, safety_stock=quantity)
            label = names[(loc, sku)]
            if (loc, sku) not in stored:
                report.created += 1
                trail.created(row, label=label)
            elif stored[(loc, sku)][1] == quantity:
                report.unchanged += 1
                continue
            else:
                report.updated += 1
                trail.changed(Position(pk=row.pk, safety_stock=stored[(loc, sku)][1]), row, label=label)
            Position.objects.filter(location_id=loc, sku_id=sku).update(safety_stock=quantity)
        trail.write()
    return report


def _codes(rows, name, model):
    """{code: id} of the `model` rows named in column `name`."""
    codes = {_cell(row, name, {}) for row in rows if isinstance(row, dict)} - {""}
    found = {}
    for chunk in _chunks(codes, QUERY_CHUNK):
        found.update(model.objects.filter(code__in=chunk).values_list("code", "id"))
    return found


def _stored(wanted):
    """{(location id, sku id): (position id, safety stock)} of the positions that exist."""
    by_location = {}
    for loc, sku in wanted:
        by_location.setdefault(loc, []).append(sku)
    stored = {}
    for location_id, skus in by_location.items():
        for chunk in _chunks(skus, QUERY_CHUNK):
            stored.update(
                ((location_id, sku), (pk, quantity))
                for pk, sku, quantity in Position.objects.filter(location_id=location_id, sku_id__in=chunk)
                .values_list("pk", "sku_id", "safety_stock")
            )
    return stored
