"""POST /api/v1/epcis/capture: EPCIS 2.0 documents into the ledger, event
by event as the issue's mapping says (inventory.adapters.epcis)."""
import orjson
import pytest

from inventory.models import InventoryEvent, Position, ReceivedDocument, RejectedEvent, Transfer
from tests.controltower.factories import source_token

from .epcis_docs import (
    ITEM_GTIN13,
    LOOSE_GTIN14,
    OTHER_GLN,
    OTHER_SGLN,
    SAMPLES,
    STORE_GLN,
    STORE_SGLN,
    body,
    event,
    sgtin,
)
from .factories import BarcodeFactory, LocationFactory, SKUFactory, SourceSystemFactory, UnitConversionFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/epcis/capture"


@pytest.fixture
def shop():
    store = LocationFactory(code="S001", gln=STORE_GLN)
    other = LocationFactory(code="S002", gln=OTHER_GLN)
    item = SKUFactory(code="SKU-TEE")
    BarcodeFactory(sku=item, code=ITEM_GTIN13)
    loose = SKUFactory(code="SKU-NUTS", base_unit="G")
    BarcodeFactory(sku=loose, code=LOOSE_GTIN14)
    UnitConversionFactory(sku=loose, unit="KGM", factor=1000)
    return store, other, item, loose


@pytest.fixture
def rfid():
    return SourceSystemFactory(code="RFID", kind="wms")


def capture(client, source, data, content_type="application/ld+json", behaviour=None):
    headers = {"HTTP_AUTHORIZATION": f"Token {source_token(source)}"}
    if behaviour:
        headers["HTTP_GS1_CAPTURE_ERROR_BEHAVIOUR"] = behaviour
    return client.post(URL, data=data, content_type=content_type, **headers)


def line(transaction_id_start):
    return InventoryEvent.objects.get(transaction_id__startswith=transaction_id_start)


def test_a_receiving_document_puts_units_and_weights_in_by_gln_and_gtin(api_client, rfid, shop):
    store, _, item, loose = shop
    response = capture(api_client, rfid, (SAMPLES / "receiving.jsonld").read_bytes())

    assert response.status_code == 200, response.content
    answer = response.json()
    key = "urn:uuid:7e1f0f3a-1b2c-4d5e-8f90-0a1b2c3d4e01"
    assert answer["counts"] == {"accepted": 2, "duplicate": 0, "conflict": 0, "rejected": 0, "ignored": 0}
    assert [r["transaction_id"] for r in answer["results"]] == [f"{key}|04012345111118", f"{key}|{LOOSE_GTIN14}|KGM"]
    units = line(f"{key}|04012345111118")
    assert (units.type, units.location, units.sku, units.quantity) == ("receipt", store, item, 3)
    assert units.reference == "urn:epcglobal:cbv:bt:4012345000009:PO-7781"
    weight = line(f"{key}|{LOOSE_GTIN14}")
    assert (weight.sku, weight.quantity, weight.entered_unit) == (loose, 2500, "KGM")
    assert Position.objects.get(location=store, sku=item).available == 3


def test_the_same_document_again_reads_duplicate_and_moves_nothing(api_client, rfid, shop):
    document = (SAMPLES / "receiving.jsonld").read_bytes()
    capture(api_client, rfid, document)

    again = capture(api_client, rfid, document).json()

    assert again["counts"]["duplicate"] == 2 and again["counts"]["accepted"] == 0
    assert InventoryEvent.objects.count() == 2
    assert Position.objects.get(location=shop[0], sku=shop[2]).available == 3


def test_an_event_without_an_event_id_is_keyed_by_its_cbv_hash(api_client, rfid, shop):
    first = capture(api_client, rfid, body(event())).json()
    again = capture(api_client, rfid, body(event(epcList=[sgtin(2), sgtin(1)]))).json()  # same event, reordered
    other = capture(api_client, rfid, body(event(epcList=[sgtin(3)]))).json()

    key = first["results"][0]["transaction_id"]
    assert key.startswith("ni:///sha-256;") and key.endswith("?ver=CBV2.0|04012345111118")
    assert again["results"][0] == {"transaction_id": key, "status": "duplicate", "errors": {}}
    assert other["results"][0]["status"] == "accepted"


def test_a_shipping_xml_document_is_a_transfer_to_its_destination_under_its_despatch_advice(api_client, rfid, shop):
    store, other, item, loose = shop
    response = capture(api_client, rfid, (SAMPLES / "shipping.xml").read_bytes(), content_type="application/xml")

    assert response.status_code == 200, response.content
    assert response.json()["counts"]["accepted"] == 2
    shipped = line("urn:uuid:7e1f0f3a-1b2c-4d5e-8f90-0a1b2c3d4e02|04012345111118")
    assert (shipped.type, shipped.location, shipped.to_location, shipped.quantity) == ("transfer_out", store, other, 1)
    assert shipped.reference == "urn:epcglobal:cbv:bt:4012345000009:DES-881"
    assert Transfer.objects.get(reference=shipped.reference, sku=loose).quantity_shipped == 500


def test_a_receiving_from_a_location_under_the_despatch_advice_is_the_transfers_other_end(api_client, rfid, shop):
    store, other, item, _ = shop
    desadv = [{"type": "urn:epcglobal:cbv:btt:desadv", "bizTransaction": "DES-881"}]
    capture(api_client, rfid, body(event(bizStep="shipping", epcList=[sgtin(1)], bizTransactionList=desadv,
                                         destinationList=[{"type": "location", "destination": OTHER_SGLN}])))
    capture(api_client, rfid, body(event(bizStep="https://ref.gs1.org/cbv/BizStep-arriving",
                                         bizLocation={"id": OTHER_SGLN}, epcList=[sgtin(1)], bizTransactionList=desadv,
                                         sourceList=[{"type": "location", "source": STORE_SGLN}])))

    transfer = Transfer.objects.get(reference="DES-881", sku=item)
    assert (transfer.from_location, transfer.to_location) == (store, other)
    assert (transfer.quantity_shipped, transfer.quantity_received) == (1, 1)
    assert Position.objects.get(location=other, sku=item).available == 1


@pytest.mark.parametrize("fields, kind, quantity, states, reason", [
    ({"bizStep": "retail_selling"}, "sale", 2, ("available", None), ""),
    ({"bizStep": "urn:epcglobal:cbv:bizstep:cycle_counting"}, "cycle_count", 2, (None, "available"), ""),
    ({"bizStep": "stock_taking"}, "cycle_count", 2, (None, "available"), ""),
    ({"bizStep": "reserving", "action": "ADD"}, "reserve", 2, ("available", "reserved"), ""),
    ({"bizStep": "receiving", "disposition": "returned"}, "return", 2, (None, "returned"), ""),
    ({"bizStep": "inspecting", "disposition": "urn:epcglobal:cbv:disp:damaged"}, "damage", 2,
     ("available", "damaged"), ""),
    ({"bizStep": "destroying", "disposition": "destroyed"}, "write_off", 2, ("damaged", None), "destroyed"),
    ({"bizStep": "removing", "disposition": "https://ref.gs1.org/cbv/Disp-stolen"}, "adjustment", -2,
     (None, "available"), "stolen"),
    ({"bizStep": "removing", "disposition": "expired"}, "adjustment", -2, (None, "available"), "expired"),
    ({"bizStep": "removing", "disposition": "recalled"}, "adjustment", -2, (None, "available"), "recalled"),
])
def test_each_business_step_and_disposition_becomes_its_tower_event(api_client, rfid, shop, fields, kind,
                                                                      quantity, states, reason):
    answer = capture(api_client, rfid, body(event(**fields))).json()

    assert answer["counts"]["accepted"] == 1, answer
    posted = InventoryEvent.objects.get()
    assert (posted.type, posted.quantity, (posted.from_state, posted.to_state), posted.reason) == (
        kind, quantity, states, reason)
    assert posted.sku == shop[2]


@pytest.mark.parametrize("fields, reason, detail", [
    ({"bizStep": "inspecting"}, "non-inventory event", "bizStep inspecting"),
    ({"bizStep": "https://example.com/steps/tasting"}, "non-inventory event", "tasting"),
    ({"bizStep": "cycle_counting", "action": "ADD"}, "non-inventory event", "a count is an OBSERVE"),
    ({"bizLocation": None}, "no business location", "receipt without bizLocation"),
    ({"epcList": ["urn:epc:id:sscc:0614141.1234567890"]}, "no trade items", "no SGTIN"),
])
def test_an_event_about_nothing_the_tower_keeps_is_ignored_with_its_reason(api_client, rfid, shop, fields,
                                                                           reason, detail):
    answer = capture(api_client, rfid, body(event(**fields))).json()

    assert answer["counts"]["ignored"] == 1
    assert answer["results"][0]["reason"] == reason
    assert detail in answer["results"][0]["detail"]
    assert not InventoryEvent.objects.exists()


def test_a_transformation_or_association_event_is_ignored(api_client, rfid, shop):
    transformation = {"type": "TransformationEvent", "eventTime": "2026-11-23T10:15:00+01:00",
                      "eventTimeZoneOffset": "+01:00", "inputEPCList": [sgtin(1)], "outputEPCList": [sgtin(9)]}
    answer = capture(api_client, rfid, body(transformation)).json()

    assert answer["results"][0]["status"] == "ignored"
    assert answer["results"][0]["detail"] == "TransformationEvent"


def test_an_unknown_gln_is_a_kept_rejection_naming_it_that_goes_in_once_mapped(api_client, rfid, shop):
    answer = capture(api_client, rfid, body(event(bizLocation={"id": "urn:epc:id:sgln:4012345.00009.0"}))).json()

    assert answer["counts"]["rejected"] == 1
    assert answer["results"][0]["errors"] == {"location": ["Unknown location '4012345000092'."]}
    assert RejectedEvent.objects.get().payload["location"] == "4012345000092"


def test_rollback_refuses_the_whole_document_naming_the_event_and_the_field(api_client, rfid, shop):
    response = capture(api_client, rfid, body(event(), event(bizStep="transforming", eventID="urn:uuid:bad")))

    assert response.status_code == 400
    answer = response.json()
    assert answer["detail"].startswith("Event 2 of 2 (urn:uuid:bad): bizStep: 'transforming' is not a CBV "
                                       "business step")
    assert answer["detail"].endswith("Nothing of the document was stored (GS1-Capture-Error-Behaviour: rollback).")
    assert answer["invalid"][0] == {"event": 2, "eventID": "urn:uuid:bad", "field": "bizStep",
                                    "message": answer["invalid"][0]["message"]}
    assert not InventoryEvent.objects.exists()
    assert not RejectedEvent.objects.exists()
    kept = ReceivedDocument.objects.get()  # kept for the integration admin, its body and the one line why
    assert (kept.format, kept.status, kept.error) == ("epcis", "refused", answer["detail"])


def test_proceed_posts_the_valid_events_and_answers_the_invalid_ones(api_client, rfid, shop):
    response = capture(api_client, rfid, body(event(), event(quantityList=[{"epcClass": "x:y", "uom": "KGM"}])),
                       behaviour="proceed")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    assert results[1]["errors"] == {"quantityList[0].quantity": ["A quantity element with a uom needs its quantity."]}
    assert InventoryEvent.objects.count() == 1
    recorded = ReceivedDocument.objects.get()
    assert (recorded.lines, recorded.accepted, recorded.rejected_by_cause) == (2, 1, {"quantityList[0].quantity": 1})


def test_a_shipping_without_a_destination_location_is_invalid(api_client, rfid, shop):
    response = capture(api_client, rfid, body(event(bizStep="shipping")))

    assert response.status_code == 400
    assert response.json()["invalid"][0]["field"] == "destinationList"


def test_an_error_declaration_reverses_the_declared_event_and_its_corrective_event_goes_in(api_client, rfid, shop):
    store, _, item, _ = shop
    capture(api_client, rfid, (SAMPLES / "receiving.jsonld").read_bytes())
    declared = line("urn:uuid:7e1f0f3a-1b2c-4d5e-8f90-0a1b2c3d4e01|04012345111118")

    answer = capture(api_client, rfid, (SAMPLES / "error_declaration.jsonld").read_bytes()).json()
    again = capture(api_client, rfid, (SAMPLES / "error_declaration.jsonld").read_bytes()).json()

    reversals = InventoryEvent.objects.filter(type="reversal").order_by("id")
    assert [r["status"] for r in answer["results"]] == ["accepted", "accepted", "accepted"]
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate", "duplicate"]
    assert reversals.count() == 2  # the units' line and the weight's line of the declared event
    assert reversals[0].reference == f"event {declared.pk}"
    assert reversals[0].reason == "EPCIS error declaration: incorrect_data"
    assert reversals[0].quantity == -3
    # 3 received, reversed, then the corrective event's 2.
    assert Position.objects.get(location=store, sku=item).available == 2


def test_an_error_declaration_of_an_event_never_received_is_ignored(api_client, rfid, shop):
    answer = capture(api_client, rfid, body(event(errorDeclaration={
        "declarationTime": "2026-11-24T08:55:00+01:00", "reason": "did_not_occur"}))).json()

    assert answer["results"][0]["status"] == "ignored"
    assert answer["results"][0]["reason"] == "declared event not received"


@pytest.mark.parametrize("data, content_type, detail", [
    (b"{nope", "application/json", "The body is not valid JSON: "),
    (b"[]", "application/ld+json", "The body must be a JSON object: an EPCISDocument or one EPCIS event."),
    (orjson.dumps({"type": "EPCISDocument", "epcisBody": {"eventList": []}}), "application/json",
     "The EPCISDocument is not valid: @context: "),
    (b"<nope", "application/xml", "The body is not well-formed XML: "),
    (b"<Other/>", "application/xml", "The XML root is <Other>: send an epcis:EPCISDocument"),
])
def test_a_document_that_cannot_be_read_is_refused_in_one_line(api_client, rfid, data, content_type, detail):
    response = capture(api_client, rfid, data, content_type=content_type)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)
    assert "\n" not in response.json()["detail"]


def test_another_content_type_or_behaviour_is_refused(api_client, rfid, shop):
    wrong_type = capture(api_client, rfid, body(event()), content_type="text/plain")
    wrong_behaviour = capture(api_client, rfid, body(event()), behaviour="ignore")

    assert wrong_type.status_code == 415
    assert "application/ld+json, application/json, application/xml" in wrong_type.json()["detail"]
    assert wrong_behaviour.status_code == 400
    assert wrong_behaviour.json() == {
        "detail": "GS1-Capture-Error-Behaviour: 'ignore' is not one of rollback, proceed."}
    assert not InventoryEvent.objects.exists()


def test_a_persons_token_may_not_capture(api_client, admin_user, shop):
    from tests.controltower.factories import person_token

    response = api_client.post(URL, data=body(event()), content_type="application/ld+json",
                               HTTP_AUTHORIZATION=f"Token {person_token(admin_user)}")

    assert response.status_code == 403


def test_the_capture_endpoint_is_in_the_openapi_schema(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    operation = schema["paths"]["/api/v1/epcis/capture"]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/ld+json", "application/json", "application/xml"}
    assert operation["parameters"][0]["name"] == "GS1-Capture-Error-Behaviour"


def test_an_xml_event_out_of_the_xsds_order_is_refused_naming_its_event_id(api_client, rfid, shop):
    document = (SAMPLES / "shipping.xml").read_text().replace(
        "<eventTimeZoneOffset>+01:00</eventTimeZoneOffset>\n        <eventID>", "<eventID>").replace(
        "</eventID>", "</eventID>\n        <eventTimeZoneOffset>+01:00</eventTimeZoneOffset>")
    response = capture(api_client, rfid, document.encode(), content_type="application/xml")

    assert response.status_code == 400
    assert response.json()["invalid"] == [{
        "event": 1, "eventID": "urn:uuid:7e1f0f3a-1b2c-4d5e-8f90-0a1b2c3d4e02", "field": "eventTimeZoneOffset",
        "message": "<eventTimeZoneOffset> must come before <eventID> (the order of the EPCIS XSD)."}]


def test_a_document_of_more_lines_than_a_batch_is_taken_whole(api_client, rfid, shop, settings):
    settings.INGEST_MAX_EVENTS = 2
    events = [event(eventID=f"urn:uuid:{n}", epcList=[sgtin(n)]) for n in range(5)]

    answer = capture(api_client, rfid, body(*events)).json()

    assert answer["counts"]["accepted"] == 5
    assert [r["transaction_id"] for r in answer["results"]] == [f"urn:uuid:{n}|04012345111118" for n in range(5)]


def test_a_source_captures_only_at_its_lanes_locations(api_client, shop):
    store, other, _, _ = shop
    scanner = SourceSystemFactory(code="RFID-S2", kind="wms", lane_locations=[other])

    answer = capture(api_client, scanner, body(event())).json()

    assert answer["counts"]["rejected"] == 1
    assert "does not feed location" in answer["results"][0]["errors"]["location"][0]
    assert not InventoryEvent.objects.exists()
