"""The full demo's people at work on their cases (controltower.demo.casework):
cases resolved with root causes over the weeks, stock corrections, finance's
approvals waiting and decided, every action on the simulated clock before
the load. Built here at a few stores over two weeks, with the approval
threshold `make demo` runs with."""
from datetime import datetime, timedelta
from pathlib import Path
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import transaction
from django.test import override_settings

from controltower.demo.retailer import DemoReport
from controltower.demo.casework import FINANCE_DAYS
from controltower.demo.simulated import APPROVAL_THRESHOLD, load_simulated
from controltower.metrics import Scope, Window, measure
from exceptions import pareto
from exceptions.models import Case, CaseHistory, CorrectiveAdjustment
from inventory.models import Location

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 14, 15, 30, tzinfo=dt_timezone.utc)
DIMS = {"stores": 9, "skus": 20, "days": 21}
S = CorrectiveAdjustment.Status
DEMO_APPROVAL_THRESHOLD = Decimal(APPROVAL_THRESHOLD)  # as `make demo` runs (Makefile)


def load():
    report = DemoReport(events_loaded=False)
    load_simulated(42, NOW, report, **DIMS)
    return report


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic(), \
            override_settings(CASE_ADJUSTMENT_APPROVAL_THRESHOLD=DEMO_APPROVAL_THRESHOLD):
        yield load()
        transaction.set_rollback(True)


def resolved_by_people():
    """The tower's cases people resolved (the issues they reported are worked on their own script)."""
    return (Case.objects.filter(status=Case.Status.RESOLVED, auto_resolved=False).exclude(root_cause="")
            .exclude(kind="reported"))


def test_people_resolve_older_cases_with_root_causes_over_the_weeks(demo):
    resolved = list(resolved_by_people().select_related("resolved_by"))
    assert len(resolved) >= 5
    people = {case.resolved_by.username for case in resolved}
    assert len(people) >= 2 and people <= {"manager.berlin", "manager.paris", "ops.germany", "planner"}
    assert all(case.resolved_at - case.opened_at >= timedelta(days=2) for case in resolved)
    assert all(case.resolution_note.endswith("(demo)") for case in resolved)
    weeks = {case.resolved_at.isocalendar()[1] for case in resolved}
    assert len(weeks) >= 2  # a trend, not one day's work
    assert len({case.root_cause for case in resolved}) >= 3


def test_the_root_cause_pareto_and_the_training_share_have_data(demo):
    stores = list(Location.objects.filter(kind=Location.Kind.STORE))
    at_stores = Case.objects.filter(location__in=stores)
    found = pareto.pareto(at_stores, "root_cause", [store.code for store in stores], NOW)
    assert found.total >= resolved_by_people().filter(location__in=stores).count() > 0
    periods, by_week = pareto.by_week(at_stores, NOW)
    assert len({week for week, _ in by_week}) >= 2
    share = measure("training_root_cause_share", Scope.of(locations=[store.pk for store in stores]),
                    Window(NOW - timedelta(days=21), NOW))
    assert share.value is not None and 0 <= share.value <= 100


def test_finance_has_adjustments_waiting_and_decided_with_their_history(demo):
    statuses = set(CorrectiveAdjustment.objects.values_list("status", flat=True))
    assert {S.PENDING_APPROVAL, S.POSTED, S.REJECTED} <= statuses
    waiting = CorrectiveAdjustment.objects.filter(status=S.PENDING_APPROVAL).select_related("case")
    assert all(adjustment.case.status == Case.Status.WAITING for adjustment in waiting)
    assert all(adjustment.value > DEMO_APPROVAL_THRESHOLD for adjustment in waiting)
    rejected = CorrectiveAdjustment.objects.filter(status=S.REJECTED).first()
    assert rejected.approved_by.username == "finance" and rejected.decision_note
    assert rejected.case.history.filter(action="finance_rejected", actor__username="finance").exists()
    approved = CorrectiveAdjustment.objects.filter(status=S.POSTED, approved_by__username="finance").first()
    assert approved.case.history.filter(action="finance_approved").exists()
    assert approved.posted_at - approved.requested_at >= timedelta(days=FINANCE_DAYS)


def test_every_action_is_on_the_simulated_clock_before_the_load(demo):
    people = CaseHistory.objects.filter(actor__isnull=False)
    assert people.exists() and not people.filter(at__gt=NOW).exists()
    assert not CorrectiveAdjustment.objects.filter(requested_at__gt=NOW).exists()
    assert not CorrectiveAdjustment.objects.filter(decided_at__gt=NOW).exists()
    assert not Case.objects.filter(resolved_at__gt=NOW).exists()


def test_a_second_load_works_no_case_again(demo):
    before = (CaseHistory.objects.count(), CorrectiveAdjustment.objects.count())
    load()
    assert (CaseHistory.objects.count(), CorrectiveAdjustment.objects.count()) == before


def test_the_pilots_people_report_issues_worked_and_resolved_with_root_causes_the_latest_still_open(demo):
    reported = Case.objects.filter(kind="reported").order_by("opened_at")
    assert reported.count() >= 4
    assert all(case.opened_at < NOW for case in reported)
    resolved = [case for case in reported if case.status == Case.Status.RESOLVED]
    assert len(resolved) >= 3 and all(case.root_cause and case.resolved_at <= NOW for case in resolved)
    assert {case.resolved_by.username for case in resolved} <= {"manager.berlin", "manager.paris"}
    still_open = [case for case in reported if case.status in Case.ACTIVE]
    assert still_open and all(NOW - case.opened_at < timedelta(days=5) for case in still_open)
    # Hypercare's count of open severity-1/2 reported issues sees the open severity-1 at the pilot store.
    store = Location.objects.get(code="SIMN001")
    reading = measure("open_reported_sev12", Scope.of(locations=[store.pk]), Window(NOW - timedelta(days=1), NOW)).reading
    assert reading.value >= 1


def test_the_makefile_runs_the_demo_with_the_demos_approval_threshold():
    makefile = (Path(settings.BASE_DIR) / "Makefile").read_text()
    assert f"demo demo-data: export CASE_ADJUSTMENT_APPROVAL_THRESHOLD = {APPROVAL_THRESHOLD}\n" in makefile
