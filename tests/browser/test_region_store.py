"""The regional ops lead in Chromium: lands on the region board (stores
ranked, trend drawn), opens a store, searches its negative positions (the
htmx fragment, the URL kept for back and sharing), and the store's trend
renders. Both pages pass axe-core's WCAG 2 A/AA rules; screenshots in
var/screenshots/."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from controltower.models import KpiDay, Role
from exceptions.models import Case, Team
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory, TeamFactory
from tests.inventory.factories import LocationFactory, PositionFactory, RegionFactory, SKUFactory

from .conftest import TABLET, see_first_chart
from .test_rollout import assert_no_axe_findings

METRICS = {"inventory_accuracy_exact": ("92", "/api/v1/accuracy"),
           "inventory_accuracy_tolerance": ("97", "/api/v1/accuracy"),
           "sync_latency_p95": ("240", "/api/v1/events")}


def roll(dimension, member, days, shift):
    """Ten days of rolled-up values, a little different per member."""
    now = timezone.now()
    for key, (base, path) in METRICS.items():
        for n, day in enumerate(days):
            KpiDay.objects.create(metric=key, day=day, dimension=dimension, member=member,
                                  value=Decimal(base) - shift + (n % 3), sample=20,
                                  records_url=f"{path}?locations={member}", computed_at=now)


@pytest.fixture
def north():
    region = RegionFactory(code="N", name="North")
    berlin = LocationFactory(code="B1", name="Berlin Mitte", region=region)
    hamburg = LocationFactory(code="H1", name="Hamburg Hafen", region=region)
    CaseFactory(location=hamburg, severity=1, breached_at=timezone.now(), escalation_level=Case.Level.REGIONAL_OPS,
                owner=TeamFactory(code="RO-N", name="Regional ops North", kind=Team.Kind.REGIONAL_OPS, region=region),
                summary="Oat drink sold below zero for two days")
    CaseFactory(location=berlin, summary="POS sold 2 more than the store had")
    today = timezone.now().date()
    days = [today - timedelta(days=n) for n in range(9, -1, -1)]
    roll("region", "N", days, 0)
    roll("location", "B1", days, 3)
    roll("location", "H1", days, 12)
    LocationFactory(code="S1", name="Sevilla Centro", region=RegionFactory(code="S", name="South"))
    PositionFactory(location=berlin, sku=SKUFactory(code="MILK-1", description="Whole milk 1l"), available=-2)
    PositionFactory(location=berlin, sku=SKUFactory(code="OAT-1", description="Oat drink 1l"), available=14)
    PositionFactory(location=berlin, sku=SKUFactory(code="TEA-1", description="Green tea"), available=6, damaged=-1)
    return region


@pytest.mark.django_db(transaction=True)
def test_regional_ops_lands_on_the_board_opens_a_store_and_searches_negative_positions(
        page, live_server, log_in, screenshot, north):
    log_in(make_user(Role.REGIONAL_OPS, region=north, username="rita"))

    page.goto(f"{live_server.url}/")
    assert page.url.endswith("/region/")
    see_first_chart(page)
    rows = page.locator("#stores-title ~ .table-wrap tbody tr")
    assert rows.first.inner_text().startswith("H1")  # the breached store first
    assert "Oat drink sold below zero" in page.locator("#escalated-title ~ .table-wrap").inner_text()
    assert_no_axe_findings(page, "region board")
    screenshot(page, "region-board")

    page.get_by_role("link", name="B1").first.click()
    page.wait_for_url("**/stores/B1/")
    see_first_chart(page)
    assert page.locator("#positions tbody tr").count() == 3
    assert_no_axe_findings(page, "store page")
    screenshot(page, "store-page")

    page.evaluate("window.notReloaded = true")
    page.get_by_label("Negative only").check()
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/stores/B1/?*negative=on*")
    page.wait_for_function("() => document.querySelectorAll('#positions tbody tr').length === 2")
    shown = page.locator("#positions").inner_text()
    assert "MILK-1" in shown and "TEA-1" in shown and "OAT-1" not in shown
    assert page.evaluate("window.notReloaded") is True  # an htmx swap, not a new page
    assert_no_axe_findings(page, "store page, negative positions")
    screenshot(page, "store-page-negative")

    page.set_viewport_size(TABLET)
    assert_no_axe_findings(page, "store page at 768 px")
    screenshot(page, "store-page-tablet")
    page.goto(f"{live_server.url}/region/")
    see_first_chart(page)
    assert "S1" not in page.locator("#stores-title ~ .table-wrap").inner_text()  # another region's store
    assert_no_axe_findings(page, "region board at 768 px")
    screenshot(page, "region-board-tablet")


@pytest.mark.django_db(transaction=True)
def test_an_admin_picks_a_region(page, live_server, log_in, screenshot, north):
    log_in(make_user(Role.ADMIN, username="adele"))
    page.goto(f"{live_server.url}/region/")
    page.get_by_label("Region", exact=True).select_option("S")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/region/?region=S")
    assert page.locator("h1").inner_text() == "Region board: S South"
    assert_no_axe_findings(page, "region board, admin")
    screenshot(page, "region-board-admin")
