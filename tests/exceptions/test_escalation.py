"""The SLA sweep: warn at 75%, flag breaches, one ladder step per breach."""
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from exceptions.escalation import escalation_sweep
from exceptions.models import Case, CaseHistory, SLAPolicy, Team
from exceptions.tasks import escalation_sweep as sweep_task
from inventory.models import Location
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def case():
    now = timezone.now()
    return CaseFactory(
        location=LocationFactory(kind=Location.Kind.DC),
        owner=Team.objects.get(code="STORE-OPS"),
        sla_policy=SLAPolicy.objects.get(kind="", severity=3),
        response_due_at=now + timedelta(hours=1),
        warning_due_at=now + timedelta(hours=3),
        resolution_due_at=now + timedelta(hours=4),
    )


def test_nothing_due_does_nothing(case):
    assert escalation_sweep() == {"warned": 0, "breached": 0, "escalated": 0}
    assert mail.outbox == []


def test_warning_at_75_percent_once(case):
    at = case.warning_due_at + timedelta(minutes=1)
    Case.objects.filter(pk=case.pk).update(acknowledged_at=timezone.now())
    assert escalation_sweep(at)["warned"] == 1
    assert escalation_sweep(at)["warned"] == 0
    case.refresh_from_db()
    assert case.warned_at == at and case.breached_at is None
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["store-ops@example.com"]


def test_missed_response_is_a_breach_and_escalates_to_regional_ops(case):
    at = case.response_due_at + timedelta(minutes=1)
    counts = escalation_sweep(at)
    case.refresh_from_db()
    assert counts == {"warned": 0, "breached": 1, "escalated": 1}
    assert case.breached_at == at and case.escalation_level == 1 and case.owner.code == "REGIONAL-OPS"
    assert CaseHistory.objects.filter(case=case, action="escalated", field="escalation_level",
                                      from_value="0", to_value="1").exists()
    assert {tuple(m.to) for m in mail.outbox} == {("store-ops@example.com",), ("regional-ops@example.com",)}


def test_running_twice_does_not_escalate_twice(case):
    at = case.resolution_due_at + timedelta(minutes=1)
    escalation_sweep(at)
    sent = len(mail.outbox)
    assert escalation_sweep(at) == {"warned": 0, "breached": 0, "escalated": 0}
    case.refresh_from_db()
    assert case.escalation_level == 1 and len(mail.outbox) == sent


def test_still_unresolved_after_another_target_goes_to_the_command_center(case):
    at = case.resolution_due_at + timedelta(minutes=1)
    escalation_sweep(at)
    later = at + timedelta(minutes=case.sla_policy.resolution_minutes + 1)  # a DC trades around the clock
    assert escalation_sweep(later)["escalated"] == 1
    case.refresh_from_db()
    assert case.escalation_level == 2 and case.owner.code == "COMMAND-CENTER"
    assert escalation_sweep(later + timedelta(days=30))["escalated"] == 0


def test_waiting_and_resolved_cases_are_left_alone(case):
    other = CaseFactory(status=Case.Status.RESOLVED, resolution_due_at=case.resolution_due_at)
    Case.objects.filter(pk=case.pk).update(status=Case.Status.WAITING)
    assert escalation_sweep(case.resolution_due_at + timedelta(days=1))["breached"] == 0
    other.refresh_from_db()
    assert other.breached_at is None


def test_task_and_command_run_the_sweep(case, capsys):
    Case.objects.filter(pk=case.pk).update(resolution_due_at=timezone.now() - timedelta(minutes=1))
    assert sweep_task.delay().get()["breached"] == 1
    call_command("escalate")
    assert "breached: 0" in capsys.readouterr().out
