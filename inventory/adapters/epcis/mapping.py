"""One EPCIS event in, the tower's raw events out (docs/formats.md has the table).

The business step and disposition say what happened to the stock:

| EPCIS                                             | tower event                    |
|---------------------------------------------------|--------------------------------|
| disposition returned                              | return                         |
| disposition damaged                               | damage                         |
| disposition destroyed                             | write_off (reason destroyed)   |
| disposition stolen / expired / recalled           | adjustment, minus, that reason |
| bizStep receiving / arriving                      | receipt; transfer_in when its sourceList names a location |
| bizStep shipping / departing                      | transfer_out to its destinationList location |
| bizStep retail_selling                            | sale                           |
| bizStep cycle_counting / stock_taking, OBSERVE    | cycle_count                    |
| bizStep reserving                                 | reserve                        |

The goods: each SGTIN of `epcList` is one unit of its GTIN; each
`quantityList` element its quantity in its `uom` (the SKU's base unit
without one). One tower line per GTIN and unit, keyed
`<event id>|<GTIN-14>[|<uom>]`, the event id being its eventID or else its
CBV event hash (inventory.adapters.epcis.hashing). The place: `bizLocation`
(an SGLN or a GLN: its GLN; any other URI as the source's own id).
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal

from ..registry import Ignored
from . import hashing, identifiers, vocabulary

# The reasons an EPCIS event moves no stock in the tower (Adapter.ignored_reasons).
NON_INVENTORY = "non-inventory event"
NO_PLACE = "no business location"
NO_GOODS = "no trade items"
UNKNOWN_DECLARED = "declared event not received"
IGNORED_REASONS = (NON_INVENTORY, NO_PLACE, NO_GOODS, UNKNOWN_DECLARED)

LOSSES = {"stolen", "expired", "recalled"}
MAX_KEY = 90  # an event id longer than this is keyed by its SHA-256 (transaction ids are at most 128)


class EventInvalid(ValueError):
    """The event cannot be taken as the standard and the tower read it: [(field, message)]."""

    def __init__(self, errors):
        super().__init__(errors[0][1])
        self.errors = errors


@dataclass(frozen=True)
class Declaration:
    """An error declaration: the event `key` did not happen as recorded; its
    ledger lines (keyed `lines`, as the declared event's own) are reversed
    (inventory.adapters.epcis.capture)."""

    key: str
    reason: str
    corrective: tuple[str, ...]
    lines: tuple[str, ...]


def event_key(event, prefixes=None):
    """The event's id: its eventID, else its CBV 2.0 event hash."""
    event_id = event.get("eventID")
    if isinstance(event_id, str) and event_id.strip():
        event_id = event_id.strip()
        return event_id if len(event_id) <= MAX_KEY else "sha256:" + hashlib.sha256(event_id.encode()).hexdigest()
    return hashing.event_hash(event, prefixes)


def _word(event, name, kind):
    try:
        return vocabulary.word(event.get(name), kind) if event.get(name) else None
    except vocabulary.NotInVocabulary:
        return None  # refused by the checks before the mapping runs


def _typed(items, name, kind):
    """[(CBV type word or None, value)] of a sourceList, destinationList or bizTransactionList."""
    found = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get(name), str) and item[name].strip():
            try:
                item_type = vocabulary.word(item["type"], kind) if item.get("type") else None
            except vocabulary.NotInVocabulary:
                item_type = None  # refused by the checks before the mapping runs
            found.append((item_type, item[name].strip()))
    return found


def _locations(event, name, element):
    """The values of the event's sourceList or destinationList entries of type location."""
    return [value for item_type, value in _typed(event.get(name), element, "sourceDest") if item_type == "location"]


def _reference(event):
    """The transfer reference: the despatch advice (desadv), else the first other business transaction."""
    transactions = _typed(event.get("bizTransactionList"), "bizTransaction", "bizTransaction")
    chosen = [value for item_type, value in transactions if item_type == "desadv"] or [v for _, v in transactions]
    return chosen[0][-128:] if chosen else ""


def _goods(event):
    """{(GTIN-14, uom or ''): quantity} in the order first named."""
    goods = OrderedDict()
    aggregation = event.get("type") == "AggregationEvent"
    epcs = event.get("childEPCs" if aggregation else "epcList")
    for epc in epcs if isinstance(epcs, list) else []:
        item = identifiers.trade_item(epc)
        if item is not None and item.instance:
            goods[(item.gtin, "")] = goods.get((item.gtin, ""), Decimal(0)) + 1
    elements = event.get("childQuantityList" if aggregation else "quantityList")
    for element in elements if isinstance(elements, list) else []:
        item = identifiers.trade_item(element.get("epcClass")) if isinstance(element, dict) else None
        if item is None or element.get("quantity") is None:
            continue
        key = (item.gtin, element.get("uom") or "")
        goods[key] = goods.get(key, Decimal(0)) + Decimal(str(element["quantity"]))
    return goods


def _movement(event):
    """(tower type, extra fields) of the event, or an Ignored reason detail."""
    step, disposition = _word(event, "bizStep", "bizStep"), _word(event, "disposition", "disposition")
    if disposition == "returned":
        return "return", {}
    if disposition == "damaged":
        return "damage", {}
    if disposition == "destroyed":
        return "write_off", {"reason": "destroyed"}
    if disposition in LOSSES:
        return "adjustment", {"reason": disposition, "sign": -1}
    if step in ("receiving", "arriving"):
        # From a location, under a despatch advice or other business transaction: a transfer's
        # receiving end; else (no reference to match a shipment by) a receipt.
        from_location = _locations(event, "sourceList", "source")
        return ("transfer_in", {}) if from_location and _reference(event) else ("receipt", {})
    if step in ("shipping", "departing"):
        return "transfer_out", {}
    if step == "retail_selling":
        return "sale", {}
    if step in ("cycle_counting", "stock_taking"):
        if event.get("action") == "OBSERVE":
            return "cycle_count", {}
        return None, f"{step} with action {event.get('action')} (a count is an OBSERVE)"
    if step == "reserving":
        return "reserve", {}
    return None, f"bizStep {event.get('bizStep') or '(none)'}, disposition {event.get('disposition') or '(none)'}"


def items(event, prefixes=None):
    """The tower's raw events and Ignored markers one EPCIS event says, a
    Declaration for an error declaration; EventInvalid when the tower
    cannot take it as the standard reads it."""
    declaration = event.get("errorDeclaration")
    if isinstance(declaration, dict):
        # The standard's declaration is the declared event itself with the declaration added:
        # its lines are that event's, by the same keys (the hash leaves the declaration out).
        declared = items({name: value for name, value in event.items() if name != "errorDeclaration"}, prefixes)
        lines = tuple(item["transaction_id"] for item in declared if isinstance(item, dict))
        if not lines:
            return declared  # it booked nothing: ignored for the reason the declared event would be
        return [Declaration(event_key(event, prefixes), _word(declaration, "reason", "errorReason")
                            or "declared in error", tuple(map(str, declaration.get("correctiveEventIDs") or ())),
                            lines)]
    key = event_key(event, prefixes)
    kind = event.get("type")
    if kind in ("TransformationEvent", "AssociationEvent") or (
            kind == "AggregationEvent" and event.get("action") != "OBSERVE"):
        return [Ignored(NON_INVENTORY, f"{kind} {event.get('action') or ''}".strip(), key)]
    event_type, extra = _movement(event)
    if event_type is None:
        return [Ignored(NON_INVENTORY, extra, key)]
    location = event.get("bizLocation", {}).get("id") if isinstance(event.get("bizLocation"), dict) else None
    if not location:
        return [Ignored(NO_PLACE, f"{event_type} without bizLocation", key)]
    goods = _goods(event)
    if not goods:
        return [Ignored(NO_GOODS, "no SGTIN or GTIN class with a quantity", key)]
    common = {"type": event_type, "location": identifiers.place(location), "occurred_at": event.get("eventTime")}
    # A shipment without a business transaction is its own transfer: the event id is its reference.
    reference = _reference(event) or (key[-128:] if event_type == "transfer_out" else "")
    if reference:
        common["reference"] = reference
    if event_type == "transfer_out":
        destination = _locations(event, "destinationList", "destination")
        if not destination:
            raise EventInvalid([("destinationList", "A shipping event moves stock to a location the tower "
                                                    "keeps: give a destinationList entry of type location.")])
        common["to_location"] = identifiers.place(destination[0])
    if "reason" in extra:
        common["reason"] = extra["reason"]
    lines = []
    for (gtin, uom), quantity in goods.items():
        line = dict(common, transaction_id=f"{key}|{gtin}" + (f"|{uom}" if uom else ""), sku=gtin,
                    quantity=str(quantity * extra.get("sign", 1)))
        if uom:
            line["unit"] = uom
        lines.append(line)
    return lines
