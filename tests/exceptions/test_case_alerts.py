"""Case alerts (exceptions.services.alerts): a case assigned to someone, new
cases routed to a team, an escalation, an adjustment waiting for finance;
each told once, through the channels of the person or team."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from controltower import alerts
from controltower.models import Alert, Delivery, Role
from exceptions.findings import Finding
from exceptions.models import Case, SLAPolicy, Team
from exceptions.services import actions
from exceptions.services.sla import escalation_sweep
from exceptions.services.sync import sync_findings
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory, SKUFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return LocationFactory()


def test_a_case_assigned_to_someone_tells_them_through_their_channel(store):
    manager = make_user(Role.STORE_MANAGER, [store], username="mia")
    colleague = make_user(Role.STORE_MANAGER, [store], username="max")
    alerts.add_channel("mailto://max@example.com", user=colleague)
    case = CaseFactory(location=store)
    actions.assign(case, manager, colleague)
    alert = Alert.objects.get(user=colleague)
    assert alert.subject.startswith(f"[Control Tower] Case #{case.pk} assigned to you")
    assert alert.link == f"/cases/{case.pk}/"
    delivery = alert.deliveries.get()  # its task runs on commit
    assert (delivery.channel.masked, delivery.state) == ("mailto://….com", Delivery.State.PENDING)
    assert not Alert.objects.filter(user=manager).exists()


def test_new_cases_are_told_to_their_team_once_per_kind(store):
    team = Team.objects.get(code="STORE-OPS")
    alerts.add_channel("json://127.0.0.1:9/hook", team=team)
    findings = [Finding(kind="negative_stock", location_id=store.pk, sku_id=SKUFactory().pk, severity=2,
                        quantity_at_risk=3, value_at_risk=Decimal("7.50"), summary="sold more than it had")
                for _ in range(3)]
    sync_findings("negative_stock", findings)
    sync_findings("negative_stock", findings)  # the same findings again: no new case, no new alert
    alert = Alert.objects.get(team=team)
    assert alert.subject.startswith("[Control Tower] 3 new cases for")
    assert alert.deliveries.get().state == Delivery.State.PENDING  # recorded; its task runs on commit


def test_an_escalation_tells_the_new_team_and_the_assignee_once(store):
    now = timezone.now()
    assignee = make_user(Role.STORE_MANAGER, [store], username="ann")
    case = CaseFactory(location=store, owner=Team.objects.get(code="STORE-OPS"), assignee=assignee,
                       sla_policy=SLAPolicy.objects.get(kind="", severity=3), response_due_at=now - timedelta(hours=1),
                       warning_due_at=now + timedelta(hours=3), resolution_due_at=now + timedelta(hours=4))
    escalation_sweep(now)
    escalation_sweep(now + timedelta(minutes=5))
    case.refresh_from_db()
    told = Alert.objects.filter(key=f"case-escalated:{case.pk}:1")
    assert {(a.user, a.team) for a in told} == {(assignee, None), (None, case.owner)}
    assert "Escalated to" in told.first().body


@override_settings(CASE_ADJUSTMENT_APPROVAL_THRESHOLD="500.00")
def test_an_adjustment_waiting_for_finance_tells_the_finance_people():
    store = LocationFactory()
    manager = make_user(Role.STORE_MANAGER, [store])
    finance = make_user(Role.FINANCE, username="fay")
    make_user(Role.PLANNER, username="pat")
    now = timezone.now()
    case = CaseFactory(location=store, status=Case.Status.IN_PROGRESS, response_due_at=now + timedelta(hours=1),
                       resolution_due_at=now + timedelta(hours=4), warning_due_at=now + timedelta(hours=3))
    actions.resolve(case, manager, "recounted", "shrink", note="counted twice",
                    adjustment={"state": "available", "quantity": -400, "reason": "ADMIN_CORRECTION", "confirm": True})
    assert list(Alert.objects.filter(key__startswith="approval-waiting:").values_list("user__username", flat=True)) == [
        "fay"]
    assert "waits for your approval" in Alert.objects.get(user=finance).subject
