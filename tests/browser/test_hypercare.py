"""The executive's hypercare dashboard in Chromium: signed in, the executive
lands on a verdict per live wave, the top problems and the KPIs red first,
a short page drawing no chart library; one click opens the wave's full
page with its trend charts (the plot's SVG is drawn), drills down region ->
store (Back returns), exports a
table as CSV, and opens the store's SKUs and channels. Every page passes
axe-core's WCAG 2 A/AA rules; screenshots in var/screenshots/."""
import csv
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from django.utils import timezone

from controltower import rollups
from controltower.models import Role
from inventory.models import CountVariance
from rollout.models import GateKind, Wave
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import (
    InventoryEventFactory,
    LocationFactory,
    PositionFactory,
    RegionFactory,
    SKUFactory,
)
from tests.rollout.factories import CriterionFactory, GateTemplateFactory, KpiDayFactory, WaveFactory

from .conftest import PHONE, TABLET, see_first_chart
from .test_rollout import assert_no_axe_findings

LIVE_DAYS = 12


@pytest.fixture
def live_wave():
    """The Berlin wave, live for 12 days: three stores in region DE-EAST, daily rollups of two KPIs
    (accuracy climbing after go-live, training complete but one store behind), open cases and counts."""
    region = RegionFactory(code="DE-EAST", name="Germany East")
    stores = [LocationFactory(code=code, name=name, region=region)
              for code, name in [("DE101", "Berlin Mitte"), ("DE102", "Potsdam"), ("DE103", "Leipzig")]]
    today = rollups.utc_today()
    wave = WaveFactory(name="Berlin", stores=stores, status=Wave.Status.LIVE,
                       actual_cutover=today - timedelta(days=LIVE_DAYS))
    exit_gate = GateTemplateFactory(program=wave.program, kind=GateKind.HYPERCARE_EXIT)
    CriterionFactory(template=exit_gate, metric="inventory_accuracy_exact", threshold=Decimal("95"))
    CriterionFactory(template=exit_gate, metric="training_completion", threshold=Decimal("95"))
    members = [("wave", str(wave.pk), 0), ("region", "DE-EAST", 1), ("location", "DE101", 2),
               ("location", "DE102", -6), ("location", "DE103", 4)]
    for back in range(LIVE_DAYS + 8):
        day = today - timedelta(days=back)
        for dimension, member, offset in members:
            accuracy = min(Decimal("99"), Decimal("80") + Decimal(LIVE_DAYS + 8 - back) + offset)
            KpiDayFactory(metric="inventory_accuracy_exact", dimension=dimension, member=member, day=day,
                          value=accuracy, records_url=f"/api/v1/counts?location={member}")
            KpiDayFactory(metric="training_completion", dimension=dimension, member=member, day=day,
                          value=Decimal("100") + min(offset, 0) * 2, records_url="/training/")
    now = timezone.now()
    for severity, hours in [(1, 3), (2, 30), (2, 100), (3, 200)]:
        CaseFactory(location=stores[1], severity=severity, opened_at=now - timedelta(hours=hours))
    for n, (counted, record) in enumerate([(4, 10), (9, 10), (12, 11)]):
        sku = SKUFactory(code=f"SKU-{n}", description=f"Article {n}")
        PositionFactory(location=stores[1], sku=sku, available=counted - 6, safety_stock=2)
        CountVariance.objects.create(
            event=InventoryEventFactory(type="count", location=stores[1], sku=sku), location=stores[1], sku=sku,
            state="available", counted_at=now - timedelta(hours=2), counted=counted, record=record,
            variance=counted - record, within_tolerance=abs(counted - record) <= 1, computed_at=now)
    return wave


def draws_a_chart(page):
    see_first_chart(page)
    assert page.locator(".figure .main-svg").count() >= 1


@pytest.mark.django_db(transaction=True)
def test_executive_lands_on_hypercare_drills_down_and_exports(page, live_server, log_in, screenshot, live_wave,
                                                              tmp_path):
    log_in(make_user(Role.EXECUTIVE, username="erin"))
    loaded = []
    page.on("request", lambda request: loaded.append(request.url))
    page.goto(f"{live_server.url}/")
    assert page.url.endswith("/hypercare/")
    # The verdict first: the accuracy criterion was never evaluated, so the wave is at risk, said in words.
    verdict = page.locator(".verdict").first
    assert verdict.inner_text().startswith("At risk Berlin")
    assert "Inventory record accuracy: not measured yet" in verdict.inner_text()
    assert page.get_by_role("heading", name="Top problems").is_visible()
    # Red first (the open cases' ages, counted now); the rolled-up KPIs with data before those without.
    rows = [row.split("\t")[:3] for row in page.locator(".kpi-table tbody tr").all_inner_texts()]
    by_kpi = {row[0]: row[1:] for row in rows}
    assert rows[0][2] == "Red" and by_kpi["Case aging p90"][1] == "Red"
    assert by_kpi["Open severity-2 cases"] == ["2", "Green"]  # the two open, counted now, not a stale rollup
    assert by_kpi["Inventory record accuracy"] == ["99.0%", "Green"]
    assert by_kpi["Training completion"] == ["100.0%", "Green"]
    assert rows[-1][2] == "No data"
    assert page.locator(".kpi-table svg.sparkline").count() == 2
    assert not page.locator(".kpi-definitions dd").first.is_visible()  # behind its disclosure
    assert not any("plotly" in url for url in loaded)
    assert page.evaluate("document.documentElement.scrollHeight") < 2000
    assert_no_axe_findings(page, "hypercare landing")
    screenshot(page, "hypercare-landing")

    page.get_by_role("link", name="Full charts, worst stores and open cases of Berlin").click()
    expect(page.get_by_role("heading", name="Hypercare: Berlin")).to_be_visible()
    draws_a_chart(page)
    assert "Hypercare exit gate: at least 95.0%" in page.locator(".trend-grid").inner_text()
    assert_no_axe_findings(page, "hypercare wave")
    screenshot(page, "hypercare-wave")

    # Wave -> region -> store, real links: Back returns to the region.
    page.get_by_role("link", name="DE-EAST Germany East").click()
    expect(page).to_have_url(re.compile(f"/hypercare/waves/{live_wave.pk}/regions/DE-EAST/$"))
    draws_a_chart(page)
    assert_no_axe_findings(page, "hypercare region")
    screenshot(page, "hypercare-region")
    page.get_by_role("link", name="DE102 Potsdam").first.click()
    store_url = f"/hypercare/waves/{live_wave.pk}/stores/DE102/"
    expect(page).to_have_url(re.compile(f"{store_url}$"))
    draws_a_chart(page)
    expect(page.locator("#table-open-cases")).to_be_visible()
    assert_no_axe_findings(page, "hypercare store")
    screenshot(page, "hypercare-store")

    # Export the open cases of the store.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV of open cases by severity and age").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "hypercare-DE102-open-cases.csv"
    with saved.open(newline="") as lines:
        rows = list(csv.reader(lines))
    assert rows[0] == ["Severity", "Under 1 day", "1 to 3 days", "3 to 7 days", "7 days or more", "All ages"]
    assert rows[2] == ["Severity 2", "0", "1", "1", "0", "2"]

    page.go_back()
    expect(page).to_have_url(re.compile(f"/hypercare/waves/{live_wave.pk}/regions/DE-EAST/$"))
    page.go_forward()
    expect(page).to_have_url(re.compile(f"{store_url}$"))

    page.get_by_role("link", name="SKUs: positions and count variances").click()
    expect(page.locator("#table-count-variances")).to_be_attached()
    first_variance = page.locator("#table-count-variances").locator("xpath=../..").locator("tbody tr").first
    assert "SKU-0" in first_variance.inner_text() and "-6" in first_variance.inner_text()
    assert_no_axe_findings(page, "hypercare SKUs")
    screenshot(page, "hypercare-skus")
    page.get_by_role("link", name="Channels").click()
    expect(page).to_have_url(re.compile(f"{store_url}channels/$"))
    assert_no_axe_findings(page, "hypercare channels")
    screenshot(page, "hypercare-channels")


@pytest.mark.django_db(transaction=True)
def test_the_wave_page_fits_a_phone_and_a_tablet_without_sideways_scroll(page, live_server, log_in, screenshot,
                                                                           live_wave):
    log_in(make_user(Role.EXECUTIVE, username="erin"))
    for name, size in (("phone", PHONE), ("tablet", TABLET)):
        page.set_viewport_size(size)
        page.goto(f"{live_server.url}/hypercare/waves/{live_wave.pk}/")
        draws_a_chart(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        screenshot(page, f"hypercare-wave-{name}")
