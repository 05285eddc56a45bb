"""The root causes per region on the rollout board in Chromium: the PMO picks a region, clicks
its Pareto's largest bar and lands on the case list of exactly those cases, as many as the bar
says; the table's count under the figure (the keyboard's and a screen reader's way) does the
same. axe-core finds nothing on the board or the list at 1280, 768 and 390 px; screenshots of
the board's root causes in var/screenshots/."""
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from controltower.models import Role
from exceptions.models import Case, RootCause
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory, RegionFactory
from tests.rollout.factories import WaveFactory

from .conftest import DESKTOP, PHONE, TABLET
from .test_rollout import assert_no_axe_findings


def resolved(store, root_cause, days_ago):
    at = timezone.now() - timedelta(days=days_ago)
    return CaseFactory(location=store, kind="negative_stock", status=Case.Status.RESOLVED, root_cause=root_cause,
                       opened_at=at - timedelta(days=1), resolved_at=at)


@pytest.fixture
def wave():
    """NORTH (S1, S2): 3 training (one of them 9 days ago), 2 master data; SOUTH (S3): 6 shrink, so
    the board shows SOUTH first and the PMO picks NORTH."""
    north, south = RegionFactory(code="NORTH", name="North"), RegionFactory(code="SOUTH", name="South")
    s1, s2 = LocationFactory(code="S1", region=north), LocationFactory(code="S2", region=north)
    s3 = LocationFactory(code="S3", region=south)
    wave = WaveFactory(name="Wave 1", stores=[s1, s2, s3])
    for store, days_ago in ((s1, 1), (s2, 2), (s1, 9)):
        resolved(store, RootCause.TRAINING, days_ago)
    for days_ago in (1, 3):
        resolved(s2, RootCause.MASTER_DATA, days_ago)
    for days_ago in range(6):
        resolved(s3, RootCause.SHRINK, days_ago + 1)
    return wave


def drawn_region_figure(page):
    figure = page.locator("#root-causes-region ~ .figure").first
    figure.scroll_into_view_if_needed()
    figure.locator("g.trace.bars g.point path").first.wait_for()
    return figure


@pytest.mark.django_db(transaction=True)
def test_a_region_s_pareto_bar_opens_exactly_its_cases(page, live_server, log_in, wave):
    log_in(make_user(Role.PMO, username="paula"))
    page.goto(f"{live_server.url}/rollout/")
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")  # read when they come into view (htmx)
    regions = page.get_by_role("region", name="Root causes per region")
    regions.wait_for()
    assert regions.locator("tbody td:first-child").all_inner_texts() == ["SOUTH", "NORTH"]
    page.get_by_label("Region", exact=True).select_option("NORTH")
    page.get_by_role("button", name="Show its root causes").click()
    page.wait_for_url("**region=NORTH**")
    figure = drawn_region_figure(page)
    assert figure.get_attribute("aria-label") == (
        "5 resolved cases by root cause; the largest, Training, 3 (60.0%).")
    assert_no_axe_findings(page, "board with NORTH's root causes")

    # The largest bar (Training, 3): Plotly reads the click on its plot area at the bar.
    box = figure.locator("g.trace.bars g.point path").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url("**/cases/**")
    assert "root_cause=training" in page.url and "status=done" in page.url
    assert page.get_by_text("3 cases", exact=True).is_visible()
    assert page.locator("table tbody tr").count() == 3
    assert_no_axe_findings(page, "the case list of NORTH's training cases")

    # The same count in the table under the figure, by the keyboard.
    page.go_back()
    by_cause = page.get_by_role("region", name="Resolved cases by root cause")
    link = by_cause.get_by_role("link", name="2", exact=True)  # Master data
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**root_cause=master_data**")
    assert page.get_by_text("2 cases", exact=True).is_visible()


@pytest.mark.django_db(transaction=True)
def test_the_board_s_root_causes_per_region_at_three_widths(page, live_server, log_in, wave):
    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    log_in(make_user(Role.PMO, username="paula"))
    for name, size in (("desktop", DESKTOP), ("tablet", TABLET), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.goto(f"{live_server.url}/rollout/?region=NORTH")
        page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")  # the root causes come into view
        section = page.locator("#root-causes:has(#root-causes-region)")
        section.scroll_into_view_if_needed()
        section.locator(".figure svg.main-svg").first.wait_for()  # the program's Pareto
        drawn_region_figure(page)
        assert_no_axe_findings(page, f"board's root causes at {size['width']} px")
        section.screenshot(path=str(folder / f"rollout-board-root-causes-{name}.png"))
        # No part of the section wider than the page (a wide table scrolls in its own region).
        assert page.evaluate("() => document.documentElement.scrollWidth") <= size["width"]
