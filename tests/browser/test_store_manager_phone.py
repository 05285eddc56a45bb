"""The store manager's job on a phone (390 x 844 px): open the queue, filter
it (the filters sit behind a button), read each case's due time and value
on its card without scrolling sideways, open a case (actions first, then its
numbers), act on it, and focus follows the result. The store page fits three
screens, its lists behind buttons; its charts fetch Plotly only once they
are shown. A skip link leads the keyboard past the header on every page."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from controltower.models import Role
from exceptions.models import Case
from inventory.models import Location
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory, PositionFactory, SKUFactory

from .conftest import PHONE, see_first_chart
from .test_region_store import north  # noqa: F401  (a fixture: a region, two stores, ten days of rollups)
from .test_rollout import assert_no_axe_findings


@pytest.fixture
def store():
    store = LocationFactory(code="S100", name="Berlin Mitte")
    now = timezone.now()
    milk = SKUFactory(code="MILK1L", description="Whole milk 1 l", unit_cost=Decimal("1.09"))
    PositionFactory(location=store, sku=milk, available=-3)
    for n in range(30):
        PositionFactory(location=store, sku=SKUFactory(code=f"ITEM-{n:02}", description=f"Article {n}"), available=n)
    case = CaseFactory(location=store, sku=milk, severity=2, quantity_at_risk=3, value_at_risk=Decimal("3.27"),
                       resolution_due_at=now + timedelta(hours=3), reference="POS-20261123-0042",
                       summary="POS sold 3 units of MILK1L that the store did not have: available is -3.")
    for n in range(19):
        CaseFactory(location=store, kind="stale_feed", severity=3, sku=None, reference=f"FEED-{n}",
                    fingerprint=f"stale_feed|{store.pk}||FEED-{n}", resolution_due_at=now + timedelta(hours=6),
                    summary=f"FEED-{n} has been silent for 2 hours.")
    return {"store": store, "case": case, "manager": make_user(Role.STORE_MANAGER, [store], username="anna")}


def no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def within_the_width(locator):
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


@pytest.mark.django_db(transaction=True)
def test_a_store_manager_filters_opens_and_acknowledges_a_case_on_a_phone(page, live_server, log_in, store,
                                                                          screenshot):
    case = store["case"]
    page.set_viewport_size(PHONE)
    log_in(store["manager"])
    page.goto(f"{live_server.url}/cases/")
    assert page.locator("#case-table tbody tr").count() == 20
    filters = page.locator("#case-filter")
    assert not filters.is_visible()  # behind the button
    no_sideways_scroll(page)
    screenshot(page, "phone-queue")

    page.get_by_text("Filters", exact=True).click()
    assert filters.is_visible()
    page.select_option("#id_kind", "negative_stock")
    page.wait_for_url("**/cases/?*kind=negative_stock*")
    page.wait_for_function("() => document.querySelectorAll('#case-table tbody tr').length === 1")
    no_sideways_scroll(page)
    assert_no_axe_findings(page, "queue at 390 px, filters open")
    screenshot(page, "phone-queue-filtered")

    # The card shows its due time and value at risk, each within the screen's width.
    card = page.locator("#case-table tbody tr").first
    due, value = card.locator(".cell-due"), card.locator(".cell-value")
    assert due.is_visible() and within_the_width(due)
    assert value.is_visible() and within_the_width(value) and value.inner_text() == "3.27"
    assert "hour" in due.inner_text()  # due in 3 hours, said on the card

    card.get_by_role("link", name=f"#{case.pk} Negative stock").click()
    page.wait_for_url(f"{live_server.url}/cases/{case.pk}/")
    no_sideways_scroll(page)
    actions, numbers = page.locator(".case-actions"), page.locator(".case-main .kpis")
    assert actions.bounding_box()["y"] < numbers.bounding_box()["y"]  # actions first, then the numbers
    value_tile = numbers.locator(".kpi", has_text="Value at risk")
    due_tile = numbers.locator(".kpi", has_text="Due")
    assert "3.27" in value_tile.inner_text() and within_the_width(value_tile) and within_the_width(due_tile)
    assert_no_axe_findings(page, "case page at 390 px")
    screenshot(page, "phone-case")

    page.get_by_role("button", name="Acknowledge").click()
    page.locator("#case-status", has_text="Acknowledged").wait_for()
    assert Case.objects.get(pk=case.pk).status == Case.Status.ACKNOWLEDGED
    # Focus follows the action to its result: the case as it now stands.
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'case-body'")
    no_sideways_scroll(page)
    screenshot(page, "phone-case-acknowledged")


@pytest.mark.django_db(transaction=True)
def test_the_store_page_fits_three_phone_screens_with_its_lists_behind_buttons(page, live_server, log_in, store,
                                                                                 screenshot):
    page.set_viewport_size(PHONE)
    log_in(store["manager"])
    page.goto(f"{live_server.url}/stores/S100/")
    no_sideways_scroll(page)
    assert page.evaluate("document.documentElement.scrollHeight") <= 3 * PHONE["height"]
    assert not page.locator("#positions").is_visible()
    assert_no_axe_findings(page, "store page at 390 px")
    screenshot(page, "phone-store")

    page.get_by_text("Show the cases").click()
    cards = page.locator("#cases-title ~ details .case-table tbody tr")
    assert cards.count() == 20
    assert within_the_width(cards.first.locator(".cell-due"))
    page.get_by_text("Show and search the positions").click()
    assert page.locator("#positions").is_visible()
    no_sideways_scroll(page)
    assert_no_axe_findings(page, "store page at 390 px, lists open")


@pytest.mark.django_db(transaction=True)
def test_a_chart_fetches_plotly_only_when_it_is_shown(page, live_server, log_in, north):  # noqa: F811
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    page.set_viewport_size(PHONE)
    log_in(make_user(Role.STORE_MANAGER, [Location.objects.get(code="B1")], username="bea"))
    page.goto(f"{live_server.url}/stores/B1/")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("typeof Plotly") == "undefined"
    assert not [url for url in fetched if "plotly" in url]

    page.get_by_text("Show the trends").click()
    see_first_chart(page)
    assert [url for url in fetched if "plotly" in url] == [f"{live_server.url}/static/js/plotly-basic.min.js"]


@pytest.mark.django_db(transaction=True)
def test_the_skip_link_is_the_first_stop_of_the_keyboard_and_leads_to_the_page(page, live_server, log_in, store):
    log_in(store["manager"])
    page.goto(f"{live_server.url}/cases/")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    assert skip.inner_text() == "Skip to main content" and skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the next stop is in the page, past the header's links
    assert page.evaluate("document.activeElement.closest('main') !== null")
