"""A snapshot's scope (lines or full) is given over the API and the CSV
import and stored with it; a bad scope is refused as a whole."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from inventory.models import Snapshot, SourceSystem
from tests.controltower.factories import source_token
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_after_fixed_dates")]  # its data: November 2026

AS_OF = "2026-11-20T06:00:00+01:00"
LINE = {"location": "S012", "sku": "SKU00001", "quantity": 4}


@pytest.fixture
def wms():
    LocationFactory(code="S012")
    SKUFactory(code="SKU00001")
    return SourceSystemFactory(code="WMS", kind=SourceSystem.Kind.WMS)


def post(api_client, source, body):
    return api_client.post(
        "/api/v1/snapshots", body, format="json", HTTP_AUTHORIZATION=f"Token {source_token(source)}"
    )


@pytest.mark.parametrize("given, stored", [({}, "lines"), ({"scope": "lines"}, "lines"), ({"scope": "full"}, "full")])
def test_api_stores_the_scope_given_lines_by_default(api_client, wms, given, stored):
    response = post(api_client, wms, {"as_of": AS_OF, "lines": [LINE], **given})

    assert response.status_code == 200, response.json()
    assert Snapshot.objects.get(pk=response.json()["snapshot"]).scope == stored


@pytest.mark.parametrize("scope", ["everything", "", "FULL", 1, ["full"]])
def test_api_refuses_a_bad_scope_naming_it(api_client, wms, scope):
    response = post(api_client, wms, {"as_of": AS_OF, "lines": [LINE], "scope": scope})

    assert response.status_code == 400
    assert "'scope' must be one of lines, full" in response.json()["detail"]
    assert not Snapshot.objects.exists()


def test_the_openapi_schema_describes_scope(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    scope = schema["components"]["schemas"]["SnapshotIn"]["properties"]["scope"]

    assert "full" in scope["description"] and "lines" in scope["description"]


@pytest.mark.parametrize("args, stored", [([], "lines"), (["--scope", "full"], "full"), (["--scope", "lines"], "lines")])
def test_csv_import_stores_the_scope(tmp_path, wms, args, stored):
    csv_file = tmp_path / "snap.csv"
    csv_file.write_text("location,sku,quantity\nS012,SKU00001,4\n")
    out = StringIO()

    call_command("import_snapshot", "WMS", str(csv_file), "--as-of", AS_OF, *args, stdout=out, stderr=StringIO())

    assert "1 lines loaded" in out.getvalue()
    assert Snapshot.objects.get().scope == stored


def test_csv_import_refuses_a_bad_scope_in_one_line(tmp_path, wms):
    csv_file = tmp_path / "snap.csv"
    csv_file.write_text("location,sku,quantity\nS012,SKU00001,4\n")

    with pytest.raises(CommandError) as refused:
        call_command("import_snapshot", "WMS", str(csv_file), "--as-of", AS_OF, "--scope", "some", stderr=StringIO())

    assert "\n" not in str(refused.value)
    assert str(refused.value).startswith("'scope' must be one of lines, full")
    assert not Snapshot.objects.exists()
