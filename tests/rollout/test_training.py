"""Training records (API, CSV) and the training metrics."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.core.management import call_command

from controltower import metrics
from controltower.metrics import Scope, Window
from controltower.models import Role
from rollout.models import TrainingRecord
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory

from .factories import TrainingModuleFactory, TrainingRecordFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_after_fixed_dates")]  # its data: November 2026

NOW = datetime(2026, 11, 20, tzinfo=dt_timezone.utc)
WINDOW = Window(since=NOW - timedelta(hours=24), until=NOW)
HEADER = "person_id,person_name,location,module,completed_at,proficiency\n"


@pytest.fixture
def modules():
    return TrainingModuleFactory(code="POS101"), TrainingModuleFactory(code="INV201"), \
        TrainingModuleFactory(code="OPT", required=False)


@pytest.fixture
def stores():
    return LocationFactory(code="T001"), LocationFactory(code="T002")


def import_csv(tmp_path, text, capsys):
    path = tmp_path / "training.csv"
    path.write_text(HEADER + text, encoding="utf-8")
    call_command("import_training", str(path))
    return capsys.readouterr().out


def test_import_is_idempotent_per_person_and_module(tmp_path, capsys, modules, stores):
    rows = ("E1,Ana,T001,POS101,2026-11-01T09:00:00+01:00,85\n"
            "E1,Ana,T001,INV201,2026-11-02T09:00:00+01:00,70\n")

    assert "Loaded 2 training records (2 created, 0 updated, 0 unchanged); refused 0" in import_csv(
        tmp_path, rows, capsys)
    assert "(0 created, 0 updated, 2 unchanged)" in import_csv(tmp_path, rows, capsys)
    retake = "E1,Ana,T001,INV201,2026-11-05T09:00:00+01:00,92\n"
    assert "(0 created, 1 updated, 0 unchanged)" in import_csv(tmp_path, retake, capsys)

    assert TrainingRecord.objects.count() == 2
    assert TrainingRecord.objects.get(person_id="E1", module__code="INV201").proficiency == 92


def test_refused_rows_are_listed_and_the_rest_loads(tmp_path, capsys, modules, stores):
    out = import_csv(tmp_path, (
        "E1,Ana,T001,POS101,2026-11-01T09:00:00+01:00,85\n"
        "E2,Bo,T001,POS101,2026-11-01T09:00:00+01:00,101\n"
        "E3,Cy,NOPE,POS101,2026-11-01T09:00:00+01:00,50\n"
        "E4,Di,T002,GONE,2026-11-01T09:00:00,50\n"
        ",,T002,POS101,2026-11-01T09:00:00+01:00,50\n"
        "E1,Ana,T001,POS101,2026-11-01T10:00:00+01:00,90\n"
    ), capsys)

    assert "Row 2, training record E2/POS101: proficiency: Out of range: at most 100" in out
    assert "Row 3, training record E3/POS101: location: No location 'NOPE' in your scope." in out
    assert "Row 4, training record E4/GONE: completed_at: Must include a UTC offset" in out
    assert "Row 4, training record E4/GONE: module: No training module 'GONE'; one of INV201, OPT, POS101." in out
    assert "Row 5, training record /POS101: person_id: This field is required." in out
    assert "Row 6, training record E1/POS101: module: Repeats row 1 for the same person and module." in out
    assert "Loaded 1 training records (1 created, 0 updated, 0 unchanged); refused 5" in out
    assert list(TrainingRecord.objects.values_list("person_id", flat=True)) == ["E1"]


def test_the_api_takes_a_batch_with_per_item_errors(api_client, modules, stores):
    api_client.force_authenticate(make_user(Role.PMO))
    body = {"records": [
        {"person_id": "E1", "location": "T001", "module": "POS101", "completed_at": "2026-11-01T09:00:00Z",
         "proficiency": 85},
        {"person_id": "E2", "location": "T001", "module": "POS101", "completed_at": "soon", "proficiency": 85},
    ]}

    first = api_client.post("/api/v1/training", body, format="json")
    again = api_client.post("/api/v1/training", body, format="json")

    assert first.status_code == 200
    assert (first.json()["created"], again.json()["unchanged"]) == (1, 1)
    assert first.json()["refused"] == [{"row": 2, "code": "E2/POS101", "errors": {
        "completed_at": ["Not an ISO 8601 time (e.g. 2026-11-23T10:15:00+01:00)."]}}]
    assert api_client.post("/api/v1/training", {"rows": []}, format="json").status_code == 400


def test_only_the_pmo_loads_training_and_people_read_their_scope(api_client, modules, stores):
    TrainingRecordFactory(person_id="E1", location=stores[0], module=modules[0])
    TrainingRecordFactory(person_id="E2", location=stores[1], module=modules[0])
    manager = make_user(Role.STORE_MANAGER, locations=[stores[0]])
    api_client.force_authenticate(manager)

    assert api_client.post("/api/v1/training", {"records": []}, format="json").status_code == 403
    listed = api_client.get("/api/v1/training").json()["results"]
    assert [row["person_id"] for row in listed] == ["E1"]


def test_training_metrics_with_known_values(modules, stores):
    pos, inv, optional = modules
    here, there = stores
    done = NOW - timedelta(days=3)
    for module, proficiency in ((pos, 90), (inv, 70)):
        TrainingRecordFactory(person_id="A", location=here, module=module, completed_at=done, proficiency=proficiency)
    TrainingRecordFactory(person_id="B", location=here, module=pos, completed_at=done, proficiency=80)
    TrainingRecordFactory(person_id="B", location=here, module=optional, completed_at=done, proficiency=60)
    TrainingRecordFactory(person_id="C", location=here, module=inv, completed_at=NOW + timedelta(days=1))
    TrainingRecordFactory(person_id="D", location=there, module=pos, completed_at=done, proficiency=10)
    scope = Scope.of(locations=[here.pk])

    completion = metrics.measure("training_completion", scope, WINDOW)
    proficiency = metrics.measure("training_proficiency", scope, WINDOW)

    # A has both required modules, B one; C's record is after the window's end.
    assert completion.value == Decimal(50) and completion.reading.sample == 2
    assert completion.reading.detail == {"complete": 1, "people": 2, "required_modules": 2}
    assert completion.reading.records_url == f"/records/training/?locations={here.code}"
    assert proficiency.value == Decimal(75) and proficiency.reading.sample == 4  # (90+70+80+60)/4
    assert metrics.get("training_completion").definition


def test_training_metrics_without_data_are_no_data(modules, stores):
    scope = Scope.of(locations=[stores[0].pk])

    assert metrics.measure("training_completion", scope, WINDOW).text == "no data"
    assert metrics.measure("training_proficiency", scope, WINDOW).value is None


def test_completion_without_any_required_module_is_no_data(stores):
    TrainingRecordFactory(person_id="A", location=stores[0], module=TrainingModuleFactory(required=False),
                          completed_at=NOW - timedelta(days=1))

    completion = metrics.measure("training_completion", Scope.of(locations=[stores[0].pk]), WINDOW)

    assert completion.value is None and completion.reading.detail["required_modules"] == 0
