"""GET /api/v1/positions, events, locations, skus and rejections: who sees what."""
from datetime import timedelta

import pytest
from django.utils import timezone

from controltower.models import Role
from inventory.ledger import ingest_events, replay_rejections
from inventory.models import Location, Position, atp_expression
from tests.controltower.factories import make_user, person_token, source_token
from tests.inventory.factories import (
    BarcodeFactory,
    LocationFactory,
    PositionFactory,
    RegionFactory,
    SKUFactory,
    SourceSystemFactory,
    UnitConversionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def estate():
    """Stores A1 and A2 in region NORTH, store B1 and a DC in region SOUTH."""
    north, south = RegionFactory(code="NORTH"), RegionFactory(code="SOUTH")
    return {
        "A1": LocationFactory(code="A1", region=north),
        "A2": LocationFactory(code="A2", region=north),
        "B1": LocationFactory(code="B1", region=south),
        "DC1": LocationFactory(code="DC1", region=south, kind=Location.Kind.DC),
    }


@pytest.fixture
def sku():
    return SKUFactory(code="MILK")


@pytest.fixture
def pos():
    return SourceSystemFactory(code="POS-EU")


def get(client, url, user=None, key=None, **params):
    if user is not None:
        key = person_token(user)
    headers = {"HTTP_AUTHORIZATION": f"Token {key}"} if key else {}
    return client.get(url, params, **headers)


def codes(response, field="location"):
    assert response.status_code == 200, response.content
    return sorted(row[field] for row in response.json()["results"])


def receipt(txn, location, sku="MILK", quantity=5, minutes_ago=60, **fields):
    return {
        "transaction_id": txn, "type": "receipt", "location": location, "sku": sku, "quantity": quantity,
        "occurred_at": (timezone.now() - timedelta(minutes=minutes_ago)).isoformat(), **fields,
    }


# --- positions ---------------------------------------------------------------

def test_position_shows_every_state_on_hand_and_atp(api_client, estate, sku):
    PositionFactory(
        location=estate["A1"], sku=sku, available=10, reserved=2, in_transit=5, damaged=1, safety_stock=4
    )
    planner = make_user(Role.PLANNER)

    row = get(api_client, "/api/v1/positions", planner).json()["results"][0]

    assert (row["location"], row["sku"]) == ("A1", "MILK")
    assert (row["available"], row["reserved"], row["in_transit"], row["damaged"]) == (10, 2, 5, 1)
    assert row["on_hand"] == 13  # in_transit is not on hand
    assert (row["safety_stock"], row["atp"]) == (4, 6)
    assert row["updated_at"]


def test_atp_never_goes_below_zero(api_client, estate, sku):
    PositionFactory(location=estate["A1"], sku=sku, available=3, safety_stock=5)

    row = get(api_client, "/api/v1/positions", make_user(Role.PLANNER)).json()["results"][0]

    assert row["atp"] == 0


def test_atp_in_sql_is_the_property(estate, sku):
    """The API's annotation (atp_expression) and Position.atp are one rule."""
    for n, (available, safety) in enumerate([(10, 4), (3, 5), (-2, 0), (0, 0), (7, 7)]):
        PositionFactory(location=estate["A1"], sku=SKUFactory(code=f"ATP{n}"), available=available,
                        safety_stock=safety)
    for position in Position.objects.annotate(sql_atp=atp_expression()):
        assert position.sql_atp == position.atp, (position.available, position.safety_stock)


def test_store_manager_sees_only_their_stores_positions(api_client, estate, sku):
    for code in ("A1", "A2", "B1"):
        PositionFactory(location=estate[code], sku=sku)
    manager = make_user(Role.STORE_MANAGER, locations=[estate["A1"]])

    assert codes(get(api_client, "/api/v1/positions", manager)) == ["A1"]
    assert codes(get(api_client, "/api/v1/positions", manager, location="B1")) == []


def test_regional_ops_sees_only_their_regions_positions(api_client, estate, sku):
    for code in ("A1", "A2", "B1"):
        PositionFactory(location=estate[code], sku=sku)
    lead = make_user(Role.REGIONAL_OPS, region=estate["A1"].region)

    assert codes(get(api_client, "/api/v1/positions", lead)) == ["A1", "A2"]


def test_a_person_without_a_role_sees_no_positions(api_client, estate, sku):
    PositionFactory(location=estate["A1"], sku=sku)
    outsider = make_user(Role.STORE_MANAGER)  # manages no store

    response = get(api_client, "/api/v1/positions", outsider)

    assert response.json()["count"] == 0


def test_positions_filter_by_location_sku_region_kind_and_negative(api_client, estate, sku):
    bread = SKUFactory(code="BREAD")
    PositionFactory(location=estate["A1"], sku=sku, available=-2)
    PositionFactory(location=estate["A1"], sku=bread, available=4)
    PositionFactory(location=estate["B1"], sku=sku, available=1)
    PositionFactory(location=estate["DC1"], sku=sku, available=100)
    planner = make_user(Role.PLANNER)

    def pairs(**params):
        response = get(api_client, "/api/v1/positions", planner, **params)
        assert response.status_code == 200
        return sorted((r["location"], r["sku"]) for r in response.json()["results"])

    assert pairs(location="A1") == [("A1", "BREAD"), ("A1", "MILK")]
    assert pairs(sku="BREAD") == [("A1", "BREAD")]
    assert pairs(region="SOUTH") == [("B1", "MILK"), ("DC1", "MILK")]
    assert pairs(kind="dc") == [("DC1", "MILK")]
    assert pairs(negative="true") == [("A1", "MILK")]
    assert len(pairs(negative="false")) == 3


def test_positions_are_paginated(api_client, estate, sku):
    for code in ("A1", "A2", "B1"):
        PositionFactory(location=estate[code], sku=sku)

    body = get(api_client, "/api/v1/positions", make_user(Role.PLANNER), limit=2).json()

    assert body["count"] == 3
    assert [r["location"] for r in body["results"]] == ["A1", "A2"]
    assert body["next"]


def test_unknown_kind_filter_is_400_naming_the_field(api_client, estate):
    response = get(api_client, "/api/v1/positions", make_user(Role.PLANNER), kind="warehouse")

    assert response.status_code == 400
    assert "kind" in response.json()["errors"]


# --- events ------------------------------------------------------------------

def test_event_lines_carry_codes_and_latency(api_client, estate, sku, pos):
    UnitConversionFactory(sku=sku, unit="CS12", factor=12)
    ingest_events(pos, [receipt("T1", "A1", quantity=2, unit="CS12", reference="PO-9", minutes_ago=2)])

    row = get(api_client, "/api/v1/events", make_user(Role.INTEGRATION_ADMIN)).json()["results"][0]

    assert (row["source"], row["transaction_id"], row["type"]) == ("POS-EU", "T1", "receipt")
    assert (row["location"], row["sku"], row["quantity"]) == ("A1", "MILK", 24)
    assert (row["entered_unit"], row["reference"], row["to_state"], row["from_state"]) == (
        "CS12", "PO-9", "available", None,
    )
    assert 120_000 <= row["latency_ms"] < 180_000
    assert row["latency_s"] == row["latency_ms"] / 1000
    assert row["occurred_at"] and row["received_at"]


def test_events_are_newest_first(api_client, estate, sku, pos):
    ingest_events(pos, [receipt("T1", "A1")])
    ingest_events(pos, [receipt("T2", "A1")])

    response = get(api_client, "/api/v1/events", make_user(Role.PLANNER))

    assert [r["transaction_id"] for r in response.json()["results"]] == ["T2", "T1"]


def test_store_manager_sees_only_their_stores_events(api_client, estate, sku, pos):
    ingest_events(pos, [receipt("T1", "A1"), receipt("T2", "A2"), receipt("T3", "B1")])
    manager = make_user(Role.STORE_MANAGER, locations=[estate["A1"]])
    lead = make_user(Role.REGIONAL_OPS, region=estate["B1"].region)

    assert codes(get(api_client, "/api/v1/events", manager), "transaction_id") == ["T1"]
    assert codes(get(api_client, "/api/v1/events", lead), "transaction_id") == ["T3"]


def test_events_filter_by_location_sku_type_source_and_time(api_client, estate, sku, pos):
    ecom = SourceSystemFactory(code="ECOM")
    SKUFactory(code="BREAD")
    ingest_events(pos, [
        receipt("T1", "A1", minutes_ago=120),
        receipt("T2", "B1", minutes_ago=60),
        receipt("T3", "A1", sku="BREAD", minutes_ago=30),
        {**receipt("T4", "A1", minutes_ago=10), "type": "sale"},
    ])
    ingest_events(ecom, [{**receipt("E1", "A1", minutes_ago=5), "type": "reserve"}])
    planner = make_user(Role.PLANNER)

    def txns(**params):
        return codes(get(api_client, "/api/v1/events", planner, **params), "transaction_id")

    assert txns(location="B1") == ["T2"]
    assert txns(sku="BREAD") == ["T3"]
    assert txns(type="sale") == ["T4"]
    assert txns(source="ECOM") == ["E1"]
    since = (timezone.now() - timedelta(minutes=90)).isoformat()
    until = (timezone.now() - timedelta(minutes=20)).isoformat()
    assert txns(since=since, until=until) == ["T2", "T3"]


def test_bad_since_is_400_naming_the_field(api_client, estate):
    response = get(api_client, "/api/v1/events", make_user(Role.PLANNER), since="yesterday")

    assert response.status_code == 400
    assert "since" in response.json()["errors"]


# --- source systems read master data only ------------------------------------

@pytest.mark.parametrize("url", ["/api/v1/positions", "/api/v1/events"])
def test_a_source_system_may_not_read_positions_or_events(api_client, estate, sku, pos, url):
    PositionFactory(location=estate["A1"], sku=sku)

    response = get(api_client, url, key=source_token(pos))

    assert response.status_code == 403
    assert "source system" in response.json()["detail"]


@pytest.mark.parametrize("url", ["/api/v1/positions", "/api/v1/events", "/api/v1/locations", "/api/v1/skus"])
def test_reads_need_a_token(api_client, estate, url):
    assert get(api_client, url).status_code == 401


# --- locations ---------------------------------------------------------------

def test_locations_are_scoped_for_people_and_whole_for_sources(api_client, estate, pos):
    manager = make_user(Role.STORE_MANAGER, locations=[estate["A2"]])

    assert codes(get(api_client, "/api/v1/locations", manager), "code") == ["A2"]
    assert codes(get(api_client, "/api/v1/locations", key=source_token(pos)), "code") == ["A1", "A2", "B1", "DC1"]


def test_location_rows_and_filters(api_client, estate):
    admin = make_user(Role.ADMIN)

    body = get(api_client, "/api/v1/locations", admin, region="SOUTH").json()

    assert [r["code"] for r in body["results"]] == ["B1", "DC1"]
    assert body["results"][1]["region"] == "SOUTH"
    assert body["results"][1]["kind"] == "dc"
    assert codes(get(api_client, "/api/v1/locations", admin, kind="store"), "code") == ["A1", "A2", "B1"]


# --- SKUs --------------------------------------------------------------------

def test_skus_carry_barcodes_and_conversions(api_client, sku, pos):
    BarcodeFactory(code="4000000000017", sku=sku)
    UnitConversionFactory(sku=sku, unit="CS12", factor=12)

    row = get(api_client, "/api/v1/skus", key=source_token(pos)).json()["results"][0]

    assert row["code"] == "MILK"
    assert row["barcodes"] == ["4000000000017"]
    assert row["conversions"] == [{"unit": "CS12", "factor": 12}]
    assert (row["base_unit"], row["unit_cost"]) == ("EA", "2.5000")


def test_skus_are_visible_to_a_store_manager(api_client, estate, sku):
    manager = make_user(Role.STORE_MANAGER, locations=[estate["A1"]])

    assert codes(get(api_client, "/api/v1/skus", manager), "code") == ["MILK"]


def test_sku_search_by_code_description_or_barcode(api_client, sku):
    SKUFactory(code="BREAD", description="Sourdough loaf")
    BarcodeFactory(code="4000000000017", sku=sku)
    planner = make_user(Role.PLANNER)

    def found(search):
        return codes(get(api_client, "/api/v1/skus", planner, search=search), "code")

    assert found("brea") == ["BREAD"]
    assert found("sourdough") == ["BREAD"]
    assert found("4000000000017") == ["MILK"]
    assert found("nothing-like-this") == []


# --- rejections --------------------------------------------------------------

def test_rejections_keep_the_event_and_its_errors(api_client, estate, sku, pos):
    ingest_events(pos, [receipt("T1", "NOWHERE")])

    row = get(api_client, "/api/v1/rejections", make_user(Role.INTEGRATION_ADMIN)).json()["results"][0]

    assert (row["source"], row["transaction_id"], row["kind"], row["cause"]) == ("POS-EU", "T1", "rejected", "location")
    assert row["errors"] == {"location": ["Unknown location 'NOWHERE'."]}
    assert row["payload"]["location"] == "NOWHERE"
    assert row["replayed_at"] is None


def test_rejections_filter_by_source_cause_kind_and_replayed(api_client, estate, sku, pos):
    ecom = SourceSystemFactory(code="ECOM")
    ingest_events(pos, [receipt("T1", "NOWHERE"), receipt("T2", "A1", sku="NOPE"), receipt("T3", "A1")])
    ingest_events(pos, [receipt("T3", "A1", quantity=99)])  # a conflict
    ingest_events(ecom, [receipt("E1", "NOWHERE")])
    LocationFactory(code="NOWHERE", region=estate["A1"].region)
    replay_rejections(source=ecom)
    admin = make_user(Role.INTEGRATION_ADMIN)

    def txns(**params):
        return codes(get(api_client, "/api/v1/rejections", admin, **params), "transaction_id")

    assert txns(source="ECOM") == ["E1"]
    assert txns(cause="sku") == ["T2"]
    assert txns(kind="conflict") == ["T3"]
    assert txns(replayed="true") == ["E1"]
    assert txns(replayed="false") == ["T1", "T2", "T3"]


def test_a_source_sees_only_its_own_rejections(api_client, estate, pos):
    ecom = SourceSystemFactory(code="ECOM")
    ingest_events(pos, [receipt("T1", "NOWHERE")])
    ingest_events(ecom, [receipt("E1", "NOWHERE")])

    assert codes(get(api_client, "/api/v1/rejections", key=source_token(ecom)), "transaction_id") == ["E1"]


def test_store_scoped_people_see_no_rejections(api_client, estate, pos):
    ingest_events(pos, [receipt("T1", "A1", sku="NOPE")])
    manager = make_user(Role.STORE_MANAGER, locations=[estate["A1"]])

    assert get(api_client, "/api/v1/rejections", manager).json()["count"] == 0
    assert get(api_client, "/api/v1/rejections", make_user(Role.FINANCE)).json()["count"] == 1
