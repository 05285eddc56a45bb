"""A store manager logs in through the browser and lands on their home page."""
from datetime import timedelta

import pytest
from django.utils import timezone

from controltower.models import Role
from inventory.ledger import ingest_events
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory

from .conftest import TABLET

PASSWORD = "pw-for-tests"


@pytest.fixture
def manager():
    mine = LocationFactory(code="S100", name="Berlin Mitte")
    LocationFactory(code="S900", name="Hamburg Hafen")
    sku = SKUFactory(code="MILK-1L")
    # A sale with no stock on record: posted anyway, available goes negative.
    sold = (timezone.now() - timedelta(minutes=10)).isoformat()
    sale = {"type": "sale", "location": "S100", "sku": sku.code, "quantity": 2, "occurred_at": sold}
    ingest_events(SourceSystemFactory(code="POS-EU"), [{"transaction_id": "T1", **sale}])
    return make_user(Role.STORE_MANAGER, locations=[mine], username="anna")


def _log_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


@pytest.mark.django_db(transaction=True)
def test_store_manager_logs_in_and_sees_their_store(page, live_server, manager, screenshot):
    page.goto(f"{live_server.url}/")
    assert page.url == f"{live_server.url}/login/?next=/"
    screenshot(page, "login")

    _log_in(page, live_server, "anna", PASSWORD)
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "Welcome, anna"
    table = page.locator("table").inner_text()
    assert "S100" in table and "Berlin Mitte" in table
    assert "S900" not in table
    assert page.locator(".user-role").inner_text() == "Store manager"
    assert page.locator(".user-scope").inner_text() == "Scope: S100"
    negative = page.locator(".kpi", has_text="Positions with negative available")
    assert negative.locator(".kpi-value").inner_text() == "1"
    assert "kpi-alert" in negative.get_attribute("class")
    # htmx came from our own static files and is ready for later screens.
    assert page.evaluate("typeof htmx") == "object"
    screenshot(page, "home-1280")

    page.set_viewport_size(TABLET)
    assert page.locator(".site-nav").is_visible()
    # Nothing may stick out sideways at tablet width.
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    screenshot(page, "home-768")


@pytest.mark.django_db(transaction=True)
def test_bad_password_stays_on_login_with_error(page, live_server, manager, screenshot):
    _log_in(page, live_server, "anna", "not-the-password")
    assert page.locator(".form-errors").is_visible()
    assert "correct username and password" in page.locator(".form-errors").inner_text()
    screenshot(page, "login-error")


@pytest.mark.django_db(transaction=True)
def test_logout_button_signs_out(page, live_server, manager):
    _log_in(page, live_server, "anna", PASSWORD)
    page.wait_for_url(f"{live_server.url}/")
    page.click("text=Log out")
    page.wait_for_url(f"{live_server.url}/login/")
    page.goto(f"{live_server.url}/")
    assert page.url.startswith(f"{live_server.url}/login/")
