"""controltower.web.mywork: the work waiting for a person, counted for any
role, in their scope; the menu's counts and the landing's panel read it."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from controltower.models import Role
from controltower.web.mywork import my_work
from exceptions.models import Case, Team
from rollout.models import Gate, GateKind, GoNoGo, SignOff, Waiver
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory, CorrectiveAdjustmentFactory, TeamFactory
from tests.inventory.factories import LocationFactory
from tests.rollout.factories import CriterionFactory, GateTemplateFactory, WaveFactory

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(timezone.datetime(2026, 11, 20, 10, 0))


def counts(user):
    return {line.label: line.count for line in my_work(user, now=NOW).lines}


def open_gate(wave, kind, roles=()):
    template = GateTemplateFactory(program=wave.program, kind=kind, required_roles=list(roles))
    return Gate.objects.create(wave=wave, template=template, status=Gate.Status.OPEN, opened_at=NOW)


@pytest.fixture
def store():
    return LocationFactory()


def test_a_store_manager_counts_their_cases_their_teams_and_their_sign_offs(store):
    manager = make_user(Role.STORE_MANAGER, locations=[store])
    someone = make_user(Role.STORE_MANAGER, locations=[store])
    store_team = TeamFactory(code="STORE-T", kind=Team.Kind.STORE)
    planning = TeamFactory(code="PLAN-T", kind=Team.Kind.PLANNING)
    CaseFactory(location=store, assignee=manager)
    CaseFactory(location=store, assignee=manager, status=Case.Status.RESOLVED)  # done: not waiting
    CaseFactory(location=store, assignee=someone)
    CaseFactory(location=store, owner=store_team)  # nobody took it yet
    CaseFactory(location=store, owner=planning)  # another team's
    CaseFactory(location=LocationFactory(), owner=store_team)  # another store's
    wave = WaveFactory(stores=[store])
    gate = open_gate(wave, GateKind.STORE_READINESS, roles=[Role.STORE_MANAGER, Role.FINANCE])

    assert counts(manager) == {"Cases assigned to you": 1, "Your team's cases nobody has taken": 1,
                               "Gates waiting for your sign-off": 1}
    SignOff.objects.create(gate=gate, role=Role.STORE_MANAGER, person=someone, at=NOW - timedelta(hours=1))
    assert counts(manager)["Gates waiting for your sign-off"] == 0


def test_finance_counts_the_approvals_waiting_but_not_its_own_request(store):
    finance = make_user(Role.FINANCE)
    CorrectiveAdjustmentFactory(case=CaseFactory(location=store))
    CorrectiveAdjustmentFactory(case=CaseFactory(location=store), requested_by=finance)  # four eyes
    CorrectiveAdjustmentFactory(case=CaseFactory(location=store), status="posted")
    assert counts(finance)["Adjustments waiting for your approval"] == 1


def test_the_pmo_counts_waivers_and_the_executive_go_no_go_decisions(store):
    pmo, other_pmo, executive = make_user(Role.PMO), make_user(Role.PMO), make_user(Role.EXECUTIVE)
    wave = WaveFactory(stores=[store])
    readiness = open_gate(wave, GateKind.DATA_READINESS)
    criterion = CriterionFactory(template=readiness.template)
    Waiver.objects.create(gate=readiness, criterion=criterion, reason="Vendor fix next week",
                          expires_at=NOW + timedelta(days=7), requested_by=other_pmo)
    Waiver.objects.create(gate=readiness, criterion=criterion, reason="Mine", expires_at=NOW + timedelta(days=7),
                          requested_by=pmo)
    cutover = open_gate(wave, GateKind.CUTOVER)

    assert counts(pmo)["Waivers waiting for your approval"] == 1
    assert counts(executive) == {"Cutovers waiting for a go/no-go decision": 1}
    GoNoGo.objects.create(gate=cutover, decision=GoNoGo.Decision.GO, decided_by=executive, decided_at=NOW)
    assert counts(executive) == {"Cutovers waiting for a go/no-go decision": 0}


def test_the_menu_counts_the_work_and_the_landing_shows_it(client, store):
    finance = make_user(Role.FINANCE)
    CorrectiveAdjustmentFactory(case=CaseFactory(location=store))
    CorrectiveAdjustmentFactory(case=CaseFactory(location=store))
    CaseFactory(location=store, assignee=finance)
    client.force_login(finance)

    landing = client.get(reverse("home"), follow=True)
    counted = {item["label"]: item["count"] for item in landing.context["nav_items"]}
    assert counted["Approvals"] == 2 and counted["Cases"] == 1 and counted["Variances"] == 0
    html = landing.content.decode()
    assert 'id="my-work-title"' in html
    assert f'<a href="{reverse("approvals")}"><strong>2</strong> adjustments waiting for your approval</a>' in html
    assert f'href="{reverse("cases")}?assignee=me"><strong>1</strong> cases assigned to you' in html
    # Not a landing: the menu counts, no panel.
    assert 'id="my-work-title"' not in client.get(reverse("cases")).content.decode()


def test_the_team_filter_lists_what_my_work_counts(client, store):
    manager = make_user(Role.STORE_MANAGER, locations=[store])
    mine = CaseFactory(location=store, owner=TeamFactory(code="STORE-T", kind=Team.Kind.STORE))
    CaseFactory(location=store, owner=TeamFactory(code="FIN-T", kind=Team.Kind.FINANCE))
    client.force_login(manager)
    page = client.get(reverse("cases") + "?team=mine&assignee=none")
    assert [case.pk for case in page.context["page"]] == [mine.pk]
