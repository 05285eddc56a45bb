"""The EPCIS adapter on documents written by others: the OpenEPCIS test
documents (shared/fixtures/epcis/openepcis, Apache-2.0, from
github.com/openepcis; skipped when shared/ is not beside the checkout).

Every valid document (Documents/ and Events/, JSON-LD and XML) is taken:
its events go in, or are ignored with their reason; every document in
Invalid/ is refused naming the event's field. One exception, the fixtures
disagree with each other: XML/Documents/JumbledFieldsOrder.xml puts an
event's elements out of the XSD's order, the very fault of
XML/Invalid/ObjectEvent_with_wrong_element_order.xml; the tower follows the
XSD and refuses both."""
from collections import Counter

import orjson
import pytest
from jsonschema import Draft7Validator

from inventory.adapters.epcis import checks

from inventory.models import InventoryEvent, RejectedEvent
from tests.controltower.factories import source_token
from tests.shared import shared_dir

from .factories import BarcodeFactory, LocationFactory, SKUFactory, SourceSystemFactory, UnitConversionFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/epcis/capture"
OUT_OF_XSD_ORDER = "XML/Capture/Documents/JumbledFieldsOrder.xml"

# The places and trade items the documents name, as the tower's master data.
GLNS = ["0614141008889", "0012345111112", "9529999999993", "0614141007776"]
GTINS = ["10614141073464", "04012345987652", "09520001123467"]
WEIGHED = ["04012345123456", "04012345111118", "70614141123451"]  # also in KGM; base unit G


def documents(folder):
    root = shared_dir()
    base = root / "fixtures" / "epcis" / "openepcis" if root else None
    if base is None or not base.is_dir():
        pytest.skip("shared/fixtures/epcis/openepcis is not beside this checkout")
    return sorted(path for path in base.glob(f"*/Capture/{folder}/*") if path.suffix in (".json", ".xml"))


def relative(path):
    return path.as_posix().split("openepcis/", 1)[1]


@pytest.fixture
def master_data():
    for number, gln in enumerate(GLNS):
        LocationFactory(code=f"DC{number}", gln=gln)
    for gtin in GTINS:
        BarcodeFactory(code=gtin, sku=SKUFactory())
    for gtin in WEIGHED:
        sku = SKUFactory(base_unit="G")
        BarcodeFactory(code=gtin, sku=sku)
        UnitConversionFactory(sku=sku, unit="KGM", factor=1000)


def post(client, source, path):
    content_type = "application/xml" if path.suffix == ".xml" else "application/ld+json"
    return client.post(URL, data=path.read_bytes(), content_type=content_type,
                       HTTP_AUTHORIZATION=f"Token {source_token(source)}")


def test_every_valid_openepcis_document_is_taken_event_by_event(api_client, master_data):
    sources = {syntax: SourceSystemFactory(code=f"OPENEPCIS-{syntax}", kind="wms") for syntax in ("JSON", "XML")}
    statuses, reasons, refused = Counter(), Counter(), []
    paths = documents("Documents") + documents("Events")
    for path in paths:
        response = post(api_client, sources[relative(path).split("/")[0]], path)
        if response.status_code != 200:
            refused.append((relative(path), response.status_code, response.json()["detail"]))
            continue
        for result in response.json()["results"]:
            statuses[result["status"]] += 1
            reasons[result.get("reason")] += result["status"] == "ignored"

    assert len(paths) == 86
    assert [(path, code) for path, code, _ in refused] == [(OUT_OF_XSD_ORDER, 400)]
    assert "<eventTimeZoneOffset> must come before <disposition>" in refused[0][2]
    # 33 ledger lines; the same receiving event in ObjectEvent.* and ObjectEvent_with_error_declaration.*
    # (its eventID) reads duplicate the second time; the other events move no stock the tower keeps.
    assert statuses == {"accepted": 33, "duplicate": 2, "ignored": 122}
    # 22 error declarations: 16 of events that would themselves be ignored (for their reason), 6 of events
    # the tower never booked.
    assert +reasons == {"non-inventory event": 106, "declared event not received": 6, "no business location": 10}
    assert not RejectedEvent.objects.exists()


def test_the_same_events_in_json_ld_and_xml_are_the_same_ledger_lines(api_client, master_data):
    keys = {}
    for syntax in ("JSON", "XML"):
        source = SourceSystemFactory(code=f"OPENEPCIS-{syntax}", kind="wms")
        for path in documents("Documents") + documents("Events"):
            if relative(path).startswith(syntax) and relative(path) != OUT_OF_XSD_ORDER:
                post(api_client, source, path)
        keys[syntax] = set(InventoryEvent.objects.filter(source=source).values_list("transaction_id", flat=True))

    assert keys["JSON"] and keys["XML"] <= keys["JSON"]


@pytest.mark.parametrize("path", [pytest.param(p, id=relative(p)) for p in (
    documents("Invalid") if shared_dir() else [])])
def test_every_invalid_openepcis_document_is_refused_naming_the_field(api_client, path):
    response = post(api_client, SourceSystemFactory(code="OPENEPCIS", kind="wms"), path)

    assert response.status_code == 400
    answer = response.json()
    assert "\n" not in answer["detail"]
    field = answer["invalid"][0]["field"] if "invalid" in answer else answer["detail"].split(": ")[1]
    assert field == INVALID_FIELDS[relative(path)]
    assert not InventoryEvent.objects.exists() and not RejectedEvent.objects.exists()


INVALID_FIELDS = {
    "JSON/Capture/Invalid/Combination_of_events_with_missing_mandatory_fields.json": "action",
    "JSON/Capture/Invalid/Combination_of_multiple_invalid_fields.json": "bizStep",
    "JSON/Capture/Invalid/Combination_of_non_standard_bizStep_and_disposition.json": "bizStep",
    "JSON/Capture/Invalid/EPCISDocument_without_context.json": "@context",
    "JSON/Capture/Invalid/ObjectEvent_with_ilmd_field_without_namespace.json": "ilmd.materialType",
    "JSON/Capture/Invalid/ObjectEvent_with_invalid_action.json": "action",
    "JSON/Capture/Invalid/ObjectEvent_with_invalid_certificationInfo.json": "certificationInfo[0]",
    "JSON/Capture/Invalid/ObjectEvent_with_invalid_eventTime_format.json": "eventTime",
    "JSON/Capture/Invalid/ObjectEvent_with_non_standard_bizStep.json": "bizStep",
    "JSON/Capture/Invalid/ObjectEvent_with_non_standard_bizStep_in_second_event.json": "bizStep",
    "JSON/Capture/Invalid/ObjectEvent_with_non_standard_disposition.json": "disposition",
    "JSON/Capture/Invalid/ObjectEvent_with_quantity_as_text.json": "quantityList[0].quantity",
    "JSON/Capture/Invalid/ObjectEvent_with_unknown_field_in_quantityList.json": "quantityList[0].weight",
    "JSON/Capture/Invalid/ObjectEvent_without_action_and_eventTime.json": "eventTime",
    "JSON/Capture/Invalid/ObjectEvent_without_identifier_list.json": "epcList",
    "XML/Capture/Invalid/ObjectEvent_bare_event_without_action.xml": "action",
    "XML/Capture/Invalid/ObjectEvent_with_invalid_action.xml": "action",
    "XML/Capture/Invalid/ObjectEvent_with_invalid_eventTime_format.xml": "eventTime",
    "XML/Capture/Invalid/ObjectEvent_with_near_miss_action.xml": "action",
    "XML/Capture/Invalid/ObjectEvent_with_unknown_element.xml": "madeUpField",
    "XML/Capture/Invalid/ObjectEvent_with_wrong_element_order.xml": "eventTime",
    "XML/Capture/Invalid/ObjectEvent_without_eventTime.xml": "eventTime",
}


def test_gs1s_schema_alone_catches_9_of_the_15_invalid_json_documents_10_with_its_date_times_checked():
    """The rest need the semantic checks: CBV words, namespaced ilmd fields."""
    invalid = [orjson.loads(path.read_bytes()) for path in documents("Invalid") if path.suffix == ".json"]
    structure = Draft7Validator(checks.validator().schema)  # no format checked, as jsonschema by default

    assert len(invalid) == 15
    assert sum(not structure.is_valid(document) for document in invalid) == 9
    assert sum(any(checks.schema_errors(document)) for document in invalid) == 10
