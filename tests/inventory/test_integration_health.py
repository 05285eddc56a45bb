"""The integration health screen (inventory.feeds, inventory.views): each
feed's volume from the ingest counts, acceptance and latency from the KPI
rollups, rejections by cause, staleness; the rejected events and their
replay through the replay_rejections service, for the people allowed."""
import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from controltower import rollups
from controltower.models import Role
from inventory import feeds
from inventory.ledger import ingest_events, replay_rejections
from inventory.masterdata import import_skus
from inventory.models import IngestDay, InventoryEvent, Position, RejectedEvent
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory, RejectedEventFactory, SKUFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def receipt(txn, sku, quantity=5, location="S001", minutes_ago=60):
    return {
        "transaction_id": txn, "type": "receipt", "location": location, "sku": sku, "quantity": quantity,
        "occurred_at": (timezone.now() - timedelta(minutes=minutes_ago)).isoformat(),
    }


def new_sku(code):
    """The SKU created as the item master load does it."""
    report = import_skus([{"code": code, "description": f"Item {code}", "category": "Dairy", "unit_cost": "1.25",
                           "base_unit": "EA", "barcodes": "", "conversions": ""}])
    assert report.created == 1


@pytest.fixture
def feed():
    LocationFactory(code="S001")
    SKUFactory(code="MILK")
    return SourceSystemFactory(code="POS-EU", expected_interval_s=3600)


@pytest.fixture
def admin_client(client):
    client.force_login(make_user(Role.INTEGRATION_ADMIN, username="ida"))
    return client


# --- the service ----------------------------------------------------------------------

def test_volumes_are_averaged_over_the_whole_days_before_today_from_the_ingest_counts(feed):
    period = feeds.volume_period()
    assert period.days == feeds.VOLUME_DAYS and period.last == rollups.utc_today() - timedelta(days=1)
    IngestDay.objects.create(source=feed, day=period.last, received=300, accepted=290, duplicates=7)
    IngestDay.objects.create(source=feed, day=period.first, received=36, accepted=36, duplicates=0)
    # Today's counts are not in the period: the day is not over.
    IngestDay.objects.create(source=feed, day=rollups.utc_today(), received=9999, duplicates=999)
    quiet = SourceSystemFactory(code="ECOM", kind="ecom")

    _, _, health = feeds.source_health()
    row = {h.source.code: h for h in health}
    assert row["POS-EU"].received == 336
    assert str(row["POS-EU"].events_per_hour) == "2.0"  # 336 over 7 x 24 hours
    assert str(row["POS-EU"].duplicates_per_day) == "1.0"  # 7 over 7 days
    assert "since=" + period.first.isoformat() in row["POS-EU"].volume_url
    # Nothing counted is no data, never 0.
    assert row["ECOM"].events_per_hour is None and row["ECOM"].duplicates_per_day is None
    assert quiet.code in {h.source.code for h in health}


def test_rejections_are_grouped_by_cause_waiting_and_replayed(feed):
    ingest_events(feed, [receipt("R1", "NEW1"), receipt("R2", "NEW2"), receipt("R3", "MILK", location="NOWHERE")])
    RejectedEventFactory(source=feed, cause="sku", replayed_at=timezone.now(), replay_status="accepted")

    _, _, health = feeds.source_health()
    causes = {cause.cause: (cause.pending, cause.replayed) for cause in health[0].causes}
    assert causes == {"sku": (2, 1), "location": (1, 0)}
    assert health[0].pending == 3


def test_a_feed_is_stale_past_its_interval_or_when_it_never_sent(feed):
    SourceSystemFactory(code="WMS", kind="wms", expected_interval_s=600,
                        last_event_at=timezone.now() - timedelta(minutes=5))
    SourceSystemFactory(code="ERP", kind="erp", expected_interval_s=600,
                        last_event_at=timezone.now() - timedelta(hours=2))
    stale = {h.source.code: h.stale for h in feeds.source_health()[2]}
    assert stale == {"POS-EU": True, "WMS": False, "ERP": True}


def test_acceptance_and_latency_come_from_the_rollup_and_are_no_data_before_it(feed):
    ingest_events(feed, [receipt("A1", "MILK"), receipt("A2", "MILK"), receipt("A3", "MILK"), receipt("X", "NEW")])
    _, day, health = feeds.source_health()
    assert day is None
    assert (health[0].acceptance.text, health[0].latency.text) == ("no data", "no data")

    rollups.roll_day(rollups.utc_today())
    _, day, health = feeds.source_health()
    assert day == rollups.utc_today()
    assert health[0].acceptance.text == "75.0%"
    assert health[0].acceptance.status == "red"
    assert "/records/rejections/?" in health[0].acceptance.records_url
    assert health[0].latency.text != "no data" and "/records/events/?" in health[0].latency.records_url
    assert health[0].latency_by_type.startswith("receipt ")  # the same percentile per event type


def test_replay_by_id_replays_only_those(feed):
    ingest_events(feed, [receipt("R1", "NEW1"), receipt("R2", "NEW1")])
    new_sku("NEW1")
    first = RejectedEvent.objects.get(transaction_id="R1")
    assert replay_rejections(ids=[first.pk])["accepted"] == 1
    assert list(InventoryEvent.objects.values_list("transaction_id", flat=True)) == ["R1"]
    assert RejectedEvent.objects.get(transaction_id="R2").replayed_at is None


def test_a_store_manager_may_not_replay(feed):
    ingest_events(feed, [receipt("R1", "NEW1")])
    new_sku("NEW1")
    with pytest.raises(PermissionDenied):
        feeds.replay(make_user(Role.STORE_MANAGER), ids=[RejectedEvent.objects.get().pk])
    assert not InventoryEvent.objects.exists()


# --- the views ------------------------------------------------------------------------

def test_an_integration_admin_lands_on_integration_health(admin_client, feed):
    response = admin_client.get("/")
    assert response.status_code == 302 and response["Location"] == reverse("integration-health")


@pytest.mark.parametrize("role, screen", [(Role.PLANNER, "variances"), (Role.FINANCE, "approvals")])
def test_planners_land_on_variances_and_finance_on_its_approvals(client, role, screen):
    client.force_login(make_user(role))
    assert client.get("/")["Location"] == reverse(screen)


def test_the_page_shows_each_feed_and_the_rejection_with_the_field_named(admin_client, feed):
    ingest_events(feed, [receipt("R1", "NEW1")])
    response = admin_client.get(reverse("integration-health"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "POS-EU" in html and "Live" in html  # a refused line is a sign of life too
    assert "R1" in html and "<strong>SKU</strong>" in html
    assert ">Replay</button>" in html
    assert "no data" in html  # nothing rolled up yet


@pytest.mark.parametrize("role", [Role.STORE_MANAGER, Role.REGIONAL_OPS])
def test_people_who_do_not_see_the_estate_are_refused(client, feed, role):
    client.force_login(make_user(role))
    assert client.get(reverse("integration-health")).status_code == 403


def test_a_planner_sees_the_rejections_but_cannot_replay(client, feed):
    ingest_events(feed, [receipt("R1", "NEW1")])
    new_sku("NEW1")
    client.force_login(make_user(Role.PLANNER))
    page = client.get(reverse("integration-health")).content.decode()
    assert "R1" in page and ">Replay</button>" not in page
    response = client.post(reverse("integration-replay"), {"rejection": RejectedEvent.objects.get().pk}, **HTMX)
    assert response.status_code == 403
    assert "Only integration admins replay" in response.content.decode()
    assert not InventoryEvent.objects.exists()


def test_replay_through_the_view_posts_the_event_into_the_ledger(admin_client, feed):
    ingest_events(feed, [receipt("R1", "NEW1", quantity=4), receipt("R2", "NEW2")])
    new_sku("NEW1")
    chosen = RejectedEvent.objects.get(transaction_id="R1")

    response = admin_client.post(reverse("integration-replay"), {"rejection": chosen.pk}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "R1:" in html and "<strong>accepted</strong>, now in the ledger" in html
    assert 'id="rejections" hx-swap-oob="true"' in html
    event = InventoryEvent.objects.get(source=feed, transaction_id="R1")
    assert (event.sku.code, event.quantity) == ("NEW1", 4)
    assert Position.objects.get(sku=event.sku).available == 4
    chosen.refresh_from_db()
    assert chosen.replay_status == "accepted" and chosen.replayed_at is not None
    assert RejectedEvent.objects.get(transaction_id="R2").replay_status == ""


def test_a_replay_still_rejected_says_which_field(admin_client, feed):
    ingest_events(feed, [receipt("R1", "NEW1")])
    rejection = RejectedEvent.objects.get()
    html = admin_client.post(reverse("integration-replay"), {"rejection": rejection.pk}, **HTMX).content.decode()
    assert "<strong>still rejected</strong>: sku:" in html
    rejection.refresh_from_db()
    assert rejection.replayed_at is None and rejection.replay_status == "rejected"
    assert not InventoryEvent.objects.exists()


def test_replaying_a_filter_replays_every_waiting_one_of_that_source_and_cause(admin_client, feed):
    other = SourceSystemFactory(code="ECOM", kind="ecom")
    ingest_events(feed, [receipt("R1", "NEW1"), receipt("R2", "NEW1"), receipt("L1", "MILK", location="S404")])
    ingest_events(other, [receipt("E1", "NEW1")])
    new_sku("NEW1")
    response = admin_client.post(reverse("integration-replay"), {"source": "POS-EU", "cause": "sku"}, **HTMX)
    assert response.status_code == 200
    assert set(InventoryEvent.objects.values_list("transaction_id", flat=True)) == {"R1", "R2"}
    assert RejectedEvent.objects.get(transaction_id="E1").replayed_at is None
    assert RejectedEvent.objects.get(transaction_id="L1").replayed_at is None


def test_a_bad_rejection_number_is_an_error_naming_the_field(admin_client, feed):
    response = admin_client.post(reverse("integration-replay"), {"rejection": "x"}, **HTMX)
    assert response.status_code == 400 and "rejection:" in response.content.decode()


def test_the_rejections_are_filtered_by_source_cause_and_status_as_a_fragment(admin_client, feed):
    other = SourceSystemFactory(code="ECOM", kind="ecom")
    ingest_events(feed, [receipt("R1", "NEW1"), receipt("L1", "MILK", location="S404")])
    ingest_events(other, [receipt("E1", "NEW1")])
    RejectedEventFactory(source=feed, transaction_id="OLD", cause="sku", replayed_at=timezone.now(),
                         replay_status="accepted")

    def shown(**query):
        response = admin_client.get(reverse("integration-health"), query, HTTP_HX_TARGET="rejections", **HTMX)
        html = response.content.decode()
        assert html.startswith("{# The rejected events") or html.lstrip().startswith('<div id="rejections"')
        return {txn for txn in ("R1", "L1", "E1", "OLD") if f">{txn}<" in html}

    assert shown() == {"R1", "L1", "E1"}
    assert shown(source="POS-EU") == {"R1", "L1"}
    assert shown(source="POS-EU", cause="sku") == {"R1"}
    assert shown(status="replayed") == {"OLD"}
    assert shown(status="all", cause="sku") == {"R1", "E1", "OLD"}


def test_the_rejections_are_paged(admin_client, feed):
    ingest_events(feed, [receipt(f"R{n:03d}", "NEW1") for n in range(55)])
    first = admin_client.get(reverse("integration-health"), HTTP_HX_TARGET="rejections", **HTMX).content.decode()
    assert "55 rejected events, page 1 of 2" in first
    second = admin_client.get(reverse("integration-health"), {"page": 2}, HTTP_HX_TARGET="rejections",
                              **HTMX).content.decode()
    assert second.count('<tr id="rejection-') == 5


def test_the_trend_spans_the_whole_period_a_day_not_rolled_up_a_gap(feed):
    ingest_events(feed, [receipt("A1", "MILK")])
    today = rollups.utc_today()
    rollups.roll_day(today)
    rows = rollups.series("event_acceptance_rate", "source", "POS-EU", today - timedelta(days=4), today)
    assert [row.day for row in rows] == [today - timedelta(days=n) for n in range(4, -1, -1)]
    assert [row.value for row in rows[:-1]] == [None] * 4 and rows[-1].value == 100
    figure, summary = feeds.source_trend(feed, "event_acceptance_rate", today)
    line, target = json.loads(figure)["data"]  # one line, and the target's dashed line
    assert line["x"][-1] == today.isoformat() and len(line["x"]) == 30 and target["name"].startswith("Target")
    assert summary.startswith("Event acceptance rate from 100.0%")
