"""Shopify inventory webhooks (POST /api/v1/webhooks/shopify/<source code>):
signed deliveries, each answered once, inventory levels as observations
compared with the ledger, settled by their updated_at, ids kept exactly."""
import base64
import hashlib
import hmac
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command
from django.urls import reverse

from exceptions.reconciliation import snapshots as reconciliation
from inventory.ledger import ingest_events, replay_rejections
from inventory.models import (
    IngestDay,
    ObservedLevel,
    Position,
    ReceivedDocument,
    RejectedEvent,
    Snapshot,
    SnapshotLine,
    SourceSystem,
    WebhookDelivery,
)
from inventory.webhooks import set_webhook_secret
from tests.inventory.factories import ExternalIdFactory, LocationFactory, SKUFactory, SourceSystemFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_after_fixed_dates")]

FIXTURES = Path(__file__).parent / "fixtures" / "shopify"
SECRET = "hush-a-long-shared-secret-0123456789abcdef"
ITEM = "271878346596884015"  # past 2^53: a float would read 271878346596884000
LOCATION = "24826418"
LEVEL_UPDATE = "inventory_levels/update"


def fixture(name):
    return (FIXTURES / name).read_bytes()


def level(available=6, updated_at="2026-11-23T10:15:00-05:00", item=int(ITEM), location=int(LOCATION)):
    return orjson.dumps({
        "inventory_item_id": item, "location_id": location, "available": available, "updated_at": updated_at,
        "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location}?inventory_item_id={item}",
    })


def sign(body, secret=SECRET):
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def shop():
    source = SourceSystemFactory(code="SHOPIFY", kind=SourceSystem.Kind.ECOM)
    set_webhook_secret(source, SECRET)
    return source


@pytest.fixture
def mapped(shop):
    """The shop's location and inventory item, known to the tower."""
    return map_ids(shop, LocationFactory(code="WEB", kind="ecommerce"), SKUFactory(code="TEE-M", unit_cost="20.00"))


def map_ids(source, location, sku, location_id=LOCATION, item_id=ITEM):
    """The source's foreign identifiers of `location` and `sku`."""
    ExternalIdFactory(source=source, kind="location", external_id=location_id, location=location)
    ExternalIdFactory(source=source, kind="sku", external_id=item_id, sku=sku)
    return location, sku


def deliver(client, body, topic=LEVEL_UPDATE, event_id="evt-1", signature=None, code="SHOPIFY", **headers):
    if signature is None:
        headers["HTTP_X_SHOPIFY_HMAC_SHA256"] = sign(body)
    elif signature:
        headers["HTTP_X_SHOPIFY_HMAC_SHA256"] = signature
    if topic:
        headers["HTTP_X_SHOPIFY_TOPIC"] = topic
    if event_id:
        headers["HTTP_X_SHOPIFY_EVENT_ID"] = event_id
    url = reverse("api-webhook-shopify", args=[code])
    return client.post(url, data=body, content_type="application/json", **headers)


def nothing_stored():
    return not (WebhookDelivery.objects.exists() or Snapshot.objects.exists() or RejectedEvent.objects.exists()
                or IngestDay.objects.exists() or ReceivedDocument.objects.exists())


# Signatures

def test_a_signed_level_update_is_an_observation_kept_as_a_snapshot_line(client, mapped):
    web, tee = mapped

    response = deliver(client, fixture("inventory_levels_update.json"))

    assert response.status_code == 200
    assert response.json() == {
        "counts": {"accepted": 1, "duplicate": 0, "conflict": 0, "rejected": 0, "ignored": 0},
        "results": [{"transaction_id": "evt-1", "status": "accepted", "errors": {}}],
    }
    snapshot = Snapshot.objects.get()
    assert (snapshot.source.code, snapshot.kind, snapshot.scope) == ("SHOPIFY", "on_hand", "lines")
    assert snapshot.as_of == datetime(2026, 11, 23, 15, 15, tzinfo=UTC)  # updated_at, -05:00
    line = SnapshotLine.objects.get()
    assert (line.location_id, line.sku_id, line.state, line.quantity) == (web.pk, tee.pk, "available", 6)
    kept = ObservedLevel.objects.get()
    assert (kept.location_ref, kept.sku_ref, kept.quantity, kept.snapshot) == (LOCATION, ITEM, 6, snapshot)
    assert IngestDay.objects.get(source__code="SHOPIFY").accepted == 1


def test_the_newer_signature_header_is_read_too(client, mapped):
    body = level()

    response = deliver(client, body, signature="", HTTP_SHOPIFY_HMAC_SHA256=sign(body))

    assert response.status_code == 200
    assert response.json()["counts"]["accepted"] == 1


@pytest.mark.parametrize("signature", ["", sign(level(), "another-secret-of-some-length"), "not base64!",
                                       sign(level(available=7))])
def test_a_missing_or_wrong_signature_is_401_and_stores_nothing(client, mapped, signature):
    response = deliver(client, level(), signature=signature)

    assert response.status_code == 401
    assert "X-Shopify-Hmac-Sha256" in response.json()["detail"]
    assert nothing_stored()


def test_an_unknown_source_or_one_without_a_secret_gets_the_same_401(client, shop):
    SourceSystemFactory(code="NOSECRET", kind=SourceSystem.Kind.ECOM)
    inactive = SourceSystemFactory(code="CLOSED", kind=SourceSystem.Kind.ECOM, active=False)
    set_webhook_secret(inactive, SECRET)

    answers = [deliver(client, level(), code=code) for code in ("NOPE", "NOSECRET", "CLOSED")]

    assert [a.status_code for a in answers] == [401, 401, 401]
    assert len({a.json()["detail"] for a in answers}) == 1
    assert nothing_stored()


def test_the_secret_is_stored_sealed_and_a_rotated_key_still_opens_it(shop, settings):
    from inventory.webhooks import webhook_secret

    stored = SourceSystem.objects.get(pk=shop.pk).webhook_secret
    assert SECRET not in stored and stored
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "x" * 50 + "another key", [old_key]
    assert webhook_secret(shop) == SECRET
    settings.SECRET_KEY_FALLBACKS = []
    assert webhook_secret(shop) is None  # logged: set it again


# Each delivery once

def test_a_repeated_delivery_reads_duplicate_and_stores_nothing_new(client, mapped):
    first = deliver(client, level())
    again = deliver(client, level())

    assert first.json()["results"][0]["status"] == "accepted"
    assert again.status_code == 200
    assert again.json()["results"] == [{"transaction_id": "evt-1", "status": "duplicate", "errors": {}}]
    assert Snapshot.objects.count() == 1
    assert IngestDay.objects.get().duplicates == 1


def test_without_an_event_id_the_webhook_id_keys_the_delivery(client, mapped):
    first = deliver(client, level(), event_id="", HTTP_X_SHOPIFY_WEBHOOK_ID="wh-9")
    again = deliver(client, level(), event_id="", HTTP_X_SHOPIFY_WEBHOOK_ID="wh-9")
    other = deliver(client, level(available=5, updated_at="2026-11-23T10:16:00-05:00"), event_id="",
                    HTTP_X_SHOPIFY_WEBHOOK_ID="wh-10")

    assert [r.json()["results"][0]["status"] for r in (first, again, other)] == ["accepted", "duplicate", "accepted"]
    assert first.json()["results"][0]["transaction_id"] == "wh-9"
    assert set(WebhookDelivery.objects.values_list("delivery_id", flat=True)) == {"wh-9", "wh-10"}


# Observations settled by updated_at, compared with the ledger

def test_an_older_observation_arriving_late_is_ignored_and_keeps_the_newer(client, mapped):
    newer = deliver(client, level(available=4, updated_at="2026-11-23T11:00:00-05:00"), event_id="evt-2")
    older = deliver(client, level(available=9, updated_at="2026-11-23T10:00:00-05:00"), event_id="evt-1")

    assert newer.json()["results"][0]["status"] == "accepted"
    answer = older.json()["results"][0]
    assert older.status_code == 200
    assert (answer["status"], answer["reason"]) == ("ignored", "not newer than the level kept")
    assert "reported 4 available as of 2026-11-23T16:00:00+00:00" in answer["detail"]
    assert older.json()["counts"]["ignored"] == 1
    assert ObservedLevel.objects.get().quantity == 4
    assert list(SnapshotLine.objects.values_list("quantity", flat=True)) == [4]
    assert WebhookDelivery.objects.get(delivery_id="evt-1").reason == "not newer than the level kept"


def test_a_newer_observation_replaces_the_level_kept(client, mapped):
    deliver(client, level(available=9, updated_at="2026-11-23T10:00:00-05:00"), event_id="evt-1")
    deliver(client, level(available=4, updated_at="2026-11-23T11:00:00-05:00"), event_id="evt-2")

    kept = ObservedLevel.objects.get()
    assert (kept.quantity, kept.observed_at) == (4, datetime(2026, 11, 23, 16, 0, tzinfo=UTC))
    assert kept.snapshot == Snapshot.objects.latest("as_of")
    older = Snapshot.objects.earliest("as_of")
    assert older.status == Snapshot.Status.SUPERSEDED  # kept, but compared no more
    assert [item.snapshot for item in reconciliation.compared_snapshots()] == [kept.snapshot]


def test_an_observation_never_moves_the_position_and_reconciliation_compares_it(client, mapped):
    web, tee = mapped
    receipt = {"transaction_id": "R1", "type": "receipt", "location": "WEB", "sku": "TEE-M", "quantity": 40,
               "occurred_at": "2026-11-22T09:00:00+00:00"}
    assert ingest_events(SourceSystemFactory(code="WMS", kind="wms"), [receipt]).counts["accepted"] == 1

    deliver(client, level(available=6))

    assert Position.objects.get(location=web, sku=tee).available == 40
    (finding,) = reconciliation.snapshot_mismatch()
    assert (finding.location_id, finding.sku_id, finding.reference) == (web.pk, tee.pk, "SHOPIFY:available")
    assert (finding.details["observed"], finding.details["expected"]) == (6, 40)


# Ids

def test_ids_past_2_to_the_53_are_kept_exactly(client, shop):
    web, tee = map_ids(shop, LocationFactory(code="WEB"), SKUFactory(code="TEE-M"), item_id="9007199254740993")

    response = deliver(client, level(item=9007199254740993))

    assert response.json()["results"][0]["status"] == "accepted"
    assert ObservedLevel.objects.get().sku_ref == "9007199254740993"
    assert SnapshotLine.objects.get().sku_id == tee.pk


def test_ids_as_strings_or_graphql_ids_read_as_the_same_ids(client, mapped):
    as_text = level(item=ITEM, location=f"gid://shopify/Location/{LOCATION}", updated_at="2026-11-23T10:00:00Z")
    as_gid = level(item=f"gid://shopify/InventoryItem/{ITEM}", location=LOCATION)

    answers = [deliver(client, body, event_id=f"evt-{n}").json()["results"][0]["status"]
               for n, body in enumerate((as_text, as_gid))]

    assert answers == ["accepted", "accepted"]
    assert set(ObservedLevel.objects.values_list("location_ref", "sku_ref")) == {(LOCATION, ITEM)}


def test_a_location_outside_the_sources_lane_is_rejected(client, mapped):
    shop = SourceSystem.objects.get(code="SHOPIFY")
    shop.lane_locations.set([LocationFactory(code="OTHER")])

    answer = deliver(client, level()).json()["results"][0]

    assert answer["status"] == "rejected"
    assert "does not feed location" in answer["errors"]["location"][0]
    assert RejectedEvent.objects.get().feed == "observations"


def test_an_unknown_id_is_rejected_naming_it_and_kept_for_replay(client, shop):
    response = deliver(client, fixture("inventory_levels_update.json"))

    answer = response.json()["results"][0]
    assert response.status_code == 200
    assert answer["status"] == "rejected"
    assert any(ITEM in message for message in answer["errors"]["sku"])
    assert any(LOCATION in message for message in answer["errors"]["location"])
    kept = RejectedEvent.objects.get()
    assert (kept.feed, kept.transaction_id, kept.payload["sku"]) == ("observations", "evt-1", ITEM)
    assert not Snapshot.objects.exists() and not ObservedLevel.objects.exists()

    web, tee = map_ids(shop, LocationFactory(code="WEB"), SKUFactory(code="TEE-M"))
    assert replay_rejections(source=shop)["accepted"] == 1

    assert SnapshotLine.objects.get().sku_id == tee.pk
    assert ObservedLevel.objects.get().quantity == 6
    assert RejectedEvent.objects.get().replayed_at is not None


def test_a_replayed_observation_older_than_the_level_kept_meanwhile_is_closed_as_ignored(client, shop):
    deliver(client, level(available=9, updated_at="2026-11-23T10:00:00-05:00"), event_id="evt-1")
    map_ids(shop, LocationFactory(code="WEB"), SKUFactory(code="TEE-M"))
    deliver(client, level(available=4, updated_at="2026-11-23T11:00:00-05:00"), event_id="evt-2")

    assert replay_rejections(source=shop)["ignored"] == 1

    rejection = RejectedEvent.objects.get()
    assert (rejection.replay_status, rejection.replayed_at is not None) == ("ignored", True)
    assert ObservedLevel.objects.get().quantity == 4


# What is not an observation

def test_other_topics_are_answered_and_counted_as_ignored(client, mapped):
    response = deliver(client, fixture("inventory_levels_disconnect.json"), topic="inventory_levels/disconnect")

    assert response.status_code == 200
    assert response.json() == {
        "counts": {"accepted": 0, "duplicate": 0, "conflict": 0, "rejected": 0, "ignored": 1},
        "results": [{"transaction_id": "evt-1", "status": "ignored", "reason": "not an inventory level update",
                     "detail": "topic inventory_levels/disconnect"}],
    }
    assert WebhookDelivery.objects.get().status == "ignored"
    assert not Snapshot.objects.exists()


def test_each_delivery_is_recorded_for_integration_health_by_format(client, mapped):
    deliver(client, level(), event_id="evt-1")
    deliver(client, level(), event_id="evt-1")
    deliver(client, fixture("inventory_levels_disconnect.json"), topic="inventory_levels/disconnect", event_id="e2")

    documents = ReceivedDocument.objects.order_by("id")
    assert [(d.format, d.lines, d.accepted, d.duplicate, d.ignored) for d in documents] == [
        ("shopify", 1, 1, 0, 0), ("shopify", 1, 0, 1, 0), ("shopify", 1, 0, 0, 1)]
    assert documents.last().ignored_by_reason == {"not an inventory level update": 1}


def test_a_body_that_cannot_be_read_is_kept_whole_and_answered_200(client, mapped):
    response = deliver(client, b'{"available": ')

    assert response.status_code == 200
    assert response.json()["results"][0]["errors"]["body"][0].startswith("The body is not valid JSON")
    document = ReceivedDocument.objects.get()
    assert (document.status, bytes(document.body)) == ("refused", b'{"available": ')
    assert document.error.startswith("The body is not valid JSON")


def test_an_untracked_item_is_ignored(client, mapped):
    response = deliver(client, fixture("inventory_levels_update_untracked.json"))

    assert response.json()["results"][0]["reason"] == "not tracked"


@pytest.mark.parametrize(("body", "field"), [
    (level(available=-2), "quantity"),  # oversold: a held quantity is never negative
    (level(updated_at="2026-11-23T10:15:00"), "as_of"),
    (level(updated_at="2027-01-01T00:00:00+00:00"), "as_of"),
    (orjson.dumps({"inventory_item_id": int(ITEM), "available": 3, "updated_at": "2026-11-23T10:15:00Z"}),
     "location"),
    (b"{not json", "body"),
    (b"[1, 2]", "body"),
])
def test_a_bad_payload_is_answered_200_rejected_naming_the_field(client, mapped, body, field):
    response = deliver(client, body)

    answer = response.json()["results"][0]
    assert response.status_code == 200
    assert answer["status"] == "rejected"
    assert field in answer["errors"]
    assert not Snapshot.objects.exists()


def test_the_endpoint_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operation = schema["paths"]["/api/v1/webhooks/shopify/{source_code}"]["post"]
    assert {"200", "401"} <= set(operation["responses"])
    assert operation["security"] == [{}]  # no token: the HMAC authenticates the delivery
    assert "X-Shopify-Hmac-Sha256" in {parameter["name"] for parameter in operation["parameters"]}


def test_the_mapping_the_docs_load_lets_the_docs_delivery_in(client, shop, tmp_path):
    LocationFactory(code="WEB")
    SKUFactory(code="TEE-M")
    mapping = tmp_path / "shopify-ids.csv"
    mapping.write_text(f"kind,external_id,code\nlocation,{LOCATION},WEB\nsku,{ITEM},TEE-M\n")
    call_command("import_external_ids", "SHOPIFY", str(mapping), stdout=StringIO())

    response = deliver(client, fixture("inventory_levels_update.json"))

    assert response.json()["results"][0]["status"] == "accepted"
    assert SnapshotLine.objects.get().sku.code == "TEE-M"


def test_deliveries_beyond_the_rate_from_one_address_are_refused_429_and_another_address_still_gets_through(
        client, settings, mapped):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "webhook": "2/min"}
    url = reverse("api-webhook-shopify", args=["SHOPIFY"])
    answers = []
    for n, address in enumerate(["198.51.100.7", "198.51.100.7", "198.51.100.7", "198.51.100.8"]):
        body = level(available=n)
        # A forged X-Forwarded-For does not move a delivery to another bucket (no proxy in front).
        answers.append(client.post(url, body, content_type="application/json", REMOTE_ADDR=address,
                                   HTTP_X_FORWARDED_FOR=f"203.0.113.{n}", HTTP_X_SHOPIFY_HMAC_SHA256=sign(body),
                                   HTTP_X_SHOPIFY_TOPIC=LEVEL_UPDATE, HTTP_X_SHOPIFY_EVENT_ID=f"evt-throttle-{n}"))
    assert [answer.status_code for answer in answers] == [200, 200, 429, 200]
    assert int(answers[2]["Retry-After"]) >= 1
    # The refused delivery wrote nothing: two observations kept from the first address, one from the other.
    assert WebhookDelivery.objects.filter(delivery_id__startswith="evt-throttle-").count() == 3
