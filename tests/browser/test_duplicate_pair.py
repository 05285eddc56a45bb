"""A suspected-duplicate case page with its pair panel passes axe-core's
WCAG 2 A/AA rules, before and after the duplicate is reversed from it."""
from datetime import timedelta
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from controltower.models import Role
from exceptions.findings import CaseKind
from exceptions.models import Case
from exceptions.reconciliation import run_reconciliation
from inventory.ledger import ingest_events
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory

from .test_accessibility import WCAG_2_A_AA


@pytest.mark.django_db(transaction=True)
def test_the_pair_panel_has_no_axe_findings(page, live_server, log_in, screenshot, default_routing):
    store = LocationFactory(code="S100", name="Berlin Mitte")
    SKUFactory(code="MILK1L", description="Whole milk 1 l", unit_cost=Decimal("1.09"))
    till = SourceSystemFactory(code="POS-NEXT")
    sold = timezone.now() - timedelta(minutes=30)
    line = {"type": "sale", "location": "S100", "sku": "MILK1L", "quantity": 2, "reference": "R-1",
            "occurred_at": sold.isoformat()}
    ingest_events(till, [{"transaction_id": "T-1", **line}], received_at=sold)
    ingest_events(till, [{"transaction_id": "T-1-again", **line}], received_at=sold + timedelta(minutes=5))
    run_reconciliation(CaseKind.SUSPECTED_DUPLICATE)
    case = Case.objects.get(kind=CaseKind.SUSPECTED_DUPLICATE)
    log_in(make_user(Role.STORE_MANAGER, [store], username="anna"))
    page.on("dialog", lambda dialog: dialog.accept())

    page.goto(f"{live_server.url}/cases/{case.pk}/")
    page.click("text=Not a duplicate")
    screenshot(page, "duplicate-pair-open")
    assert Axe().run(page, options=WCAG_2_A_AA).violations_count == 0

    page.click("text=Reverse the duplicate")
    page.wait_for_selector("#duplicate-verdict")
    screenshot(page, "duplicate-pair-reversed")
    results = Axe().run(page, options=WCAG_2_A_AA)
    assert results.violations_count == 0, results.generate_report()
    assert "Duplicate, reversed: anna" in page.inner_text("#duplicate-verdict")
