"""Finance's decision on an adjustment is in the audit trail (the service
writes it with a guarded update, which auditlog alone does not see): who
approved or rejected it, the status before and after, and its posting."""
import pytest
from auditlog.models import LogEntry
from django.test import override_settings

from controltower.models import Role
from exceptions.models import CorrectiveAdjustment
from exceptions.services import adjustments
from tests.exceptions.factories import CaseFactory, CorrectiveAdjustmentFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("threshold")]

A = CorrectiveAdjustment.Status


@pytest.fixture
def threshold():
    with override_settings(CASE_ADJUSTMENT_APPROVAL_THRESHOLD="10.00"):
        yield


def test_an_approved_adjustment_is_in_the_trail_with_who_and_before_and_after(people):
    finance = people[Role.FINANCE].owner
    adjustment = CorrectiveAdjustmentFactory(case=CaseFactory(location=people.store, status="waiting"), quantity=-4)

    adjustments.approve_adjustment(adjustment, finance)

    requested, decided, posted = LogEntry.objects.get_for_object(adjustment).order_by("id")
    assert requested.action == LogEntry.Action.CREATE and requested.changes["quantity"] == ["None", "-4"]
    assert (decided.action, decided.actor) == (LogEntry.Action.UPDATE, finance)
    assert decided.changes["status"] == [A.PENDING_APPROVAL, A.APPROVED]
    assert decided.changes["approved_by"] == ["None", str(finance.pk)]
    assert (posted.actor, posted.changes["status"]) == (finance, [A.APPROVED, A.POSTED])


def test_a_rejected_adjustment_is_in_the_trail_with_the_reason(people):
    finance = people[Role.FINANCE].owner
    adjustment = CorrectiveAdjustmentFactory(case=CaseFactory(location=people.store, status="waiting"), quantity=-4)

    adjustments.reject_adjustment(adjustment, finance, reason="Count it again first")

    decided = LogEntry.objects.get_for_object(adjustment).order_by("id").last()
    assert decided.actor == finance
    assert decided.changes["status"] == [A.PENDING_APPROVAL, A.REJECTED]
    assert decided.changes["decision_note"][0] == "None"
    assert decided.changes["decision_note"][1].startswith("Count it again first")
