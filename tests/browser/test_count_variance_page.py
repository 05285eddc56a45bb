"""A count_variance case page: the position card's latest count passes
axe-core's WCAG 2 A/AA rules (0 findings), at desktop and tablet width."""
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
from tests.browser.conftest import TABLET
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory

from .test_accessibility import WCAG_2_A_AA


@pytest.mark.django_db(transaction=True)
def test_the_latest_count_on_the_case_page(page, live_server, log_in, screenshot):
    store = LocationFactory(code="S100", name="Berlin Mitte")
    SKUFactory(code="MILK1L", description="Whole milk 1 l", unit_cost=Decimal("1.09"))
    now = timezone.now()

    def event(txn, type_, quantity, hours_ago, **extra):
        return {"transaction_id": txn, "type": type_, "location": "S100", "sku": "MILK1L", "quantity": quantity,
                "occurred_at": (now - timedelta(hours=hours_ago)).isoformat(), **extra}

    pos = SourceSystemFactory(code="POS-EU")
    ingest_events(pos, [
        event("r", "receipt", 40, 30, reference="PO-1"), event("s", "sale", 6, 20), event("c", "cycle_count", 27, 4),
    ])
    ingest_events(pos, [event("late", "sale", 2, 10)])  # an offline till's sale before the count, arriving after it
    run_reconciliation(CaseKind.COUNT_VARIANCE)
    case = Case.objects.get(kind=CaseKind.COUNT_VARIANCE)
    log_in(make_user(Role.STORE_MANAGER, [store], username="anna"))

    for name, viewport in (("count-variance-case", None), ("count-variance-case-tablet", TABLET)):
        if viewport:
            page.set_viewport_size(viewport)
        assert page.goto(f"{live_server.url}/cases/{case.pk}/").status == 200
        assert page.get_by_role("heading", name="Latest cycle count").is_visible()
        screenshot(page, name)
        results = Axe().run(page, options=WCAG_2_A_AA)
        assert results.violations_count == 0, results.generate_report()
