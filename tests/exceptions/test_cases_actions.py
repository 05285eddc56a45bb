"""Each case action: what it does, and who may not do it (an outsider)."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from exceptions.models import Case, CaseComment, CaseHistory, CorrectiveAdjustment
from exceptions.services import actions, adjustments
from exceptions.services.changes import NotAllowed
from inventory.models import InventoryEvent, Location, Position
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return LocationFactory()


@pytest.fixture
def case(store):
    now = timezone.now()
    return CaseFactory(location=store, response_due_at=now + timedelta(hours=1),
                       resolution_due_at=now + timedelta(hours=4), warning_due_at=now + timedelta(hours=3))


@pytest.fixture
def manager(store):
    return make_user("store_manager", [store])


@pytest.fixture
def outsider():
    return make_user("store_manager", [LocationFactory()])


def test_acknowledge(case, manager):
    actions.acknowledge(case, manager)
    case.refresh_from_db()
    assert case.status == Case.Status.ACKNOWLEDGED and case.acknowledged_at
    row = CaseHistory.objects.get(case=case, action="acknowledge")
    assert (row.actor, row.from_value, row.to_value) == (manager, "open", "acknowledged")


def test_acknowledge_by_outsider_is_refused_and_writes_nothing(case, outsider):
    with pytest.raises(NotAllowed):
        actions.acknowledge(case, outsider)
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN and not CaseHistory.objects.exists()


def test_read_only_role_may_not_act(case):
    with pytest.raises(NotAllowed):
        actions.acknowledge(case, make_user("executive"))


def test_acknowledge_twice_is_a_status_error(case, manager):
    actions.acknowledge(case, manager)
    with pytest.raises(ValidationError) as error:
        actions.acknowledge(case, manager)
    assert "status" in error.value.message_dict


def test_assign_moves_to_in_progress(case, manager, store):
    colleague = make_user("store_manager", [store])
    actions.assign(case, manager, colleague)
    case.refresh_from_db()
    assert case.assignee == colleague and case.status == Case.Status.IN_PROGRESS and case.acknowledged_at
    entry = CaseHistory.objects.get(case=case, action="assign")  # one entry: the status and the assignee
    assert (entry.field, entry.from_value, entry.to_value) == ("status", "open", "in_progress")
    assert entry.other_changes == {"assignee": ["", colleague.username]}


def test_assign_to_someone_who_cannot_see_the_case_names_the_field(case, manager, outsider):
    with pytest.raises(ValidationError) as error:
        actions.assign(case, manager, outsider)
    assert "assignee" in error.value.message_dict
    case.refresh_from_db()
    assert case.assignee is None


@pytest.mark.parametrize("role", ["executive", "pmo"])
def test_assign_to_a_read_only_role_names_the_field(case, manager, role):
    """The service asks may_be_assigned, as the form's shortlist does: a role
    that sees the case but cannot work it is not offered, nor taken by the API."""
    with pytest.raises(ValidationError) as error:
        actions.assign(case, manager, make_user(role))
    assert error.value.message_dict == {"assignee": ["Must be someone whose role works cases."]}
    case.refresh_from_db()
    assert case.assignee is None and not CaseHistory.objects.exists()


def test_assign_by_outsider(case, outsider, manager):
    with pytest.raises(NotAllowed):
        actions.assign(case, outsider, manager)


def test_comment(case, manager):
    actions.comment(case, manager, "Counted the shelf: 4 left")
    assert CaseComment.objects.get(case=case).body == "Counted the shelf: 4 left"
    assert CaseHistory.objects.filter(case=case, action="comment").exists()


def test_empty_comment_names_the_field(case, manager):
    with pytest.raises(ValidationError) as error:
        actions.comment(case, manager, "  ")
    assert "body" in error.value.message_dict


def test_comment_by_outsider(case, outsider):
    with pytest.raises(NotAllowed):
        actions.comment(case, outsider, "hi")
    assert not CaseComment.objects.exists()


def test_waiting_pauses_the_clock_and_resume_moves_due_times(case, manager):
    case.location.kind = Location.Kind.DC  # trades around the clock: the test does not depend on the hour
    case.location.save()
    due = case.resolution_due_at
    actions.set_waiting(case, manager, "ERP team: item master fix")
    case.refresh_from_db()
    assert case.status == Case.Status.WAITING and case.paused_since
    Case.objects.filter(pk=case.pk).update(paused_since=timezone.now() - timedelta(minutes=30))
    case.refresh_from_db()
    actions.resume(case, manager)
    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROGRESS and case.paused_since is None
    assert abs(case.sla_paused_seconds - 1800) < 5
    assert abs((case.resolution_due_at - due) - timedelta(minutes=30)) < timedelta(seconds=5)


def test_wait_needs_to_say_on_whom(case, manager):
    with pytest.raises(ValidationError) as error:
        actions.set_waiting(case, manager, "")
    assert "waiting_on" in error.value.message_dict


def test_wait_and_resume_by_outsider(case, manager, outsider):
    with pytest.raises(NotAllowed):
        actions.set_waiting(case, outsider, "someone")
    actions.set_waiting(case, manager, "someone")
    with pytest.raises(NotAllowed):
        actions.resume(case, outsider)


def test_resolve_requires_code_and_root_cause(case, manager):
    with pytest.raises(ValidationError) as error:
        actions.resolve(case, manager, "", "bad-cause")
    assert set(error.value.message_dict) == {"resolution_code", "root_cause"}
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN


def test_resolve(case, manager):
    actions.resolve(case, manager, "recounted", "process_non_compliance", "Shelf recounted")
    case.refresh_from_db()
    assert case.status == Case.Status.RESOLVED and case.resolved_by == manager
    assert case.root_cause == "process_non_compliance" and not case.auto_resolved


def test_resolve_by_outsider(case, outsider):
    with pytest.raises(NotAllowed):
        actions.resolve(case, outsider, "recounted", "shrink")


def test_reopen(case, manager):
    actions.resolve(case, manager, "recounted", "shrink")
    actions.reopen(case, manager, "Still negative after the count")
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN and case.reopen_count == 1 and case.resolved_at is None


def test_reopen_needs_a_reason_and_scope(case, manager, outsider):
    actions.resolve(case, manager, "recounted", "shrink")
    with pytest.raises(ValidationError) as error:
        actions.reopen(case, manager, "")
    assert "reason" in error.value.message_dict
    with pytest.raises(NotAllowed):
        actions.reopen(case, outsider, "why not")


def test_small_adjustment_posts_to_the_ledger(case, manager):
    actions.resolve(case, manager, "recounted", "shrink", adjustment={"state": "available", "quantity": 3, "reason": "FOUND"})
    adjustment = CorrectiveAdjustment.objects.get()
    assert adjustment.status == CorrectiveAdjustment.Status.POSTED
    assert adjustment.transaction_id == f"case-{case.pk}-adj-1"
    event = InventoryEvent.objects.get(transaction_id=adjustment.transaction_id)
    assert (event.source.code, event.type, event.quantity, event.reason, event.reference) == (
        "CONTROL-TOWER", "adjustment", 3, "FOUND", f"case-{case.pk}")  # the reason code, the case as reference
    assert Position.objects.get(location=case.location, sku=case.sku).available == 3


@override_settings(CASE_ADJUSTMENT_APPROVAL_THRESHOLD="500.00")
def test_large_adjustment_waits_for_finance_then_posts(case, manager):
    actions.resolve(case, manager, "recounted", "shrink", adjustment={"state": "available", "quantity": -400, "reason": "ADMIN_CORRECTION", "confirm": True})
    adjustment = CorrectiveAdjustment.objects.get()
    assert adjustment.value == Decimal("1000.00")
    assert adjustment.status == CorrectiveAdjustment.Status.PENDING_APPROVAL
    assert not InventoryEvent.objects.exists()
    with pytest.raises(NotAllowed):
        adjustments.approve_adjustment(adjustment, manager)
    finance = make_user("finance")
    adjustments.approve_adjustment(adjustment, finance)
    adjustment.refresh_from_db()
    assert adjustment.status == CorrectiveAdjustment.Status.POSTED and adjustment.approved_by == finance
    assert InventoryEvent.objects.get().quantity == -400


def test_reject_adjustment(case, manager):
    actions.resolve(case, manager, "recounted", "shrink", adjustment={"state": "available", "quantity": 1000, "reason": "ADMIN_CORRECTION", "confirm": True})
    adjustment = CorrectiveAdjustment.objects.get()
    adjustments.reject_adjustment(adjustment, make_user("finance"), "count again")
    adjustment.refresh_from_db()
    assert adjustment.status == CorrectiveAdjustment.Status.REJECTED
    with pytest.raises(ValidationError):
        adjustments.approve_adjustment(adjustment, make_user("finance"))
    assert not InventoryEvent.objects.exists()


def test_reject_by_outsider_finance_out_of_scope_is_impossible_for_store_manager(case, manager, outsider):
    actions.resolve(case, manager, "recounted", "shrink", adjustment={"state": "available", "quantity": 1000, "reason": "ADMIN_CORRECTION", "confirm": True})
    with pytest.raises(NotAllowed):
        adjustments.reject_adjustment(CorrectiveAdjustment.objects.get(), outsider)


def test_failed_adjustment_rolls_back_the_resolution(case, manager):
    with pytest.raises(ValidationError) as error:
        actions.resolve(case, manager, "recounted", "shrink", adjustment={"state": "nowhere", "quantity": 3, "reason": "ADMIN_CORRECTION", "confirm": True})
    assert "state" in error.value.message_dict
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN
    assert not CaseHistory.objects.exists() and not CorrectiveAdjustment.objects.exists()
