"""The fields sources send, parsed once for events, snapshot lines and PO lines.

Each parser reads one field of a raw object (a JSON object or a CSV row),
returns its value, or records a message under the field's name in `errors`
and returns None: one bad field rejects its own item, never the batch. No
parser raises for any JSON value.

The bounds are the largest values the tower stores, taken from its columns
with room for the sums built on them, and are checked before any arithmetic
(a quantity of "1e999999" is refused by its exponent, not multiplied out).
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal, InvalidOperation

from django.conf import settings

# Base units in one event or line. Positions, transfers and counts are
# bigint (9.2e18) sums of such lines: a billion units a line leaves room for
# billions of lines before a sum could overflow.
MAX_QUANTITY = 10**9
# Money columns are numeric(14, 2): snapshot line values, a case's value at
# risk, a corrective adjustment's value.
MAX_VALUE = Decimal("999999999999.99")
# SKU.unit_cost is numeric(12, 4).
MAX_UNIT_COST = Decimal("99999999.9999")
# PO line numbers are 32-bit integer columns; unit conversion factors are
# bounded by the same figure (the largest factor x MAX_QUANTITY fits).
MAX_SMALL_INTEGER = 2**31 - 1
# Decimal places kept of an entered quantity (InventoryEvent.entered_quantity).
QUANTITY_PLACES = 4
# A number sent as text is at most this long: no real quantity needs more.
MAX_NUMBER_CHARACTERS = 40
MAX_TIME_CHARACTERS = 64
# How far in the future a source's clock may run ahead of ours.
CLOCK_SKEW = timedelta(minutes=5)

# Plain decimal notation in ASCII: int() and Decimal() also take other
# scripts' digits ('١٢') and underscores ('1_2'), which no source means.
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_WHOLE = re.compile(r"[0-9]+", re.ASCII)


def _add(errors, name, message):
    errors.setdefault(name, []).append(message)


def shown(value, limit=40):
    """A value quoted in an error message ('S001'): short, and storable (no NUL)."""
    text = value if isinstance(value, str) else repr(value)
    text = text.replace("\x00", "\\x00")
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"'{text}'" if isinstance(value, str) else text


def code(value, max_length=64):
    """A master-data code as sent (a string, or an integer for a barcode),
    stripped; None when it cannot be one (so lookups never see it)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    value = str(value).strip()
    if not value or len(value) > max_length or "\x00" in value:
        return None
    return value


def text(raw, name, errors, required=False, max_length=128):
    """A text field: a string (or an integer, which sources use for ids),
    stripped. Blank is absent: whitespace alone is no transaction id."""
    value = raw.get(name)
    if isinstance(value, bool) or not isinstance(value, (str, int, type(None))):
        _add(errors, name, "Must be a string.")
        return ""
    value = "" if value is None else str(value).strip()
    if not value:
        if required:
            _add(errors, name, "This field is required.")
        return ""
    if "\x00" in value:
        _add(errors, name, "Must not contain a NUL character.")
        return ""
    if len(value) > max_length:
        _add(errors, name, f"At most {max_length} characters.")
        return ""
    return value


def number(raw, name, errors, maximum, places=None, required=True):
    """A decimal number with |value| <= maximum and at most `places` decimal
    places, from a JSON number or its text. Returns a Decimal or None."""
    value = raw.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            _add(errors, name, "This field is required.")
        return None
    if isinstance(value, bool):
        _add(errors, name, "Must be a number.")
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            _add(errors, name, "Must be a finite number.")
            return None
        value = repr(value)
    elif isinstance(value, int):
        value = str(value) if abs(value) <= 10 * maximum else None
    elif isinstance(value, str):
        value = value.strip()
        if len(value) > MAX_NUMBER_CHARACTERS or not _NUMBER.fullmatch(value):
            _add(errors, name, "Must be a number (digits, an optional point and exponent).")
            return None
    else:
        _add(errors, name, "Must be a number.")
        return None
    try:
        parsed = Decimal(value) if value is not None else None
    except InvalidOperation:
        parsed = None
    # The exponent first: comparing is cheap, multiplying 1e999999 is not.
    if parsed is None or parsed.adjusted() > len(str(int(maximum))) or abs(parsed) > maximum:
        _add(errors, name, f"Out of range: at most {maximum:,} in absolute value.")
        return None
    if places is not None and parsed != parsed.quantize(Decimal(1).scaleb(-places)):
        _add(errors, name, f"At most {places} decimal places.")
        return None
    return parsed


def whole(raw, name, errors, minimum, maximum, required=True):
    """A whole number in [minimum, maximum], from a JSON integer or plain
    ASCII digits (a CSV cell). Returns an int or None."""
    value = raw.get(name)
    if isinstance(value, str):
        value = value.strip()
        if value and not _WHOLE.fullmatch(value.lstrip("-")):
            _add(errors, name, "Must be a whole number.")
            return None
    parsed = number({name: value}, name, errors, maximum=max(abs(minimum), maximum), required=required)
    if parsed is None:
        return None
    if parsed != parsed.to_integral_value():
        _add(errors, name, "Must be a whole number.")
        return None
    if not minimum <= parsed <= maximum:
        _add(errors, name, f"Must be between {minimum:,} and {maximum:,}.")
        return None
    return int(parsed)


def earliest_time():
    """The earliest occurred_at / as_of the tower takes (settings.INGEST_EARLIEST_TIME)."""
    return datetime.fromisoformat(settings.INGEST_EARLIEST_TIME)


def time(raw, name, errors, now, required=True, future=CLOCK_SKEW):
    """An ISO 8601 time with a UTC offset, returned in UTC. Not before
    settings.INGEST_EARLIEST_TIME, and not later than now + `future`."""
    value = raw.get(name)
    if value is None or value == "":
        if required:
            _add(errors, name, "This field is required.")
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and len(value) <= MAX_TIME_CHARACTERS:
        value = value.strip()
        try:
            # fromisoformat alone lets a NUL or other script's digits through.
            parsed = datetime.fromisoformat(value) if value.isascii() and value.isprintable() else None
        except ValueError:
            parsed = None
        if parsed is None:
            _add(errors, name, "Not an ISO 8601 time (e.g. 2026-11-23T10:15:00+01:00).")
            return None
    else:
        _add(errors, name, "Must be an ISO 8601 time as a string (e.g. 2026-11-23T10:15:00+01:00).")
        return None
    if parsed.tzinfo is None:
        _add(errors, name, "Must include a UTC offset (e.g. +01:00 or Z).")
        return None
    try:
        parsed = parsed.astimezone(dt_timezone.utc)
    except OverflowError:  # year 1 at +01:00, year 9999 at -14:00
        _add(errors, name, "Out of range.")
        return None
    earliest = earliest_time()
    if parsed < earliest:
        _add(errors, name, f"Before {earliest:%Y-%m-%d}, the earliest time the tower takes.")
        return None
    if parsed > now + future:
        _add(errors, name, "Is in the future." if future == CLOCK_SKEW else "Is too far in the future.")
        return None
    return parsed


def storable(value, depth=0):
    """A received value as JSON any database keeps and any reader can write
    back out: NUL characters shown as '\\x00' (PostgreSQL refuses them even
    inside jsonb), times, decimals and numbers past 64 bits as text, and
    nesting below 32 levels kept as its text."""
    if depth > 32:
        return repr(value)[:2000].replace("\x00", "\\x00")
    if isinstance(value, dict):
        return {str(k).replace("\x00", "\\x00"): storable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(v, depth + 1) for v in value]
    if isinstance(value, str):
        return value.replace("\x00", "\\x00")
    # Numbers past 64 bits as text: jsonb keeps 1e308 as a 309-digit
    # integer, which many JSON encoders refuse to write back out.
    if isinstance(value, float) and not (math.isfinite(value) and abs(value) < 2**63):
        return repr(value)
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        return str(value)
    if isinstance(value, (datetime, Decimal)):
        return str(value)
    return value
