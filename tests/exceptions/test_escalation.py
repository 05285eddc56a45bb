"""The SLA sweep: warn at 75%, flag breaches, one ladder step per breach."""
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.utils import timezone

from exceptions.models import Case, CaseHistory, SLAPolicy, Team
from exceptions.services.sla import escalation_sweep, sla_clock
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


def test_an_escalation_is_one_history_entry_in_the_actions_format(case):
    """Written by the case service's one writer: the level is the entry's
    field, the owner its other change, as an action's entry reads."""
    at = case.response_due_at + timedelta(minutes=1)
    Case.objects.filter(pk=case.pk).update(breached_at=at, escalation_due_at=at)
    assert escalation_sweep(at)["escalated"] == 1
    entry = CaseHistory.objects.get(case=case)
    assert (entry.action, entry.actor, entry.at) == ("escalated", None, at)
    assert (entry.field, entry.from_value, entry.to_value) == ("escalation_level", "0", "1")
    assert entry.other_changes == {"owner": [Team.objects.get(code="STORE-OPS").name,
                                             Team.objects.get(code="REGIONAL-OPS").name]}
    assert entry.note.startswith("Escalated to ")


def test_the_next_escalation_falls_due_on_the_cases_sla_clock():
    """A store's case counts its store's trading hours to the next step, as
    its due times and its pauses do (one SLA clock)."""
    store = LocationFactory(kind=Location.Kind.STORE, timezone="Europe/Berlin")
    policy = SLAPolicy.objects.get(kind="", severity=3)
    at = datetime(2026, 11, 17, 21, 30, tzinfo=ZoneInfo("Europe/Berlin"))  # a Tuesday, near closing
    case = CaseFactory(location=store, owner=Team.objects.get(code="STORE-OPS"), sla_policy=policy,
                       opened_at=at - timedelta(days=1), resolution_due_at=at, breached_at=at, escalation_due_at=at)
    assert escalation_sweep(at)["escalated"] == 1
    case.refresh_from_db()
    assert policy.trading_hours_only
    assert case.escalation_due_at == sla_clock(case).add(at, policy.resolution_minutes)
    assert case.escalation_due_at > at + timedelta(minutes=policy.resolution_minutes)  # the night does not count


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



@contextmanager
def refusing_history():
    """The database refuses every new case history row while inside: a real
    failure (a trigger), not a stand-in for our code."""
    table = CaseHistory._meta.db_table
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute("CREATE FUNCTION refuse_history() RETURNS trigger AS $$ "
                           "BEGIN RAISE EXCEPTION 'history refused'; END $$ LANGUAGE plpgsql")
            cursor.execute(f"CREATE TRIGGER refuse_history BEFORE INSERT ON {table} "
                           "FOR EACH ROW EXECUTE FUNCTION refuse_history()")
        else:
            cursor.execute(f"CREATE TRIGGER refuse_history BEFORE INSERT ON {table} "
                           "BEGIN SELECT RAISE(ABORT, 'history refused'); END")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if postgres:
                cursor.execute(f"DROP TRIGGER refuse_history ON {table}")
                cursor.execute("DROP FUNCTION refuse_history()")
            else:
                cursor.execute("DROP TRIGGER refuse_history")


@pytest.mark.parametrize("due", ["warning_due_at", "response_due_at"])
def test_a_case_is_not_changed_when_its_history_cannot_be_written(case, due):
    """A warning or a breach: the case's flag and its history go together."""
    at = getattr(case, due) + timedelta(minutes=1)
    if due == "warning_due_at":
        Case.objects.filter(pk=case.pk).update(acknowledged_at=timezone.now())
    before = Case.objects.filter(pk=case.pk).values().get()

    with refusing_history(), pytest.raises(DatabaseError, match="history refused"):
        escalation_sweep(at)

    assert Case.objects.filter(pk=case.pk).values().get() == before
    assert mail.outbox == []
    # Once history can be written again, the next sweep does the work.
    assert sum(escalation_sweep(at).values()) >= 1
    assert CaseHistory.objects.filter(case=case, action__in=["sla_warning", "sla_breach"]).count() == 1


def test_an_escalation_is_not_kept_when_its_history_cannot_be_written(case):
    """The breach was flagged earlier; the escalation step leaves level, owner
    and next due time as they were when its history is refused."""
    at = case.response_due_at + timedelta(minutes=1)
    Case.objects.filter(pk=case.pk).update(breached_at=at, escalation_due_at=at)
    fields = ("escalation_level", "owner_id", "escalation_due_at")
    before = Case.objects.filter(pk=case.pk).values(*fields).get()

    with refusing_history(), pytest.raises(DatabaseError, match="history refused"):
        escalation_sweep(at)

    assert Case.objects.filter(pk=case.pk).values(*fields).get() == before
    assert not CaseHistory.objects.filter(case=case, action="escalated").exists()
    assert mail.outbox == []
