"""A store manager works a case in the browser: filter the queue, open the
case, fail to resolve it without a root cause, resolve it, see it leave the
queue. Another store's manager cannot open it."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from controltower.models import Role
from exceptions.models import Case
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory, PositionFactory, SKUFactory

from .conftest import DESKTOP, TABLET

PASSWORD = "pw-for-tests"


@pytest.fixture
def estate():
    mine = LocationFactory(code="S100", name="Berlin Mitte")
    theirs = LocationFactory(code="S200", name="Hamburg Hafen", region=mine.region)
    now = timezone.now()
    milk = SKUFactory(code="MILK1L", description="Whole milk 1 l", unit_cost=Decimal("1.09"))
    PositionFactory(location=mine, sku=milk, available=-3, reserved=2)
    case = CaseFactory(
        location=mine, sku=milk, severity=2, reference="POS-20261123-0042", quantity_at_risk=3,
        value_at_risk=Decimal("3.27"), resolution_due_at=now + timedelta(hours=3),
        summary="POS sold 3 units of MILK1L that the store did not have: available is -3.",
    )
    stale = CaseFactory(
        location=mine, kind="stale_feed", severity=3, sku=None, reference="POS-LEGACY-EU",
        fingerprint=f"stale_feed|{mine.pk}||POS-LEGACY-EU",
        resolution_due_at=now + timedelta(hours=6), summary="POS-LEGACY-EU has been silent for 2 hours.",
    )
    CaseFactory(location=mine, severity=1, breached_at=now - timedelta(minutes=20),
                resolution_due_at=now - timedelta(minutes=20), summary="Available is -12.")
    return {
        "case": case,
        "stale": stale,
        "anna": make_user(Role.STORE_MANAGER, [mine], username="anna"),
        "ben": make_user(Role.STORE_MANAGER, [theirs], username="ben"),
    }


def _log_in(page, live_server, username):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


@pytest.mark.django_db(transaction=True)
def test_store_manager_filters_opens_and_resolves_a_case(browser, page, live_server, estate, screenshot):
    case, stale = estate["case"], estate["stale"]
    _log_in(page, live_server, "anna")
    page.click(".site-nav >> text=My cases")
    page.wait_for_url(f"{live_server.url}/cases/")
    rows = page.locator("#case-table tbody tr")
    assert rows.count() == 3
    assert "Breached" in rows.first.inner_text()  # most urgent first
    screenshot(page, "cases-queue-1280")

    # The filter swaps the table in place and keeps itself in the URL.
    page.evaluate("window.notReloaded = true")
    page.select_option("#id_kind", "negative_stock")
    page.wait_for_url("**/cases/?*kind=negative_stock*")
    page.wait_for_function("() => document.querySelectorAll('#case-table tbody tr').length === 2")
    assert page.evaluate("window.notReloaded") is True
    assert f"#{stale.pk} " not in page.locator("#case-table").inner_text()

    page.set_viewport_size(TABLET)
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    screenshot(page, "cases-queue-768")
    page.set_viewport_size(DESKTOP)

    # Back restores the unfiltered queue; the shared link renders the filter in full.
    page.go_back()
    page.wait_for_function("() => document.querySelectorAll('#case-table tbody tr').length === 3")
    page.go_forward()
    page.wait_for_function("() => document.querySelectorAll('#case-table tbody tr').length === 2")
    page.goto(f"{live_server.url}/cases/?kind=negative_stock")
    assert page.locator("#id_kind").input_value() == "negative_stock"
    assert page.locator("#case-table tbody tr").count() == 2

    page.click(f"#case-table >> text=#{case.pk} Negative stock")
    page.wait_for_url(f"{live_server.url}/cases/{case.pk}/")
    assert "available is -3" in page.locator(".case-summary").inner_text()
    assert page.locator(".position-cell dd").first.inner_text() == "-3"
    screenshot(page, "case-page-1280")
    page.set_viewport_size(TABLET)
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    screenshot(page, "case-page-768")
    page.set_viewport_size(DESKTOP)

    # Resolve without a root cause: the error shows under the field, nothing changes.
    page.click("#resolve-action summary")
    page.select_option("#id_resolution_code", "recounted")
    page.click("text=Resolve case")
    error = page.locator("#resolve-action .field-error")
    error.wait_for()
    assert "Choose the root cause from the list." in error.inner_text()
    assert page.locator("#id_resolution_code").input_value() == "recounted"
    assert Case.objects.get(pk=case.pk).status == Case.Status.OPEN
    screenshot(page, "case-resolve-error")

    page.select_option("#id_root_cause", "shrink")
    page.click("text=Resolve case")
    page.locator("#case-status", has_text="Resolved").wait_for()
    # The counts in the page listened for the change.
    page.wait_for_function("() => document.querySelector('[data-status=resolved]').textContent.trim() === '1'")
    assert Case.objects.get(pk=case.pk).status == Case.Status.RESOLVED
    assert "status open → resolved" in page.locator("#case-history").inner_text()

    page.click("text=← Back to the queue")
    page.wait_for_url(f"{live_server.url}/cases/")
    queue = page.locator("#case-table").inner_text()
    assert f"#{case.pk} " not in queue and page.locator("#case-table tbody tr").count() == 2

    # Another store's manager cannot open the case.
    other = browser.new_context(viewport=DESKTOP)
    other_page = other.new_page()
    _log_in(other_page, live_server, "ben")
    response = other_page.goto(f"{live_server.url}/cases/{case.pk}/")
    assert response.status == 404
    assert f"No case #{case.pk} in your scope" in other_page.locator("main").inner_text()
    other.close()
