"""EPCIS 2.0 documents for the adapters section (tests/bench/adapters.py).

The bench estate's stores get a GLN and its SKUs a GTIN-13 barcode (GS1
company prefix 4012345, the location or item number as the reference), so
the documents name them as EPCIS does: a store by its SGLN, an item by the
SGTINs of its units or an LGTIN class with a quantity. Each event is one
ledger line: sales (retail_selling, 1 to 3 SGTINs of one item) and
receipts (receiving, a quantityList element), keyed by their eventID.
"""
from __future__ import annotations

import random
import uuid
from datetime import timedelta
from datetime import timezone as dt_timezone

import orjson
from django.utils import timezone

from inventory import adapters
from inventory.adapters.epcis.identifiers import check_digit
from inventory.models import SKU, Barcode, Location

from . import ingest

COMPANY = "4012345"
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]


def _gln(n):
    return f"{COMPANY}{n:05d}" + check_digit(f"{COMPANY}{n:05d}")


def _gtin13(n):
    return f"{COMPANY}{n:05d}" + check_digit(f"0{COMPANY}{n:05d}")


def ensure_gs1_keys():
    """A GLN for each bench store, a GTIN-13 barcode for each bench SKU (kept when present)."""
    stores = Location.objects.filter(code__startswith=ingest.PREFIX, gln__isnull=True).values_list("id", "code")
    for store_id, code in stores:
        Location.objects.filter(pk=store_id).update(gln=_gln(int(code.rsplit("L", 1)[1])))
    skus = SKU.objects.filter(code__startswith=ingest.PREFIX, code__regex=r"\d{5}$").values_list("id", "code")
    Barcode.objects.bulk_create([Barcode(code=_gtin13(int(code[-5:])), sku_id=sku_id) for sku_id, code in skus],
                                ignore_conflicts=True, batch_size=5000)


def _event(rng, number, moment):
    store = rng.randrange(ingest.LOCATIONS)
    item = int(ingest.SKUS * rng.random() ** 3)
    reference = f"{COMPANY}.0{item:05d}"
    found = {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}",
        "eventTime": moment.isoformat(timespec="milliseconds"),
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "readPoint": {"id": f"urn:epc:id:sgln:{COMPANY}.{store:05d}.POS{number % 8}"},
        "bizLocation": {"id": f"urn:epc:id:sgln:{COMPANY}.{store:05d}.0"},
    }
    if rng.random() < 0.85:
        found["bizStep"] = "retail_selling"
        found["disposition"] = "retail_sold"
        found["epcList"] = [f"urn:epc:id:sgtin:{reference}.{number}{unit}" for unit in range(rng.randint(1, 3))]
    else:
        found["bizStep"] = "receiving"
        found["disposition"] = "sellable_accessible"
        found["quantityList"] = [{"epcClass": f"urn:epc:class:lgtin:{reference}.L{number % 97}",
                                  "quantity": rng.randint(6, 48)}]
        found["bizTransactionList"] = [{"type": "po", "bizTransaction": f"urn:epcglobal:cbv:bt:PO-{number}"}]
    return found


def epcis_documents(items, run, events_per_document=500, seed=13):
    """EPCISDocuments of `events_per_document` events each, `items` events
    in all; and the tower's raw events the adapter reads in them."""
    ensure_gs1_keys()
    rng = random.Random(f"{seed}-{run}")  # fresh eventIDs for every run
    start = timezone.now().astimezone(dt_timezone.utc) - timedelta(hours=2)
    epcis = adapters.get("epcis")
    bodies, events = [], []
    for first in range(0, items, events_per_document):
        batch = [_event(rng, n, start + timedelta(milliseconds=n))
                 for n in range(first, min(items, first + events_per_document))]
        body = orjson.dumps({"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
                             "creationDate": start.isoformat(), "epcisBody": {"eventList": batch}})
        bodies.append(body)
        events.append([item for item in epcis.events(epcis.parse(body)) if isinstance(item, dict)])
    return bodies, events


def _xml_event(event):
    """The same ObjectEvent in the XML binding, its elements in the XSD's order."""
    parts = [f"<eventTime>{event['eventTime']}</eventTime>",
             f"<eventTimeZoneOffset>{event['eventTimeZoneOffset']}</eventTimeZoneOffset>",
             f"<eventID>{event['eventID']}</eventID>"]
    parts.append("<epcList>" + "".join(f"<epc>{epc}</epc>" for epc in event.get("epcList", [])) + "</epcList>")
    parts += [f"<action>{event['action']}</action>",
              f"<bizStep>urn:epcglobal:cbv:bizstep:{event['bizStep']}</bizStep>",
              f"<disposition>urn:epcglobal:cbv:disp:{event['disposition']}</disposition>",
              f"<readPoint><id>{event['readPoint']['id']}</id></readPoint>",
              f"<bizLocation><id>{event['bizLocation']['id']}</id></bizLocation>"]
    if event.get("bizTransactionList"):
        parts.append("<bizTransactionList>" + "".join(
            f'<bizTransaction type="urn:epcglobal:cbv:btt:{t["type"]}">{t["bizTransaction"]}</bizTransaction>'
            for t in event["bizTransactionList"]) + "</bizTransactionList>")
    if event.get("quantityList"):
        parts.append("<quantityList>" + "".join(
            f"<quantityElement><epcClass>{q['epcClass']}</epcClass><quantity>{q['quantity']}</quantity>"
            "</quantityElement>" for q in event["quantityList"]) + "</quantityList>")
    return "<ObjectEvent>" + "".join(parts) + "</ObjectEvent>"


def _xml_document(events):
    return (f'<epcis:EPCISDocument xmlns:epcis="{XML_NAMESPACE}" schemaVersion="2.0" '
            f'creationDate="2026-11-23T00:00:00Z"><EPCISBody><EventList>'
            + "".join(map(_xml_event, events)) + "</EventList></EPCISBody></epcis:EPCISDocument>").encode()


def epcis_xml_documents(items, run, events_per_document=500):
    """The same kind of documents in the XML binding (other eventIDs: a run of their own)."""
    bodies, events = epcis_documents(items, f"{run}-xml", events_per_document)
    epcis_xml = adapters.get("epcis-xml")
    xml_bodies = [_xml_document(orjson.loads(body)["epcisBody"]["eventList"]) for body in bodies]
    return xml_bodies, [[item for item in epcis_xml.events(epcis_xml.parse(body)) if isinstance(item, dict)]
                        for body in xml_bodies]


XML_NAMESPACE = "urn:epcglobal:epcis:xsd:2"
EMPTY_XML = (f'<epcis:EPCISDocument xmlns:epcis="{XML_NAMESPACE}"><EPCISBody><EventList/></EPCISBody>'
             '</epcis:EPCISDocument>').encode()
EMPTY = orjson.dumps({"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
                      "creationDate": "2026-11-23T00:00:00Z", "epcisBody": {"eventList": []}})
