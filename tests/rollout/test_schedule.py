"""Blackout windows: a cutover inside one is refused, naming it, in the
service, the API, the admin (Wave.clean) and the wave load."""
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from controltower.models import Role
from rollout.models import Wave
from rollout.schedule import schedule_cutover
from rollout.waves import import_waves
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory, RegionFactory

from .factories import BlackoutWindowFactory, ProgramFactory, WaveFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def north():
    return LocationFactory(code="N001", region=RegionFactory(code="NORTH"))


@pytest.fixture
def wave(north):
    return WaveFactory(name="North", program=ProgramFactory(name="Rollout"), stores=[north])


@pytest.fixture
def pmo():
    return make_user(Role.PMO, username="pmo")


def test_a_cutover_in_a_program_window_is_refused_naming_it(wave, pmo):
    BlackoutWindowFactory(name="Black Friday", program=wave.program, starts_on=date(2026, 11, 20),
                          ends_on=date(2026, 11, 30))

    with pytest.raises(ValidationError, match='blackout window "Black Friday" \\(20 Nov 2026 to 30 Nov 2026\\)'):
        schedule_cutover(wave, date(2026, 11, 30), user=pmo)

    schedule_cutover(wave, date(2026, 12, 1), user=pmo)
    assert Wave.objects.get(pk=wave.pk).planned_cutover == date(2026, 12, 1)


def test_a_region_window_applies_to_the_waves_with_stores_in_that_region(wave, north, pmo):
    other = WaveFactory(program=wave.program, name="South", stores=[LocationFactory(code="S9")])
    BlackoutWindowFactory(name="Northern festival", region=north.region, starts_on=date(2026, 12, 5),
                          ends_on=date(2026, 12, 6))

    with pytest.raises(ValidationError, match="Northern festival\" for region NORTH"):
        schedule_cutover(wave, date(2026, 12, 5), user=pmo)
    schedule_cutover(other, date(2026, 12, 5), user=pmo)


def test_another_programs_window_does_not_apply(wave, pmo):
    BlackoutWindowFactory(name="Other", program=ProgramFactory(name="Other"), starts_on=date(2026, 12, 1),
                          ends_on=date(2026, 12, 31))
    schedule_cutover(wave, date(2026, 12, 10), user=pmo)


def test_only_the_pmo_schedules(wave):
    with pytest.raises(PermissionDenied):
        schedule_cutover(wave, date(2026, 12, 10), user=make_user(Role.FINANCE))


def test_the_admin_form_is_refused_too(wave):
    """The admin validates with full_clean, which asks Wave.clean."""
    BlackoutWindowFactory(name="Peak", program=wave.program, starts_on=date(2026, 12, 1), ends_on=date(2026, 12, 31))
    wave.planned_cutover = date(2026, 12, 24)
    with pytest.raises(ValidationError) as refused:
        wave.full_clean()
    assert "Peak" in refused.value.message_dict["planned_cutover"][0]


def test_the_admin_page_refuses_it(wave, admin_client):
    BlackoutWindowFactory(name="Peak", program=wave.program, starts_on=date(2026, 12, 1), ends_on=date(2026, 12, 31))
    response = admin_client.post(f"/admin/rollout/wave/{wave.pk}/change/", {
        "program": wave.program_id, "name": wave.name, "kind": "regional", "order": wave.order,
        "planned_cutover": "2026-12-24", "status": "preparing",
        "members-TOTAL_FORMS": "0", "members-INITIAL_FORMS": "0",
        "gates-TOTAL_FORMS": "0", "gates-INITIAL_FORMS": "0",
    })
    assert response.status_code == 200
    assert "blackout window &quot;Peak&quot;" in response.content.decode()
    assert Wave.objects.get(pk=wave.pk).planned_cutover is None


def test_the_api_refuses_it_with_a_400_naming_the_window(wave, pmo, api_client):
    BlackoutWindowFactory(name="Black Friday", program=wave.program, starts_on=date(2026, 11, 20),
                          ends_on=date(2026, 11, 30))
    api_client.force_authenticate(pmo)

    refused = api_client.patch(f"/api/v1/waves/{wave.pk}", {"planned_cutover": "2026-11-25"}, format="json")
    assert refused.status_code == 400
    assert "Black Friday" in refused.json()["errors"]["planned_cutover"][0]
    created = api_client.post("/api/v1/waves", {"program": wave.program_id, "name": "East", "kind": "regional",
                                                "order": 7, "planned_cutover": "2026-11-21"}, format="json")
    assert created.status_code == 400 and "Black Friday" in created.json()["errors"]["planned_cutover"][0]
    assert not Wave.objects.filter(name="East").exists()

    accepted = api_client.patch(f"/api/v1/waves/{wave.pk}", {"planned_cutover": "2026-12-02"}, format="json")
    assert accepted.status_code == 200 and accepted.json()["planned_cutover"] == "2026-12-02"


def test_the_wave_load_refuses_the_row(wave, north):
    BlackoutWindowFactory(name="Peak", region=north.region, starts_on=date(2026, 12, 1), ends_on=date(2026, 12, 31))

    report = import_waves([
        {"program": "Rollout", "name": "North", "kind": "regional", "order": "2", "planned_cutover": "2026-12-24"},
    ])

    assert report.created == report.updated == 0
    assert "Peak" in report.refused[0].errors["planned_cutover"][0]
    assert Wave.objects.get(pk=wave.pk).planned_cutover is None


def test_the_admin_asks_a_waiver_for_the_gates_criterion_with_a_future_expiry(wave, admin_client):
    from rollout.evaluation import evaluate_wave
    from rollout.models import Gate, Waiver

    from .factories import CriterionFactory, GateTemplateFactory

    criterion = CriterionFactory(template=GateTemplateFactory(program=wave.program), metric="training_completion")
    other = CriterionFactory(template=GateTemplateFactory(program=wave.program, kind="cutover"),
                             metric="training_completion")
    evaluate_wave(wave)
    gate = Gate.objects.get(wave=wave, template=criterion.template)
    form = {"gate": gate.pk, "criterion": other.pk, "reason": "Late LMS export",
            "expires_at_0": "2020-01-01", "expires_at_1": "00:00:00"}

    refused = admin_client.post("/admin/rollout/waiver/add/", form).content.decode()

    assert "This criterion is not one of the gate&#x27;s." in refused and "The expiry must be in the future." in refused
    accepted = admin_client.post("/admin/rollout/waiver/add/", {**form, "criterion": criterion.pk,
                                                                "expires_at_0": "2099-01-01"})
    assert accepted.status_code == 302
    assert Waiver.objects.get().requested_by.username == "admin"
