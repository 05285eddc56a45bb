"""EPCIS documents for the capture tests, written from the standard: the
master data they name (two stores by GLN, two SKUs by GTIN) and builders."""
from pathlib import Path

import orjson

SAMPLES = Path(__file__).parent / "epcis_samples"
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]

# urn:epc:id:sgln:4012345.00001.0 and .00002.0 (GS1 company prefix 4012345)
STORE_GLN, OTHER_GLN = "4012345000016", "4012345000023"
STORE_SGLN, OTHER_SGLN = "urn:epc:id:sgln:4012345.00001.0", "urn:epc:id:sgln:4012345.00002.0"
# urn:epc:id:sgtin:4012345.011111.* is GTIN 04012345111118 (a SKU by its GTIN-13 barcode);
# urn:epc:class:lgtin:4012345.022222.* is GTIN 04012345222227 (sold by weight, base unit G)
ITEM_GTIN13, LOOSE_GTIN14 = "4012345111118", "04012345222227"


def sgtin(serial):
    return f"urn:epc:id:sgtin:4012345.011111.{serial}"


def event(**fields):
    """An ObjectEvent at the store: 2 units received, unless `fields` say otherwise (None drops a field)."""
    found = {
        "type": "ObjectEvent",
        "eventTime": "2026-11-23T10:15:00+01:00",
        "eventTimeZoneOffset": "+01:00",
        "action": "OBSERVE",
        "bizStep": "receiving",
        "bizLocation": {"id": STORE_SGLN},
        "epcList": [sgtin(1), sgtin(2)],
    }
    found.update(fields)
    return {name: value for name, value in found.items() if value is not None}


def document(*events):
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-23T10:30:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def body(*events):
    return orjson.dumps(document(*events))
