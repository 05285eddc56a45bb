"""SLA state is derived from the due times when it is read, never only from
the flags the escalation sweep sets (it may not have run since a case went
past its target): the state in words, the breached counts and the breached
filter all read the same rule (exceptions.services.sla.breached_q)."""
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from controltower.models import Role
from exceptions.filters import CaseFilter
from exceptions.models import Case
from exceptions.services.queries import location_case_figures, status_counts
from exceptions.services.sla import sla_state
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 9, 12, 0, tzinfo=UTC)


def overdue_case(**fields):
    """An open case whose resolution target passed an hour ago; the sweep has not marked it."""
    return CaseFactory(opened_at=NOW - timedelta(hours=5), resolution_due_at=NOW - timedelta(hours=1),
                       warning_due_at=NOW - timedelta(hours=2), breached_at=None, warned_at=None, **fields)


def test_a_case_past_its_due_time_never_reads_on_track():
    case = overdue_case()
    state = sla_state(case, NOW)
    assert (state.state, state.label, state.tone) == ("breached", "Breached", "alert")
    assert state.note.startswith("overdue by")


def test_a_case_past_its_warning_time_reads_at_risk_before_the_sweep_warns_it():
    case = CaseFactory(opened_at=NOW - timedelta(hours=5), resolution_due_at=NOW + timedelta(hours=1),
                       warning_due_at=NOW - timedelta(minutes=10))
    assert sla_state(case, NOW).label == "At risk"


def test_a_waiting_case_past_its_old_due_time_is_paused_not_breached():
    case = overdue_case(status=Case.Status.WAITING)
    assert sla_state(case, NOW).label == "Paused"


def test_a_case_resolved_after_its_due_time_reads_missed_not_done():
    late = overdue_case(status=Case.Status.RESOLVED, resolved_at=NOW)
    in_time = CaseFactory(status=Case.Status.RESOLVED, resolution_due_at=NOW, resolved_at=NOW - timedelta(hours=1))
    cleared = CaseFactory(status=Case.Status.CLOSED, resolution_due_at=NOW, breached_at=NOW - timedelta(hours=3),
                          resolved_at=NOW - timedelta(hours=1))  # breached once, then resolved before a due time waiting pushed back
    assert sla_state(late, NOW).label == "Missed"
    assert sla_state(cleared, NOW).label == "Missed"
    assert sla_state(in_time, NOW).label == "Done"


def test_breached_counts_and_filter_agree_with_the_cases_read_as_breached():
    overdue = overdue_case()
    marked = CaseFactory(location=overdue.location, breached_at=NOW - timedelta(hours=1),
                         resolution_due_at=NOW - timedelta(hours=2))
    CaseFactory(location=overdue.location, resolution_due_at=NOW + timedelta(hours=3))  # on track
    unacknowledged = CaseFactory(location=overdue.location, response_due_at=NOW - timedelta(minutes=5),
                                 resolution_due_at=NOW + timedelta(hours=3))
    with time_machine.travel(NOW, tick=False):
        read_as_breached = {case.pk for case in Case.objects.all() if sla_state(case, NOW).state == "breached"}
        assert read_as_breached == {overdue.pk, marked.pk, unacknowledged.pk}
        _, breached = status_counts(Case.objects.all())
        assert breached == 3
        assert location_case_figures([overdue.location_id])[overdue.location_id]["breached"] == 3
        listed = CaseFilter({"breached": "true"}, queryset=Case.objects.all()).qs
        assert {case.pk for case in listed} == read_as_breached
        assert CaseFilter({"breached": "false"}, queryset=Case.objects.all()).qs.count() == 1


def test_the_queue_and_the_store_page_show_an_overdue_case_as_breached(client):
    case = overdue_case()
    client.force_login(make_user(Role.ADMIN))
    with time_machine.travel(NOW, tick=False):
        queue = client.get("/cases/").content.decode()
        store = client.get(f"/stores/{case.location.code}/").content.decode()
    assert "On track" not in queue and "Breached" in queue and 'class="row-breached"' in queue
    assert "Breached" in store
