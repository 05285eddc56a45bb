"""Waves and their stores loaded by CSV (import_waves) and the API, with per-row errors."""
import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from controltower.models import Role
from rollout.models import Gate, GateKind, Wave, WaveLocation
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory

from .factories import GateTemplateFactory, ProgramFactory, WaveFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stores():
    return [LocationFactory(code=code) for code in ("W001", "W002", "W003")]


def import_csv(tmp_path, text, capsys):
    path = tmp_path / "waves.csv"
    path.write_text("program,name,kind,order,planned_cutover,locations\n" + text, encoding="utf-8")
    call_command("import_waves", str(path))
    return capsys.readouterr().out


def test_import_creates_waves_with_their_stores_and_gates_and_is_idempotent(tmp_path, capsys, stores):
    GateTemplateFactory(program=ProgramFactory(name="ERP"), kind=GateKind.DESIGN_COMPLETE)
    rows = ("ERP,Pilot,pilot,1,2026-10-01,W001\n"
            "ERP,North,regional,2,2027-01-15,W002;W003\n")

    assert "Loaded 2 waves (2 created, 0 updated, 0 unchanged); refused 0" in import_csv(tmp_path, rows, capsys)
    assert "(0 created, 0 updated, 2 unchanged)" in import_csv(tmp_path, rows, capsys)

    north = Wave.objects.get(name="North")
    assert sorted(north.locations.values_list("code", flat=True)) == ["W002", "W003"]
    assert north.kind == "regional" and str(north.planned_cutover) == "2027-01-15"
    assert Gate.objects.get(wave=north).status == Gate.Status.OPEN

    assert "(0 created, 1 updated, 0 unchanged)" in import_csv(tmp_path, "ERP,North,regional,2,2027-01-15,W002\n",
                                                                capsys)
    assert list(north.locations.values_list("code", flat=True)) == ["W002"]


def test_refused_rows_are_listed_and_the_rest_loads(tmp_path, capsys, stores):
    out = import_csv(tmp_path, (
        "ERP,Pilot,pilot,1,,W001\n"
        "ERP,North,regional,2,,W001;W002\n"
        "ERP,South,regional,3,,W404\n"
        "ERP,East,coastal,x,15/01/2027,\n"
        "ERP,West,regional,1,,W003\n"
    ), capsys)

    assert "Row 2, wave ERP/North: locations: W001 is already in wave Pilot." in out
    assert "Row 3, wave ERP/South: locations: Unknown location(s): W404." in out
    assert "Row 4, wave ERP/East: kind: 'coastal' is not one of pilot, regional." in out
    assert "Row 4, wave ERP/East: planned_cutover: '15/01/2027' is not a date as YYYY-MM-DD." in out
    assert "Row 5, wave ERP/West: order: Another wave of ERP has order 1." in out
    assert "Loaded 1 waves (1 created, 0 updated, 0 unchanged); refused 4" in out
    assert list(Wave.objects.values_list("name", flat=True)) == ["Pilot"]


def test_a_location_is_in_one_wave_of_a_program_by_constraint(stores):
    first = WaveFactory(name="A", stores=[stores[0]])
    second = WaveFactory(program=first.program, name="B")
    WaveFactory(name="Other program", stores=[stores[0]])  # another program may hold it

    with pytest.raises(IntegrityError), transaction.atomic():
        WaveLocation.objects.create(wave=second, location=stores[0])


def test_the_api_loads_waves_for_the_pmo_only(api_client, stores):
    body = {"waves": [{"program": "ERP", "name": "Pilot", "kind": "pilot", "order": 1, "locations": "W001"},
                      {"program": "ERP", "name": "Bad", "kind": "pilot", "order": 0}]}
    api_client.force_authenticate(make_user(Role.FINANCE))
    assert api_client.post("/api/v1/waves/load", body, format="json").status_code == 403

    api_client.force_authenticate(make_user(Role.PMO))
    report = api_client.post("/api/v1/waves/load", body, format="json").json()

    assert report["created"] == 1
    assert report["refused"] == [{"row": 2, "code": "ERP/Bad", "errors": {"order": ["Must be between 1 and 32,767."]}}]


def test_the_admin_refuses_a_location_already_in_another_wave(admin_client, stores):
    first = WaveFactory(name="A", stores=[stores[0]])
    second = WaveFactory(program=first.program, name="B")

    response = admin_client.post(f"/admin/rollout/wave/{second.pk}/change/", {
        "program": second.program_id, "name": "B", "kind": "regional", "order": second.order, "status": "preparing",
        "members-TOTAL_FORMS": "1", "members-INITIAL_FORMS": "0", "members-0-location": stores[0].pk,
        "members-0-wave": second.pk, "gates-TOTAL_FORMS": "0", "gates-INITIAL_FORMS": "0",
    })

    assert response.status_code == 200 and "W001 is already in wave A." in response.content.decode()
    assert not second.members.exists()
