"""Pages work in Chromium under the Content-Security-Policy: charts draw
(figures.js + Plotly), htmx swaps and the shared behaviour of static/js/tower.js
run, and the browser reports no violation of the policy."""
import pytest

from controltower.models import Role
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory

from .conftest import see_first_chart
from .test_region_store import north  # noqa: F401 - the fixture

WATCH_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


@pytest.fixture
def watched(page):
    """The page, with every CSP violation and console error it reports collected."""
    errors = []
    page.add_init_script(WATCH_VIOLATIONS)
    # Console errors but a missing /favicon.ico (the browser asks for it on its own).
    page.on("console", lambda message: message.type == "error" and "favicon" not in (message.location or {}).get(
        "url", "") and errors.append(f"{message.text} ({message.location})"))
    page.console_errors = errors
    return page


def assert_no_violation(page, what, console=True):
    assert page.evaluate("window.cspViolations") == [], what
    if console:
        assert page.console_errors == [], what


@pytest.mark.django_db(transaction=True)
def test_chart_pages_and_htmx_raise_no_csp_violation(watched, live_server, log_in, north):  # noqa: F811
    page = watched
    log_in(make_user(Role.REGIONAL_OPS, region=north, username="rita"))

    response = page.goto(f"{live_server.url}/region/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    see_first_chart(page)
    assert_no_violation(page, "region board")

    page.goto(f"{live_server.url}/stores/B1/")
    see_first_chart(page)
    page.get_by_label("Negative only").check()
    page.get_by_role("button", name="Search").click()
    page.wait_for_function("() => document.querySelectorAll('#positions tbody tr').length === 2")
    assert_no_violation(page, "store page and its htmx search")


@pytest.mark.django_db(transaction=True)
def test_select_all_ticks_every_case_without_inline_script(watched, live_server, log_in):
    page = watched
    store = LocationFactory(code="S-CSP")
    for n in range(3):
        CaseFactory(location=store, summary=f"Case {n}")
    log_in(make_user(Role.STORE_MANAGER, [store], username="sam"))

    page.goto(f"{live_server.url}/cases/")
    boxes = page.locator("#case-table input[name=cases]")
    assert boxes.count() == 3
    page.get_by_label("Select all cases on this page").check()
    assert [boxes.nth(n).is_checked() for n in range(3)] == [True, True, True]
    page.get_by_label("Select all cases on this page").uncheck()
    assert [boxes.nth(n).is_checked() for n in range(3)] == [False, False, False]
    assert_no_violation(page, "case list")


@pytest.mark.django_db(transaction=True)
def test_the_api_docs_run_under_the_policy(watched, live_server):
    page = watched
    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".opblock").first.wait_for(state="visible", timeout=15_000)
    assert_no_violation(page, "Swagger UI")


@pytest.mark.django_db(transaction=True)
def test_a_refusal_is_swapped_in_by_the_declared_statuses(watched, live_server, log_in):
    """#replay-result declares data-swap-statuses="400 403": htmx shows the
    400's words instead of dropping the response as an error."""
    page = watched
    log_in(make_user(Role.INTEGRATION_ADMIN, username="ida"))
    page.goto(f"{live_server.url}/integration/")

    page.evaluate("htmx.ajax('POST', '/integration/replay/', "
                  "{target: '#replay-result', swap: 'innerHTML', values: {rejection: 'x'}})")

    page.locator("#replay-result").get_by_text("rejection: must be the number of a rejection.").wait_for()
    assert_no_violation(page, "integration health", console=False)  # the console logs the 400 itself
