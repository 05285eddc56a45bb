"""The rollout screens (rollout.views, rollout.board): who sees the board,
the four cell states, the gate fragment, the wave page, and the forms as
thin callers of rollout.gates."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from controltower.models import Role
from rollout.evaluation import evaluate_wave
from rollout.models import Gate, GateKind, SignOff, Waiver
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory, RegionFactory

from .factories import BlackoutWindowFactory, CriterionFactory, GateTemplateFactory, WaveFactory

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


@pytest.fixture
def store():
    return LocationFactory(code="S100", name="Berlin Mitte", region=RegionFactory(code="NORTH"))


@pytest.fixture
def wave(store):
    wave = WaveFactory(name="North", stores=[store], planned_cutover=timezone.localdate() + timedelta(days=10))
    GateTemplateFactory(program=wave.program, kind=GateKind.DESIGN_COMPLETE)
    training = GateTemplateFactory(program=wave.program, kind=GateKind.TRAINING_COMPLETE,
                                   required_roles=[Role.FINANCE])
    CriterionFactory(template=training, threshold=Decimal("95"))
    GateTemplateFactory(program=wave.program, kind=GateKind.CUTOVER, required_roles=[Role.FINANCE])
    return wave


@pytest.fixture
def pmo():
    return make_user(Role.PMO, username="paula")


def gate_of(wave, kind):
    return Gate.objects.select_related("template", "wave").get(wave=wave, template__kind=kind)


def cells(client, wave):
    """{gate kind label: (state word, words)} read from the board's context."""
    response = client.get(reverse("rollout"))
    assert response.status_code == 200
    row = next(row for row in response.context["rows"] if row.wave == wave)
    return {cell.template.get_kind_display(): (cell.state_words, cell.words) for cell in row.cells}


def nav_labels(client):
    return [item["label"] for item in client.get("/", follow=True).context["nav_items"]]


@pytest.mark.parametrize("role", [Role.PMO, Role.ADMIN, Role.EXECUTIVE, Role.FINANCE, Role.INTEGRATION_ADMIN])
def test_the_pmo_the_executive_and_the_signers_find_the_board(client, wave, role):
    client.force_login(make_user(role))
    assert "Rollout" in nav_labels(client)
    response = client.get(reverse("rollout"))
    assert response.status_code == 200
    assert "North" in response.content.decode()


def test_a_regional_ops_lead_sees_the_waves_of_their_region_only(client, wave, store, gauge):
    elsewhere = WaveFactory(program=wave.program, name="South", stores=[LocationFactory(code="S900")])
    evaluate_wave(wave)
    evaluate_wave(elsewhere)
    WaveFactory(name="Other program's wave", stores=[LocationFactory(code="S901")])
    lead = make_user(Role.REGIONAL_OPS, region=store.region)
    client.force_login(lead)
    assert "Rollout" in nav_labels(client)
    response = client.get(reverse("rollout"))
    assert response.status_code == 200
    assert [row.wave for row in response.context["rows"]] == [wave]
    assert response.context["programs"] == [wave.program]  # not the program with none of their stores
    assert "South" not in response.content.decode()
    gate = gate_of(wave, GateKind.DESIGN_COMPLETE)
    assert client.get(reverse("rollout-gate", args=[gate.pk]), HTTP_HX_REQUEST="true").status_code == 200
    theirs = gate_of(elsewhere, GateKind.DESIGN_COMPLETE)
    assert client.get(reverse("rollout-gate", args=[theirs.pk]), HTTP_HX_REQUEST="true").status_code == 404


def test_a_signer_reaches_the_wave_page_from_the_board_without_the_pmo_controls(client, wave, store, gauge):
    gauge.set({store: 99})
    evaluate_wave(wave)
    client.force_login(make_user(Role.FINANCE))
    board = client.get(reverse("rollout")).content.decode()
    assert reverse("rollout-wave", args=[wave.pk]) in board
    page = client.get(reverse("rollout-wave", args=[wave.pk])).content.decode()
    assert f'<a href="{reverse("rollout")}">Rollout board</a>' in page
    assert "Sign off as Finance" in page
    for pmo_only in ("Evaluate the open gate now", "Ask for a waiver", "Schedule the cutover"):
        assert pmo_only not in page


@pytest.mark.parametrize("role", [Role.STORE_MANAGER, Role.PLANNER])
def test_store_managers_and_planners_are_refused_the_board_and_its_fragment(client, wave, role, store, gauge):
    evaluate_wave(wave)
    client.force_login(make_user(role, [store] if role == Role.STORE_MANAGER else []))
    assert "Rollout" not in nav_labels(client)
    assert client.get(reverse("rollout")).status_code == 403
    gate = gate_of(wave, GateKind.DESIGN_COMPLETE)
    assert client.get(reverse("rollout-gate", args=[gate.pk]), HTTP_HX_REQUEST="true").status_code == 403


def test_a_pmo_lands_on_the_board_others_on_home(client, pmo):
    client.force_login(pmo)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("rollout")
    client.force_login(make_user(Role.ADMIN))
    assert client.get(reverse("home")).status_code == 200


def test_cells_go_red_then_amber_by_waiver_then_green_on_pass(client, wave, store, gauge, pmo):
    client.force_login(pmo)
    gauge.set({store: 80})
    evaluate_wave(wave)  # design complete is on sign-off only, no roles: it passes; training opens
    states = cells(client, wave)
    assert states["Design complete"][0] == "Sign-off only"  # never green without a measured criterion
    assert states["Design complete"][1].endswith("on sign-off only")
    assert states["Training complete"] == ("Red", "1 of 1 criteria failing")
    assert states["Cutover"] == ("Not yet open", "Not yet open")

    training = gate_of(wave, GateKind.TRAINING_COMPLETE)
    criterion = training.template.criteria.get()
    waiver = Waiver.objects.create(gate=training, criterion=criterion, reason="Refresher booked",
                                   expires_at=timezone.now() + timedelta(days=3), requested_by=pmo,
                                   approved_by=make_user(Role.ADMIN), approved_at=timezone.now() - HOUR)
    assert cells(client, wave)["Training complete"] == ("Amber", "1 waived")

    SignOff.objects.create(gate=training, role=Role.FINANCE, person=make_user(Role.FINANCE),
                           at=timezone.now())
    from rollout import gates

    assert gates.try_pass(training) is True
    state, words = cells(client, wave)["Training complete"]
    assert state == "Amber" and words.startswith("Passed") and "1 waived" in words  # waived, never green
    # Without the waiver having been live at the pass, the passed gate is green.
    Waiver.objects.filter(pk=waiver.pk).update(approved_at=timezone.now() + HOUR)
    assert cells(client, wave)["Training complete"][0] == "Green"


def test_an_expired_waiver_says_so_and_a_met_gate_says_what_it_waits_for(client, wave, store, gauge, pmo):
    client.force_login(pmo)
    gauge.set({store: 80})
    evaluate_wave(wave)
    training = gate_of(wave, GateKind.TRAINING_COMPLETE)
    Waiver.objects.create(gate=training, criterion=training.template.criteria.get(), reason="Old",
                          expires_at=timezone.now() - HOUR, requested_by=pmo,
                          approved_by=make_user(Role.ADMIN), approved_at=timezone.now() - 5 * HOUR)
    assert cells(client, wave)["Training complete"] == ("Red", "1 of 1 criteria failing; 1 waiver expired")

    gauge.set({store: 99})
    evaluate_wave(wave)
    assert cells(client, wave)["Training complete"] == ("Green", "Criteria met; awaits sign-off: Finance")


def test_a_stale_sign_off_turns_the_cell_amber(client, wave, store, gauge, pmo):
    client.force_login(pmo)
    gauge.set({store: 99})
    now = timezone.now()
    evaluate_wave(wave, at=now - 3 * HOUR)
    training = gate_of(wave, GateKind.TRAINING_COMPLETE)
    # A second required role keeps the gate open after finance signs.
    training.template.required_roles = [Role.FINANCE, Role.INTEGRATION_ADMIN]
    training.template.save()
    SignOff.objects.create(gate=training, role=Role.FINANCE, person=make_user(Role.FINANCE), at=now - 2 * HOUR)
    gauge.set({store: 80}, since=now - 90 * timedelta(minutes=1))
    evaluate_wave(wave, at=now - HOUR)  # red after the sign-off
    gauge.set({store: 99}, since=now - 30 * timedelta(minutes=1))
    evaluate_wave(wave, at=now)  # green again: the sign-off stays stale
    assert cells(client, wave)["Training complete"] == ("Amber", "stale sign-off: Finance")


def test_the_fragment_names_the_failing_criterion_with_its_value(client, wave, store, gauge, pmo):
    client.force_login(pmo)
    gauge.set({store: 80})
    evaluate_wave(wave)
    training = gate_of(wave, GateKind.TRAINING_COMPLETE)
    url = reverse("rollout-gate", args=[training.pk])
    response = client.get(url, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Test gauge" in body and "80.0%" in body and "at least 95.0%" in body and "Failing" in body
    assert "Set by the test." in body  # the metric's definition from the registry
    assert "<html" not in body  # a fragment
    # Without htmx the link leads to the gate on the wave page.
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].endswith(f"#gate-{training.pk}")


def test_the_wave_page_shows_no_data_as_no_data(client, wave, gauge, pmo):
    client.force_login(pmo)
    evaluate_wave(wave)  # the gauge has no value for the store
    body = client.get(reverse("rollout-wave", args=[wave.pk])).content.decode()
    assert "no data" in body
    assert "0.0%" not in body and "100.0%" not in body


def test_the_wave_page_is_scoped_like_the_wave(client, wave, store, gauge):
    elsewhere = LocationFactory(code="S900")
    assert client.get(reverse("rollout-wave", args=[wave.pk])).status_code == 302  # to the login
    client.force_login(make_user(Role.STORE_MANAGER, [elsewhere]))
    assert client.get(reverse("rollout-wave", args=[wave.pk])).status_code == 404
    client.force_login(make_user(Role.STORE_MANAGER, [store]))
    assert client.get(reverse("rollout-wave", args=[wave.pk])).status_code == 200


def test_waiver_asked_then_approved_by_another_person_through_the_service(client, wave, store, gauge, pmo):
    gauge.set({store: 80})
    evaluate_wave(wave)
    training = gate_of(wave, GateKind.TRAINING_COMPLETE)
    criterion = training.template.criteria.get()
    client.force_login(pmo)
    url = reverse("rollout-waiver-request", args=[training.pk])

    # The service's rule (an expiry is mandatory) comes back on the form.
    response = client.post(url, {"criterion": criterion.pk, "reason": "Refresher booked", "expires_at": ""})
    assert response.status_code == 400
    assert "A waiver needs an expiry." in response.content.decode()

    until = (timezone.localtime() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, {"criterion": criterion.pk, "reason": "Refresher booked", "expires_at": until})
    assert response.status_code == 302
    waiver = Waiver.objects.get()
    assert waiver.requested_by == pmo and waiver.approved_at is None

    # Four eyes: the person who asked cannot approve it.
    client.post(reverse("rollout-waiver-approve", args=[waiver.pk]))
    waiver.refresh_from_db()
    assert waiver.approved_at is None

    client.force_login(make_user(Role.ADMIN))
    assert client.post(reverse("rollout-waiver-approve", args=[waiver.pk])).status_code == 302
    waiver.refresh_from_db()
    assert waiver.approved_at is not None


def test_sign_off_form_for_the_gate_s_roles_only(client, wave, store, gauge, pmo):
    gauge.set({store: 99})
    evaluate_wave(wave)
    training = gate_of(wave, GateKind.TRAINING_COMPLETE)
    url = reverse("rollout-sign-off", args=[training.pk])

    client.force_login(pmo)  # the PMO does not sign off
    page = client.get(reverse("rollout-wave", args=[wave.pk])).content.decode()
    assert "Sign off as" not in page
    assert client.post(url, {"sign_off-comment": "Looks fine"}).status_code == 403

    finance = make_user(Role.FINANCE)
    client.force_login(finance)
    page = client.get(reverse("rollout-wave", args=[wave.pk])).content.decode()
    assert "Sign off as Finance" in page
    assert client.post(url, {"sign_off-comment": "Cash procedures trained"}).status_code == 302
    signed = SignOff.objects.get()
    assert (signed.person, signed.role, signed.comment) == (finance, Role.FINANCE, "Cash procedures trained")
    assert gate_of(wave, GateKind.TRAINING_COMPLETE).status == Gate.Status.PASSED


def test_go_no_go_form_records_the_decision_or_says_why_not(client, wave, store, gauge):
    gauge.set({store: 99})
    evaluate_wave(wave)
    client.force_login(make_user(Role.FINANCE))
    client.post(reverse("rollout-sign-off", args=[gate_of(wave, GateKind.TRAINING_COMPLETE).pk]), {})
    cutover = gate_of(wave, GateKind.CUTOVER)
    assert cutover.status == Gate.Status.OPEN
    executive = make_user(Role.EXECUTIVE)
    client.force_login(executive)
    url = reverse("rollout-go-no-go", args=[cutover.pk])

    response = client.post(url, {"go-decision": "go"})
    assert response.status_code == 400
    assert "Not ready to go" in response.content.decode()  # finance has not signed the cutover

    assert client.post(url, {"go-decision": "no_go", "go-comment": "Wait a week"}).status_code == 302
    assert cutover.decisions.get().decided_by == executive


def test_evaluate_button_keeps_new_evidence(client, wave, store, gauge, pmo):
    gauge.set({store: 80})
    evaluate_wave(wave)
    training = gate_of(wave, GateKind.TRAINING_COMPLETE)
    before = training.evaluations.count()
    client.force_login(make_user(Role.FINANCE))
    assert client.post(reverse("rollout-evaluate", args=[wave.pk])).status_code == 403
    client.force_login(pmo)
    assert client.post(reverse("rollout-evaluate", args=[wave.pk])).status_code == 302
    assert training.evaluations.count() == before + 1


def test_the_pmo_moves_the_cutover_on_the_wave_page(client, wave, pmo):
    client.force_login(pmo)
    page = client.get(reverse("rollout-wave", args=[wave.pk])).content.decode()
    assert '<label for="id_cutover-planned_cutover">Planned cutover</label>' in page
    day = timezone.localdate() + timedelta(days=30)
    response = client.post(reverse("rollout-schedule", args=[wave.pk]), {"cutover-planned_cutover": day.isoformat()})
    assert response.status_code == 302
    wave.refresh_from_db()
    assert wave.planned_cutover == day


def test_a_cutover_inside_a_blackout_is_refused_naming_the_window(client, wave, store, pmo):
    planned = wave.planned_cutover
    start = timezone.localdate() + timedelta(days=20)
    BlackoutWindowFactory(name="Christmas peak", region=store.region, starts_on=start,
                          ends_on=start + timedelta(days=10))
    client.force_login(pmo)
    day = start + timedelta(days=3)
    response = client.post(reverse("rollout-schedule", args=[wave.pk]), {"cutover-planned_cutover": day.isoformat()})
    assert response.status_code == 400
    body = response.content.decode()
    assert "falls in the blackout window &quot;Christmas peak&quot; for region NORTH" in body
    assert 'class="field-error"' in body  # under the date field of the form
    wave.refresh_from_db()
    assert wave.planned_cutover == planned  # nothing saved
    response = client.post(reverse("rollout-schedule", args=[wave.pk]), {"cutover-planned_cutover": "soon"})
    assert response.status_code == 400 and "Enter a valid date." in response.content.decode()


@pytest.mark.parametrize("role", [Role.FINANCE, Role.EXECUTIVE, Role.STORE_MANAGER])
def test_only_the_pmo_schedules_a_cutover(client, wave, store, role):
    planned = wave.planned_cutover
    client.force_login(make_user(role, [store] if role == Role.STORE_MANAGER else []))
    page = client.get(reverse("rollout-wave", args=[wave.pk])).content.decode()
    assert "Schedule the cutover" not in page
    day = timezone.localdate() + timedelta(days=30)
    response = client.post(reverse("rollout-schedule", args=[wave.pk]), {"cutover-planned_cutover": day.isoformat()})
    assert response.status_code == 403
    wave.refresh_from_db()
    assert wave.planned_cutover == planned


def test_the_board_s_queries_do_not_grow_with_its_waves(client, wave, store, gauge, pmo):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(pmo)
    values = {store: 80}
    gauge.set(values)
    evaluate_wave(wave)  # open at training, red

    def add_waves(n):
        for i in range(n):
            # Codes of its own: the factory's sequence reaches the fixture store's S100
            # after enough tests in one process, and get_or_create would return it.
            location = LocationFactory(code=f"GROW{len(values):03d}", region=store.region)
            other = WaveFactory(program=wave.program, stores=[location])
            values[location] = 80 + i
            gauge.set(values)
            evaluate_wave(other, at=timezone.now() - 2 * HOUR)
            training = gate_of(other, GateKind.TRAINING_COMPLETE)
            SignOff.objects.create(gate=training, role=Role.FINANCE, person=make_user(Role.FINANCE),
                                   at=timezone.now() - HOUR)
            evaluate_wave(other)  # a sign-off between two runs: the stale check reads both
            if i % 2 == 0:  # every other wave passes its training gate by a waiver (amber)
                Waiver.objects.create(gate=training, criterion=training.template.criteria.get(), reason="Booked",
                                      expires_at=timezone.now() + HOUR, requested_by=pmo,
                                      approved_by=make_user(Role.ADMIN), approved_at=timezone.now())
                evaluate_wave(other)
                assert cells(client, other)["Training complete"][0] == "Amber"

    def board_queries():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("rollout"))
        assert response.status_code == 200
        return len(response.context["rows"]), len(queries)

    add_waves(1)
    two = board_queries()
    add_waves(4)
    six = board_queries()
    assert (two[0], six[0]) == (2, 6)
    assert six[1] == two[1]


def _figures(response):
    import html
    import json
    import re

    import plotly.graph_objects as go

    found = [json.loads(html.unescape(raw)) for raw in re.findall(r'data-figure="([^"]*)"', response.content.decode())]
    for figure in found:
        go.Figure(figure)  # Plotly's own schema check
    return found


def test_the_board_timeline_is_a_server_built_figure_with_blackouts(client, wave, pmo):
    BlackoutWindowFactory(program=wave.program, name="Peak", starts_on=timezone.localdate() + timedelta(days=3),
                          ends_on=timezone.localdate() + timedelta(days=5))
    client.force_login(pmo)
    timeline, = _figures(client.get(reverse("rollout")))
    bars = timeline["data"][0]
    assert bars["y"] == ["North"] and "cutover" in bars["text"][0]
    assert {note["text"] for note in timeline["layout"]["annotations"]} == {"Blackout: Peak"}


def test_a_criterion_trend_is_drawn_from_two_measurements_on(client, wave, store, gauge, pmo):
    client.force_login(pmo)
    gauge.set({store: 80})
    evaluate_wave(wave)
    page = client.get(reverse("rollout-wave", args=[wave.pk]))
    assert not _figures(page) and "one measurement so far" in page.content.decode()
    gauge.set({store: 85})
    evaluate_wave(wave)
    trend, = _figures(client.get(reverse("rollout-wave", args=[wave.pk])))
    measured, threshold = trend["data"]
    assert measured["y"] == [80.0, 85.0] and threshold["name"] == "threshold"
