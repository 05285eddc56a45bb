"""The rollout API: scoped reads, who may change what, the actions."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from controltower.models import Role
from rollout.evaluation import request_evaluation
from rollout.models import Evaluation, EvaluationRequest, Gate, GateKind, Wave
from rollout.tasks import evaluate

from .factories import CriterionFactory, GateTemplateFactory, ProgramFactory, WaveFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rollout(people, gauge):
    """Wave "Own" holds the people fixture's store, wave "Other" the other store."""
    program = ProgramFactory(name="Rollout")
    template = GateTemplateFactory(program=program, kind=GateKind.DATA_READINESS, required_roles=[Role.FINANCE])
    criterion = CriterionFactory(template=template, threshold=Decimal("95"))
    own = WaveFactory(program=program, name="Own", order=1, kind=Wave.Kind.PILOT, stores=[people.store])
    other = WaveFactory(program=program, name="Other", order=2, stores=[people.other_store])
    gauge.set({people.store: 90, people.other_store: 99})
    evaluate.delay()  # the hourly task, run inline
    return own, other, criterion


def names(response):
    return sorted(row["name"] for row in response.json()["results"])


def test_reads_are_scoped_like_everything_else(api_client, people, rollout):
    own, other, _ = rollout
    api_client.force_authenticate(people[Role.STORE_MANAGER].owner)

    assert names(api_client.get("/api/v1/waves")) == ["Own"]
    assert api_client.get(f"/api/v1/waves/{other.pk}").status_code == 404
    assert {row["wave"] for row in api_client.get("/api/v1/gates").json()["results"]} == {own.pk}
    assert {row["wave"] for row in api_client.get("/api/v1/evaluations").json()["results"]} == {own.pk}
    assert [p["name"] for p in api_client.get("/api/v1/programs").json()["results"]] == ["Rollout"]

    api_client.force_authenticate(people[Role.STORE_MANAGER].outsider)
    assert names(api_client.get("/api/v1/waves")) == ["Other"]

    api_client.force_authenticate(people[Role.PMO].owner)
    wave = api_client.get(f"/api/v1/waves/{own.pk}").json()
    assert names(api_client.get("/api/v1/waves")) == ["Other", "Own"]
    assert wave["locations"] == ["S-OWN"] and wave["status"] == "preparing"


def test_the_gate_detail_shows_evidence_and_what_holds_it_back(api_client, people, rollout):
    own, _, criterion = rollout
    api_client.force_authenticate(people[Role.PMO].owner)
    gate = Gate.objects.get(wave=own)

    detail = api_client.get(f"/api/v1/gates/{gate.pk}").json()

    assert detail["status"] == "open" and detail["kind"] == "data_readiness"
    [state] = detail["criteria"]
    assert (state["value"], state["threshold"], state["sample"], state["passed"], state["waived"]) == (
        "90.0000", "95.0000", 1, False, False)
    assert state["forecast"] == "one measurement: no rate yet"
    assert detail["missing_roles"] == ["finance"]
    assert detail["blockers"] == ["Test gauge at least 95: failing", "No current sign-off by Finance"]


def test_only_the_pmo_manages_programs_waves_and_blackouts(api_client, people, rollout):
    own, _, _ = rollout
    for role in (Role.FINANCE, Role.EXECUTIVE, Role.STORE_MANAGER):
        api_client.force_authenticate(people[role].owner)
        assert api_client.post("/api/v1/programs", {"name": "X"}, format="json").status_code == 403
        assert api_client.patch(f"/api/v1/waves/{own.pk}", {"name": "Y"}, format="json").status_code == 403
        assert api_client.post("/api/v1/blackouts", {"name": "Z", "program": own.program_id,
                                                     "starts_on": "2026-12-01", "ends_on": "2026-12-02"},
                               format="json").status_code == 403

    api_client.force_authenticate(people[Role.PMO].owner)
    assert api_client.post("/api/v1/programs", {"name": "Second"}, format="json").status_code == 201
    created = api_client.post("/api/v1/waves", {"program": own.program_id, "name": "East", "kind": "regional",
                                                "order": 3}, format="json")
    assert created.status_code == 201
    # A new wave gets its gates, the first one open.
    assert list(Gate.objects.filter(wave__name="East").values_list("status", flat=True)) == ["open"]
    bad = api_client.post("/api/v1/blackouts", {"name": "Z", "starts_on": "2026-12-01", "ends_on": "2026-12-02"},
                          format="json")
    assert bad.status_code == 400 and "program" in bad.json()["errors"]


def test_waiver_asked_by_one_approved_by_another_over_the_api(api_client, people, rollout):
    own, _, criterion = rollout
    gate = Gate.objects.get(wave=own)
    asker, approver = people[Role.PMO].owner, people[Role.PMO].colleague
    api_client.force_authenticate(asker)
    body = {"gate": gate.pk, "criterion": criterion.pk, "reason": "Barcode clean-up runs Friday",
            "expires_at": (timezone.now() + timedelta(days=5)).isoformat()}

    assert api_client.post("/api/v1/waivers", {**body, "expires_at": "2020-01-01T00:00:00Z"},
                           format="json").json()["errors"] == {"expires_at": ["The expiry must be in the future."]}
    asked = api_client.post("/api/v1/waivers", body, format="json")
    assert asked.status_code == 201 and asked.json()["live"] is False
    waiver = asked.json()["id"]
    own_approval = api_client.post(f"/api/v1/waivers/{waiver}/approve")
    assert own_approval.status_code == 400
    assert own_approval.json()["errors"]["approved_by"] == ["The person who asked for a waiver cannot approve it."]

    api_client.force_authenticate(approver)
    approved = api_client.post(f"/api/v1/waivers/{waiver}/approve").json()
    assert approved["approved_by"] == approver.username and approved["live"] is True

    [state] = api_client.get(f"/api/v1/gates/{gate.pk}").json()["criteria"]
    assert (state["passed"], state["waived"]) == (False, True)


def test_sign_off_and_go_no_go_over_the_api(api_client, people, rollout, gauge):
    own, _, _ = rollout
    gate = Gate.objects.get(wave=own)
    gauge.set({people.store: 97}, since=timezone.now() - timedelta(seconds=1))
    api_client.force_authenticate(people[Role.PMO].owner)
    assert api_client.post(f"/api/v1/waves/{own.pk}/evaluate").json()["state"] == "done"
    [state] = api_client.get(f"/api/v1/gates/{gate.pk}").json()["criteria"]
    assert state["passed"] is True

    api_client.force_authenticate(people[Role.PLANNER].owner)
    assert api_client.post(f"/api/v1/gates/{gate.pk}/sign-off", {"role": "finance"}, format="json").status_code == 403
    api_client.force_authenticate(people[Role.FINANCE].owner)
    signed = api_client.post(f"/api/v1/gates/{gate.pk}/sign-off", {"role": "finance", "comment": "OK"},
                             format="json")
    assert signed.status_code == 200 and signed.json()["status"] == "passed"
    assert api_client.get("/api/v1/sign-offs").json()["results"][0]["comment"] == "OK"

    no_decision = api_client.post(f"/api/v1/gates/{gate.pk}/go-no-go", {"decision": "go"}, format="json")
    assert no_decision.status_code == 403


def test_go_no_go_is_the_executives_on_the_cutover_gate(api_client, people, gauge):
    program = ProgramFactory(name="Cut")
    GateTemplateFactory(program=program, kind=GateKind.CUTOVER)
    wave = WaveFactory(program=program, name="Cut wave", stores=[people.store])
    evaluate.delay(wave.pk)
    gate = Gate.objects.get(wave=wave)

    api_client.force_authenticate(people[Role.EXECUTIVE].owner)
    decided = api_client.post(f"/api/v1/gates/{gate.pk}/go-no-go", {"decision": "go", "comment": "Ready"},
                              format="json")

    assert decided.status_code == 200 and decided.json()["status"] == "passed"
    [record] = api_client.get("/api/v1/go-no-go").json()["results"]
    assert (record["decision"], record["decided_by"], record["evidence"]["criteria"]) == (
        "go", people[Role.EXECUTIVE].owner.username, [])
    assert Wave.objects.get(pk=wave.pk).status == Wave.Status.LIVE


def test_a_source_system_token_reads_nothing_of_the_rollout(api_client, rollout):
    from controltower.models import ApiToken
    from tests.inventory.factories import SourceSystemFactory

    raw = ApiToken.issue(source=SourceSystemFactory(code="POS-X"))[1]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert api_client.get("/api/v1/waves").status_code == 403


def test_the_evaluation_runs_hourly_on_beat(settings):
    from controltower.celery import app

    app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["rollout-evaluate-gates"]
    assert (entry["task"], entry["schedule"]) == ("rollout.evaluate", 3600)
    assert 0 < app.tasks["rollout.evaluate"].soft_time_limit < app.tasks["rollout.evaluate"].time_limit


def test_the_task_keeps_evidence_each_run(rollout):
    before = Evaluation.objects.count()
    result = evaluate.delay().get()
    assert result == {"waves": 2, "evaluations": 2, "failing": 1}
    assert Evaluation.objects.count() == before + 2


def test_the_schema_documents_the_rollout_api(client):
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    assert {"/api/v1/programs", "/api/v1/waves", "/api/v1/waves/load", "/api/v1/gates/{id}/sign-off",
            "/api/v1/gates/{id}/go-no-go", "/api/v1/evaluations", "/api/v1/waivers", "/api/v1/waivers/{id}/approve",
            "/api/v1/sign-offs", "/api/v1/go-no-go", "/api/v1/blackouts", "/api/v1/training"} <= set(paths)


def test_a_wave_takes_no_name_or_order_of_another_wave_of_its_program(api_client, people, rollout):
    """schemathesis found a PATCH giving one wave another's order: a database error (500) before."""
    own, other, _ = rollout
    api_client.force_authenticate(people[Role.PMO].owner)
    taken = api_client.patch(f"/api/v1/waves/{own.pk}", {"order": other.order, "name": other.name}, format="json")
    assert taken.status_code == 400
    assert set(taken.json()["errors"]) == {"order", "name"}
    own.refresh_from_db()
    assert (own.name, own.order) == ("Own", 1)
    assert api_client.patch(f"/api/v1/waves/{own.pk}", {"order": 1, "name": "Own"}, format="json").status_code == 200


def test_evaluating_a_wave_over_the_api_is_queued_and_answers_the_request(api_client, people, rollout):
    own, _, _ = rollout
    api_client.force_authenticate(people[Role.PMO].owner)
    assert api_client.get(f"/api/v1/waves/{own.pk}/evaluation").status_code == 404
    before = Evaluation.objects.filter(gate__wave=own).count()
    answer = api_client.post(f"/api/v1/waves/{own.pk}/evaluate?limit=1&offset=0")
    assert answer.status_code == 202
    assert answer["Location"].endswith(f"/api/v1/waves/{own.pk}/evaluation")
    # Tasks run inline here: the worker has run it by the time the answer is written.
    body = answer.json()
    assert (body["wave"], body["state"], body["requested_by"]) == (own.pk, "done", people[Role.PMO].owner.username)
    assert body["evaluations"] == Evaluation.objects.filter(gate__wave=own).count() - before > 0
    assert api_client.get(answer["Location"]).json() == body
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/waves/{id}/evaluate"]["post"]
    assert "202" in operation["responses"]
    assert not any(p["name"] in ("limit", "offset") for p in operation.get("parameters", []))
    api_client.force_authenticate(people[Role.STORE_MANAGER].owner)
    assert api_client.post(f"/api/v1/waves/{own.pk}/evaluate").status_code == 403


def test_evaluating_a_wave_while_one_is_queued_answers_the_queued_one(api_client, people, rollout):
    own, _, _ = rollout
    pmo = people[Role.PMO].owner
    queued, _ = request_evaluation(own, user=pmo)  # sent, not yet run by a worker
    api_client.force_authenticate(pmo)
    answer = api_client.post(f"/api/v1/waves/{own.pk}/evaluate")
    assert (answer.status_code, answer.json()["id"], answer.json()["state"]) == (202, queued.pk, "queued")
    assert EvaluationRequest.objects.filter(wave=own).count() == 1


def test_waves_reject_a_duplicate_name(api_client, people, rollout):
    own, _, _ = rollout
    api_client.force_authenticate(people[Role.PMO].owner)
    again = api_client.post("/api/v1/waves", {"program": own.program_id, "name": "Own", "kind": "regional",
                                              "order": 1}, format="json")
    assert again.status_code == 400
