"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Every test in this folder is marked `browser` and is skipped, with the reason
shown, when /usr/bin/chromium is not installed (CI installs it; a laptop need not).
Use `@pytest.mark.django_db(transaction=True)`: the live server runs in
another thread and must see committed data. Pages run under the
Content-Security-Policy (no eval): give `page.wait_for_function` a function,
"() => ...", not a bare expression, which Playwright evaluates with eval.
"""
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}
PHONE = {"width": 390, "height": 844}

# Playwright's sync API runs an event loop in this thread; Django would then
# refuse database calls made by the test itself.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        reason = "browser tests need Chromium at /usr/bin/chromium (apt-get install -y chromium)"
        if os.environ.get("REQUIRE_BROWSER"):  # CI: a skipped browser test is a failure
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def log_in(page, live_server):
    """Sign `user` in to the browser's context without typing into the login form."""

    def log_in_as(user):
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
        )

    return log_in_as


@pytest.fixture
def screenshot():
    """Save a full-page screenshot to var/screenshots/<name>.png and return its path."""
    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name):
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def see_first_chart(page):
    """Scroll to the page's first chart and wait until it is drawn: charts are
    drawn as they come into view (static/js/figures.js), Plotly fetched then."""
    first = page.locator(".figure").first
    first.scroll_into_view_if_needed()
    first.locator("svg.main-svg").first.wait_for()
