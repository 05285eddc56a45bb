"""Adjustments finance can trust: a case waits while its adjustment waits for
finance, a rejection puts it back in progress with the reason, nobody approves
their own request (four eyes), and splitting a correction does not avoid
approval (running totals per case and per location x SKU over the store day)."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from controltower.models import Role
from exceptions.models import Case, CaseHistory, CorrectiveAdjustment
from exceptions.services import actions, adjustments, sync
from exceptions.services.changes import NotAllowed
from exceptions.services.sla import sla_state
from inventory.models import InventoryEvent
from tests.exceptions.factories import CaseFactory, CorrectiveAdjustmentFactory
from tests.inventory.factories import LocationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("threshold")]

A = CorrectiveAdjustment.Status
S = Case.Status
HTMX = {"HTTP_HX_REQUEST": "true"}
# The SKU factory's unit cost is 2.50: 200 units are worth 500.00, the threshold.
UNITS_OF_500 = 200


@pytest.fixture
def threshold():
    with override_settings(CASE_ADJUSTMENT_APPROVAL_THRESHOLD="500.00"):
        yield


@pytest.fixture
def case(people):
    now = timezone.now()
    return CaseFactory(location=people.store, status=S.IN_PROGRESS, response_due_at=now + timedelta(hours=1),
                       resolution_due_at=now + timedelta(hours=4), warning_due_at=now + timedelta(hours=3))


@pytest.fixture
def manager(people):
    return people[Role.STORE_MANAGER].owner


@pytest.fixture
def finance(people):
    return people[Role.FINANCE].owner


def _resolve_with(case, user, quantity):
    actions.resolve(case, user, "recounted", "shrink", note="counted twice",
                    adjustment={"state": "available", "quantity": quantity, "reason": "ADMIN_CORRECTION", "confirm": True})
    return CorrectiveAdjustment.objects.get(case=case, status=A.PENDING_APPROVAL)


# --------------------------------------------------------------------------
# The case waits while finance decides
# --------------------------------------------------------------------------

def test_a_person_time_given_is_the_time_of_every_record_of_the_request_and_the_decision(case, manager, finance):
    """As the demo replays its people's work (controltower.demo.casework): nothing at the wall clock's time."""
    asked, decided = datetime(2026, 3, 2, 17, 0, tzinfo=UTC), datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    actions.resolve(case, manager, "recounted", "shrink", at=asked,
                    adjustment={"state": "available", "quantity": -400, "reason": "SHRINK", "confirm": True})
    adjustment = CorrectiveAdjustment.objects.get(case=case)
    assert adjustment.requested_at == asked and Case.objects.get(pk=case.pk).paused_since == asked
    adjustments.approve_adjustment(adjustment, finance, at=decided)
    adjustment.refresh_from_db()
    case.refresh_from_db()
    assert (adjustment.decided_at, adjustment.posted_at, case.resolved_at) == (decided, decided, decided)
    assert InventoryEvent.objects.get(transaction_id=adjustment.transaction_id).occurred_at == decided
    assert [entry.at for entry in case.history.order_by("at")] == [asked, decided]


def test_a_large_adjustment_keeps_the_case_waiting_then_approval_resolves_it(case, manager, finance):
    adjustment = _resolve_with(case, manager, -400)  # 1,000.00
    case.refresh_from_db()
    assert case.status == S.WAITING and case.resolved_at is None and case.paused_since is not None
    assert case.waiting_on == f"finance approval of {adjustment.transaction_id} (1,000.00)"
    state = sla_state(case, timezone.now())
    assert (state.state, state.note) == ("paused", "clock stopped while waiting")
    assert "resume" not in actions.allowed_actions(case, manager)
    with pytest.raises(ValidationError, match="waits for finance"):
        actions.resume(case, manager)
    assert not InventoryEvent.objects.exists()

    due = case.resolution_due_at
    adjustments.approve_adjustment(adjustment, finance)
    case.refresh_from_db()
    assert case.status == S.RESOLVED and case.resolved_by == manager and case.paused_since is None
    assert (case.resolution_code, case.root_cause, case.resolution_note) == ("recounted", "shrink", "counted twice")
    assert case.waiting_on == "" and case.resolution_due_at >= due
    assert InventoryEvent.objects.get().quantity == -400


def test_a_rejection_puts_the_case_back_in_progress_with_the_reason(case, manager, finance):
    adjustment = _resolve_with(case, manager, -400)
    with pytest.raises(ValidationError) as error:
        adjustments.reject_adjustment(adjustment, finance, "  ")
    assert "reason" in error.value.message_dict
    adjustments.reject_adjustment(adjustment, finance, "count the back room too")
    case.refresh_from_db()
    assert case.status == S.IN_PROGRESS and case.resolved_at is None and case.paused_since is None
    assert case.waiting_on == "" and case.resolution_code == ""
    assert CorrectiveAdjustment.objects.get().decision_note == "count the back room too"
    moved = CaseHistory.objects.get(case=case, action="finance_rejected", field="status")
    assert (moved.from_value, moved.to_value, moved.actor) == (S.WAITING, S.IN_PROGRESS, finance)
    assert "count the back room too" in moved.note
    assert not InventoryEvent.objects.exists()
    # The case can be worked again: resolved without the adjustment.
    actions.resolve(case, manager, "recounted", "shrink")
    assert Case.objects.get(pk=case.pk).status == S.RESOLVED


def test_an_adjustment_on_its_own_puts_the_case_back_in_progress_once_approved(case, manager, finance):
    adjustment = adjustments.request_adjustment(case, manager, "available", -400, "ADMIN_CORRECTION", confirmed=True)
    assert Case.objects.get(pk=case.pk).status == S.WAITING
    adjustments.approve_adjustment(adjustment, finance)
    assert Case.objects.get(pk=case.pk).status == S.IN_PROGRESS


def test_resolving_a_case_waiting_for_finance_resolves_it_when_finance_approves(case, manager, finance):
    adjustment = adjustments.request_adjustment(case, manager, "available", -400, "ADMIN_CORRECTION", confirmed=True)
    actions.resolve(case, manager, "recounted", "training")
    case.refresh_from_db()
    assert case.status == S.WAITING and case.resolved_at is None
    with pytest.raises(ValidationError, match="waits for finance approval"):
        actions.resolve(case, manager, "recounted", "shrink", adjustment={"state": "available", "quantity": 1, "reason": "ADMIN_CORRECTION", "confirm": True})
    adjustments.approve_adjustment(adjustment, finance)
    case.refresh_from_db()
    assert (case.status, case.root_cause) == (S.RESOLVED, "training")


def test_a_resolved_case_cannot_take_an_adjustment_that_needs_approval(case, manager):
    actions.resolve(case, manager, "recounted", "shrink")
    with pytest.raises(ValidationError, match="reopen the case first"):
        adjustments.request_adjustment(case, manager, "available", -400, "ADMIN_CORRECTION", confirmed=True)
    assert not CorrectiveAdjustment.objects.exists()
    adjustments.request_adjustment(case, manager, "available", 3, "ADMIN_CORRECTION", confirmed=True)  # a small one still posts
    assert Case.objects.get(pk=case.pk).status == S.RESOLVED


# --------------------------------------------------------------------------
# Four eyes
# --------------------------------------------------------------------------

def test_nobody_decides_on_their_own_request(case, people):
    asker, colleague = people[Role.FINANCE].owner, people[Role.FINANCE].colleague
    adjustment = adjustments.request_adjustment(case, asker, "available", -400, "ADMIN_CORRECTION", confirmed=True)
    with pytest.raises(NotAllowed, match="four eyes"):
        adjustments.approve_adjustment(adjustment, asker)
    with pytest.raises(NotAllowed, match="four eyes"):
        adjustments.reject_adjustment(adjustment, asker, "changed my mind")
    assert CorrectiveAdjustment.objects.get().status == A.PENDING_APPROVAL
    adjustments.approve_adjustment(adjustment, colleague)
    assert CorrectiveAdjustment.objects.get().status == A.POSTED


# --------------------------------------------------------------------------
# Running totals
# --------------------------------------------------------------------------

def test_twenty_adjustments_of_500_on_one_case_do_not_avoid_approval(case, manager):
    refused = 0
    for _ in range(20):
        try:
            adjustments.request_adjustment(case, manager, "available", UNITS_OF_500, "ADMIN_CORRECTION", confirmed=True)
        except ValidationError:
            refused += 1
    assert list(CorrectiveAdjustment.objects.values_list("value", "status")) == [
        (Decimal("500.00"), A.POSTED), (Decimal("500.00"), A.PENDING_APPROVAL)]
    assert refused == 18  # one waits for finance: the others wait for its decision
    assert InventoryEvent.objects.count() == 1
    asked = CaseHistory.objects.get(case=case, action="wait_for_finance")  # one entry for the request
    assert asked.note == (f"Finance approves case-{case.pk}-adj-2 first: this brings the case's adjustments to "
                          "1,000.00, above 500.00. The case goes back in progress once finance approves it.")
    assert asked.other_changes["adjustment"] == ["", "+200 available (500.00, Booking error corrected)"]
    assert Case.objects.get(pk=case.pk).status == S.WAITING


def test_a_rejected_adjustment_does_not_count_toward_the_case_total(case):
    CorrectiveAdjustmentFactory(case=case, value=Decimal("450.00"), status=A.REJECTED)
    assert not adjustments.adjustment_approval(case, 24).needed  # 60.00: the rejected one does not count
    CorrectiveAdjustmentFactory(case=case, value=Decimal("450.00"), status=A.POSTED)
    assert not adjustments.adjustment_approval(case, 20).needed  # 450.00 + 50.00 is not above 500.00
    assert adjustments.adjustment_approval(case, 24).needed  # 450.00 + 60.00 is


def test_the_location_sku_total_over_the_store_day_counts_every_case(people, manager):
    case = CaseFactory(location=people.store, status=S.IN_PROGRESS)
    other = CaseFactory(location=people.store, sku=case.sku, status=S.IN_PROGRESS)
    elsewhere = CaseFactory(location=LocationFactory(), sku=case.sku)
    CorrectiveAdjustmentFactory(case=elsewhere, value=Decimal("480.00"), status=A.POSTED)
    yesterday = timezone.now() - timedelta(days=1, hours=1)
    CorrectiveAdjustmentFactory(case=other, value=Decimal("480.00"), status=A.POSTED, requested_at=yesterday)
    adjustments.request_adjustment(other, manager, "available", 120, "ADMIN_CORRECTION", confirmed=True)  # 300.00: posted
    assert adjustments.adjustment_approval(case, 80).needed is False  # 300 + 200 = 500.00, not above
    approval = adjustments.adjustment_approval(case, 96)  # 300 + 240 = 540.00
    start, _ = adjustments.store_day(people.store, timezone.now())
    assert approval.needed and approval.why == (
        f"this brings the adjustments of {case.sku.code} at {people.store.code} on {start.date():%d %b %Y} "
        "(store day) to 540.00, above 500.00")
    adjustment = adjustments.request_adjustment(case, manager, "available", 96, "ADMIN_CORRECTION", confirmed=True)
    assert adjustment.status == A.PENDING_APPROVAL


def test_the_store_day_is_the_locations_own_day():
    store = LocationFactory.build(timezone="Europe/Berlin")
    moment = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # 00:30 on 2 Dec in Berlin
    start, end = adjustments.store_day(store, moment)
    assert start.isoformat() == "2026-12-02T00:00:00+01:00" and end - start == timedelta(days=1)


# --------------------------------------------------------------------------
# The screens and the API
# --------------------------------------------------------------------------

def test_the_preview_says_the_running_total_needs_approval(client, case, manager):
    CorrectiveAdjustmentFactory.create_batch(2, case=case, value=Decimal("300.00"), status=A.POSTED)
    client.force_login(manager)
    preview = client.get(reverse("case-adjust-preview", args=[case.pk]),
                         {"state": "available", "quantity": "176", "reason": "ADMIN_CORRECTION", "confirm": "on"}, **HTMX)  # 440.00
    body = preview.content.decode()
    assert "this brings the case&#x27;s adjustments to 1,040.00, above 500.00" in body
    assert "waits for finance approval" in body and preview.context["preview"]["needs_approval"]


def test_adjustments_split_on_the_case_page_wait_for_finance(client, case, manager):
    client.force_login(manager)
    for _ in range(3):
        response = client.post(reverse("case-adjust", args=[case.pk]),
                               {"state": "available", "quantity": str(UNITS_OF_500), "reason": "FOUND"}, **HTMX)
    assert "waits for finance approval" in response.content.decode()  # the third: refused, in words
    assert list(CorrectiveAdjustment.objects.values_list("status", flat=True)) == [A.POSTED, A.PENDING_APPROVAL]
    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert f"finance approval of case-{case.pk}-adj-2 (500.00)" in page
    assert "Resume</button>" not in page


def test_the_approvals_screen_does_not_offer_ones_own_request(client, case, people):
    asker, colleague = people[Role.FINANCE].owner, people[Role.FINANCE].colleague
    mine = adjustments.request_adjustment(case, asker, "available", -400, "ADMIN_CORRECTION", confirmed=True)
    client.force_login(asker)
    body = client.get(reverse("approvals")).content.decode()
    assert "another approver decides on it (four eyes)" in body
    assert reverse("approval-approve", args=[mine.pk]) not in body
    refused = client.post(reverse("approval-approve", args=[mine.pk]), **HTMX)
    assert refused.status_code == 403 and "four eyes" in refused.content.decode()
    assert CorrectiveAdjustment.objects.get().status == A.PENDING_APPROVAL
    client.force_login(colleague)
    body = client.get(reverse("approvals")).content.decode()
    assert reverse("approval-approve", args=[mine.pk]) in body and "four eyes" not in body


def test_a_rejection_on_the_screen_shows_its_reason_on_the_case_page(client, case, manager, finance):
    adjustment = _resolve_with(case, manager, -400)
    client.force_login(finance)
    client.post(reverse("approval-reject", args=[adjustment.pk]), {"reason": "count the back room"}, **HTMX)
    client.force_login(manager)
    page = client.get(reverse("case-detail", args=[case.pk]))
    assert page.context["case"].status == S.IN_PROGRESS
    body = page.content.decode()
    assert "Rejected: count the back room" in body
    assert f"Finance rejected {adjustment.transaction_id}: count the back room." in body


def test_the_api_waits_refuses_ones_own_request_and_reopens_on_rejection(api_client, case, people):
    asker, colleague = people[Role.FINANCE].owner, people[Role.FINANCE].colleague
    api_client.force_authenticate(asker)
    resolved = api_client.post(f"/api/v1/cases/{case.pk}/resolve", {
        "resolution_code": "recounted", "root_cause": "shrink",
        "adjustment": {"state": "available", "quantity": -400, "reason": "ADMIN_CORRECTION", "confirm": True},
    }, format="json")
    assert resolved.status_code == 200 and resolved.json()["status"] == "waiting"
    assert resolved.json()["waiting_on"].startswith("finance approval of ")
    adjustment = CorrectiveAdjustment.objects.get()
    own = api_client.post(f"/api/v1/adjustments/{adjustment.pk}/approve")
    assert own.status_code == 403 and "four eyes" in own.content.decode()
    api_client.force_authenticate(colleague)
    blank = api_client.post(f"/api/v1/adjustments/{adjustment.pk}/reject", {"reason": ""}, format="json")
    assert blank.status_code == 400
    rejected = api_client.post(f"/api/v1/adjustments/{adjustment.pk}/reject", {"reason": "wrong SKU"}, format="json")
    assert rejected.status_code == 200 and rejected.json()["decision_note"] == "wrong SKU"
    body = api_client.get(f"/api/v1/cases/{case.pk}").json()
    assert body["status"] == "in_progress"
    assert any("wrong SKU" in row["note"] for row in body["history"])


def test_a_cleared_condition_does_not_resolve_a_case_waiting_for_finance(case, manager, finance):
    adjustment = _resolve_with(case, manager, -400)
    cleared = CaseFactory(location=case.location, status=S.IN_PROGRESS)
    report = sync.sync_findings("negative_stock", [])
    assert report.resolved == [cleared.pk]
    assert Case.objects.get(pk=case.pk).status == S.WAITING
    adjustments.approve_adjustment(adjustment, finance)
    case.refresh_from_db()
    assert (case.status, case.resolution_code, case.auto_resolved) == (S.RESOLVED, "recounted", False)
