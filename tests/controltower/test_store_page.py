"""The store page (controltower.web): one store's KPIs and trends from the
rollups, its open cases, its positions with a search that is an htmx fragment
of the same view (and a plain GET without JavaScript), its count history and
the feeds serving it. Each person sees only the stores in their scope."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from controltower.models import KpiDay, Role
from exceptions.models import Case
from inventory.models import CountVariance, SourceSystem
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import (
    InventoryEventFactory,
    LocationFactory,
    PositionFactory,
    RegionFactory,
    SKUFactory,
    SourceSystemFactory,
)

pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 30)


@pytest.fixture
def store():
    return LocationFactory(code="B1", name="Berlin Mitte", region=RegionFactory(code="N"))


@pytest.fixture
def manager(store):
    return make_user(Role.STORE_MANAGER, locations=[store])


def positions_shown(response):
    return [position.sku.code for position in response.context["positions"]]


def test_each_person_sees_only_the_stores_in_their_scope(client, store, manager):
    other = LocationFactory(code="H1", region=RegionFactory(code="S"))
    client.force_login(manager)
    assert client.get(reverse("store", args=["B1"])).status_code == 200
    assert client.get(reverse("store", args=["H1"])).status_code == 404
    client.force_login(make_user(Role.REGIONAL_OPS, region=store.region))
    assert client.get(reverse("store", args=["B1"])).status_code == 200
    assert client.get(reverse("store", args=[other.code])).status_code == 404
    client.force_login(make_user(Role.EXECUTIVE))
    assert client.get(reverse("store", args=[other.code])).status_code == 200


def test_my_stores_links_each_store_to_its_page(client, store, manager):
    client.force_login(manager)
    assert reverse("store", args=["B1"]).encode() in client.get(reverse("stores")).content


def test_kpis_read_the_location_rollup_and_say_no_data_as_no_data(client, store, manager):
    KpiDay.objects.create(metric="inventory_accuracy_exact", day=DAY, dimension="location", member="B1",
                          value=Decimal("91.2"), sample=40, records_url="/api/v1/accuracy?locations=B1",
                          computed_at=timezone.now())
    client.force_login(manager)
    response = client.get(reverse("store", args=["B1"]))
    tiles = {tile.metric.key: tile for tile in response.context["page"].tiles}
    assert (tiles["inventory_accuracy_exact"].text, tiles["inventory_accuracy_exact"].status) == ("91.2%", "amber")
    assert tiles["sync_latency_p95"].text == "no data"
    html = response.content.decode()
    assert 'href="/api/v1/accuracy?locations=B1"' in html
    assert "data-figure" in html and "js/plotly-basic.min.js" in html


def test_open_cases_link_to_each_case(client, store, manager):
    active = CaseFactory(location=store, severity=1)
    CaseFactory(location=store, status=Case.Status.RESOLVED)
    client.force_login(manager)
    response = client.get(reverse("store", args=["B1"]))
    assert list(response.context["cases"]) == [active]
    assert reverse("case-detail", args=[active.pk]).encode() in response.content


def test_positions_search_by_sku_state_and_negative_only(client, store, manager):
    PositionFactory(location=store, sku=SKUFactory(code="MILK-1", description="Whole milk 1l"), available=-2)
    PositionFactory(location=store, sku=SKUFactory(code="OAT-1", description="Oat drink"), available=5, damaged=-1)
    PositionFactory(location=store, sku=SKUFactory(code="TEA-1", description="Green tea"), available=3, damaged=2)
    PositionFactory(location=LocationFactory(code="X1"), sku=SKUFactory(code="MILK-2"), available=-9)
    client.force_login(manager)
    url = reverse("store", args=["B1"])
    assert positions_shown(client.get(url)) == ["MILK-1", "OAT-1", "TEA-1"]
    assert positions_shown(client.get(url, {"q": "milk"})) == ["MILK-1"]
    assert positions_shown(client.get(url, {"q": "green"})) == ["TEA-1"]
    assert positions_shown(client.get(url, {"state": "damaged"})) == ["OAT-1", "TEA-1"]
    negative = client.get(url, {"negative": "on"})
    assert positions_shown(negative) == ["MILK-1", "OAT-1"]
    # a state the table has no column for is named where it is below zero
    assert [position.below_zero for position in negative.context["positions"]] == [[], [("damaged", -1)]]
    damaged = client.get(url, {"state": "damaged"}).context["positions"]
    assert [(position.in_state, position.below_zero) for position in damaged] == [(-1, []), (2, [])]
    assert positions_shown(client.get(url, {"state": "damaged", "negative": "on"})) == ["OAT-1"]
    assert positions_shown(client.get(url, {"state": "available", "negative": "on"})) == ["MILK-1"]


def test_a_bad_state_names_the_field_and_shows_no_positions(client, store, manager):
    PositionFactory(location=store, available=1)
    client.force_login(manager)
    response = client.get(reverse("store", args=["B1"]), {"state": "lost"})
    assert positions_shown(response) == []
    assert b"State: Select a valid choice" in response.content


def test_the_search_is_an_htmx_fragment_of_the_same_view_with_pages(client, store, manager):
    for n in range(30):
        PositionFactory(location=store, sku=SKUFactory(code=f"NEG-{n:02d}"), available=-1)
    client.force_login(manager)
    url = reverse("store", args=["B1"])
    fragment = client.get(url, {"negative": "on", "page": "2"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="positions")
    html = fragment.content.decode()
    assert "<html" not in html and "Count history" not in html
    assert positions_shown(fragment) == [f"NEG-{n:02d}" for n in range(25, 30)]
    assert "Page 2 of 2" in html and 'hx-target="#positions"' in html and "negative=on&amp;page=1" in html
    page = client.get(url, {"negative": "on"})
    assert "<html" in page.content.decode() and len(positions_shown(page)) == 25


def test_count_history_shows_counted_record_variance_and_tolerance(client, store, manager):
    sku = SKUFactory(code="CNT-1")
    event = InventoryEventFactory(location=store, sku=sku, type="count", quantity=7)
    CountVariance.objects.create(event=event, location=store, sku=sku, state="available",
                                 counted_at=timezone.now(), counted=7, record=10, variance=-3,
                                 within_tolerance=False, computed_at=timezone.now())
    client.force_login(manager)
    response = client.get(reverse("store", args=["B1"]))
    count, = response.context["counts"]
    assert (count.counted, count.record, count.variance) == (7, 10, -3)
    assert b"/records/count-variances/?location=B1" in response.content


def test_feeds_are_the_lane_sources_and_the_unrestricted_ones_that_sent_here(client, store, manager):
    now = timezone.now()
    SourceSystemFactory(code="POS-B", lane_locations=[store], last_event_at=now, expected_interval_s=3600)
    anywhere = SourceSystemFactory(code="ECOM", kind=SourceSystem.Kind.ECOM, last_event_at=now - timedelta(days=2),
                                   expected_interval_s=3600)
    InventoryEventFactory(source=anywhere, location=store, occurred_at=now - timedelta(days=2))
    SourceSystemFactory(code="POS-H", lane_locations=[LocationFactory(code="H1")])
    SourceSystemFactory(code="WMS")  # no lane, never sent here
    KpiDay.objects.create(metric="sync_latency_p95", day=DAY, dimension="source", member="POS-B",
                          value=Decimal("42"), sample=100, records_url="/api/v1/events?sources=POS-B",
                          computed_at=timezone.now())
    client.force_login(manager)
    feeds = client.get(reverse("store", args=["B1"])).context["page"].feeds
    assert [(f.source.code, f.names_store, f.stale) for f in feeds] == [("ECOM", False, True), ("POS-B", True, False)]
    assert feeds[1].latency.text == "42 s" and feeds[1].latency.records_url == "/api/v1/events?sources=POS-B"
    assert feeds[0].latency.text == "no data"
