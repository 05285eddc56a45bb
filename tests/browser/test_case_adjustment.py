"""A store manager posts a corrective adjustment in the browser: the form
stays as typed while its preview refreshes under it, a stock-out below zero
asks for a confirmation, and the case shows one history entry for it.
Finance then decides on a large one on the approvals page. Both pages pass
axe-core's WCAG 2 A/AA rules at 1280, 768 and 390 px."""
from datetime import timedelta
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.test import override_settings
from django.utils import timezone

from controltower.models import Role
from exceptions.models import Case, CaseHistory, CorrectiveAdjustment
from inventory.models import Position
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory, PositionFactory, SKUFactory

from .conftest import DESKTOP, TABLET
from .test_accessibility import WCAG_2_A_AA

PHONE = {"width": 390, "height": 844}


def _no_axe_findings(page, where):
    results = Axe().run(page, options=WCAG_2_A_AA)
    assert results.violations_count == 0, f"{where}\n{results.generate_report()}"


def _at_each_width(page, screenshot, name):
    for label, size in (("1280", DESKTOP), ("768", TABLET), ("390", PHONE)):
        page.set_viewport_size(size)
        screenshot(page, f"{name}-{label}")
        _no_axe_findings(page, f"{name} at {label} px")
    page.set_viewport_size(DESKTOP)


@pytest.fixture
def estate():
    store = LocationFactory(code="S100", name="Berlin Mitte")
    milk = SKUFactory(code="MILK1L", description="Whole milk 1 l", unit_cost=Decimal("2.00"))
    PositionFactory(location=store, sku=milk, available=2, reserved=1)
    case = CaseFactory(location=store, sku=milk, severity=2, status=Case.Status.IN_PROGRESS, quantity_at_risk=2,
                       value_at_risk=Decimal("4.00"), resolution_due_at=timezone.now() + timedelta(hours=3),
                       details={"state": "available", "quantity": 2},
                       summary="WMS says 0 available of MILK1L at S100, the ledger says 2")
    return {"store": store, "case": case, "anna": make_user(Role.STORE_MANAGER, [store], username="anna")}


@override_settings(CASE_ADJUSTMENT_APPROVAL_THRESHOLD="20.00")
@pytest.mark.django_db(transaction=True)
def test_the_adjustment_form_stays_while_its_preview_refreshes(page, live_server, log_in, screenshot, estate):
    case = estate["case"]
    log_in(estate["anna"])
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    page.click("#adjust-action summary")
    page.select_option("#id_reason", "SHRINK")
    page.fill("#id_quantity", "-5")
    page.locator("#adjust-preview .preview-table").wait_for()
    # The form is still there, as typed (today the preview replaced the whole case body).
    assert page.locator("#id_quantity").input_value() == "-5"
    assert page.locator("#id_reason").input_value() == "SHRINK"
    preview = page.locator("#adjust-preview").inner_text()
    assert "This takes available from 2 to -3, below zero." in preview
    assert "This case: shortfall below zero 0 → 3" in preview
    _at_each_width(page, screenshot, "case-adjust-preview")

    # Posted without the box ticked: refused, nothing posted, the box asks to be ticked.
    page.click("text=Post adjustment")
    page.locator("#adjust-preview .field-error").wait_for()
    assert not CorrectiveAdjustment.objects.exists()
    page.check("#id_confirm")
    page.click("text=Post adjustment")
    page.locator("#case-history", has_text="Adjustment posted").wait_for()
    assert Position.objects.get(location=case.location, sku=case.sku).available == -3
    assert CaseHistory.objects.filter(case=case).count() == 1

    # Acknowledge is gone from the page; a stale second tab that still shows it gets words, not a 500.
    other = page.context.new_page()
    other.goto(f"{live_server.url}/cases/{case.pk}/")
    resolved = other.locator('#case-counts [data-status="resolved"]')
    resolved_before = int(resolved.inner_text())
    page.click("#resolve-action summary")
    page.select_option("#id_resolution_code", "stock_corrected")
    page.select_option("#id_root_cause", "shrink")
    page.click("text=Resolve case")
    page.locator("#case-status", has_text="Resolved").wait_for()
    other.click("#resolve-action summary")
    other.select_option("#id_resolution_code", "recounted")
    other.select_option("#id_root_cause", "training")
    other.click("text=Resolve case")
    other.locator("#case-refusal").wait_for()
    assert "Cannot resolve it: the case is resolved." in other.locator("#case-refusal").inner_text()
    assert int(resolved.inner_text()) == resolved_before + 1  # the counts came with the refusal
    _at_each_width(other, screenshot, "case-refused")
    other.close()


@override_settings(CASE_ADJUSTMENT_APPROVAL_THRESHOLD="3.00")
@pytest.mark.django_db(transaction=True)
def test_finance_decides_with_what_it_needs(page, live_server, log_in, screenshot, estate):
    from exceptions.services import adjustments

    case = estate["case"]
    adjustments.request_adjustment(case, estate["anna"], "available", -2, "SHRINK")
    other = CaseFactory(location=estate["store"], sku=case.sku, status=Case.Status.OPEN)
    rejected = adjustments.request_adjustment(other, estate["anna"], "available", 4, "FOUND", confirmed=True)
    fiona = make_user(Role.FINANCE, username="fiona")
    adjustments.reject_adjustment(rejected, fiona, "Count it first.")
    log_in(fiona)
    page.goto(f"{live_server.url}/approvals/")
    card = page.locator(".approval").first.inner_text()
    assert "available 2 now, 0 after it" in card and "Reason: Shrink: stolen or lost" in card
    _at_each_width(page, screenshot, "approvals")
    page.click("text=Approve and post")
    page.locator("#approval-table .message-success").wait_for()
    assert "No adjustment is waiting for approval." in page.locator("#approval-table").inner_text()
    assert page.locator("#approval-table tbody tr").count() == 2  # the decisions, newest first
