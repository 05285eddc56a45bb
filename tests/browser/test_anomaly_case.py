"""An anomaly case's page says why in words and draws its series with the
unusual part marked; it passes axe-core's WCAG 2 A/AA rules at desktop and
phone width."""
from datetime import timedelta
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from controltower.models import Role
from exceptions.findings import CaseKind
from exceptions.models import Case
from exceptions.reconciliation import run_reconciliation
from inventory.models import IngestDay, InventoryEvent, Position
from tests.browser.conftest import PHONE
from tests.controltower.factories import make_user
from tests.inventory.factories import InventoryEventFactory, LocationFactory, SKUFactory, SourceSystemFactory

from .test_accessibility import WCAG_2_A_AA


@pytest.mark.django_db(transaction=True)
def test_a_phantom_inventory_case_shows_its_baseline_score_and_chart(page, live_server, log_in, screenshot):
    store = LocationFactory(code="S100", name="Berlin Mitte")
    sku = SKUFactory(code="MILK1L", description="Whole milk 1 l", unit_cost=Decimal("1.09"))
    till, now = SourceSystemFactory(code="POS-EU"), timezone.now()
    InventoryEvent.objects.bulk_create([
        InventoryEventFactory.build(source=till, location=store, sku=sku, occurred_at=now - timedelta(days=d, hours=n),
                                    received_at=now - timedelta(days=d), transaction_id=f"s{d}-{n}")
        for d in range(11, 50) for n in range(1 + d % 3)
    ])
    Position.objects.create(location=store, sku=sku, available=18)
    run_reconciliation(CaseKind.PHANTOM_INVENTORY, now=now)
    case = Case.objects.get(kind=CaseKind.PHANTOM_INVENTORY)
    log_in(make_user(Role.STORE_MANAGER, [store], username="anna"))

    for name, viewport in (("anomaly-case", None), ("anomaly-case-phone", PHONE)):
        if viewport:
            page.set_viewport_size(viewport)
        assert page.goto(f"{live_server.url}/cases/{case.pk}/").status == 200
        section = page.locator("section.anomaly")
        assert page.get_by_role("heading", name="Why this is unusual").is_visible()
        assert "No sale for 11." in section.inner_text() and "18 on record" in section.inner_text()
        chart = section.get_by_role("img")
        assert chart.get_attribute("aria-label").startswith("Sales a day, 56 bars")
        assert section.locator("rect.anomaly-band").count() == 1 and section.locator("line.line-baseline").count() == 1
        screenshot(page, name)
        results = Axe().run(page, options=WCAG_2_A_AA)
        assert results.violations_count == 0, results.generate_report()


@pytest.mark.django_db(transaction=True)
def test_a_rejection_spike_case_draws_the_limit_it_crossed(page, live_server, log_in, screenshot):
    tills = SourceSystemFactory(code="POS-EU")
    today = timezone.now().date()
    IngestDay.objects.bulk_create(
        [IngestDay(source=tills, day=today - timedelta(days=d), received=900 + 10 * (d % 4), rejected=8 + d % 5)
         for d in range(1, 29)] + [IngestDay(source=tills, day=today, received=300, rejected=45)])
    run_reconciliation(CaseKind.REJECTION_SPIKE)
    case = Case.objects.get(kind=CaseKind.REJECTION_SPIKE)
    log_in(make_user(Role.INTEGRATION_ADMIN, [], username="ivan"))

    page.set_viewport_size(PHONE)
    assert page.goto(f"{live_server.url}/cases/{case.pk}/").status == 200
    section = page.locator("section.anomaly")
    assert "45 of 300 events" in section.inner_text()
    assert section.locator("line.line-limit").count() == 1 and section.locator("rect.bar-marked").count() == 1
    screenshot(page, "anomaly-spike-case-phone")
    results = Axe().run(page, options=WCAG_2_A_AA)
    assert results.violations_count == 0, results.generate_report()
