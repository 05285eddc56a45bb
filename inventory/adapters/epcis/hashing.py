"""The CBV 2.0 event hash: an EPCIS event's id when it carries no eventID.

GS1 CBV 2.0 (section 8.9, "EPCIS event hash ID") names an event by the
SHA-256 of a canonical "pre-hash" string, the same whichever syntax (XML or
JSON-LD) and field order it came in: `ni:///sha-256;<hex>?ver=CBV2.0`.

What the tower implements (a subset, documented in docs/formats.md):
- `eventType=<type>`, then the fields in the standard's canonical order:
  eventTime, eventTimeZoneOffset, epcList, parentID, inputEPCList,
  childEPCs, quantityList, childQuantityList, inputQuantityList,
  outputEPCList, outputQuantityList, action, transformationID, bizStep,
  disposition, persistentDisposition, readPoint, bizLocation,
  bizTransactionList, sourceList, destinationList; then the extension
  fields and ilmd by expanded name, sorted; each as `name=value`, a list
  as its name then its items sorted, concatenated with no separator;
- times in UTC at millisecond precision (`2005-04-04T02:33:31.116Z`);
  CBV values as their web URIs (`https://ref.gs1.org/cbv/BizStep-shipping`);
  SGTIN, SGLN, LGTIN and SSCC URNs as canonical Digital Link URIs
  (`https://id.gs1.org/01/...`); numbers without trailing zeros;
- left out: recordTime, eventID, errorDeclaration (a declaration names the
  event it corrects, so it hashes as that event), certificationInfo and
  sensorElementList (sensor readings move no stock).
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from . import identifiers, vocabulary

ORDER = (
    "eventTime", "eventTimeZoneOffset", "epcList", "parentID", "inputEPCList", "childEPCs",
    "quantityList", "childQuantityList", "inputQuantityList", "outputEPCList", "outputQuantityList",
    "action", "transformationID", "bizStep", "disposition", "persistentDisposition", "readPoint",
    "bizLocation", "bizTransactionList", "sourceList", "destinationList",
)
LEFT_OUT = frozenset(("@context", "type", "recordTime", "eventID", "errorDeclaration", "certificationInfo",
                      "sensorElementList"))
WEB_TERMS = {"bizStep": "BizStep-", "disposition": "Disp-", "bizTransaction": "BTT-", "sourceDest": "SDT-"}


def _time(value):
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return str(value).strip()
    if parsed.tzinfo is None:
        return str(value).strip()
    return parsed.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _number(value):
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return str(value).strip()
    return format(number.normalize(), "f") if number.is_finite() else str(value).strip()


def _vocab(value, kind):
    try:
        word = vocabulary.word(value, kind)
    except vocabulary.NotInVocabulary:
        return str(value).strip()
    return f"https://ref.gs1.org/cbv/{WEB_TERMS[kind]}{word}" if word else str(value).strip()


def _key(value):
    """An identifier as its canonical Digital Link URI where the tower can write it."""
    if not isinstance(value, str):
        return str(value)
    value = value.strip()
    item = identifiers.trade_item(value)
    if item is not None and value.startswith("urn:epc:"):
        last = value.rsplit(".", 1)[-1]
        qualifier = {"urn:epc:id:sgtin:": f"/21/{last}", "urn:epc:class:lgtin:": f"/10/{last}"}
        return f"https://id.gs1.org/01/{item.gtin}" + next(
            (tail for start, tail in qualifier.items() if value.startswith(start)), "")
    if item is not None:  # a Digital Link on any host, its GTIN in 14 digits
        rest = value.split("/01/", 1)[1].split("?", 1)[0].split("#", 1)[0].rstrip("/")
        return f"https://id.gs1.org/01/{item.gtin}" + rest[len(rest.split("/", 1)[0]):]
    gln = identifiers.gln(value)
    if gln and value.startswith("urn:epc:id:sgln:"):
        extension = value.rsplit(".", 1)[-1]
        return f"https://id.gs1.org/414/{gln}" + ("" if extension == "0" else f"/254/{extension}")
    return value


def _quantity(item):
    if not isinstance(item, dict):
        return str(item)
    text = "quantityElement"
    if "epcClass" in item:
        text += f"epcClass={_key(item['epcClass'])}"
    if "quantity" in item:
        text += f"quantity={_number(item['quantity'])}"
    if "uom" in item:
        text += f"uom={str(item['uom']).strip()}"
    return text


def _typed(item, name, kind):
    if not isinstance(item, dict):
        return str(item)
    text = ""
    if "type" in item:
        text += f"type={_vocab(item['type'], kind)}"
    return text + f"{name}={_key(item.get(name, ''))}"


def _field(name, value):
    if name in ("eventTime",):
        return f"{name}={_time(value)}"
    if name in ("bizStep", "disposition"):
        return f"{name}={_vocab(value, name)}"
    if name in ("epcList", "inputEPCList", "childEPCs", "outputEPCList"):
        items = value if isinstance(value, list) else [value]
        return name + "".join(sorted(f"epc={_key(epc)}" for epc in items))
    if name == "parentID":
        return f"{name}={_key(value)}"
    if name in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
        items = value if isinstance(value, list) else [value]
        return name + "".join(sorted(_quantity(item) for item in items))
    if name in ("readPoint", "bizLocation"):
        return f"{name}id={_key(value.get('id', '') if isinstance(value, dict) else value)}"
    if name == "bizTransactionList":
        return name + "".join(sorted(_typed(item, "bizTransaction", "bizTransaction") for item in value))
    if name in ("sourceList", "destinationList"):
        element = name[:-4]
        return name + "".join(sorted(_typed(item, element, "sourceDest") for item in value))
    if name == "persistentDisposition" and isinstance(value, dict):
        return name + "".join(
            "".join(sorted(f"{part}={_vocab(v, 'disposition')}" for v in value.get(part, [])))
            for part in ("set", "unset"))
    return f"{name}={_generic(value)}"


def _generic(value):
    """An extension's value: text, or its parts by name, sorted."""
    if isinstance(value, dict):
        return "".join(sorted(f"{k}{_generic(v)}" if isinstance(v, (dict, list)) else f"{k}={_generic(v)}"
                              for k, v in value.items()))
    if isinstance(value, list):
        return "".join(sorted(_generic(item) for item in value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number(value)
    return str(value).strip()


def expanded(name, prefixes):
    """A field's expanded name: `example:myField` with the document's prefix, `{ns}myField` of XML."""
    if name.startswith("{"):
        namespace, local = name[1:].split("}", 1)
        return namespace + local
    prefix, _, local = name.partition(":")
    return prefixes[prefix] + local if local and prefix in prefixes else name


def pre_hash(event, prefixes=None):
    """The canonical string of an event (a dict in the JSON-LD shape)."""
    prefixes = prefixes or {}
    parts = [f"eventType={event.get('type', '')}"]
    parts += [_field(name, event[name]) for name in ORDER if name in event and event[name] not in (None, "", [])]
    rest = [name for name in event if name not in LEFT_OUT and name not in ORDER]
    parts += sorted(
        f"{expanded(name, prefixes)}{_generic(event[name])}" if isinstance(event[name], (dict, list))
        else f"{expanded(name, prefixes)}={_generic(event[name])}"
        for name in rest
    )
    return "".join(parts)


def event_hash(event, prefixes=None):
    """`ni:///sha-256;<hex>?ver=CBV2.0` of the event's pre-hash string."""
    digest = hashlib.sha256(pre_hash(event, prefixes).encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}?ver=CBV2.0"
