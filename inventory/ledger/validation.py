"""Validating inventory events: one raw event in, a ledger line or its errors out.

A batch is validated as a batch: `MasterData` looks up every location, SKU,
barcode and unit of the batch with one query each. Each field is parsed by
inventory.fields; the moves table says which states each event type takes
stock out of and puts it into (DOMAIN.md, the canonical state model).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext

from controltower.db import select_rows

from .. import fields, identifiers
from ..models import STATES, EventType

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
    # The legs of the line it reverses, whichever those were (either may be empty).
    EventType.REVERSAL: (STATES, None, STATES, None),
}


EVENT_TYPES = {t.value for t in EventType}


@dataclass
class Line:
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
    cashier: str = ""  # who rang it up, as the till names them (sales and returns)

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


def _state(raw, name, allowed, default, errors, optional=False):
    value = raw.get(name) or default
    if not allowed:
        if raw.get(name):
            errors.setdefault(name, []).append("Not used by this event type.")
        return None
    if value is None and optional:
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


class MasterData:
    """Location, SKU, barcode and unit lookups for one batch from `source`
    (None: the tower's own codes only), one query per kind: identifiers are
    resolved by inventory.identifiers (codes, the source's foreign
    identifiers, GLNs, barcodes and GTINs)."""

    def __init__(self, raw_events, source=None):
        location_texts, sku_texts, barcodes = set(), set(), set()
        for raw in raw_events:
            if not isinstance(raw, dict):
                continue
            # Only values that can be identifiers reach the queries (a NUL or
            # a list would fail the query for the whole batch).
            for key in ("location", "to_location"):
                location_texts.add(fields.code(raw.get(key)))
            sku_texts.add(fields.code(raw.get("sku")))
            barcodes.add(fields.code(raw.get("barcode")))
        for texts in (location_texts, sku_texts, barcodes):
            texts.discard(None)
        found = identifiers.resolve(source, location_texts, sku_texts, barcodes)
        self.locations = found.locations
        self.sku_ids = found.skus
        self.barcodes = found.barcodes
        self.base_units = found.base_units
        # Decimal from the text: SQLite hands a numeric column over as a float or an int.
        self.factors = {
            (sku_id, unit): Decimal(str(factor))
            for sku_id, unit, factor in select_rows(
                "SELECT sku_id, unit, factor FROM inventory_unitconversion WHERE sku_id {}", self.base_units
            )
        } if self.base_units else {}

    def factor(self, sku_id, unit):
        if unit == self.base_units[sku_id]:
            return Decimal(1)
        return self.factors.get((sku_id, unit))


def base_quantity_of(quantity, unit, factor, errors):
    """`quantity` of `unit` in whole base units, by the one rounding rule
    (docs/domain.md, units): exactly quantity x factor; a unit whose factor
    has decimals (a measure: LBR = 453.59237 G) is rounded to the nearest
    whole base unit, halves away from zero; a unit with a whole factor (the
    base unit, a pack: CS12 = 12 EA) must come to a whole number, else the
    quantity is refused (a fraction of a case is a keying error, not a weight)."""
    with localcontext() as exact_arithmetic:
        exact_arithmetic.prec = 60  # 10^9 x a 19-digit factor, to its last decimal
        exact = quantity * factor
        if exact != exact.to_integral_value():
            if factor == factor.to_integral_value():
                errors.setdefault("quantity", []).append(
                    f"{quantity} {unit} is {format(exact.normalize(), 'f')} base units: not a whole number."
                )
                return None
            exact = exact.to_integral_value(rounding=ROUND_HALF_UP)
    if abs(exact) > fields.MAX_QUANTITY:
        errors.setdefault("quantity", []).append(
            f"{quantity} {unit} is {exact:,} base units: at most {fields.MAX_QUANTITY:,}."
        )
        return None
    return int(exact)


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
    if line.cashier:  # only when given: the hashes of lines without one stay as they were
        key += f"|{line.cashier}"
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def validate_event(raw, index, master, now):
    """Return (Line, {}) or (None, errors) for one raw event."""
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

    location_code = fields.text(raw, "location", errors, required=True, max_length=64)
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
            base_quantity = base_quantity_of(quantity, unit, factor, errors)
    if base_quantity is not None:
        if event_type in (EventType.ADJUSTMENT, EventType.REVERSAL):
            if base_quantity == 0:
                what = "An adjustment" if event_type == EventType.ADJUSTMENT else "A reversal"
                errors.setdefault("quantity", []).append(f"{what} must not be zero.")
        elif event_type == EventType.CYCLE_COUNT:
            if base_quantity < 0:
                errors.setdefault("quantity", []).append("A counted quantity cannot be negative.")
        elif base_quantity <= 0:
            errors.setdefault("quantity", []).append("Must be greater than zero.")

    occurred_at = fields.time(raw, "occurred_at", errors, now)
    allowed_from, default_from, allowed_to, default_to = MOVES[event_type]
    reversal = event_type == EventType.REVERSAL
    from_state = _state(raw, "from_state", allowed_from, default_from, errors, optional=reversal)
    to_state = _state(raw, "to_state", allowed_to, default_to, errors, optional=reversal)
    reference = fields.text(raw, "reference", errors)
    reason = fields.text(raw, "reason", errors, max_length=64)
    cashier = fields.text(raw, "cashier", errors, max_length=64)

    to_location_id = None
    if event_type == EventType.TRANSFER_OUT or (reversal and raw.get("to_location")):
        to_code = fields.text(raw, "to_location", errors, required=True, max_length=64)
        if to_code:
            to_location_id = master.locations.get(to_code)
            if to_location_id is None:
                errors.setdefault("to_location", []).append(f"Unknown location {fields.shown(to_code)}.")
            elif to_location_id == location_id:
                errors.setdefault("to_location", []).append("Must differ from location.")
    elif raw.get("to_location"):
        errors.setdefault("to_location", []).append("Only a transfer_out (or its reversal) has a to_location.")
    if event_type in (EventType.TRANSFER_OUT, EventType.TRANSFER_IN) and not reference:
        errors.setdefault("reference", []).append("A transfer needs its transfer id as reference.")
    if reversal and not reference:
        errors.setdefault("reference", []).append("A reversal names the ledger line it reverses.")
    if event_type == EventType.ADJUSTMENT and not reason:
        errors.setdefault("reason", []).append("An adjustment needs a reason code.")
    if event_type == EventType.DISPOSITION and to_state == WRITTEN_OFF:
        to_state = None
        reason = reason or WRITTEN_OFF

    if errors:
        return None, errors
    line = Line(
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
        cashier=cashier,
    )
    line.content_hash = _content_hash(line)
    return line, {}
