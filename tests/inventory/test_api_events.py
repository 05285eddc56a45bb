"""POST /api/v1/events: a source system sends a batch of inventory events."""

import orjson
import pytest

from controltower.models import Role
from inventory.models import InventoryEvent, Position, RejectedEvent
from tests.controltower.factories import make_user, person_token, source_token
from tests.inventory.factories import (
    BarcodeFactory,
    SourceSystemFactory,
    UnitConversionFactory,
)

from .payloads import event

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"


def post(client, key, body):
    data = body if isinstance(body, (str, bytes)) else orjson.dumps(body)
    headers = {"HTTP_AUTHORIZATION": f"Token {key}"} if key else {}
    return client.post(URL, data=data, content_type="application/json", **headers)


def test_mixed_batch_gives_one_result_per_event_in_order(api_client, store, sku, pos):
    key = source_token(pos)
    first = event(transaction_id="T1")
    assert post(api_client, key, {"events": [first]}).json()["counts"]["accepted"] == 1

    response = post(api_client, key, {"events": [
        event(transaction_id="T2"),
        first,
        event(transaction_id="T1", quantity=6),
        event(transaction_id="T3", location="NOWHERE"),
    ]})

    assert response.status_code == 200
    body = response.json()
    assert body["counts"] == {"accepted": 1, "duplicate": 1, "conflict": 1, "rejected": 1}
    assert [(r["transaction_id"], r["status"]) for r in body["results"]] == [
        ("T2", "accepted"), ("T1", "duplicate"), ("T1", "conflict"), ("T3", "rejected"),
    ]
    assert body["results"][0]["errors"] == {}
    assert "transaction_id" in body["results"][2]["errors"]
    assert body["results"][3]["errors"] == {"location": ["Unknown location 'NOWHERE'."]}


def test_accepted_events_are_in_the_ledger_even_when_others_are_rejected(api_client, store, sku, pos):
    key = source_token(pos)
    post(api_client, key, {"events": [event(transaction_id="T1")]})

    post(api_client, key, {"events": [
        event(transaction_id="T2", quantity=7),
        event(transaction_id="T1", quantity=6),
        event(transaction_id="T3", sku="NO-SUCH-SKU"),
    ]})

    assert sorted(InventoryEvent.objects.values_list("transaction_id", "quantity")) == [("T1", 5), ("T2", 7)]
    assert Position.objects.get(location=store, sku=sku).available == 12
    kept = {r.transaction_id: r for r in RejectedEvent.objects.all()}
    assert kept["T1"].kind == RejectedEvent.Kind.CONFLICT
    assert kept["T3"].kind == RejectedEvent.Kind.REJECTED
    assert kept["T3"].cause == "sku"
    assert kept["T3"].payload["sku"] == "NO-SUCH-SKU"
    assert kept["T3"].source == pos


def test_case_quantity_is_converted_to_base_units(api_client, store, sku, pos):
    UnitConversionFactory(sku=sku, unit="CS12", factor=12)

    response = post(api_client, source_token(pos), {"events": [event(quantity=3, unit="CS12")]})

    assert response.json()["counts"]["accepted"] == 1
    line = InventoryEvent.objects.get()
    assert (line.quantity, line.entered_quantity, line.entered_unit) == (36, 3, "CS12")
    assert Position.objects.get(location=store, sku=sku).available == 36


def test_unknown_unit_is_rejected_naming_the_unit(api_client, store, sku, pos):
    response = post(api_client, source_token(pos), {"events": [event(unit="PALLET")]})

    result = response.json()["results"][0]
    assert result["status"] == "rejected"
    assert "unit" in result["errors"]
    assert not InventoryEvent.objects.exists()


def test_event_by_barcode_posts_to_its_sku(api_client, store, sku, pos):
    BarcodeFactory(code="4006381333931", sku=sku)
    raw = event()
    del raw["sku"]

    response = post(api_client, source_token(pos), {"events": [
        {**raw, "barcode": "4006381333931"},
        {**raw, "transaction_id": "T2", "barcode": "0000000000000"},
    ]})

    assert [r["status"] for r in response.json()["results"]] == ["accepted", "rejected"]
    assert response.json()["results"][1]["errors"] == {"barcode": ["Unknown barcode '0000000000000'."]}
    assert InventoryEvent.objects.get().sku == sku


def test_events_are_posted_as_the_tokens_own_source(api_client, store, sku, pos):
    other = SourceSystemFactory(code="ECOM")
    post(api_client, source_token(pos), {"events": [event(source="ECOM")]})

    # The same transaction id from another source is that source's own event.
    response = post(api_client, source_token(other), {"events": [event(quantity=9)]})

    assert response.json()["counts"] == {"accepted": 1, "duplicate": 0, "conflict": 0, "rejected": 0}
    assert sorted(InventoryEvent.objects.values_list("source__code", "quantity")) == [("ECOM", 9), ("POS-EU", 5)]


def test_without_a_token_is_401_and_writes_nothing(api_client, store, sku):
    response = post(api_client, None, {"events": [event()]})

    assert response.status_code == 401
    assert not InventoryEvent.objects.exists()


def test_with_a_wrong_token_is_401(api_client, store, sku, pos):
    source_token(pos)

    response = post(api_client, "not-a-real-key", {"events": [event()]})

    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid, revoked or expired token."
    assert not InventoryEvent.objects.exists()


def test_a_persons_token_may_not_post_events(api_client, store, sku):
    admin = make_user(Role.ADMIN)

    response = post(api_client, person_token(admin), {"events": [event()]})

    assert response.status_code == 403
    assert "source system" in response.json()["detail"]
    assert not InventoryEvent.objects.exists()


@pytest.mark.parametrize(
    "body, message",
    [
        (b"{not json", "not valid JSON"),
        ([{"transaction_id": "T1"}], "JSON object with an 'events' list"),
        ({"event": []}, "JSON object with an 'events' list"),
        ({"events": {"transaction_id": "T1"}}, "'events' must be a list"),
    ],
)
def test_malformed_envelope_is_400_naming_the_problem(api_client, pos, body, message):
    response = post(api_client, source_token(pos), body)

    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not RejectedEvent.objects.exists()


def test_more_than_the_batch_limit_is_400(api_client, store, sku, pos, settings):
    events = [event(transaction_id=f"T{n}") for n in range(settings.INGEST_MAX_EVENTS + 1)]

    response = post(api_client, source_token(pos), {"events": events})

    assert response.status_code == 400
    assert f"At most {settings.INGEST_MAX_EVENTS} events" in response.json()["detail"]
    assert not InventoryEvent.objects.exists()


def test_empty_batch_is_acknowledged(api_client, pos):
    response = post(api_client, source_token(pos), {"events": []})

    assert response.status_code == 200
    assert response.json() == {"counts": {"accepted": 0, "duplicate": 0, "conflict": 0, "rejected": 0}, "results": []}
