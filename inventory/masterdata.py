"""Master data import: locations and SKUs from rows (CSV or API), and source systems.

`import_locations` and `import_skus` take an iterable of dicts (a
csv.DictReader, or a list from the API) and return an ImportReport. Each row
is validated before anything is written; a refused row writes nothing and is
listed with its row number, code and {field: [messages]}; the rest of the
file still loads. Rows are numbered from 1, the first row under the header.

Both are upserts by code and safe to re-import. Barcodes and unit
conversions are only ever added by an import: one that would move a barcode
to another SKU or change a conversion factor is refused (DOMAIN.md, item
master validation); correct those in the admin.
"""
from __future__ import annotations

import copy
import csv
import functools
import re
import zoneinfo
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.utils import timezone

from controltower.audit import Load
from controltower.db import insert_rows
from controltower.imports import ImportRefused, ImportReport, RefusedRow
from controltower.locks import hold_until_commit

from . import fields
from .identifiers import is_gln
from .models import (
    SKU,
    Barcode,
    BarcodeClash,
    Channel,
    Location,
    Region,
    SourceSystem,
    UnitConversion,
    factor_text,
)

LOCATION_COLUMNS = ("code", "name", "kind", "region", "timezone")
LOCATION_OPTIONAL_COLUMNS = ("banner", "format", "go_live_date", "gln")
SKU_COLUMNS = ("code", "description", "category", "unit_cost", "base_unit", "barcodes", "conversions")
SKU_OPTIONAL_COLUMNS = ("active",)
SKU_FIELDS = ("description", "category", "unit_cost", "base_unit", "active")

# Codes per IN (...) query: well under SQLite's limit on bound parameters.
QUERY_CHUNK = 5000
WRITE_BATCH = 1000
MAX_FACTOR = fields.MAX_SMALL_INTEGER  # UnitConversion.factor
MAX_UNIT_COST = fields.MAX_UNIT_COST
TRUE_WORDS = {"1", "true", "yes", "y"}
FALSE_WORDS = {"0", "false", "no", "n"}
# Numbers and dates in plain ASCII: int(), Decimal() and strptime() also take
# other scripts' digits ('١٢'), full-width ones and underscores ('1_2').
# MAX_FACTOR has 10 digits; UnitConversion.factor keeps 9 decimals.
FACTOR_TEXT = re.compile(r"[0-9]{1,10}(\.[0-9]{1,9})?")
COST_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,4})?")
DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class MasterDataError(ImportRefused):
    """The item master as a whole cannot be imported (e.g. required columns missing)."""


def read_csv(handle, required):
    """Rows of a CSV text stream, after checking its header has the `required`
    columns. Open files with newline="" and encoding="utf-8-sig" (Excel's BOM)."""
    reader = csv.DictReader(handle)
    missing = [name for name in required if name not in (reader.fieldnames or ())]
    if missing:
        raise MasterDataError(f"Missing column(s): {', '.join(missing)}.")
    return reader


# --------------------------------------------------------------------------
# Cell parsing: each helper adds to `errors` under the column name.
# --------------------------------------------------------------------------

def _cell(row, name, errors, required=False, max_length=None):
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.setdefault(name, []).append("This field is required.")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        errors.setdefault(name, []).append("Must be text.")
        return ""
    value = str(value).strip()
    if "\x00" in value:
        errors.setdefault(name, []).append("Must not contain a NUL character.")
        return ""
    if max_length and len(value) > max_length:
        errors.setdefault(name, []).append(f"At most {max_length} characters.")
        return ""
    return value


def _unit_cost(row, errors):
    text = _cell(row, "unit_cost", errors, required=True)
    if not text:
        return None
    try:
        if not COST_TEXT.fullmatch(text):
            raise InvalidOperation
        cost = Decimal(text)
    except InvalidOperation:
        errors.setdefault("unit_cost", []).append(f"'{text}' is not a number.")
        return None
    if not cost.is_finite():
        errors.setdefault("unit_cost", []).append(f"'{text}' is not a number.")
    elif cost < 0:
        errors.setdefault("unit_cost", []).append("Must not be negative.")
    elif cost > MAX_UNIT_COST:
        errors.setdefault("unit_cost", []).append(f"At most {MAX_UNIT_COST}.")
    elif cost != cost.quantize(Decimal("0.0001")):
        errors.setdefault("unit_cost", []).append("At most 4 decimal places.")
    else:
        return cost.quantize(Decimal("0.0001"))
    return None


def _active(row, errors):
    """True, False, or None when the cell is absent or empty."""
    if isinstance(row.get("active"), bool):  # JSON from the API
        return row["active"]
    text = _cell(row, "active", errors).lower()
    if not text:
        return None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    errors.setdefault("active", []).append(f"'{text}' is not one of true, false, yes, no, 1, 0.")
    return None


def _barcodes(row, errors):
    text = _cell(row, "barcodes", errors)
    codes = []
    for part in text.split(";"):
        code = part.strip()
        if not code:
            continue
        if len(code) > 64:
            errors.setdefault("barcodes", []).append(f"Barcode '{code}' is longer than 64 characters.")
        elif code not in codes:
            codes.append(code)
    return codes


def _conversions(row, base_unit, errors):
    """{unit: factor} from `CS12=12;PK6=6;LBR=453.59237`."""
    text = _cell(row, "conversions", errors)
    found = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        unit, sep, given = (p.strip() for p in part.partition("="))
        if not sep or not unit or not given:
            errors.setdefault("conversions", []).append(f"'{part}' is not UNIT=FACTOR (e.g. CS12=12).")
            continue
        if len(unit) > 16:
            errors.setdefault("conversions", []).append(f"Unit '{unit}' is longer than 16 characters.")
            continue
        if not FACTOR_TEXT.fullmatch(given) or not 1 <= Decimal(given) <= MAX_FACTOR:
            shown = given if len(given) <= 20 else given[:19] + "…"
            errors.setdefault("conversions", []).append(
                f"{unit}={shown}: the factor must be a number of at least 1 and at most {MAX_FACTOR:,} "
                "(a whole number for a pack, up to 9 decimals for a measure: LBR=453.59237), in the digits 0-9."
            )
            continue
        factor = Decimal(given)
        if unit == base_unit:
            if factor != 1:
                errors.setdefault("conversions", []).append(
                    f"{unit} is the base unit; it cannot hold {factor_text(factor)} {base_unit}."
                )
            continue
        if found.get(unit, factor) != factor:
            errors.setdefault("conversions", []).append(
                f"{unit} is given twice with different factors "
                f"({factor_text(found[unit])} and {factor_text(factor)})."
            )
            continue
        found[unit] = factor
    return found


def _chunks(items, size):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _refuse_repeated_code(code, row_number, seen, errors):
    if code in seen:
        errors.setdefault("code", []).append(f"Appears again in this file (first at row {seen[code]}).")
    else:
        seen[code] = row_number


# --------------------------------------------------------------------------
# Locations
# --------------------------------------------------------------------------

def _one_at_a_time(name):
    """Run an import in one transaction that starts after any other import of
    the same master data has committed. An import reads what exists (codes,
    barcode owners) and decides row by row; two at once would both take the
    same new code or barcode, and one would fail as a whole on the unique key."""
    def decorate(function):
        @functools.wraps(function)
        def run(*args, **kwargs):
            with transaction.atomic():
                hold_until_commit(f"masterdata:{name}")
                return function(*args, **kwargs)
        return run
    return decorate


@_one_at_a_time("locations")
def import_locations(rows) -> ImportReport:
    """Upsert locations by code; create regions by code when missing.

    A column left out of the file keeps the stored value; an empty
    banner, format, go_live_date or gln cell clears it. A GLN is 13 digits
    with its check digit, and names one location only."""
    rows = list(rows)
    report = ImportReport(label="location")
    zones = zoneinfo.available_timezones()
    kinds = {k.value for k in Location.Kind}
    codes = {_cell(row, "code", {}) for row in rows if isinstance(row, dict)}
    existing = {}
    for chunk in _chunks(codes, QUERY_CHUNK):
        existing.update({loc.code: loc for loc in Location.objects.filter(code__in=chunk)})
    regions = {r.code: r for r in Region.objects.all()}
    gln_holders = {}  # gln -> the code of the location that has it (stored, or earlier in the file)
    file_glns = {_cell(row, "gln", {}) for row in rows if isinstance(row, dict)} - {""}
    for chunk in _chunks(file_glns, QUERY_CHUNK):
        gln_holders.update(Location.objects.filter(gln__in=chunk).values_list("gln", "code"))

    seen = {}
    to_create, to_update, new_regions = [], [], {}
    stored = {}  # code -> a copy of the location as it was, for the audit trail
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            report.refused.append(RefusedRow(number, "", {"row": ["Must be an object of column: value."]}))
            continue
        errors = {}
        code = _cell(row, "code", errors, required=True, max_length=32)
        if code:
            _refuse_repeated_code(code, number, seen, errors)
        values = {
            "name": _cell(row, "name", errors, required=True, max_length=200),
            "kind": _cell(row, "kind", errors, required=True).lower(),
            "timezone": _cell(row, "timezone", errors, required=True, max_length=64),
        }
        if values["kind"] and values["kind"] not in kinds:
            errors.setdefault("kind", []).append(f"'{values['kind']}' is not one of {', '.join(sorted(kinds))}.")
        if values["timezone"] and values["timezone"] not in zones:
            errors.setdefault("timezone", []).append(
                f"'{values['timezone']}' is not an IANA time zone (e.g. Europe/Berlin)."
            )
        region_code = _cell(row, "region", errors, required=True, max_length=32)
        for name in ("banner", "format"):
            if name in row:
                values[name] = _cell(row, name, errors, max_length=100)
        if "go_live_date" in row:
            text = _cell(row, "go_live_date", errors)
            values["go_live_date"] = None
            if text:
                try:
                    if not DATE_TEXT.fullmatch(text):
                        raise ValueError(text)
                    values["go_live_date"] = datetime.strptime(text, "%Y-%m-%d").date()
                except ValueError:
                    errors.setdefault("go_live_date", []).append(f"'{text}' is not a date as YYYY-MM-DD.")
        if "gln" in row:
            values["gln"] = _gln(row, code, gln_holders, errors)
        if errors:
            report.refused.append(RefusedRow(number, code, errors))
            continue
        if values.get("gln"):
            gln_holders[values["gln"]] = code

        region = regions.get(region_code)
        if region is None:
            region = new_regions.setdefault(region_code, Region(code=region_code, name=region_code))
        location = existing.get(code)
        if location is None:
            to_create.append(Location(code=code, region=region, **values))
            report.created += 1
        elif region.pk != location.region_id or any(getattr(location, k) != v for k, v in values.items()):
            stored[code] = copy.copy(location)
            for name, value in values.items():
                setattr(location, name, value)
            location.region = region
            to_update.append(location)
            report.updated += 1
        else:
            report.unchanged += 1

    with transaction.atomic():
        # bulk_create sets the new primary keys (PostgreSQL, SQLite 3.35+), so
        # the locations below point at saved regions.
        Region.objects.bulk_create(new_regions.values())
        for location in to_create + to_update:
            location.region_id = location.region.pk
        Location.objects.bulk_create(to_create, batch_size=WRITE_BATCH)
        # Plain executemany, as for the SKUs: the ORM's bulk_update writes one
        # CASE per field and batch, which took 40 s for ten thousand locations.
        columns = [Location._meta.get_field(name) for name in
                  ("name", "kind", "region", "timezone", "banner", "format", "go_live_date", "gln")]
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {Location._meta.db_table} SET {', '.join(f'{f.column} = %s' for f in columns)} WHERE id = %s",
                [(*(f.get_db_prep_save(getattr(location, f.attname), connection) for f in columns), location.id)
                 for location in to_update])
        trail = Load()
        for location in to_create:
            trail.created(location)
        for location in to_update:
            trail.changed(stored[location.code], location)
        trail.write()
    return report


def _gln(row, code, holders, errors):
    """The row's GLN (None when the cell is empty), or an error: 13 digits
    with a valid check digit, not another location's."""
    text = _cell(row, "gln", errors, max_length=13)
    if not text:
        return None
    if not is_gln(text):
        errors.setdefault("gln", []).append(f"'{text}' is not a GLN: 13 digits, the last its GS1 check digit.")
    elif holders.get(text, code) != code:
        errors.setdefault("gln", []).append(f"'{text}' is already the GLN of location {holders[text]}.")
    return text


# --------------------------------------------------------------------------
# SKUs
# --------------------------------------------------------------------------

@_one_at_a_time("skus")
def import_skus(rows) -> ImportReport:
    """Upsert SKUs by code with their barcodes and unit conversions.

    Refused (the SKU is not written at all): missing category, unit cost or
    base unit; a negative or non-numeric cost; a barcode that belongs to
    another SKU, in the database or earlier in the file; a malformed
    conversion, a factor below 1, or a unit whose factor differs from the
    one already stored; a change of base unit on an existing SKU (ledger
    quantities and conversions are in it).
    """
    rows = list(rows)
    report = ImportReport(label="SKU")
    codes, file_barcodes = set(), set()
    for row in rows:
        if isinstance(row, dict):
            codes.add(_cell(row, "code", {}))
            file_barcodes.update(_barcodes(row, {}))

    existing = {}
    for chunk in _chunks(codes, QUERY_CHUNK):
        existing.update({sku.code: sku for sku in SKU.objects.filter(code__in=chunk)})
    barcode_owner = {}  # barcode -> SKU code that holds it
    for chunk in _chunks(file_barcodes, QUERY_CHUNK):
        barcode_owner.update(Barcode.objects.filter(code__in=chunk).values_list("code", "sku__code"))
    stored_factors = {}  # (sku_id, unit) -> factor
    for chunk in _chunks([s.id for s in existing.values()], QUERY_CHUNK):
        stored_factors.update(
            ((sku_id, unit), factor)
            for sku_id, unit, factor in UnitConversion.objects.filter(sku_id__in=chunk).values_list(
                "sku_id", "unit", "factor"
            )
        )

    seen = {}
    claimed_in_file = {}  # barcode -> (row, SKU code) of an accepted row
    clashes, now = [], timezone.now()  # barcodes refused because another SKU holds them: kept
    to_create, to_update = [], []  # rows of SKU_FIELDS: (code, ...) and (..., id)
    new_barcodes, new_conversions = [], []  # (SKU code, barcode) and (SKU code, unit, factor)
    loaded = []  # (code, a copy of the SKU as it was or None when new, what it gained): the audit trail's
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            report.refused.append(RefusedRow(number, "", {"row": ["Must be an object of column: value."]}))
            continue
        errors = {}
        code = _cell(row, "code", errors, required=True, max_length=64)
        if code:
            _refuse_repeated_code(code, number, seen, errors)
        values = {
            "description": _cell(row, "description", errors, max_length=300),
            "category": _cell(row, "category", errors, required=True, max_length=100),
            "unit_cost": _unit_cost(row, errors),
            "base_unit": _cell(row, "base_unit", errors, required=True, max_length=16),
        }
        active = _active(row, errors)
        if active is not None:
            values["active"] = active
        sku = existing.get(code)
        if sku is not None and values["base_unit"] and values["base_unit"] != sku.base_unit:
            errors.setdefault("base_unit", []).append(
                f"Is {sku.base_unit} in the tower; the base unit of an existing SKU cannot change "
                f"(ledger quantities and conversions are in {sku.base_unit})."
            )

        barcodes = _barcodes(row, errors)
        for barcode in barcodes:
            owner = barcode_owner.get(barcode)
            if owner is not None and owner != code:
                errors.setdefault("barcodes", []).append(f"Barcode {barcode} already belongs to SKU {owner}.")
                clashes.append(BarcodeClash(barcode=barcode, sku_code=code, held_by=owner, refused_at=now))
            elif barcode in claimed_in_file and claimed_in_file[barcode][1] != code:
                earlier_row, earlier_code = claimed_in_file[barcode]
                errors.setdefault("barcodes", []).append(
                    f"Barcode {barcode} is already given to SKU {earlier_code} at row {earlier_row}."
                )
                clashes.append(BarcodeClash(barcode=barcode, sku_code=code, held_by=earlier_code, refused_at=now))

        conversions = _conversions(row, values["base_unit"], errors)
        if sku is not None:
            for unit, factor in conversions.items():
                stored = stored_factors.get((sku.id, unit))
                if stored is not None and stored != factor:
                    errors.setdefault("conversions", []).append(
                        f"{unit} is {factor_text(stored)} {sku.base_unit} in the tower; "
                        f"the file says {factor_text(factor)}."
                    )

        if errors:
            report.refused.append(RefusedRow(number, code, errors))
            continue

        added_barcodes = [barcode for barcode in barcodes if barcode not in barcode_owner]
        for barcode in barcodes:
            claimed_in_file[barcode] = (number, code)
        new_barcodes.extend((code, barcode) for barcode in added_barcodes)
        if sku is None:
            values.setdefault("active", True)
            to_create.append((code, *(values[name] for name in SKU_FIELDS)))
            report.created += 1
            added_conversions = list(conversions.items())
            loaded.append((code, None, _gained(added_barcodes, added_conversions)))
        else:
            added_conversions = [(u, f) for u, f in conversions.items() if (sku.id, u) not in stored_factors]
            changed = any(getattr(sku, k) != v for k, v in values.items())
            if changed or added_conversions or added_barcodes:
                loaded.append((code, copy.copy(sku), _gained(added_barcodes, added_conversions)))
                report.updated += 1
            else:
                report.unchanged += 1
            if changed:
                for name, value in values.items():
                    setattr(sku, name, value)
                to_update.append((*(getattr(sku, name) for name in SKU_FIELDS), sku.id))
        new_conversions.extend((code, unit, factor) for unit, factor in added_conversions)

    # Plain executemany: the ORM's bulk_create and bulk_update cost seconds
    # per ten thousand rows, this a fraction of that.
    with transaction.atomic(), connection.cursor() as cursor:
        sku_table = SKU._meta.db_table
        assignments = ", ".join(f"{name} = %s" for name in SKU_FIELDS)
        cursor.executemany(f"UPDATE {sku_table} SET {assignments} WHERE id = %s", to_update)
        insert_rows(cursor, sku_table, ("code", *SKU_FIELDS), to_create)
        ids = {sku.code: sku.id for sku in existing.values()}
        for chunk in _chunks([row[0] for row in to_create], QUERY_CHUNK):
            ids.update(SKU.objects.filter(code__in=chunk).values_list("code", "id"))
        insert_rows(
            cursor, Barcode._meta.db_table, ("code", "sku_id"),
            [(barcode, ids[code]) for code, barcode in new_barcodes],
        )
        insert_rows(
            cursor, UnitConversion._meta.db_table, ("sku_id", "unit", "factor"),
            [(ids[code], unit, factor) for code, unit, factor in new_conversions],
        )
        trail, new = Load(), {row[0]: row for row in to_create}
        for code, before, gained in loaded:
            if before is None:
                trail.created(SKU(id=ids[code], **dict(zip(("code", *SKU_FIELDS), new[code]))), gained)
            else:
                trail.changed(before, existing[code], gained)
        trail.write()
    BarcodeClash.objects.bulk_create(clashes, batch_size=WRITE_BATCH)
    return report


def _gained(barcodes, conversions):
    """What an imported SKU gained beside its own fields, for its entry in the audit trail."""
    return {"barcodes": barcodes, "conversions": [f"{unit}={factor_text(factor)}" for unit, factor in conversions]}


# --------------------------------------------------------------------------
# Source systems
# --------------------------------------------------------------------------

# register_source's replay_window_s that goes back to the tower's default window.
DEFAULT_WINDOW = "default"


def register_source(
    code, kind, name=None, generation=None, interval_s=None, latency_target_s=None, loads_master_data=None,
    default_channel=None, releases_expired_reservations=None, replay_window_s=None,
):
    """Create or update a source system; None leaves a stored value as it is
    (or the model default on create); `default_channel` is a channel code,
    "" for none; `replay_window_s` DEFAULT_WINDOW clears the source's own
    window. Returns (source, created)."""
    code = code.strip()
    if not code or len(code) > 64:
        raise MasterDataError("code: must be 1 to 64 characters.")
    if kind not in SourceSystem.Kind.values:
        raise MasterDataError(f"kind: '{kind}' is not one of {', '.join(SourceSystem.Kind.values)}.")
    window = None if replay_window_s == DEFAULT_WINDOW else replay_window_s
    for label, seconds in (("interval", interval_s), ("latency target", latency_target_s),
                           ("replay window", window)):
        if seconds is not None and seconds < 1:
            raise MasterDataError(f"{label}: must be at least 1 second.")
        if seconds is not None and seconds > fields.MAX_SMALL_INTEGER:  # a 32-bit column
            raise MasterDataError(f"{label}: at most {fields.MAX_SMALL_INTEGER:,} seconds.")
    values = {"kind": kind}
    if default_channel is not None:
        channel = Channel.objects.filter(code=default_channel.strip()).first()
        if default_channel.strip() and channel is None:
            codes = ", ".join(Channel.objects.values_list("code", flat=True)) or "none yet"
            raise MasterDataError(f"channel: '{default_channel}' is not a channel ({codes}).")
        values["default_channel"] = channel
    optional = {
        "name": name,
        "generation": generation,
        "expected_interval_s": interval_s,
        "latency_target_s": latency_target_s,
        "loads_master_data": loads_master_data,
        "releases_expired_reservations": releases_expired_reservations,
    }
    values.update({k: v for k, v in optional.items() if v is not None})
    if replay_window_s is not None:
        values["replay_window_s"] = window
    return SourceSystem.objects.update_or_create(code=code, defaults=values)


__all__ = [
    "import_locations",
    "import_skus",
    "register_source",
    "read_csv",
    "MasterDataError",
    "LOCATION_COLUMNS",
    "LOCATION_OPTIONAL_COLUMNS",
    "SKU_COLUMNS",
    "SKU_OPTIONAL_COLUMNS",
]
