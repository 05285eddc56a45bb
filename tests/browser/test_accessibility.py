"""The store manager's pages pass axe-core's WCAG 2 A/AA rules (0 findings),
and each is screenshotted: home, the queue, a case, a case with its drift class, My stores, and the page
a case outside their stores answers."""
from datetime import timedelta
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from controltower.models import Role
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory, PositionFactory, SKUFactory

WCAG_2_A_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}


@pytest.mark.django_db(transaction=True)
def test_store_manager_pages_have_no_axe_findings(page, live_server, log_in, screenshot):
    mine = LocationFactory(code="S100", name="Berlin Mitte")
    theirs = LocationFactory(code="S200", name="Hamburg Hafen")
    milk = SKUFactory(code="MILK1L", description="Whole milk 1 l", unit_cost=Decimal("1.09"))
    PositionFactory(location=mine, sku=milk, available=-3)
    case = CaseFactory(location=mine, sku=milk, severity=2, quantity_at_risk=3, value_at_risk=Decimal("3.27"),
                       resolution_due_at=timezone.now() + timedelta(hours=3))
    other = CaseFactory(location=theirs, sku=milk)
    drift = CaseFactory(
        location=mine, sku=milk, kind="snapshot_mismatch", drift="timing_lag", quantity_at_risk=3,
        summary="WMS says 40 available of MILK1L at S100, the ledger says 37 as of 2026-12-03 09:00",
        details={"state": "available", "observed": 40, "expected": 37, "difference": 3, "drift": {
            "class": "timing_lag", "difference": 3, "late_lines": 1, "late_net": -3,
            "explanation": "1 ledger line at this location and SKU occurred before the snapshot time but reached "
                           "the tower after the snapshot arrived; it moves available by -3, the whole "
                           "difference of +3. The next snapshot will include them."}},
    )
    log_in(make_user(Role.STORE_MANAGER, [mine], username="anna"))

    pages = {
        "a11y-home": "/",
        "a11y-queue": "/cases/",
        "a11y-case": f"/cases/{case.pk}/",
        "a11y-case-drift": f"/cases/{drift.pk}/",
        "a11y-my-stores": "/stores/",
        "a11y-out-of-scope": f"/cases/{other.pk}/",
    }
    for name, url in pages.items():
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == (404 if name == "a11y-out-of-scope" else 200), url
        screenshot(page, name)
        results = Axe().run(page, options=WCAG_2_A_AA)
        assert results.violations_count == 0, f"{url}\n{results.generate_report()}"
    assert "Hamburg" not in page.content()
