"""The integration admin's screen in Chromium: they land on integration
health, see a rejection for an unknown SKU, the SKU is then loaded through
the item master import, they press Replay and the rejection shows as
replayed, its event in the ledger. The variances screen of finance with its
trend drawn. Both pass axe-core's WCAG 2 A/AA rules; screenshots in
var/screenshots/."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from controltower import rollups
from controltower.models import Role
from exceptions.findings import CaseKind
from exceptions.models import ReconciliationRun
from exceptions.reconciliation.runs import run_kind
from inventory.ledger import ingest_events
from inventory.masterdata import import_skus
from inventory.models import InventoryEvent, Position, RejectedEvent
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory

from .conftest import TABLET, see_first_chart
from .test_rollout import assert_no_axe_findings


def receipt(txn, sku, quantity=5):
    return {"transaction_id": txn, "type": "receipt", "location": "S001", "sku": sku, "quantity": quantity,
            "occurred_at": (timezone.now() - timedelta(minutes=30)).isoformat()}


@pytest.mark.django_db(transaction=True)
def test_an_integration_admin_replays_a_rejection_after_the_sku_is_loaded(page, live_server, log_in, screenshot):
    LocationFactory(code="S001", name="Berlin Mitte")
    SKUFactory(code="MILK")
    till = SourceSystemFactory(code="POS-EU", name="Store tills", expected_interval_s=3600)
    ingest_events(till, [receipt("T1", "MILK"), receipt("T2", "MILK"), receipt("T3", "OATMILK", quantity=12)])
    rollups.roll_day(rollups.utc_today())
    rejection = RejectedEvent.objects.get(transaction_id="T3")
    run_kind(CaseKind.NEGATIVE_STOCK)
    ReconciliationRun.objects.create(
        kind=CaseKind.SUSPECTED_DUPLICATE, started_at=timezone.now() - timedelta(minutes=4),
        finished_at=timezone.now() - timedelta(minutes=3), outcome=ReconciliationRun.Outcome.TIMED_OUT,
        error="A query ran past the budget of 270 s.")

    log_in(make_user(Role.INTEGRATION_ADMIN, username="ida"))
    page.goto(f"{live_server.url}/")
    assert page.url.endswith("/integration/")
    feed = page.locator(".feed-table tbody tr", has_text="POS-EU")
    assert "66.7%" in feed.inner_text() and "Red" in feed.inner_text()
    see_first_chart(page)
    row = page.locator(f"#rejection-{rejection.pk}")
    assert "Unknown or inactive SKU 'OATMILK'" in row.inner_text() and "Waiting" in row.inner_text()
    assert "Timed out" in page.locator("#run-suspected_duplicate").inner_text()
    assert "Ok" in page.locator("#run-negative_stock").inner_text()
    assert_no_axe_findings(page, "integration health")
    screenshot(page, "integration-health")

    # The item master load brings the SKU; the admin replays the rejection.
    report = import_skus([{"code": "OATMILK", "description": "Oat drink 1 l", "category": "Dairy",
                           "unit_cost": "1.10", "base_unit": "EA", "barcodes": "", "conversions": ""}])
    assert report.created == 1
    row.get_by_role("button", name="Replay").click()
    result = page.locator("#replay-result")
    result.get_by_text("accepted, now in the ledger").wait_for()
    assert "POS-EU T3" in result.inner_text()
    # The waiting list no longer holds it; the replayed list does, with what happened.
    page.wait_for_selector(f"#rejection-{rejection.pk}", state="detached")
    page.select_option("#rejection-filter select[name=status]", "replayed")
    page.locator(f"#rejection-{rejection.pk}").get_by_text("Replayed: accepted").wait_for()
    assert page.url.endswith("status=replayed")

    event = InventoryEvent.objects.get(source=till, transaction_id="T3")
    assert (event.sku.code, event.quantity) == ("OATMILK", 12)
    assert Position.objects.get(sku=event.sku).available == 12
    assert_no_axe_findings(page, "integration health after the replay")
    screenshot(page, "integration-health-replayed")


@pytest.mark.django_db(transaction=True)
def test_finance_sees_the_variances_with_their_trend(page, live_server, log_in, screenshot):
    store = LocationFactory(code="S001", name="Berlin Mitte")
    other = LocationFactory(code="S002", name="Hamburg Hafen", region=store.region)
    oat = SKUFactory(code="OATMILK", category="Dairy", unit_cost=Decimal("1.10"))
    tv = SKUFactory(code="TV55", category="Electronics", unit_cost=Decimal("320.00"))
    now = timezone.now()
    CaseFactory(kind="snapshot_mismatch", drift="timing_lag", location=store, sku=oat, quantity_at_risk=40,
                value_at_risk=Decimal("44.00"), opened_at=now - timedelta(days=3), reference="ERP:available")
    CaseFactory(kind="snapshot_mismatch", drift="unit_of_measure", location=other, sku=tv, quantity_at_risk=2,
                value_at_risk=Decimal("640.00"), opened_at=now - timedelta(days=2), reference="ERP:available")
    CaseFactory(kind="financial_variance", drift="cost_mismatch", location=store, sku=tv, quantity_at_risk=0,
                value_at_risk=Decimal("85.00"), opened_at=now - timedelta(days=1), reference="ERP:valuation")
    today = rollups.utc_today()
    rollups.roll_days({today - timedelta(days=n) for n in range(5)})

    log_in(make_user(Role.FINANCE, username="fiona"))
    page.goto(f"{live_server.url}/")
    assert page.url.endswith("/approvals/")  # finance lands where its waiting work is
    page.goto(f"{live_server.url}/variances/")
    assert "684" in page.locator(".kpi-tile").inner_text()
    see_first_chart(page)
    page.get_by_text("Unit-of-measure error: 1 case").wait_for()
    assert_no_axe_findings(page, "variances")
    screenshot(page, "variances")

    page.select_option("select[name=drift]", "cost_mismatch")
    page.wait_for_url("**drift=cost_mismatch")
    page.get_by_text("Cost mismatch: 1 case").wait_for()
    assert page.get_by_text("No active operational (on-hand snapshots) variance in this filter.").is_visible()
    page.set_viewport_size(TABLET)
    assert_no_axe_findings(page, "variances, filtered, tablet")
    screenshot(page, "variances-tablet")


@pytest.mark.django_db(transaction=True)
def test_an_integration_admin_sees_each_format_and_opens_a_refused_document(page, live_server, log_in, screenshot):
    from inventory import adapters
    from inventory.models import ReceivedDocument
    from tests.inventory.formats import TillRolls, rolls

    from .conftest import PHONE

    LocationFactory(code="S001", name="Berlin Mitte")
    SKUFactory(code="MILK")
    till = SourceSystemFactory(code="POS-NCR", name="NCR tills", expected_interval_s=3600)
    TillRolls().receive(till, rolls(
        receipt("T1", "MILK"), receipt("T2", "MILK") | {"ignore": "training mode"},
        receipt("T3", "MILK") | {"ignore": "void"}, receipt("T4", "OATMILK")))
    adapters.get("events").receive(till, b'{"events": [{"transaction_id": "T5"}, {"transaction_id": "T6"}]}')
    with pytest.raises(adapters.Unparseable):
        adapters.get("events").receive(till, b'<?xml version="1.0"?><POSLog><Transaction>' + b"x" * 300)
    refused = ReceivedDocument.objects.get(status="refused")

    log_in(make_user(Role.INTEGRATION_ADMIN, username="ida"))
    page.goto(f"{live_server.url}/integration/")
    row = page.locator(".document-table tbody tr", has_text="till-rolls")
    assert "training mode: 1" in row.inner_text() and "void: 1" in row.inner_text()
    assert "Sku: 1" in row.inner_text() or "SKU: 1" in row.inner_text()
    page.locator("#documents-title").scroll_into_view_if_needed()
    assert_no_axe_findings(page, "integration health, documents")
    screenshot(page, "integration-health-documents")

    page.locator(".refused-table").get_by_role("link").first.click()
    page.wait_for_url(f"**/integration/documents/{refused.pk}/")
    assert "The body is not valid JSON" in page.locator(".refusal-line").inner_text()
    assert "<POSLog>" in page.locator(".document-body").inner_text()
    assert_no_axe_findings(page, "refused document")
    screenshot(page, "refused-document")
    for size, name in ((TABLET, "tablet"), (PHONE, "phone")):
        page.set_viewport_size(size)
        assert_no_axe_findings(page, f"refused document, {name}")
        screenshot(page, f"refused-document-{name}")
        page.goto(f"{live_server.url}/integration/#documents-title")
        # Wide tables scroll in their own region; the page itself never scrolls sideways.
        assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        assert_no_axe_findings(page, f"integration health documents, {name}")
        screenshot(page, f"integration-health-documents-{name}")
        page.goto(f"{live_server.url}/integration/documents/{refused.pk}/")
