"""The API documentation page renders Swagger UI from our own static files,
so it works on a machine with no internet access."""
from urllib.parse import urlsplit

import pytest

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


@pytest.mark.django_db(transaction=True)
def test_swagger_ui_renders_the_operations_offline(page, live_server, screenshot):
    requested, failed = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on("requestfailed", lambda request: failed.append(request.url))

    page.goto(f"{live_server.url}/api/docs/")

    events = page.locator(".opblock", has=page.locator(".opblock-summary-path", has_text="/api/v1/events"))
    events.first.wait_for(state="visible", timeout=15_000)
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("Control Tower API")
    methods = {text.strip().upper() for text in events.locator(".opblock-summary-method").all_inner_texts()}
    assert {"GET", "POST"} <= methods
    assert page.locator(".opblock").count() >= 10
    page.wait_for_load_state("networkidle")
    screenshot(page, "api-docs")

    remote = [url for url in requested if urlsplit(url).scheme in ("http", "https")
              and urlsplit(url).hostname not in LOCAL_HOSTS]
    assert not remote, f"the docs page asked other hosts: {remote}"
    assert not failed, f"requests failed: {failed}"
