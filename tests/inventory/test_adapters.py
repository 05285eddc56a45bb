"""The adapter registry (inventory.adapters): the formats the tower hears,
looked up by content type, and the tower's own JSON as the first of them."""
import orjson
import pytest

from inventory import adapters
from inventory.adapters import TowerEvents
from inventory.models import InventoryEvent, RejectedEvent
from tests.controltower.factories import source_token

from .formats import TillRolls, rolls
from .payloads import event

pytestmark = pytest.mark.django_db


def test_the_registry_lists_the_towers_json_format():
    listed = {adapter.name: adapter for adapter in adapters.registered()}

    assert "events" in listed
    assert listed["events"].content_types == ("application/json",)
    assert "transaction_id" in listed["events"].key_rule


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"])
def test_an_adapter_is_found_by_its_content_type(content_type):
    assert adapters.for_content_type(content_type, ["events"]).name == "events"
    # Among every format, one that takes JSON (the tower's own and EPCIS JSON-LD both do: an endpoint names its own).
    assert "application/json" in adapters.for_content_type(content_type).content_types


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "", None])
def test_an_unknown_content_type_is_refused_naming_the_accepted_ones(content_type):
    with pytest.raises(adapters.UnsupportedFormat) as refused:
        adapters.for_content_type(content_type, ["events"])

    assert refused.value.accepted == ("application/json",)
    assert str(refused.value).startswith("Unsupported media type")
    assert str(refused.value).endswith("send one of application/json.")


def test_a_format_is_registered_once_with_its_declarations():
    with pytest.raises(ValueError, match="already registered"):
        adapters.register(TowerEvents())

    class Nameless(TowerEvents):
        name = ""

    with pytest.raises(ValueError, match="must declare its name, content types and key rule"):
        adapters.register(Nameless())
    assert [adapter.name for adapter in adapters.registered()].count("events") == 1


def test_the_json_adapter_posts_through_the_ledger(store, sku, pos):
    adapter = adapters.get("events")
    body = orjson.dumps({"events": [event(transaction_id="T1"), event(transaction_id="T2", location="NOPE")]})

    first = adapter.receive(pos, body).as_dict()
    again = adapter.receive(pos, body).as_dict()

    assert first["counts"] == {"accepted": 1, "duplicate": 0, "conflict": 0, "rejected": 1}
    assert first["results"][1]["errors"] == {"location": ["Unknown location 'NOPE'."]}
    assert again["counts"] == {"accepted": 0, "duplicate": 1, "conflict": 0, "rejected": 1}
    assert InventoryEvent.objects.count() == 1
    assert RejectedEvent.objects.filter(cause="location").count() == 2


@pytest.mark.parametrize("body, message", [
    (b"{not json", "The body is not valid JSON: "),
    (b"[]", "The body must be a JSON object with an 'events' list."),
    (b"", "The body must be a JSON object with an 'events' list."),
])
def test_a_document_that_cannot_be_read_is_refused_in_one_line(pos, body, message):
    with pytest.raises(adapters.Unparseable) as refused:
        adapters.get("events").receive(pos, body)

    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)
    assert not RejectedEvent.objects.exists()


def test_the_events_endpoint_answers_415_naming_what_it_takes(api_client, store, sku, pos):
    response = api_client.post(
        "/api/v1/events", data=orjson.dumps({"events": [event()]}), content_type="text/plain",
        HTTP_AUTHORIZATION=f"Token {source_token(pos)}",
    )

    assert response.status_code == 415
    assert response.json() == {"detail": 'Unsupported media type "text/plain": send one of application/json.'}
    assert not InventoryEvent.objects.exists()
    assert not RejectedEvent.objects.exists()


def test_ignored_items_are_answered_in_document_order_and_counted(store, sku, pos):
    body = rolls(
        event(transaction_id="T1"),
        event(transaction_id="T2", ignore="training mode"),
        event(transaction_id="T3", location="NOPE"),
        event(transaction_id="T4", ignore="void"),
    )

    report = TillRolls().receive(pos, body).as_dict()

    assert report["counts"] == {"accepted": 1, "duplicate": 0, "conflict": 0, "rejected": 1, "ignored": 2}
    assert [r["status"] for r in report["results"]] == ["accepted", "ignored", "rejected", "ignored"]
    assert report["results"][1] == {
        "transaction_id": "T2", "status": "ignored", "reason": "training mode", "detail": "line 2"}
    assert report["results"][2]["errors"] == {"location": ["Unknown location 'NOPE'."]}
    assert list(InventoryEvent.objects.values_list("transaction_id", flat=True)) == ["T1"]
    assert RejectedEvent.objects.get().transaction_id == "T3"


def test_a_document_of_ignored_items_only_posts_nothing(pos):
    report = TillRolls().receive(pos, rolls(event(ignore="void"))).as_dict()

    assert report["counts"]["ignored"] == 1
    assert report["counts"]["accepted"] == 0
    assert not InventoryEvent.objects.exists()


def test_an_undeclared_ignored_reason_is_a_mistake_of_the_adapter(store, sku, pos):
    with pytest.raises(ValueError, match="'suspended' is not one of its declared ignored_reasons"):
        TillRolls().receive(pos, rolls(event(ignore="suspended")))


def test_a_format_that_ignores_nothing_keeps_its_counts_without_ignored(store, sku, pos):
    report = adapters.get("events").receive(pos, orjson.dumps({"events": [event()]}))

    assert "ignored" not in report.counts


def test_the_cashier_is_kept_on_the_ledger_line(store, sku, pos):
    body = orjson.dumps({"events": [
        event(transaction_id="S1", type="sale", cashier="OP-0042"),
        event(transaction_id="S2", type="sale"),
        event(transaction_id="S3", type="sale", cashier="x" * 65),
    ]})

    report = adapters.get("events").receive(pos, body).as_dict()

    assert [r["status"] for r in report["results"]] == ["accepted", "accepted", "rejected"]
    assert report["results"][2]["errors"] == {"cashier": ["At most 64 characters."]}
    assert dict(InventoryEvent.objects.values_list("transaction_id", "cashier")) == {"S1": "OP-0042", "S2": ""}


def test_the_same_sale_under_another_cashier_is_a_conflict(store, sku, pos):
    adapter = adapters.get("events")
    sale = event(type="sale", cashier="OP-1")
    adapter.receive(pos, orjson.dumps({"events": [sale]}))

    again = adapter.receive(pos, orjson.dumps({"events": [sale]}))
    other = adapter.receive(pos, orjson.dumps({"events": [sale | {"cashier": "OP-2"}]}))

    assert again.results[0].status == "duplicate"
    assert other.results[0].status == "conflict"


def test_every_format_has_its_section_in_the_formats_page():
    """docs/formats.md: a section per registered format, its heading naming it as `name`."""
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "formats.md").read_text()
    headings = re.findall(r"^## [^\n]*`([^`\n]+)`", page, re.MULTILINE)

    assert [a.name for a in adapters.registered() if a.name not in headings] == []
