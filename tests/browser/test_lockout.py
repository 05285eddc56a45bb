"""Too many failed log-ins: the lockout page, in the site's layout, passes axe-core."""
import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.controltower.factories import UserFactory

WCAG_2_A_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}


@pytest.mark.django_db(transaction=True)
def test_lockout_page_after_ten_failures_is_accessible(page, live_server, settings, screenshot):
    UserFactory(username="anna")
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", "anna")
        page.fill("#id_password", f"not-it-{attempt}")
        with page.expect_navigation():
            page.click("button[type=submit]")

    assert page.locator("h1").inner_text() == "Too many failed log-ins"
    assert page.locator("[role=alert]").inner_text().startswith("After 10 failed attempts for anna")
    assert page.locator(".site-header .brand").is_visible()
    screenshot(page, "lockout")

    results = Axe().run(page, options=WCAG_2_A_AA)
    assert results.violations_count == 0, results.generate_report()

    # The right password is refused too, until the cool-off ends.
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "anna")
    page.fill("#id_password", "pw-for-tests")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "Too many failed log-ins"
