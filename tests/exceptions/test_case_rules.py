"""The rules the case page shows, from the domain: the actions a case allows
now (actions.allowed_actions) and its SLA state (sla.sla_state)."""
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from controltower.models import Role
from exceptions.models import Case
from exceptions.services import actions, duplicates
from exceptions.services.changes import FROM_STATUSES
from exceptions.services.sla import sla_state
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory

pytestmark = pytest.mark.django_db
S = Case.Status

CALLS = {
    "acknowledge": lambda case, user: actions.acknowledge(case, user),
    "assign": lambda case, user: actions.assign(case, user, user),
    "wait": lambda case, user: actions.set_waiting(case, user, "DC Nord"),
    "resume": lambda case, user: actions.resume(case, user),
    "resolve": lambda case, user: actions.resolve(case, user, "recounted", "shrink"),
    "reopen": lambda case, user: actions.reopen(case, user, "back again"),
    # Only a suspected duplicate has a pair to settle: refused (and not offered) on any other case.
    "reverse_duplicate": lambda case, user: duplicates.reverse_duplicate(case, user),
    "explain_duplicate": lambda case, user: duplicates.explain_duplicate(case, user, "two sales"),
}


class _Undo(Exception):
    pass


def _succeeds(call, case, user):
    """Whether the service takes the action; nothing it writes is kept."""
    try:
        with transaction.atomic():
            call(Case.objects.get(pk=case.pk), user)
            raise _Undo
    except _Undo:
        return True
    except ValidationError:
        return False


@pytest.fixture
def store():
    return LocationFactory()


@pytest.fixture
def manager(store):
    return make_user(Role.STORE_MANAGER, [store])


def test_the_table_covers_every_action_with_a_from_status():
    assert set(CALLS) == set(FROM_STATUSES)


@pytest.mark.parametrize("status", S.values)
def test_an_action_is_offered_exactly_when_the_service_takes_it(store, manager, status):
    case = CaseFactory(location=store, status=status)
    allowed = actions.allowed_actions(case, manager)
    for action, call in CALLS.items():
        assert (action in allowed) is _succeeds(call, case, manager), (status, action)
    assert {"comment", "adjust"} <= allowed
    assert ("assign_me" in allowed) is (status in Case.ACTIVE)


def test_assign_to_me_is_not_offered_to_the_assignee(store, manager):
    case = CaseFactory(location=store, status=S.IN_PROGRESS, assignee=manager)
    assert "assign" in actions.allowed_actions(case, manager)
    assert "assign_me" not in actions.allowed_actions(case, manager)


def test_adjust_needs_a_store_and_a_sku(store, manager):
    assert "adjust" not in actions.allowed_actions(CaseFactory(location=store, sku=None, fingerprint="no-sku"), manager)
    assert "adjust" in actions.allowed_actions(CaseFactory(location=store), manager)


@pytest.mark.parametrize("role", [Role.PMO, Role.EXECUTIVE])
def test_a_read_only_role_is_offered_nothing(store, role):
    assert actions.allowed_actions(CaseFactory(location=store), make_user(role)) == frozenset()


NOW = timezone.now()
LATER, EARLIER = NOW + timedelta(hours=3, minutes=20), NOW - timedelta(hours=2)


# (status, breached_at, warned_at, resolution_due_at) -> (state, label, tone, note)
SLA_TABLE = [
    ((S.OPEN, None, None, LATER), ("on_track", "On track", "", "3\xa0hours, 20\xa0minutes left")),
    ((S.OPEN, None, NOW, LATER), ("at_risk", "At risk", "warn", "3\xa0hours, 20\xa0minutes left")),
    ((S.IN_PROGRESS, EARLIER, NOW, EARLIER), ("breached", "Breached", "alert", "overdue by 2\xa0hours")),
    ((S.WAITING, None, NOW, LATER), ("paused", "Paused", "warn", "clock stopped while waiting")),
    ((S.WAITING, EARLIER, None, EARLIER), ("breached", "Breached", "alert", "clock stopped while waiting")),
    ((S.RESOLVED, None, None, LATER), ("done", "Done", "", "")),
    ((S.CLOSED, EARLIER, None, EARLIER), ("missed", "Missed", "alert", "")),
    ((S.OPEN, None, None, None), ("no_sla", "No SLA", "", "")),
    # Past its due time though the sweep has not marked it: breached when read.
    ((S.ACKNOWLEDGED, None, None, EARLIER), ("breached", "Breached", "alert", "overdue by 2\xa0hours")),
]


@pytest.mark.parametrize("fields,expected", SLA_TABLE)
def test_sla_state(fields, expected):
    status, breached_at, warned_at, due = fields
    case = Case(status=status, breached_at=breached_at, warned_at=warned_at, resolution_due_at=due)
    sla = sla_state(case, NOW)
    assert (sla.state, sla.label, sla.tone, sla.note) == expected
    assert sla.due_at == due and sla.overdue is (due is not None and due <= NOW)
