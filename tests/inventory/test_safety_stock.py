"""Safety stock per location x SKU, set by the API, a CSV file and the admin,
and ATP per channel: the till sells all of available, the online channels
see available minus safety stock."""
from io import StringIO

import pytest
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command
from django.utils import timezone

from controltower.audit import where, who
from controltower.models import ApiToken, Role
from inventory.ledger import ingest_events, rebuild_positions
from inventory.models import Channel, Position, SourceSystem
from tests.controltower.factories import UserFactory, make_user, person_token, source_token
from tests.inventory.factories import LocationFactory, PositionFactory, SKUFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stock():
    store, milk, bread = LocationFactory(code="S001"), SKUFactory(code="MILK"), SKUFactory(code="BREAD")
    position = PositionFactory(location=store, sku=milk, available=10)
    return store, milk, bread, position


def post(client, key, body):
    return client.post("/api/v1/safety-stock", body, format="json", HTTP_AUTHORIZATION=f"Token {key}")


def test_an_integration_admin_sets_safety_stock_and_sees_each_refused_line(api_client, stock):
    store, milk, bread, position = stock
    admin = make_user(Role.INTEGRATION_ADMIN)

    response = post(api_client, person_token(admin), {"lines": [
        {"location": "S001", "sku": "MILK", "safety_stock": 4},
        {"location": "S001", "sku": "BREAD", "safety_stock": "2"},  # no position yet: one is made
        {"location": "S999", "sku": "MILK", "safety_stock": 1},
        {"location": "S001", "sku": "MILK", "safety_stock": -1},
        {"location": "S001", "sku": "BREAD", "safety_stock": 1.5},
        {"location": "S001", "sku": "MILK", "safety_stock": 7},  # again in the same batch
    ]})

    assert response.status_code == 200
    body = response.json()
    assert (body["loaded"], body["created"], body["updated"]) == (2, 1, 1)
    refused = {r["row"]: r["errors"] for r in body["refused"]}
    assert refused[3] == {"location": ["Unknown location 'S999'."]}
    assert refused[4] == {"safety_stock": ["Must be between 0 and 1,000,000,000."]}
    assert refused[5] == {"safety_stock": ["Must be a whole number."]}
    assert refused[6] == {"sku": ["Appears again in this file (first at row 1)."]}
    position.refresh_from_db()
    assert (position.available, position.safety_stock, position.atp) == (10, 4, 6)
    bread_position = Position.objects.get(location=store, sku=bread)
    assert (bread_position.available, bread_position.safety_stock) == (0, 2)


def test_a_store_manager_or_a_pos_source_may_not_set_safety_stock(api_client, stock):
    manager = make_user(Role.STORE_MANAGER, locations=[stock[0]])
    pos = SourceSystemFactory(code="POS", kind=SourceSystem.Kind.POS)
    line = {"lines": [{"location": "S001", "sku": "MILK", "safety_stock": 4}]}

    assert post(api_client, person_token(manager), line).status_code == 403
    assert post(api_client, source_token(pos), line).status_code == 403
    assert Position.objects.get(sku=stock[1]).safety_stock == 0


def test_a_body_without_lines_is_a_400_naming_them(api_client):
    response = post(api_client, person_token(make_user(Role.ADMIN)), {"rows": []})
    assert response.status_code == 400
    assert "'lines'" in response.json()["detail"]


def test_the_schema_documents_the_endpoint(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/safety-stock"]["post"]
    assert "SafetyStockRequest" in str(operation["requestBody"])
    positions = schema["components"]["schemas"]["Position"]["properties"]
    assert "atp_by_channel" in positions


def test_the_positions_api_shows_atp_per_channel(api_client, stock):
    planner = make_user(Role.PLANNER)
    Channel.objects.update_or_create(code="store", defaults={
        "name": "In store", "hold_minutes": 1440, "holds_back_safety_stock": False})
    Channel.objects.update_or_create(code="web", defaults={
        "name": "Web cart", "hold_minutes": 30, "holds_back_safety_stock": True})
    Position.objects.filter(pk=stock[3].pk).update(safety_stock=4)

    rows = api_client.get("/api/v1/positions?sku=MILK", HTTP_AUTHORIZATION=f"Token {person_token(planner)}").json()

    row = rows["results"][0] if isinstance(rows, dict) else rows[0]
    assert (row["available"], row["safety_stock"], row["atp"]) == (10, 4, 6)
    assert row["atp_by_channel"]["store"] == 10 and row["atp_by_channel"]["web"] == 6


def test_atp_is_never_below_zero_in_any_channel(stock):
    position = stock[3]
    position.available, position.safety_stock = 3, 5
    till = Channel(code="till", name="Till", hold_minutes=60, holds_back_safety_stock=False)
    web = Channel(code="w", name="Web", hold_minutes=30, holds_back_safety_stock=True)
    assert (position.atp, position.atp_for(web), position.atp_for(till)) == (0, 0, 3)
    position.available = -2
    assert (position.atp_for(web), position.atp_for(till)) == (0, 0)


def test_the_migration_loads_the_channels():
    holds = dict(Channel.objects.values_list("code", "hold_minutes"))
    assert holds["web"] == 30 and holds["bopis"] == 72 * 60 and "store" in holds and "ship_from_store" in holds
    assert not Channel.objects.get(code="store").holds_back_safety_stock


def test_import_safety_stock_loads_the_csv_and_lists_refused_rows(tmp_path, stock):
    path = tmp_path / "safety.csv"
    path.write_text("location,sku,safety_stock\nS001,MILK,3\nS001,NOPE,1\n", encoding="utf-8")
    out = StringIO()

    call_command("import_safety_stock", str(path), stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == "Row 2, safety stock line S001/NOPE: sku: Unknown SKU 'NOPE'."
    assert lines[-1].startswith("Loaded 1 safety stock lines")
    assert Position.objects.get(sku=stock[1]).safety_stock == 3


def test_import_safety_stock_needs_its_columns(tmp_path):
    path = tmp_path / "safety.csv"
    path.write_text("location,sku\nS001,MILK\n", encoding="utf-8")
    with pytest.raises(CommandError, match="Missing column"):
        call_command("import_safety_stock", str(path), stdout=StringIO())


def test_ingest_and_repair_keep_safety_stock(stock):
    store, milk, _, position = stock
    Position.objects.filter(pk=position.pk).update(safety_stock=4, available=0)
    pos = SourceSystemFactory(code="POS", kind=SourceSystem.Kind.POS)
    ingest_events(pos, [{"transaction_id": "r1", "type": "receipt", "location": "S001", "sku": "MILK",
                         "quantity": 5, "reference": "PO1", "occurred_at": timezone.now().isoformat()}])
    Position.objects.filter(pk=position.pk).update(available=99)  # drift

    rebuild_positions(repair=True)

    position.refresh_from_db()
    assert (position.available, position.safety_stock) == (5, 4)


def test_the_admin_sets_safety_stock_only(client, stock):
    position = stock[3]
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = f"/admin/inventory/position/{position.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200

    refused = client.post(url, {"safety_stock": "-1"})
    assert refused.status_code == 200 and "greater than or equal to 0" in refused.content.decode()
    # Meanwhile a posting moved available: saving safety stock must not undo it.
    Position.objects.filter(pk=position.pk).update(available=12)
    saved = client.post(url, {"safety_stock": "3", "available": "0"})

    assert saved.status_code == 302
    position.refresh_from_db()
    assert (position.available, position.safety_stock) == (12, 3)
    [entry] = LogEntry.objects.get_for_object(position)
    assert (entry.changes, entry.object_repr) == ({"safety_stock": ["0", "3"]}, "MILK at S001")


def test_each_safety_stock_set_or_changed_is_in_the_audit_trail_with_who_and_from_where(api_client, stock):
    store, milk, bread, position = stock
    admin = make_user(Role.INTEGRATION_ADMIN, username="ines")
    key = person_token(admin)
    lines = [{"location": "S001", "sku": "MILK", "safety_stock": 4}, {"location": "S001", "sku": "BREAD", "safety_stock": 2}]
    for body in ({"lines": lines}, {"lines": [{**lines[0], "safety_stock": 6}, lines[1]]}):
        response = api_client.post("/api/v1/safety-stock", body, format="json", HTTP_AUTHORIZATION=f"Token {key}",
                                   REMOTE_ADDR="203.0.113.7")
        assert response.status_code == 200, response.content

    milk_entries = list(LogEntry.objects.get_for_object(position).order_by("pk"))
    assert [(e.action, e.changes) for e in milk_entries] == [
        (LogEntry.Action.UPDATE, {"safety_stock": ["0", "4"]}), (LogEntry.Action.UPDATE, {"safety_stock": ["4", "6"]})]
    # BREAD had no position: one was made (an entry "created"); set again as it was: no second entry.
    [made] = LogEntry.objects.get_for_object(Position.objects.get(location=store, sku=bread))
    assert (made.action, made.changes, made.object_repr) == (
        LogEntry.Action.CREATE, {"safety_stock": ["None", "2"]}, "BREAD at S001")
    prefix = ApiToken.objects.get(user=admin).prefix
    assert {(who(e), where(e)) for e in [*milk_entries, made]} == {("ines", f"203.0.113.7, API token {prefix}…")}


def test_import_safety_stock_names_the_person_it_loads_for(tmp_path, stock):
    planner = make_user(Role.PMO, username="paula")
    path = tmp_path / "safety.csv"
    path.write_text("location,sku,safety_stock\nS001,MILK,5\n")
    call_command("import_safety_stock", str(path), "--by", "paula", stdout=StringIO())
    [entry] = LogEntry.objects.get_for_object(stock[3])
    assert (entry.actor, entry.changes) == (planner, {"safety_stock": ["0", "5"]})


def test_add_source_sets_the_channel_and_auto_release():
    Channel.objects.update_or_create(code="web", defaults={"name": "Web cart", "hold_minutes": 30})
    out = StringIO()
    call_command("add_source", "ECOM", "--kind", "ecom", "--channel", "web", "--releases-expired-reservations",
                 stdout=out)
    source = SourceSystem.objects.get(code="ECOM")
    assert (source.default_channel.code, source.releases_expired_reservations) == ("web", True)
    assert "Reservations: channel web; past their hold time, released by the tower." in out.getvalue()

    call_command("add_source", "ECOM", "--kind", "ecom", "--no-releases-expired-reservations", stdout=StringIO())
    source.refresh_from_db()
    assert (source.default_channel.code, source.releases_expired_reservations) == ("web", False)
    with pytest.raises(CommandError, match="channel: 'fax' is not a channel"):
        call_command("add_source", "ECOM", "--kind", "ecom", "--channel", "fax", stdout=StringIO())
