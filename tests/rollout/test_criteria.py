"""Every gate measured (rollout.playbook, rollout.criteria, rollout.flags):
a new program starts with the playbook's measured criteria; a gate without
one never shows green, passing on sign-offs only by a recorded choice; the
PMO adds, changes and retires criteria and roles on the wave page and over
the API, with four eyes where a change loosens a gate and every change in
the gate's history; waivers and dates that must not go unnoticed."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from controltower import metrics
from controltower.models import Role
from rollout import criteria, gates
from rollout.board import board
from rollout.evaluation import evaluate_wave
from rollout.models import Criterion, Gate, GateChange, GateKind, Program, Waiver
from rollout.playbook import PLAYBOOK, apply_playbook
from rollout.waves import import_waves
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory

from .factories import CriterionFactory, GateTemplateFactory, WaveFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pmo():
    return make_user(Role.PMO, username="paula")


@pytest.fixture
def second():
    return make_user(Role.ADMIN, username="adam")


@pytest.fixture
def wave(gauge):
    store = LocationFactory(code="S100")
    wave = WaveFactory(name="North", stores=[store], planned_cutover=timezone.localdate() + timedelta(days=20))
    training = GateTemplateFactory(program=wave.program, kind=GateKind.TRAINING_COMPLETE, sign_off_only=False,
                                   required_roles=[Role.FINANCE])
    CriterionFactory(template=training, threshold=Decimal("95"))
    gauge.set({store: 90})
    gates.ensure_gates(wave)
    wave.store = store
    return wave


def training_of(wave):
    return Gate.objects.select_related("template", "wave").get(wave=wave, template__kind=GateKind.TRAINING_COMPLETE)


class TestPlaybook:
    def test_a_program_loaded_with_its_waves_gets_every_gate_measured(self):
        LocationFactory(code="S1")
        report = import_waves([{"program": "New ERP", "name": "Pilot", "kind": "pilot", "order": "1",
                                "locations": "S1"}])
        assert report.created == 1
        program = Program.objects.get(name="New ERP")
        templates = list(program.gate_templates.order_by("order"))
        assert [t.kind for t in templates] == list(PLAYBOOK)
        for template in templates:
            assert template.criteria.exists() and template.required_roles and not template.sign_off_only
            for criterion in template.criteria.all():
                metrics.get(criterion.metric)  # every metric is registered
        data = program.gate_templates.get(kind=GateKind.DATA_READINESS)
        assert sorted((c.metric, c.comparator, c.threshold) for c in data.criteria.all()) == [
            ("conversion_conflicts", "<=", Decimal("0")), ("duplicate_barcodes", "<=", Decimal("0")),
            ("item_master_completeness", ">=", Decimal("99.5"))]
        feeds = program.gate_templates.get(kind=GateKind.INTEGRATION_PERFORMANCE).criteria.all()
        assert {(c.metric, c.scope, c.steady_hours) for c in feeds} == {
            ("event_acceptance_rate", "sources", 72), ("sync_latency_p95", "sources", 72)}
        # Its wave's gates exist and the first is open, measured.
        assert Gate.objects.filter(wave__program=program).count() == len(PLAYBOOK)

    def test_a_program_with_gates_keeps_its_own(self):
        template = GateTemplateFactory(kind=GateKind.CUTOVER)
        assert apply_playbook(template.program) == []
        assert template.program.gate_templates.count() == 1

    def test_the_api_creates_a_program_with_the_playbook(self, api_client, pmo):
        api_client.force_authenticate(pmo)
        made = api_client.post("/api/v1/programs", {"name": "Second ERP"}, format="json")
        assert made.status_code == 201
        kinds = [t["kind"] for t in made.json()["gate_templates"]]
        assert kinds == [str(kind) for kind in PLAYBOOK]
        assert all(t["criteria"] for t in made.json()["gate_templates"])


class TestNeverGreenWithoutCriterion:
    def test_no_criterion_blocks_until_sign_off_only_is_chosen_on_the_record(self, pmo):
        store = LocationFactory()
        wave = WaveFactory(stores=[store])
        design = GateTemplateFactory(program=wave.program, kind=GateKind.DESIGN_COMPLETE, sign_off_only=False,
                                     required_roles=[Role.FINANCE])
        evaluate_wave(wave)
        gate = Gate.objects.select_related("template", "wave").get(wave=wave)
        gates.sign_off(gate, user=make_user(Role.FINANCE), role=Role.FINANCE)
        state = gates.gate_state(gate)
        assert "No measured criterion: add one, or choose sign-off only" in state.blockers
        assert not gates.try_pass(gate)
        [row] = board(wave.program, pmo)[1]
        assert (row.cells[0].state, row.cells[0].words) == ("red", "No measured criterion; sign-off only not chosen")

        with pytest.raises(ValidationError) as refused:
            criteria.choose_sign_off_only(design, user=pmo, reason="  ")
        assert "reason" in refused.value.message_dict
        change = criteria.choose_sign_off_only(design, user=pmo, reason="Design is a document review.")
        assert (change.action, change.requested_by, change.reason) == ("sign_off_only", pmo,
                                                                      "Design is a document review.")
        gate.refresh_from_db()
        assert gates.try_pass(gate)
        [row] = board(wave.program, pmo)[1]
        assert row.cells[0].state == "sign-off-only" and row.cells[0].words.endswith("on sign-off only")

    def test_sign_off_only_is_refused_while_criteria_measure_the_gate(self, wave, pmo):
        with pytest.raises(ValidationError) as refused:
            criteria.choose_sign_off_only(training_of(wave).template, user=pmo, reason="Why not")
        assert "retire them first" in refused.value.message_dict["sign_off_only"][0]


class TestChanges:
    def test_tightening_applies_at_once_loosening_waits_for_a_second_person(self, wave, pmo, second):
        criterion = training_of(wave).template.criteria.get()
        tighter = criteria.edit_criterion(criterion, {"threshold": "97"}, user=pmo, reason="Stricter")
        criterion.refresh_from_db()
        assert (tighter.status, criterion.threshold) == ("applied", Decimal("97"))
        assert (tighter.before["threshold"], tighter.after["threshold"]) == ("95", "97")

        looser = criteria.edit_criterion(criterion, {"threshold": "80"}, user=pmo, reason="Too strict")
        criterion.refresh_from_db()
        assert (looser.status, criterion.threshold) == ("pending", Decimal("97"))
        with pytest.raises(ValidationError) as own:
            criteria.decide(looser, user=pmo, approve=True)
        assert "decided_by" in own.value.message_dict
        approved = criteria.decide(looser, user=second, approve=True)
        criterion.refresh_from_db()
        assert (approved.status, approved.decided_by, criterion.threshold) == ("applied", second, Decimal("80"))
        with pytest.raises(ValidationError):
            criteria.decide(looser, user=second, approve=True)  # decided once

    def test_for_at_most_a_higher_threshold_loosens(self, wave, pmo):
        criterion = CriterionFactory(template=training_of(wave).template, comparator="<=", threshold=Decimal("5"))
        assert criteria.edit_criterion(criterion, {"threshold": 3}, user=pmo, reason="r").status == "applied"
        assert criteria.edit_criterion(criterion, {"threshold": 9}, user=pmo, reason="r").status == "pending"
        assert criteria.edit_criterion(criterion, {"comparator": ">="}, user=pmo, reason="r").status == "pending"

    def test_retiring_waits_for_approval_then_the_gate_stops_measuring_it(self, wave, pmo, second):
        gate = training_of(wave)
        criterion = gate.template.criteria.get()
        change = criteria.retire_criterion(criterion, user=pmo, reason="Measured at store readiness")
        assert change.status == "pending" and Criterion.objects.get(pk=criterion.pk).retired_at is None
        declined = criteria.decide(change, user=second, approve=False)
        assert declined.status == "declined" and Criterion.objects.get(pk=criterion.pk).retired_at is None
        change = criteria.retire_criterion(criterion, user=pmo, reason="Measured at store readiness")
        at = timezone.now()
        criteria.decide(change, user=second, approve=True, at=at)
        assert evaluate_wave(wave, at + timedelta(minutes=1)) == []  # nothing left to measure
        assert "No measured criterion" in " ".join(gates.gate_state(gate).blockers)

    def test_bad_input_names_the_field_and_other_roles_may_not(self, wave, pmo):
        template = training_of(wave).template
        with pytest.raises(ValidationError) as bad:
            criteria.add_criterion(template, {"metric": "nope", "comparator": "~", "threshold": "x",
                                              "window_hours": 0}, user=pmo, reason="r")
        assert set(bad.value.message_dict) == {"metric", "comparator", "threshold", "window_hours"}
        with pytest.raises(PermissionDenied):
            criteria.add_criterion(template, {"metric": "test_gauge", "comparator": ">=", "threshold": 1},
                                   user=make_user(Role.FINANCE), reason="r")
        with pytest.raises(ValidationError) as roles:
            criteria.set_roles(template, ["finance", "wizard"], user=pmo, reason="r")
        assert "wizard" in roles.value.message_dict["required_roles"][0]
        change = criteria.set_roles(template, ["finance", "regional_ops"], user=pmo, reason="Ops signs too")
        assert change.before == {"required_roles": ["finance"]}
        assert change.after == {"required_roles": ["finance", "regional_ops"]}


class TestFlags:
    def test_a_waiver_lapsing_before_the_cutover_and_go_live_dates_that_disagree(self, wave, pmo, second):
        evaluate_wave(wave)
        gate = training_of(wave)
        waiver = gates.request_waiver(gate, gate.template.criteria.get(), user=pmo, reason="Refresher booked",
                                      expires_at=timezone.now() + timedelta(days=5))
        gates.approve_waiver(waiver, user=second)
        wave.store.go_live_date = wave.planned_cutover + timedelta(days=1)
        wave.store.save()
        [row] = board(wave.program, pmo)[1]
        [lapsing] = row.waiver_flags
        assert lapsing.waiver == waiver and "before the cutover" in lapsing.words
        [store] = row.go_live_flags
        assert store.location == wave.store
        # A waiver lasting past the cutover, and agreeing dates: nothing flagged.
        Waiver.objects.filter(pk=waiver.pk).update(expires_at=timezone.now() + timedelta(days=30))
        wave.store.go_live_date = wave.planned_cutover
        wave.store.save()
        [row] = board(wave.program, pmo)[1]
        assert (row.waiver_flags, row.go_live_flags) == ([], [])


class TestWavePage:
    def test_the_pmo_changes_a_criterion_by_htmx_and_the_gate_says_what_changed(self, client, wave, pmo, second):
        evaluate_wave(wave)
        gate = training_of(wave)
        criterion = gate.template.criteria.get()
        client.force_login(pmo)
        page = client.get(reverse("rollout-wave", args=[wave.pk]))
        assert page.status_code == 200 and b"Criteria and sign-off roles" in page.content
        prefix = f"g{gate.pk}-edit{criterion.pk}"
        post = {f"{prefix}-criterion": criterion.pk, f"{prefix}-comparator": ">=", f"{prefix}-threshold": "90",
                f"{prefix}-window_hours": "24", f"{prefix}-reason": ""}
        url = reverse("rollout-criterion-edit", args=[gate.pk])
        refused = client.post(url, post, HTTP_HX_REQUEST="true")
        assert refused.status_code == 400 and b"Say why" in refused.content
        answered = client.post(url, {**post, f"{prefix}-reason": "The pilot showed 90 is enough"},
                               HTTP_HX_REQUEST="true")
        assert answered.status_code == 200
        assert b"waits for a second person" in answered.content
        [pending] = GateChange.objects.filter(status="pending")
        assert pending.requested_by == pmo

        client.force_login(second)
        decide = f"g{gate.pk}-decide{pending.pk}"
        approved = client.post(reverse("rollout-change-decide", args=[gate.pk]),
                               {f"{decide}-change": pending.pk, f"{decide}-decision": "approve"})
        assert approved.status_code == 302
        criterion.refresh_from_db()
        assert criterion.threshold == Decimal("90")
        history = client.get(reverse("rollout-wave", args=[wave.pk])).content.decode()
        assert "The pilot showed 90 is enough" in history and "threshold 95 → 90" in history

    def test_other_roles_see_no_setup_and_are_refused(self, client, wave):
        evaluate_wave(wave)
        gate = training_of(wave)
        client.force_login(make_user(Role.FINANCE))
        assert b"Criteria and sign-off roles" not in client.get(reverse("rollout-wave", args=[wave.pk])).content
        prefix = f"g{gate.pk}-only"
        assert client.post(reverse("rollout-sign-off-only", args=[gate.pk]),
                           {f"{prefix}-reason": "x"}).status_code == 403

    def test_an_approved_waiver_keeps_its_reason_requester_and_approver_on_the_gate(self, client, wave, pmo,
                                                                                   second):
        evaluate_wave(wave)
        gate = training_of(wave)
        waiver = gates.request_waiver(gate, gate.template.criteria.get(), user=pmo, reason="Refresher booked",
                                      expires_at=timezone.now() + timedelta(days=30))
        gates.approve_waiver(waiver, user=second)
        client.force_login(pmo)
        page = client.get(reverse("rollout-wave", args=[wave.pk])).content.decode()
        assert "Why: Refresher booked" in page and "asked by paula" in page and "approved by adam" in page


class TestApi:
    def test_the_api_takes_the_same_writes(self, api_client, wave, pmo, second):
        template = training_of(wave).template
        api_client.force_authenticate(pmo)
        added = api_client.post("/api/v1/criteria", {
            "template": template.pk, "metric": "test_gauge", "comparator": ">=", "threshold": "50",
            "reason": "A floor"}, format="json")
        assert added.status_code == 201, added.json()
        pk = added.json()["id"]
        assert added.json()["text"] == "Test gauge at least 50"
        no_reason = api_client.patch(f"/api/v1/criteria/{pk}", {"threshold": "40"}, format="json")
        assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
        looser = api_client.patch(f"/api/v1/criteria/{pk}", {"threshold": "40", "reason": "Lower"}, format="json")
        assert looser.status_code == 200 and looser.json()["status"] == "pending"
        own = api_client.post(f"/api/v1/gate-changes/{looser.json()['id']}/approve")
        assert own.status_code == 400
        api_client.force_authenticate(second)
        assert api_client.post(f"/api/v1/gate-changes/{looser.json()['id']}/approve").json()["status"] == "applied"
        assert api_client.get(f"/api/v1/criteria/{pk}").json()["threshold"] == "40.0000"
        retire = api_client.post(f"/api/v1/criteria/{pk}/retire", {"reason": "Done"}, format="json")
        assert retire.json()["action"] == "retire" and retire.json()["status"] == "pending"
        roles = api_client.post(f"/api/v1/gate-templates/{template.pk}/roles",
                                {"required_roles": ["finance", "pmo"], "reason": "PMO signs"}, format="json")
        assert roles.status_code == 200 and roles.json()["after"] == {"required_roles": ["finance", "pmo"]}
        history = api_client.get(f"/api/v1/gate-changes?template={template.pk}").json()["results"]
        assert [c["action"] for c in history] == ["roles", "retire", "edit", "add"]
        unknown = api_client.post("/api/v1/criteria", {"template": template.pk, "metric": "nope", "comparator": ">=",
                                                       "threshold": "1", "reason": "r"}, format="json")
        assert unknown.status_code == 400 and "metric" in unknown.json()["errors"]

    def test_other_roles_read_but_do_not_write(self, api_client, wave):
        api_client.force_authenticate(make_user(Role.FINANCE))
        assert api_client.get("/api/v1/criteria").status_code == 200
        assert api_client.post("/api/v1/criteria", {}, format="json").status_code == 403

    def test_the_writes_are_in_the_openapi_schema(self, api_client, pmo):
        api_client.force_authenticate(pmo)
        paths = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
        assert {"/api/v1/criteria", "/api/v1/criteria/{id}", "/api/v1/criteria/{id}/retire",
                "/api/v1/gate-changes/{id}/approve", "/api/v1/gate-changes/{id}/decline",
                "/api/v1/gate-templates/{id}/roles", "/api/v1/gate-templates/{id}/sign-off-only"} <= set(paths)
        assert {"post"} <= set(paths["/api/v1/criteria"]) and "patch" in paths["/api/v1/criteria/{id}"]
