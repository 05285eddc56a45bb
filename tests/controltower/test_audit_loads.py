"""Master data loaded in bulk (the CSV imports, their API calls) is in the audit trail: one entry
per row created or changed, with who, when, from where and before/after; none for a row left as it was."""
import pytest
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command

from controltower.audit import NO_ADDRESS, NO_PERSON, changes_text, where, who
from controltower.models import ApiToken, Role
from inventory.models import SKU, ExternalId, Location
from rollout.models import Criterion
from tests.controltower.factories import make_user, person_token
from tests.inventory.factories import LocationFactory, RegionFactory, SKUFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db


def entries_of(obj):
    return list(LogEntry.objects.get_for_object(obj).order_by("timestamp", "pk"))


def load_skus(api_client, key, *skus):
    response = api_client.post("/api/v1/skus", {"skus": list(skus)}, format="json",
                               HTTP_AUTHORIZATION=f"Token {key}", REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 200, response.content
    return response.json()


MILK = {"code": "MILK", "description": "Milk 1l", "category": "Dairy", "unit_cost": "0.89", "base_unit": "EA",
        "barcodes": ["4000000000017"], "conversions": [{"unit": "CS12", "factor": 12}]}
BREAD = {"code": "BREAD", "description": "Loaf", "category": "Bakery", "unit_cost": "1.20", "base_unit": "EA"}


def test_skus_loaded_over_the_api_are_in_the_trail_with_the_person_and_address(api_client):
    admin = make_user(Role.INTEGRATION_ADMIN, username="ines")
    key = person_token(admin)
    load_skus(api_client, key, MILK, BREAD)
    body = load_skus(api_client, key, {**MILK, "unit_cost": "0.95", "barcodes": ["4000000000017", "4000000000024"]},
                     BREAD)
    assert (body["updated"], body["unchanged"]) == (1, 1)

    created, changed = entries_of(SKU.objects.get(code="MILK"))
    assert created.action == LogEntry.Action.CREATE
    assert created.changes["unit_cost"] == ["None", "0.8900"] and created.changes["description"] == ["None", "Milk 1l"]
    assert created.changes["barcodes"]["objects"] == ["4000000000017"]
    assert created.changes["conversions"]["objects"] == ["CS12=12"]
    assert changed.action == LogEntry.Action.UPDATE
    assert set(changes_text(changed).split("; ")) == {"unit_cost: 0.8900 -> 0.9500", "barcodes: added 4000000000024"}
    prefix = ApiToken.objects.get(user=admin).prefix
    assert {(who(e), where(e)) for e in (created, changed)} == {("ines", f"203.0.113.7, API token {prefix}…")}
    # BREAD was loaded again as it was: no second entry.
    assert len(entries_of(SKU.objects.get(code="BREAD"))) == 1


def test_a_refused_row_writes_no_entry(api_client):
    key = person_token(make_user(Role.ADMIN))
    body = load_skus(api_client, key, {**MILK, "unit_cost": "-1"})
    assert body["refused"] and not LogEntry.objects.filter(content_type__model="sku").exists()


def test_locations_loaded_by_the_command_name_no_person(tmp_path):
    RegionFactory(code="NORTH")
    kept = LocationFactory(code="S200", name="Quay", region=RegionFactory(code="SOUTH"), timezone="Europe/Berlin",
                           kind="store")
    moved = LocationFactory(code="S100", name="Harbour", region=kept.region, timezone="Europe/Berlin", kind="store")
    before = {obj.pk: len(entries_of(obj)) for obj in (kept, moved)}
    file = tmp_path / "locations.csv"
    file.write_text("code,name,kind,region,timezone\n"
                    "S100,Harbour West,store,NORTH,Europe/Berlin\n"
                    "S200,Quay,store,SOUTH,Europe/Berlin\n"
                    "S300,Station,store,NORTH,Europe/Berlin\n")
    call_command("import_locations", str(file))

    [*_, changed] = entries_of(moved)
    assert changed.changes["name"] == ["Harbour", "Harbour West"]
    assert changed.changes["region"] == [str(kept.region_id), str(Location.objects.get(code="S100").region_id)]
    assert (who(changed), changed.remote_addr) == (NO_PERSON, None)
    assert len(entries_of(kept)) == before[kept.pk]  # unchanged: no entry
    [created] = entries_of(Location.objects.get(code="S300"))
    assert created.action == LogEntry.Action.CREATE and created.object_repr == "S300 Station"


def test_foreign_ids_loaded_and_moved_are_in_the_trail(api_client):
    source = SourceSystemFactory(code="ERP")
    SKUFactory(code="MILK")
    SKUFactory(code="OAT")
    admin = make_user(Role.ADMIN)
    key = person_token(admin)

    def load(code):
        response = api_client.post("/api/v1/sources/ERP/external-ids", {"external_ids": [
            {"kind": "sku", "external_id": "100017", "code": code}]}, format="json",
            HTTP_AUTHORIZATION=f"Token {key}")
        assert response.status_code == 200, response.content

    load("MILK")
    load("MILK")  # again as it was: nothing changed
    load("OAT")
    created, moved = entries_of(ExternalId.objects.get(source=source))
    assert created.action == LogEntry.Action.CREATE and created.actor == admin
    assert moved.changes["sku"] == [str(SKU.objects.get(code="MILK").pk), str(SKU.objects.get(code="OAT").pk)]


def test_a_waves_stores_loaded_and_dropped_are_in_the_trail(tmp_path):
    for code in ("W001", "W002", "W003"):
        LocationFactory(code=code)
    file = tmp_path / "waves.csv"
    file.write_text("program,name,kind,order,planned_cutover,locations\nERP,North,regional,2,,W001;W002\n")
    call_command("import_waves", str(file))
    file.write_text("program,name,kind,order,planned_cutover,locations\nERP,North,regional,2,,W002;W003\n")
    call_command("import_waves", str(file))

    members = LogEntry.objects.filter(content_type__model="wavelocation").order_by("pk")
    assert [(e.get_action_display(), e.object_repr) for e in members] == [
        ("create", "ERP / North: W001"), ("create", "ERP / North: W002"),
        ("delete", "ERP / North: W001"), ("create", "ERP / North: W003")]


def test_a_new_programs_playbook_criteria_are_in_the_trail(api_client):
    key = person_token(make_user(Role.PMO, username="pia"))
    made = api_client.post("/api/v1/programs", {"name": "Second ERP"}, format="json", HTTP_AUTHORIZATION=f"Token {key}")
    assert made.status_code == 201
    criteria = LogEntry.objects.filter(content_type__model="criterion")
    assert criteria.count() == Criterion.objects.count() > 0
    assert {(e.action, who(e)) for e in criteria} == {(LogEntry.Action.CREATE, "pia")}


def test_an_import_command_names_the_person_it_loads_for(tmp_path):
    make_user(Role.INTEGRATION_ADMIN, username="ines")
    file = tmp_path / "skus.csv"
    file.write_text("code,description,category,unit_cost,base_unit,barcodes,conversions\n"
                    "MILK,Milk 1l,Dairy,0.89,EA,4000000000017,CS12=12\n")
    with pytest.raises(CommandError, match="--by: no person with the username 'nobody'"):
        call_command("import_skus", str(file), by="nobody")
    assert not SKU.objects.exists()

    call_command("import_skus", str(file), by="ines")
    [created] = entries_of(SKU.objects.get(code="MILK"))
    assert (who(created), where(created)) == ("ines", NO_ADDRESS)
