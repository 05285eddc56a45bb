"""Integration admins close the loop on a rejected event: read what the
source sent, fix the item master it needs (the import's validation, every
change kept with who and when), replay it; or dismiss, with a reason, one
no fix can ever let in (kept, shown and counted apart, never replayed)."""
from datetime import datetime
from datetime import timezone as dt_timezone

import pytest

from controltower.models import Role
from exceptions.reconciliation.feeds import master_data_rejections
from inventory import feeds
from inventory.ledger import ingest_events
from inventory.ledger.repair import replay_rejections
from inventory.models import InventoryEvent, MasterDataChange, RejectedEvent
from tests.controltower.factories import make_user
from tests.inventory.factories import BarcodeFactory, LocationFactory, SKUFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 20, 9, 0, tzinfo=dt_timezone.utc)


@pytest.fixture
def till():
    return SourceSystemFactory(code="TILL")


@pytest.fixture
def store():
    return LocationFactory(code="S001")


@pytest.fixture
def admin():
    return make_user(Role.INTEGRATION_ADMIN, username="ida")


def receipt(txn, store, sku="MILK", **extra):
    return {"transaction_id": txn, "type": "receipt", "location": store.code, "sku": sku, "quantity": 2,
            "occurred_at": AT.isoformat(), **extra}


def test_the_rejection_page_shows_what_the_source_sent_readable_and_escaped(till, store, admin, client):
    SKUFactory(code="MILK")
    ingest_events(till, [receipt("x1", store, sku="NOPE", reference="<script>alert(1)</script>")], received_at=AT)
    rejection = RejectedEvent.objects.get()
    client.force_login(admin)
    html = client.get(f"/integration/rejections/{rejection.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<code>reference</code>" in html and '{"transaction_id"' not in html  # a table of fields, not JSON
    assert "Unknown or inactive SKU" in html and "Waiting for a fix and a replay" in html
    # the integration health list links to it
    assert f'href="/integration/rejections/{rejection.pk}/"' in client.get("/integration/").content.decode()
    client.force_login(make_user(Role.STORE_MANAGER, locations=[store]))
    assert client.get(f"/integration/rejections/{rejection.pk}/").status_code == 404  # not theirs to see
    client.force_login(make_user(Role.FINANCE))  # sees every rejection, but not on the integration screens
    assert client.get(f"/integration/rejections/{rejection.pk}/").status_code == 403


def test_fix_the_unit_conversion_audited_then_replay(till, store, admin, client):
    SKUFactory(code="MILK", base_unit="EA")
    ingest_events(till, [receipt("x1", store, unit="CS6")], received_at=AT)
    rejection = RejectedEvent.objects.get()
    assert rejection.cause == "unit"
    client.force_login(admin)
    page = client.get(f"/integration/rejections/{rejection.pk}/").content.decode()
    assert f"/integration/master-data/sku/?rejection={rejection.pk}&amp;code=MILK&amp;conversions=CS6%3D" in page

    form = client.get(f"/integration/master-data/sku/?rejection={rejection.pk}&code=MILK&conversions=CS6%3D")
    assert form.status_code == 200 and form.context["form"].initial["base_unit"] == "EA"
    row = {"code": "MILK", "description": "Milk", "category": "Dairy", "unit_cost": "1.00", "base_unit": "EA",
           "rejection": rejection.pk}

    refused = client.post("/integration/master-data/sku/", row | {"conversions": "CS6=0"})  # the import's check
    assert refused.status_code == 400 and "the factor must be a number of at least 1" in refused.content.decode()
    assert not MasterDataChange.objects.exists()

    saved = client.post("/integration/master-data/sku/", row | {"conversions": "CS6=6"})
    assert saved.status_code == 302 and saved["Location"] == f"/integration/rejections/{rejection.pk}/"
    change = MasterDataChange.objects.get()
    assert (change.username, change.sku_code, change.rejection_id, change.created) == ("ida", "MILK", rejection.pk, False)
    assert change.changes["conversions"] == ["CS6=6"]
    page = client.get(f"/integration/rejections/{rejection.pk}/").content.decode()
    assert "added CS6=6" in page and "ida" in page  # the history: who and what

    replayed = client.post(f"/integration/rejections/{rejection.pk}/replay/")
    assert replayed.status_code == 302
    rejection.refresh_from_db()
    assert rejection.replay_status == "accepted" and rejection.replayed_at is not None
    assert InventoryEvent.objects.get(transaction_id="x1").quantity == 12  # 2 cases of 6


def test_a_barcode_another_sku_holds_is_refused_on_the_form(admin, client):
    BarcodeFactory(code="4000000000017", sku=SKUFactory(code="HOLDER"))
    SKUFactory(code="MILK")
    client.force_login(admin)
    response = client.post("/integration/master-data/sku/", {
        "code": "MILK", "category": "Dairy", "unit_cost": "1", "base_unit": "EA", "barcodes": "4000000000017"})
    assert response.status_code == 400
    assert "Barcode 4000000000017 already belongs to SKU HOLDER." in response.content.decode()
    assert not MasterDataChange.objects.exists()


def test_dismiss_one_that_can_never_be_fixed_with_a_reason(till, store, admin, client):
    SKUFactory(code="MILK")
    ingest_events(till, [receipt("x1", store, occurred_at=None), receipt("x2", store, sku="NOPE")], received_at=AT)
    never = RejectedEvent.objects.get(transaction_id="x1")
    assert never.cause == "occurred_at"
    client.force_login(admin)
    page = client.get(f"/integration/rejections/{never.pk}/").content.decode()
    assert "no item master fix on this screen cures it" in page and "master-data/sku/?" not in page

    client.post(f"/integration/rejections/{never.pk}/dismiss/", {"reason": "  "})
    never.refresh_from_db()
    assert never.dismissed_at is None  # a reason is required

    client.post(f"/integration/rejections/{never.pk}/dismiss/", {"reason": "No occurred time; the till resends."})
    never.refresh_from_db()
    assert never.dismissed_at is not None and never.dismissed_by.username == "ida"
    assert never.dismiss_reason == "No occurred time; the till resends."

    # Kept, shown as dismissed, counted apart, never replayed, no longer a case's reason.
    page = client.get(f"/integration/rejections/{never.pk}/").content.decode()
    assert "Dismissed by ida" in page and "No occurred time; the till resends." in page
    assert [r.transaction_id for r in feeds.rejections(admin, status=feeds.DISMISSED)] == ["x1"]
    assert [r.transaction_id for r in feeds.rejections(admin, status=feeds.PENDING)] == ["x2"]
    _, _, health = feeds.source_health()
    assert {c.cause: (c.pending, c.dismissed) for c in health[0].causes} == {"occurred_at": (0, 1), "sku": (1, 0)}
    assert "Dismissed" in client.get("/integration/?status=dismissed").content.decode()
    assert replay_rejections(ids=[never.pk])["rejected"] == 0
    assert [f.reference for f in master_data_rejections()] == ["TILL:sku"]

    again = client.post(f"/integration/rejections/{never.pk}/dismiss/", {"reason": "twice"}, follow=True)
    assert "no longer waiting" in again.content.decode()


def test_only_the_people_who_load_master_data_fix_or_dismiss(till, store, client):
    ingest_events(till, [receipt("x1", store, sku="NOPE")], received_at=AT)
    rejection = RejectedEvent.objects.get()
    client.force_login(make_user(Role.PLANNER))
    page = client.get(f"/integration/rejections/{rejection.pk}/")
    assert page.status_code == 200 and "Dismiss with this reason" not in page.content.decode()
    assert client.post(f"/integration/rejections/{rejection.pk}/dismiss/", {"reason": "x"}).status_code == 403
    assert client.get("/integration/master-data/sku/").status_code == 403
    assert client.post("/integration/master-data/sku/", {"code": "NOPE", "category": "X", "unit_cost": "1",
                                                         "base_unit": "EA"}).status_code == 403
    rejection.refresh_from_db()
    assert rejection.dismissed_at is None and not MasterDataChange.objects.exists()
