"""Documents sources send (inventory.received_documents): each one recorded
with what became of its lines, one refused whole kept with its body; summed
per source and format on the integration health screen, where an
integration admin opens a refused one."""
from datetime import timedelta

import orjson
import pytest
from django.utils import timezone

from controltower.models import Role
from inventory import adapters
from inventory.ledger import IngestError
from inventory.models import InventoryEvent, ReceivedDocument
from inventory.received_documents import document_health
from tests.controltower.factories import make_user, source_token

from .factories import SourceSystemFactory
from .formats import TillRolls, rolls
from .payloads import event

pytestmark = pytest.mark.django_db


@pytest.fixture
def till():
    return SourceSystemFactory(code="POS-NCR")


def test_a_document_is_recorded_with_its_answers(store, sku, till):
    body = rolls(
        event(transaction_id="T1"), event(transaction_id="T2", ignore="training mode"),
        event(transaction_id="T3", ignore="training mode"), event(transaction_id="T4", ignore="void"),
        event(transaction_id="T5", sku="NOPE"), event(transaction_id="T6", location="NOPE"),
        event(transaction_id="T7", sku="NOPE"),
    )

    TillRolls().receive(till, body)

    document = ReceivedDocument.objects.get()
    assert (document.source, document.format, document.status) == (till, "till-rolls", "posted")
    assert (document.lines, document.accepted, document.rejected, document.ignored) == (7, 1, 3, 3)
    assert document.ignored_by_reason == {"training mode": 2, "void": 1}
    assert document.rejected_by_cause == {"sku": 2, "location": 1}
    assert document.size == len(body) and len(document.sha256) == 64
    assert document.body is None


def test_a_document_that_cannot_be_read_is_kept_and_refused_in_one_line(till):
    body = b'{"transaction_id": "T1"}\n{oops'

    with pytest.raises(adapters.Unparseable) as refused:
        TillRolls().receive(till, body)

    document = ReceivedDocument.objects.get()
    assert document.status == ReceivedDocument.Status.REFUSED
    assert document.error == str(refused.value).replace("\n", " ") and "\n" not in document.error
    assert bytes(document.body) == body and not document.truncated
    assert document.lines == 0
    assert not InventoryEvent.objects.exists()


def test_a_refused_body_is_kept_up_to_the_api_limit(till, settings):
    settings.API_MAX_BODY_BYTES = 10

    with pytest.raises(adapters.Unparseable):
        adapters.get("events").receive(till, b"not json at all, and long")

    document = ReceivedDocument.objects.get()
    assert bytes(document.body) == b"not json a" and document.truncated and document.size == 25


def test_a_batch_refused_whole_is_kept_too(till, settings):
    settings.INGEST_MAX_EVENTS = 1
    body = orjson.dumps({"events": [event(transaction_id="A"), event(transaction_id="B")]})

    with pytest.raises(IngestError):  # the batch as a whole
        adapters.get("events").receive(till, body)

    document = ReceivedDocument.objects.get()
    assert document.error == "At most 1 events per request; got 2."
    assert bytes(document.body) == body


def test_the_api_keeps_an_unreadable_body(api_client, till):
    response = api_client.post("/api/v1/events", data=b"{broken", content_type="application/json",
                               HTTP_AUTHORIZATION=f"Token {source_token(till)}")

    assert response.status_code == 400
    document = ReceivedDocument.objects.get()
    assert (document.format, document.status, bytes(document.body)) == ("events", "refused", b"{broken")
    assert response.json()["detail"] == document.error


def test_health_sums_each_source_and_format(store, sku, till):
    shop = SourceSystemFactory(code="SHOP")
    TillRolls().receive(till, rolls(event(transaction_id="A"), event(transaction_id="B", ignore="void")))
    TillRolls().receive(till, rolls(event(transaction_id="C", ignore="void"), event(transaction_id="D", sku="X")))
    adapters.get("events").receive(till, orjson.dumps({"events": [event(transaction_id="E", sku="Y")]}))
    with pytest.raises(adapters.Unparseable):
        adapters.get("events").receive(shop, b"[")
    old = ReceivedDocument.objects.create(source=shop, format="events", received_at=timezone.now() - timedelta(days=8),
                                          size=1, sha256="0" * 64, lines=5, accepted=5)

    _since, rows = document_health()

    summary = {(r.source_code, r.format): (r.documents, r.refused, r.lines, r.accepted, r.rejected, r.ignored,
                                            r.ignored_by_reason, r.rejected_by_cause) for r in rows}
    assert summary == {
        ("POS-NCR", "events"): (1, 0, 1, 0, 1, 0, [], [("sku", 1)]),
        ("POS-NCR", "till-rolls"): (2, 0, 4, 1, 1, 2, [("void", 2)], [("sku", 1)]),
        ("SHOP", "events"): (1, 1, 0, 0, 0, 0, [], []),
    }
    assert old.pk  # older than the period: left out


def test_the_screen_shows_documents_and_an_integration_admin_opens_a_refused_one(client, till):
    with pytest.raises(adapters.Unparseable):
        adapters.get("events").receive(till, b"<POSLog><script>alert(1)</script>")
    document = ReceivedDocument.objects.get()
    client.force_login(make_user(Role.INTEGRATION_ADMIN, username="ida"))

    page = client.get("/integration/").content.decode()
    opened = client.get(f"/integration/documents/{document.pk}/")
    body = client.get(f"/integration/documents/{document.pk}/body/")

    assert "Documents by source and format" in page and f"/integration/documents/{document.pk}/" in page
    assert opened.status_code == 200
    text = opened.content.decode()
    assert "&lt;POSLog&gt;&lt;script&gt;" in text and "<script>alert(1)" not in text
    assert document.error in text
    assert body.content == b"<POSLog><script>alert(1)</script>"
    assert body["Content-Type"] == "application/octet-stream" and body["Content-Disposition"].startswith("attachment")


def test_a_planner_sees_the_list_but_does_not_open_a_document(client, till):
    with pytest.raises(adapters.Unparseable):
        adapters.get("events").receive(till, b"nope")
    document = ReceivedDocument.objects.get()
    client.force_login(make_user(Role.PLANNER, username="pia"))

    page = client.get("/integration/").content.decode()

    assert "Documents refused whole" in page and f"/integration/documents/{document.pk}/" not in page
    assert client.get(f"/integration/documents/{document.pk}/").status_code == 403
    assert client.get(f"/integration/documents/{document.pk}/body/").status_code == 403


def test_a_posted_document_has_no_page(client, store, sku, till):
    adapters.get("events").receive(till, orjson.dumps({"events": [event()]}))
    client.force_login(make_user(Role.INTEGRATION_ADMIN, username="ida"))

    assert client.get(f"/integration/documents/{ReceivedDocument.objects.get().pk}/").status_code == 404


def test_a_store_manager_finds_no_document(client, till):
    with pytest.raises(adapters.Unparseable):
        adapters.get("events").receive(till, b"nope")
    client.force_login(make_user(Role.STORE_MANAGER, username="sam"))

    assert client.get(f"/integration/documents/{ReceivedDocument.objects.get().pk}/").status_code == 404
