"""Is an EPCIS document valid? GS1's JSON schema, then the standard's rules it cannot say.

The schema (gs1/EPCIS-JSON-Schema.json, vendored as GS1 publishes it, never
fetched) checks a JSON-LD document's shape: compiled by fastjsonschema to
say quickly whether it is valid, read by jsonschema to name each error of an
invalid one. Both check its
`date-time` formats with the RFC 3339 rule below (the `uri` format is
left to the semantic checks, which say more). Two changes are made in
memory, not in the file: a sensorReport may carry an `exception` instead of
a `type` (the EPCIS 2.0 XSD allows it; GS1's schema requires the type);
and nothing is resolved remotely (the schema's `$ref`s are all local).

The semantic checks run on every event, from JSON or XML: the CBV words
in any of their three spellings (inventory.adapters.epcis.vocabulary),
the identifiers an ObjectEvent needs, namespaced extension fields, times.
Each error is (field, message), the field as a path in the event
(`quantityList[0].quantity`).
"""
from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import fastjsonschema
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import best_match

from . import vocabulary

GS1 = Path(__file__).parent / "gs1"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")
UOM = re.compile(r"^[A-Z0-9]{2,3}$")
ACTIONS = ("OBSERVE", "ADD", "DELETE")
STANDARD_FIELDS = frozenset((
    "@context", "type", "eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "certificationInfo",
    "errorDeclaration", "epcList", "action", "bizStep", "disposition", "readPoint", "bizLocation",
    "bizTransactionList", "quantityList", "sourceList", "destinationList", "sensorElementList",
    "persistentDisposition", "ilmd", "parentID", "childEPCs", "childQuantityList", "inputEPCList",
    "inputQuantityList", "outputEPCList", "outputQuantityList", "transformationID",
))
EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent")


def is_time(value):
    """An RFC 3339 date-time with its offset, as EPCIS requires."""
    if not isinstance(value, str) or not RFC3339.match(value.strip()):
        return False
    try:
        datetime.fromisoformat(value.strip().replace("z", "Z").replace("t", "T"))
    except ValueError:
        return False
    return True


@lru_cache(maxsize=1)
def validator():
    schema = json.loads((GS1 / "EPCIS-JSON-Schema.json").read_text(encoding="utf-8"))
    report = copy.deepcopy(schema["definitions"]["sensorReport"])
    report.pop("required", None)
    report["anyOf"] = [{"required": ["type"]}, {"required": ["exception"]}]
    schema["definitions"]["sensorReport"] = report
    formats = FormatChecker(formats=())
    formats.checks("date-time")(lambda value: not isinstance(value, str) or is_time(value))
    return Draft7Validator(schema, format_checker=formats)


@lru_cache(maxsize=1)
def fast_validator():
    """The same schema compiled to Python by fastjsonschema (~8x faster): it
    says whether a document is valid; jsonschema then names each error of
    an invalid one. Its formats are the same as jsonschema's here."""
    return fastjsonschema.compile(validator().schema, formats={"uri": lambda value: True, "date-time": is_time})


def path(parts):
    """`quantityList[0].quantity` of ["quantityList", 0, "quantity"]."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _described(error):
    """(field path inside the event, message) of a schema error."""
    error = best_match([error])
    parts = list(error.absolute_path)[3:]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        if missing:
            return path(parts + [missing[0]]), f"{missing[0]} is required."
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extra = [name for name in error.instance if name not in error.schema.get("properties", {})]
        if extra:
            return path(parts + [extra[0]]), f"{extra[0]!r} is not a field here."
    shown = json.dumps(error.instance)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    value = error.validator_value
    if error.validator == "enum":
        message = f"{shown} is not one of {', '.join(map(str, value))}."
    elif error.validator in ("type", "format", "pattern"):
        said = {"type": "is not of type", "format": "is not a valid", "pattern": "does not match"}[error.validator]
        message = f"{shown} {said} {value}."
    else:
        message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
    return path(parts) or "type", message


def schema_errors(document):
    """({event index: [(field, message)]}, [(field, message)] of the document itself) by GS1's schema."""
    events, whole = {}, []
    try:
        fast_validator()(document)
        return events, whole
    except fastjsonschema.JsonSchemaException:
        pass  # invalid: jsonschema says where and why
    for error in validator().iter_errors(document):
        parts = list(error.absolute_path)
        if parts[:2] == ["epcisBody", "eventList"] and len(parts) >= 3 and isinstance(parts[2], int):
            events.setdefault(parts[2], []).append(_described(error))
        elif document.get("type") in EVENT_TYPES:  # one bare event: its fields are at the top
            described = best_match([error])
            whole_parts = list(described.absolute_path)
            events.setdefault(0, []).append(
                (path(whole_parts) or (described.validator_value[0] if described.validator == "required"
                                       else "type"), described.message[:200]))
        else:
            described = best_match([error])
            name = path(list(described.absolute_path))
            if described.validator == "required":
                name = path(list(described.absolute_path) + [
                    next((n for n in described.validator_value if n not in described.instance), "")])
            whole.append((name or "type", described.message[:200]))
    return events, whole


def _bare(value, kind):
    try:
        return vocabulary.word(value, kind) or value
    except vocabulary.NotInVocabulary:
        return value  # left for the semantic checks, which say why


def bare_words(event):
    """The event with its CBV values as bare words. JSON-LD writes them so and
    GS1's schema takes no other CBV spelling in JSON; the tower takes all
    three (urn:epcglobal:cbv:..., https://ref.gs1.org/cbv/...) in either syntax."""
    if not isinstance(event, dict):
        return event
    event = dict(event)
    for name in ("bizStep", "disposition"):
        if isinstance(event.get(name), str):
            event[name] = _bare(event[name], name)
    if isinstance(event.get("persistentDisposition"), dict):
        event["persistentDisposition"] = {
            part: [_bare(v, "disposition") for v in values] if isinstance(values, list) else values
            for part, values in event["persistentDisposition"].items()}
    for name, kind in (("bizTransactionList", "bizTransaction"), ("sourceList", "sourceDest"),
                       ("destinationList", "sourceDest")):
        if isinstance(event.get(name), list):
            event[name] = [dict(item, type=_bare(item["type"], kind)) if isinstance(item, dict)
                           and isinstance(item.get("type"), str) else item for item in event[name]]
    declaration = event.get("errorDeclaration")
    if isinstance(declaration, dict) and isinstance(declaration.get("reason"), str):
        event["errorDeclaration"] = dict(declaration, reason=_bare(declaration["reason"], "errorReason"))
    return event


def _vocab(errors, field, value, kind):
    try:
        vocabulary.word(value, kind)
    except vocabulary.NotInVocabulary as exc:
        errors.append((field, str(exc)))


def semantic_errors(event):
    """[(field, message)] of one event (a dict in the JSON-LD shape) by the standard's rules."""
    if not isinstance(event, dict):
        return [("type", "An event must be an object.")]
    errors = []
    kind = event.get("type")
    if kind not in EVENT_TYPES:
        errors.append(("type", f"{kind!r} is not an EPCIS event type ({', '.join(EVENT_TYPES)})."))
        return errors
    errors += _required(event, "eventTime", is_time,
                        "an RFC 3339 time with its offset (e.g. 2026-07-22T06:45:00+02:00)")
    errors += _required(event, "eventTimeZoneOffset", lambda v: isinstance(v, str) and bool(OFFSET.match(v)),
                        "+hh:mm or -hh:mm")
    if kind != "TransformationEvent":
        errors += _required(event, "action", lambda v: v in ACTIONS, f"one of {', '.join(ACTIONS)}")
    for name, kind_of in (("bizStep", "bizStep"), ("disposition", "disposition")):
        if name in event:
            _vocab(errors, name, event[name], kind_of)
    persistent = event.get("persistentDisposition")
    if isinstance(persistent, dict):
        for part in ("set", "unset"):
            for index, value in enumerate(_list(persistent.get(part))):
                _vocab(errors, f"persistentDisposition.{part}[{index}]", value, "disposition")
    for name, element in (("bizTransactionList", "bizTransaction"), ("sourceList", "sourceDest"),
                          ("destinationList", "sourceDest")):
        for index, item in enumerate(_list(event.get(name))):
            if isinstance(item, dict) and "type" in item:
                _vocab(errors, f"{name}[{index}].type", item["type"], element)
    declaration = event.get("errorDeclaration")
    if isinstance(declaration, dict):
        if not is_time(declaration.get("declarationTime")):
            errors.append(("errorDeclaration.declarationTime", "declarationTime is required, an RFC 3339 time."))
        if "reason" in declaration:
            _vocab(errors, "errorDeclaration.reason", declaration["reason"], "errorReason")
    if kind == "ObjectEvent" and "epcList" not in event and "quantityList" not in event:
        errors.append(("epcList", "An ObjectEvent names what it is about: give epcList or quantityList."))
    for name in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
        for index, item in enumerate(_list(event.get(name))):
            errors += _quantity_errors(f"{name}[{index}]", item)
    for name in ("readPoint", "bizLocation"):
        if name in event and (not isinstance(event[name], dict) or not event[name].get("id")):
            errors.append((f"{name}.id", f"{name} needs its id (an SGLN or a URI)."))
    for name in event:
        if name not in STANDARD_FIELDS and not _namespaced(name):
            errors.append((name, f"{name!r} is not an EPCIS field; an extension field must be namespaced "
                                 f"(e.g. example:{name})."))
    ilmd = event.get("ilmd")
    if isinstance(ilmd, dict):
        for name in ilmd:
            if not _namespaced(name):
                errors.append((f"ilmd.{name}", f"{name!r}: an ilmd field must be namespaced (e.g. example:{name})."))
    return errors


def _list(value):
    """A list field's items; nothing for a value of another type (the schema names that)."""
    return value if isinstance(value, list) else []


def _required(event, name, valid, what):
    if event.get(name) in (None, ""):
        return [(name, f"{name} is required: {what}.")]
    if not valid(event[name]):
        return [(name, f"{name} must be {what}; got {repr(event[name])[:40]}.")]
    return []


def _namespaced(name):
    return isinstance(name, str) and (name.startswith("{") or bool(vocabulary.URI.match(name)))


def _quantity_errors(field, item):
    if not isinstance(item, dict) or not item.get("epcClass"):
        return [(f"{field}.epcClass", "A quantity element needs its epcClass.")]
    errors = []
    quantity = item.get("quantity")
    if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, (int, float))):
        errors.append((f"{field}.quantity", f"quantity must be a number; got {quantity!r}."))
    elif quantity is not None and quantity < 0:
        errors.append((f"{field}.quantity", "quantity cannot be negative."))
    if "uom" in item and (not isinstance(item["uom"], str) or not UOM.match(item["uom"])):
        errors.append((f"{field}.uom", f"uom must be a UN/CEFACT Rec 20 code (e.g. KGM); got {item['uom']!r}."))
    if "uom" in item and quantity is None:
        errors.append((f"{field}.quantity", "A quantity element with a uom needs its quantity."))
    return errors
