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


WIDTHS = (1280, 768, 390)


@pytest.mark.django_db(transaction=True)
def test_records_journeys_and_rejection_pages_have_no_axe_findings(page, live_server, log_in, screenshot):
    """The pages a number drills to (records, journeys), the integration
    admin's rejection loop and the admin's audit trail, at a desktop, a tablet
    and a phone's width."""
    from inventory.journeys import ingest_steps
    from inventory.ledger import ingest_events
    from inventory.models import Journey, RejectedEvent
    from tests.inventory.factories import SourceSystemFactory

    store = LocationFactory(code="S100", name="Berlin Mitte")
    SKUFactory(code="MILK1L", description="Whole milk 1 l", unit_cost=Decimal("1.09"))
    till = SourceSystemFactory(code="POS-EU")
    now = timezone.now()
    ingest_events(till, [
        {"transaction_id": f"r{n}", "type": "receipt", "location": "S100", "sku": "MILK1L", "quantity": 4,
         "occurred_at": (now - timedelta(hours=n)).isoformat(), "reference": f"PO-{n}"} for n in range(3)
    ] + [{"transaction_id": "bad-unit", "type": "receipt", "location": "S100", "sku": "MILK1L", "quantity": 1,
          "unit": "CS6", "occurred_at": now.isoformat(), "reference": "<b>not bold</b>"}])
    ingest_steps(till, [
        {"transaction_id": "j1", "journey": "order_to_fulfilment", "business_id": "WEB-100771", "step": "placed",
         "occurred_at": (now - timedelta(hours=90)).isoformat(), "quantity": 2},
        {"transaction_id": "j2", "journey": "order_to_fulfilment", "business_id": "WEB-100771",
         "step": "ready_for_pickup", "occurred_at": (now - timedelta(hours=80)).isoformat(), "location": "S100"},
    ])
    journey = Journey.objects.get()
    rejection = RejectedEvent.objects.get(transaction_id="bad-unit")

    people = {
        "manager": (make_user(Role.STORE_MANAGER, [store], username="anna"), {
            "records-events": "/records/events/?locations=S100",
            "journeys": "/journeys/",
            "journey": f"/journeys/{journey.pk}/",
        }),
        "integration": (make_user(Role.INTEGRATION_ADMIN, username="ida"), {
            "records-rejections": "/records/rejections/",
            "rejection": f"/integration/rejections/{rejection.pk}/",
            "master-data-sku": f"/integration/master-data/sku/?rejection={rejection.pk}&code=MILK1L&conversions=CS6%3D",
        }),
        # The audit trail: the master data above was created through the ORM, so it is in it.
        "admin": (make_user(Role.ADMIN, username="ada"), {
            "audit": "/audit/",
            "audit-skus": "/audit/?kind=sku&action=0",
        }),
    }
    for person, (user, pages) in people.items():
        log_in(user)
        for name, url in pages.items():
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                response = page.goto(f"{live_server.url}{url}")
                assert response.status == 200, url
                screenshot(page, f"drill-{name}-{width}")
                results = Axe().run(page, options=WCAG_2_A_AA)
                assert results.violations_count == 0, f"{url} at {width} px\n{results.generate_report()}"
    assert "<b>not bold</b>" not in page.content()
