"""The demo's pages in Chromium: how long each takes to load, as a person
signed in as each demo login sees it (target: every page under 1 s).

The demo is served as `make demo` serves it (the embedded SQLite database
in var/, `manage.py runserver`), after the same commands as `make
demo-data` (a second run posts nothing new). Each login gets a fresh
browser (an empty cache) at 1280 x 800 px, signs in through the login form
(the first row: from the form's POST to the landing loaded, the password
check and the redirect included), then opens every page of its navigation and one page of
each kind those link to (a store, a case, a wave, a hypercare drill-down),
and integration health with every rejection. Per page:

- server: the request's time to first byte;
- load: navigation start to the end of the load event;
- charts: navigation start until every chart in the first screen is drawn
  (figures below the fold are drawn as they scroll in, see
  static/js/figures.js); "-" for a page without one in view;
- kB: what crossed the wire (the page and what it loaded).

Skipped, with the reason, when Debian's Chromium (/usr/bin/chromium) or
Playwright is missing.
"""
import http.client
import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from controltower.demo.simulated import APPROVAL_THRESHOLD

from .ingest import BenchError, _free_port, stop_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
VIEWPORT = {"width": 1280, "height": 800}
TARGET_MS = 1000
# The detail pages a navigation page links to: the first link of each kind.
DETAIL_LINKS = [
    "a[href^='/stores/'][href$='/']:not([href='/stores/'])",
    "a[href^='/cases/'][href$='/']:not([href='/cases/'])",
    "a[href^='/rollout/waves/']",
    "a[href^='/hypercare/waves/']",
]
EXTRA_PAGES = {"/integration/": ["/integration/?status=all"]}
# Navigation timing of the page in the browser; charts: every figure in the first screen drawn.
TIMING = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  return {server: nav.responseStart - nav.requestStart, load: nav.loadEventEnd,
          kb: (nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0)) / 1024};
}"""
IN_VIEW = """() => [...document.querySelectorAll("[data-figure]")].filter(e => {
  const box = e.getBoundingClientRect();
  return box.height > 0 && box.top < innerHeight && box.bottom > 0;
})"""
CHARTS_DRAWN = f"() => ({IN_VIEW})().every(e => e.dataset.drawn)"


def demo_env():
    """The environment of `make demo`: no DATABASE_URL nor broker, so the embedded SQLite demo."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "SECURE_SSL_REDIRECT")}
    env["DJANGO_SETTINGS_MODULE"] = "controltower.settings"
    env["CASE_ADJUSTMENT_APPROVAL_THRESHOLD"] = APPROVAL_THRESHOLD  # as the Makefile's demo targets
    return env


def load_demo_data(env):
    for command in (["migrate", "--noinput"], ["load_demo"], ["reconcile"], ["rollup_kpis"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=settings.BASE_DIR, env=env,
                       check=True, stdout=subprocess.DEVNULL)


def start_demo_server(env):
    """`manage.py runserver` over the demo on a free local port; returns (process, base URL)."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"the demo server exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    stop_server(process)
    raise BenchError("the demo server did not answer within 30 s")


def measure(page):
    """The open page's timings (ms) and size (kB)."""
    timing = page.evaluate(TIMING)
    charts = None
    if page.evaluate(f"() => ({IN_VIEW})().length"):
        page.wait_for_function(CHARTS_DRAWN, timeout=30_000)
        charts = page.evaluate("() => performance.now()")
    return {"server_ms": round(timing["server"], 1), "load_ms": round(timing["load"], 1),
            "charts_ms": None if charts is None else round(charts, 1), "kb": round(timing["kb"], 1)}


def visit(page, base, path):
    page.goto(base + path, wait_until="load")
    return measure(page)


def walk(browser, base, username, password):
    """One login's rows: the sign-in, its navigation, one page of each kind linked from it."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    rows = []
    try:
        page.goto(base + "/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        with page.expect_navigation(wait_until="load"):
            page.click("button[type=submit]")
        # The navigation began with the form's POST: the password check and the redirect count.
        rows.append({"person": username, "page": "log in -> " + page.url.removeprefix(base), **measure(page)})
        navigation = page.eval_on_selector_all(".site-nav a", "links => links.map(a => a.getAttribute('href'))")
        details = []
        for path in navigation:
            rows.append({"person": username, "page": path, **visit(page, base, path)})
            for selector in DETAIL_LINKS:
                found = page.eval_on_selector_all(selector, "links => links.slice(0, 1).map(a => a.getAttribute('href'))")
                details += [href for href in found if href not in navigation and href not in details]
            details += [extra for extra in EXTRA_PAGES.get(path, []) if extra not in details]
        for path in details:
            rows.append({"person": username, "page": path, **visit(page, base, path)})
    finally:
        context.close()
    return rows


def bench_browser():
    """The per-page timings of every demo login, or {"skipped": reason}."""
    if not CHROMIUM.exists():
        return {"skipped": f"needs Chromium at {CHROMIUM} (apt-get install -y chromium)"}
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "needs Playwright (pip install -e '.[dev]')"}
    from controltower.demo.people import DEMO_PASSWORD, USERS

    env = demo_env()
    load_demo_data(env)
    server, base = start_demo_server(env)
    rows = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                for username, *_ in USERS:
                    rows += walk(browser, base, username, DEMO_PASSWORD)
            finally:
                browser.close()
    finally:
        stop_server(server)
    slowest = max(rows, key=lambda row: max(row["load_ms"], row["charts_ms"] or 0))
    return {"pages": rows, "target_ms": TARGET_MS, "viewport": VIEWPORT,
            "worst_ms": max(slowest["load_ms"], slowest["charts_ms"] or 0),
            "worst_page": f"{slowest['person']} {slowest['page']}"}


def browser_table(result):
    if "skipped" in result:
        return f"browser: skipped, {result['skipped']}"
    lines = [
        f"browser: the demo's pages in Chromium at {result['viewport']['width']} px, a fresh cache per login "
        f"(target: loaded and charts drawn in < {result['target_ms']} ms)",
        f"  {'person':<16}{'page':<44}{'server':>8}{'load':>8}{'charts':>8}{'kB':>8}",
    ]
    for row in result["pages"]:
        charts = "-" if row["charts_ms"] is None else f"{row['charts_ms']:.0f}"
        lines.append(f"  {row['person']:<16}{row['page'][:43]:<44}{row['server_ms']:>8.0f}{row['load_ms']:>8.0f}"
                     f"{charts:>8}{row['kb']:>8.0f}")
    verdict = "met" if result["worst_ms"] < result["target_ms"] else "NOT met"
    lines.append(f"  slowest {result['worst_ms']:.0f} ms ({result['worst_page']}): target {verdict}")
    return "\n".join(lines)
