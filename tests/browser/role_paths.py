"""`make screenshots`: each demo login's path through its main job, captured
in Chromium for the role guides (docs/roles/), into docs/screenshots/

Loads the embedded demo (as `make demo-data` does), serves it with
runserver on a free port, signs in as each demo login through the login
form and captures the pages of its job: the landing it is sent to, then the
page its main work continues on. The store manager's path is also taken at
390 px, as on a phone. Run it again after a screen changes.
"""
import os
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controltower.settings")
django.setup()

from django.conf import settings  # noqa: E402

from tests.bench.browser import demo_env, load_demo_data, start_demo_server  # noqa: E402
from tests.bench.ingest import stop_server  # noqa: E402

from .conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE  # noqa: E402

OUT = Path(settings.BASE_DIR) / "docs" / "screenshots"
PASSWORD = "demo-password"

# login: the steps of its job, each (file name, how to get there): "landing",
# a path to open, or a pattern of the first link to follow on the page before.
PATHS = {
    "manager.berlin": [("store-manager-1-home", "landing"), ("store-manager-2-queue", "/cases/"),
                       ("store-manager-3-case", r"^/cases/\d+/$")],
    "ops.germany": [("regional-ops-1-region-board", "landing"), ("regional-ops-2-store", r"^/stores/SIMN\w+/$")],
    "planner": [("planner-1-variances", "landing")],
    "finance": [("finance-1-approvals", "landing"), ("finance-2-variances", "/variances/")],
    "integration": [("integration-admin-1-health", "landing"),
                    ("integration-admin-2-rejection", r"^/integration/rejections/\d+/$")],
    "pmo": [("pmo-1-rollout-board", "landing"), ("pmo-2-wave", r"^/rollout/waves/\d+/$")],
    "executive": [("executive-1-verdict", "landing")],
}
FIRST_LINK = "pattern => [...document.querySelectorAll('main a[href]')].map(a => a.getAttribute('href'))" \
             ".find(href => new RegExp(pattern).test(href)) || null"


def sign_in(page, base, username):
    page.goto(base + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation(wait_until="load"):
        page.click("button[type=submit]")


def capture(browser, base, username, steps, viewport, suffix=""):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        sign_in(page, base, username)
        for name, how in steps:
            if how.startswith("/"):
                page.goto(base + how, wait_until="load")
            elif how != "landing":
                href = page.evaluate(FIRST_LINK, how)
                if href is None:
                    print(f"  {username}: no link like {how!r} on {page.url}; {name} not taken")
                    continue
                page.goto(base + href, wait_until="load")
            page.wait_for_timeout(300)  # charts drawn as they come into view
            path = OUT / f"{name}{suffix}.png"
            page.screenshot(path=str(path))
            print(f"  {path.relative_to(settings.BASE_DIR)}: {page.url.removeprefix(base)}")
    finally:
        context.close()


def main():
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    env = demo_env()
    load_demo_data(env)
    server, base = start_demo_server(env)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            for username, steps in PATHS.items():
                capture(browser, base, username, steps, DESKTOP)
            capture(browser, base, "manager.berlin", PATHS["manager.berlin"], PHONE, suffix="-phone")
            browser.close()
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
