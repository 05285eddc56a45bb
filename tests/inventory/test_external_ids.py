"""A source's own ids of the tower's locations and SKUs, loaded all or
nothing by `manage.py import_external_ids SOURCE FILE` and over the API."""
from io import StringIO

import orjson
import pytest
from django.core.management import CommandError, call_command

from controltower.models import Role
from inventory import ledger
from inventory.external_ids import import_external_ids
from inventory.models import ExternalId, InventoryEvent
from tests.controltower.factories import make_user, person_token, source_token

from .factories import ExternalIdFactory, LocationFactory, SKUFactory, SourceSystemFactory
from .payloads import event

pytestmark = pytest.mark.django_db


@pytest.fixture
def master():
    return LocationFactory(code="S001"), SKUFactory(code="SKU00001")


@pytest.fixture
def shop():
    return SourceSystemFactory(code="SHOPIFY", kind="ecom")


def mapping(source):
    return {(e.kind, e.external_id): (e.location.code if e.location else e.sku.code)
            for e in ExternalId.objects.filter(source=source).select_related("location", "sku")}


def test_rows_load_and_load_again_unchanged(master, shop):
    rows = [{"kind": "location", "external_id": "0042", "code": "S001"},
            {"kind": "SKU", "external_id": "43718229082173", "code": "SKU00001"}]

    first = import_external_ids(shop, rows)
    again = import_external_ids(shop, rows)

    assert (first.created, again.unchanged) == (2, 2)
    assert mapping(shop) == {("location", "0042"): "S001", ("sku", "43718229082173"): "SKU00001"}


def test_an_id_given_another_code_moves(master, shop):
    import_external_ids(shop, [{"kind": "location", "external_id": "7", "code": "S001"}])
    LocationFactory(code="S002")

    report = import_external_ids(shop, [{"kind": "location", "external_id": "7", "code": "S002"}])

    assert report.updated == 1
    assert mapping(shop) == {("location", "7"): "S002"}


def test_a_refused_row_loads_nothing_and_names_its_row_and_field(master, shop):
    report = import_external_ids(shop, [
        {"kind": "location", "external_id": "1", "code": "S001"},
        {"kind": "shelf", "external_id": "2", "code": "S001"},
        {"kind": "sku", "external_id": "3", "code": "NOPE"},
        {"kind": "location", "external_id": "", "code": "S001"},
        {"kind": "location", "external_id": "1", "code": "S009"},
        "not a row",
    ])

    assert [(r.row, r.errors) for r in report.refused] == [
        (2, {"kind": ["'shelf' is not one of location, sku."]}),
        (3, {"code": ["No SKU 'NOPE' in the tower."]}),
        (4, {"external_id": ["This field is required."]}),
        (5, {"code": ["No location 'S009' in the tower."]}),
        (6, {"row": ["Must be an object of column: value."]}),
    ]
    assert not ExternalId.objects.exists()


def test_the_same_id_twice_in_a_file_with_two_codes_is_refused(master, shop):
    LocationFactory(code="S002")

    report = import_external_ids(shop, [{"kind": "location", "external_id": "1", "code": "S001"},
                                        {"kind": "location", "external_id": "1", "code": "S002"}])

    assert report.refused[0].errors == {"external_id": ["Row 1 already maps location '1' to S001."]}


def test_the_command_loads_a_csv_then_replay_lets_the_kept_lines_in(master, shop, tmp_path):
    ledger.ingest_events(shop, [event(location="0042", sku="43718229082173")])
    path = tmp_path / "ids.csv"
    path.write_text("kind,external_id,code\nlocation,0042,S001\nsku,43718229082173,SKU00001\n")
    out = StringIO()

    call_command("import_external_ids", "SHOPIFY", str(path), stdout=out)
    ledger.replay_rejections(source=shop)

    assert out.getvalue().strip() == "Loaded 2 external ids of SHOPIFY (2 created, 0 updated, 0 unchanged)."
    assert InventoryEvent.objects.get().location.code == "S001"


def test_the_command_lists_refused_rows_and_fails(master, shop, tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("kind,external_id,code\nlocation,1,S001\nsku,2,NOPE\n")
    out = StringIO()

    with pytest.raises(CommandError, match="1 row\\(s\\) refused; nothing loaded"):
        call_command("import_external_ids", "SHOPIFY", str(path), stdout=out)

    assert out.getvalue().strip() == "Row 2, external id 2: code: No SKU 'NOPE' in the tower."
    assert not ExternalId.objects.exists()


def test_the_command_names_an_unknown_source_and_a_missing_column(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("kind,code\nlocation,S001\n")
    with pytest.raises(CommandError, match="No source system 'NOPE'"):
        call_command("import_external_ids", "NOPE", str(path))
    SourceSystemFactory(code="SHOPIFY")
    with pytest.raises(CommandError, match="Missing column\\(s\\): external_id"):
        call_command("import_external_ids", "SHOPIFY", str(path))


def auth(token):
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def test_an_integration_admin_loads_and_reads_over_the_api(api_client, master, shop):
    ida = person_token(make_user(Role.INTEGRATION_ADMIN, username="ida"))
    body = {"external_ids": [{"kind": "location", "external_id": "0042", "code": "S001"},
                             {"kind": "sku", "external_id": "43718229082173", "code": "SKU00001"}]}

    loaded = api_client.post("/api/v1/sources/SHOPIFY/external-ids", data=orjson.dumps(body),
                             content_type="application/json", **auth(ida))
    listed = api_client.get("/api/v1/sources/SHOPIFY/external-ids?kind=sku", **auth(ida))

    assert loaded.status_code == 200 and loaded.json()["created"] == 2
    assert [(r["kind"], r["external_id"], r["code"]) for r in listed.json()["results"]] == [
        ("sku", "43718229082173", "SKU00001")]


def test_the_api_refuses_a_bad_row_whole_with_400(api_client, master, shop):
    ida = person_token(make_user(Role.INTEGRATION_ADMIN, username="ida"))
    body = {"external_ids": [{"kind": "location", "external_id": "1", "code": "S001"},
                             {"kind": "location", "external_id": "2", "code": "NOPE"}]}

    response = api_client.post("/api/v1/sources/SHOPIFY/external-ids", data=orjson.dumps(body),
                               content_type="application/json", **auth(ida))

    assert response.status_code == 400
    assert response.json()["detail"] == "1 row(s) refused; nothing loaded."
    assert response.json()["refused"] == [
        {"row": 2, "code": "2", "errors": {"code": ["No location 'NOPE' in the tower."]}}]
    assert not ExternalId.objects.exists()


@pytest.mark.parametrize("body", [b"[]", b'{"external_ids": {}}', b"{"])
def test_the_api_refuses_a_malformed_body(api_client, shop, body):
    ida = person_token(make_user(Role.INTEGRATION_ADMIN, username="ida"))

    response = api_client.post("/api/v1/sources/SHOPIFY/external-ids", data=body,
                               content_type="application/json", **auth(ida))

    assert response.status_code == 400 and response.json()["detail"]


def test_only_admins_and_integration_admins_map_ids(api_client, master, shop):
    ExternalIdFactory(source=shop, external_id="1", location=master[0])
    planner = person_token(make_user(Role.PLANNER, username="pia"))

    assert api_client.get("/api/v1/sources/SHOPIFY/external-ids", **auth(planner)).status_code == 404
    assert api_client.get("/api/v1/sources/SHOPIFY/external-ids", **auth(source_token(shop))).status_code == 403
    admin = person_token(make_user(Role.ADMIN, username="ada"))
    assert api_client.get("/api/v1/sources/SHOPIFY/external-ids", **auth(admin)).json()["count"] == 1
    assert api_client.get("/api/v1/sources/NOPE/external-ids", **auth(admin)).status_code == 404
