"""EPCIS 2.0 XML read safely into the JSON-LD shape the rest of the adapter reads.

defusedxml refuses a document that declares a DTD (so no entity is ever
expanded, no external one fetched). The XSD is not vendored: the rules of
it the tower depends on are checked here (the standard elements, their
order, the required ones); the values are checked with the JSON form's
(inventory.adapters.epcis.checks). An extension element (in a namespace of
its own) is kept under its expanded name, `{namespace}name`, as a JSON-LD
field expands to the same, so an event's hash is the same in both syntaxes.
"""
from __future__ import annotations

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeTree
from xml.etree.ElementTree import ParseError

from ..registry import Unparseable

EPCIS_NAMESPACES = ("urn:epcglobal:epcis:xsd:2", "urn:epcglobal:epcis:xsd:1")
EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent")
HEAD = ("eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "errorDeclaration", "certificationInfo")
TAIL = ("sourceList", "destinationList", "sensorElementList", "persistentDisposition", "ilmd")
# The XSD's order of each event type's standard elements (extensions follow them).
ORDER = {
    "ObjectEvent": HEAD + ("epcList", "action", "bizStep", "disposition", "readPoint", "bizLocation",
                           "bizTransactionList", "quantityList") + TAIL,
    "AggregationEvent": HEAD + ("parentID", "childEPCs", "action", "bizStep", "disposition", "readPoint",
                                "bizLocation", "bizTransactionList", "childQuantityList") + TAIL,
    "TransactionEvent": HEAD + ("bizTransactionList", "parentID", "epcList", "action", "bizStep", "disposition",
                                "readPoint", "bizLocation", "quantityList") + TAIL,
    "TransformationEvent": HEAD + ("inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList",
                                   "transformationID", "bizStep", "disposition", "readPoint", "bizLocation",
                                   "bizTransactionList") + TAIL,
    "AssociationEvent": HEAD + ("parentID", "childEPCs", "childQuantityList", "action", "bizStep", "disposition",
                                "readPoint", "bizLocation", "bizTransactionList") + TAIL,
}
REQUIRED = ("eventTime", "eventTimeZoneOffset")
EPC_LISTS = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
TEXTS = ("eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "certificationInfo", "action", "bizStep",
         "disposition", "parentID", "transformationID")


class XmlEventError(ValueError):
    """An event breaks the XSD's structure: `field` and `message` say where and how."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def local(tag):
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


def _namespace(tag):
    """An element's namespace; "" for the standard's own elements (unqualified, or
    qualified with the EPCIS namespace as some writers do)."""
    namespace = tag[1:].split("}", 1)[0] if tag.startswith("{") else ""
    return "" if namespace in EPCIS_NAMESPACES else namespace


def _plain(element):
    """The element with the EPCIS namespace taken off its standard elements' tags."""
    for child in element.iter():
        if isinstance(child.tag, str) and child.tag.startswith("{") and not _namespace(child.tag):
            child.tag = local(child.tag)
    return element


def _text(element):
    return (element.text or "").strip()


def _number(text):
    try:
        value = float(text)
    except ValueError:
        return text  # kept as text: the checks refuse it naming the field
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def _extension(element):
    """An extension element's value: its text, or its children by expanded name (a repeated one as a list)."""
    if len(element) == 0:
        return _text(element)
    value = {}
    for child in element:
        value.setdefault(child.tag, []).append(_extension(child))
    return {key: items[0] if len(items) == 1 else items for key, items in value.items()}


def parse(body: bytes):
    """The root element of an XML body; Unparseable naming what is wrong."""
    try:
        return SafeTree.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise Unparseable(f"The XML declares a DTD or entities, which the tower refuses ({type(exc).__name__}).")
    except ParseError as exc:
        raise Unparseable(f"The body is not well-formed XML: {exc}.")


def document(root):
    """(the events' elements in order, a description of the document) of
    an EPCISDocument root or one bare event (the standard's single-event capture)."""
    if local(root.tag) in EVENT_TYPES and _namespace(root.tag) == "":
        return [_plain(root)]
    if root.tag not in {f"{{{namespace}}}EPCISDocument" for namespace in EPCIS_NAMESPACES}:
        raise Unparseable(
            f"The XML root is <{local(root.tag)}>: send an epcis:EPCISDocument "
            f"(namespace {EPCIS_NAMESPACES[0]}) or one event."
        )
    body = _plain(root).find("EPCISBody")
    events = body.find("EventList") if body is not None else None
    if events is None:
        raise Unparseable("The EPCISDocument has no EPCISBody/EventList.")
    found = []
    for element in events:
        # EPCIS 1.x wrapped newer event types in <extension>.
        found.extend(element if local(element.tag) == "extension" else [element])
    return found


def event(element):
    """One event element in the JSON-LD shape; XmlEventError for a break of the XSD's structure."""
    kind = local(element.tag)
    if kind not in EVENT_TYPES or _namespace(element.tag):
        raise XmlEventError("type", f"<{local(element.tag)}> is not an EPCIS event.")
    order = {name: rank for rank, name in enumerate(ORDER[kind])}
    children = []
    for child in element:
        if child.tag in ("extension", "baseExtension"):  # EPCIS 1.x wrappers of newer fields
            children.extend(grand for grand in child if grand.tag != "extension")
        elif isinstance(child.tag, str):  # not a comment or processing instruction
            children.append(child)
    result = {"type": kind}
    rank = -1
    for child in children:
        name = child.tag
        if _namespace(name):
            result[name] = _extension(child)
            continue
        if name not in order:
            raise XmlEventError(name, f"<{name}> is not an element of an {kind}; an extension element "
                                      "must be in a namespace of its own.")
        if order[name] < rank:
            raise XmlEventError(name, f"<{name}> must come before <{ORDER[kind][rank]}> "
                                      f"(the order of the EPCIS XSD).")
        rank = order[name]
        result[name] = _field(name, child)
    for name in REQUIRED + (() if kind == "TransformationEvent" else ("action",)):
        if name not in result:
            raise XmlEventError(name, f"<{name}> is required in an {kind}.")
    return result


def _field(name, element):
    if name in TEXTS:
        return _text(element)
    if name in EPC_LISTS:
        return [_text(epc) for epc in element]
    if name in QUANTITY_LISTS:
        return [_quantity(item) for item in element]
    if name in ("readPoint", "bizLocation"):
        found = element.find("id")
        return {"id": _text(found) if found is not None else ""}
    if name == "bizTransactionList":
        return [_typed(item, "bizTransaction") for item in element]
    if name in ("sourceList", "destinationList"):
        return [_typed(item, local(item.tag)) for item in element]
    if name == "errorDeclaration":
        found = {}
        for child in element:
            key = local(child.tag)
            if key == "correctiveEventIDs":
                found[key] = [_text(item) for item in child]
            elif not _namespace(child.tag):
                found[key] = _text(child)
        return found
    if name == "persistentDisposition":
        found = {}
        for child in element:
            found.setdefault(local(child.tag), []).append(_text(child))
        return found
    return _extension(element)  # sensorElementList, ilmd: kept, not read by the tower


def _quantity(element):
    found = {}
    for child in element:
        key = local(child.tag)
        if child.get(XSI_NIL) in ("true", "1"):
            continue  # xsi:nil: no value (a quantity not known)
        found[key] = _number(_text(child)) if key == "quantity" else _text(child)
    return found


def _typed(element, name):
    found = {name: _text(element)}
    if element.get("type"):
        found["type"] = element.get("type").strip()
    return found
