"""What schemathesis found against the API (.ci/fuzz-api), kept as plain tests.

Parameters the database cannot take answer 400 naming the parameter, never
500; responses match the schema at /api/schema/ (validated here with
jsonschema, OpenAPI's `nullable` read as JSON Schema's null type).
"""
from datetime import timedelta

import jsonschema
import pytest
from django.utils import timezone

from controltower.models import Role
from exceptions.models import Case, CaseHistory, CorrectiveAdjustment
from inventory.ledger import ingest_events
from tests.controltower.factories import make_user, person_token
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_after_fixed_dates")]  # its data: November 2026


@pytest.fixture
def planner_client(api_client):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {person_token(make_user(Role.PLANNER))}")
    return api_client


@pytest.fixture
def one_event():
    store, sku, source = LocationFactory(code="S100"), SKUFactory(code="MILK"), SourceSystemFactory(code="POS-1")
    report = ingest_events(source, [{"transaction_id": "T1", "type": "receipt", "location": store.code, "sku": sku.code,
                                     "quantity": 5, "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat()}])
    assert report.counts["accepted"] == 1


# --------------------------------------------------------------------------
# since= / until=: a time the database cannot take
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("value", [
    "0001-01-01T00:00:00+01:00",  # year 0 in UTC
    "9999-12-31T23:59:59-14:00",  # year 10000 in UTC
])
def test_a_time_filter_the_database_cannot_take_is_a_400_naming_it(planner_client, one_event, name, value):
    response = planner_client.get("/api/v1/events", {name: value})
    assert response.status_code == 400, response.content
    assert name in response.json()["errors"]


@pytest.mark.parametrize("since, until, found", [
    ("4702-12-09T03:42:15+16:31", None, 0),  # PostgreSQL takes offsets up to 15:59: was a 500
    (None, "4702-12-09T03:42:15+16:31", 1),
    ("2026-11-23T10:15:00+15:59", None, 1),
    ("0001-01-01T00:00:00Z", None, 1),
    (None, "0001-01-01T00:00:00Z", 0),
    (None, "9999-12-31T23:59:59+14:00", 1),
])
def test_time_filters_at_the_ends_of_the_calendar_answer(planner_client, one_event, since, until, found):
    params = {k: v for k, v in {"since": since, "until": until}.items() if v}
    response = planner_client.get("/api/v1/events", params)
    assert response.status_code == 200, response.content
    assert response.json()["count"] == found


def test_a_time_filter_with_an_offset_compares_in_utc(planner_client, one_event):
    occurred = InventoryEvent_time()
    before = (occurred - timedelta(seconds=1)).astimezone(timezone.get_fixed_timezone(-14 * 60)).isoformat()
    after = (occurred + timedelta(seconds=1)).astimezone(timezone.get_fixed_timezone(14 * 60)).isoformat()
    assert planner_client.get("/api/v1/events", {"since": before, "until": after}).json()["count"] == 1
    assert planner_client.get("/api/v1/events", {"since": after}).json()["count"] == 0


def InventoryEvent_time():
    from inventory.models import InventoryEvent

    return InventoryEvent.objects.get().occurred_at


# --------------------------------------------------------------------------
# Responses match the documented schema
# --------------------------------------------------------------------------

def _nullable_as_json_schema(node):
    """OpenAPI 3.0's `nullable: true` as JSON Schema's null type, recursively."""
    if isinstance(node, list):
        return [_nullable_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_as_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        node = {"anyOf": [node, {"type": "null"}]}
    return node


@pytest.fixture
def schema(planner_client):
    response = planner_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return _nullable_as_json_schema(response.json())


def conforms(schema, path, method, body, status=200):
    documented = schema["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    jsonschema.validate(body, {**documented, "components": schema["components"]})


def test_a_case_without_location_sku_source_owner_or_assignee_matches_the_schema(planner_client, schema):
    """A stale-feed case has none of them: the schema said each was a string (null broke it)."""
    case = CaseFactory(location=None, sku=None, kind="stale_feed", fingerprint="stale|x", summary="silent")
    CaseHistory.objects.create(case=case, at=timezone.now(), action="opened")  # by the system: no actor
    listed = planner_client.get("/api/v1/cases", {"status": ""})
    assert listed.status_code == 200 and listed.json()["results"][0]["location"] is None
    conforms(schema, "/api/v1/cases", "get", listed.json())
    detail = planner_client.get(f"/api/v1/cases/{case.pk}")
    assert detail.json()["history"][0]["actor"] is None
    conforms(schema, "/api/v1/cases/{id}", "get", detail.json())
    acknowledged = planner_client.post(f"/api/v1/cases/{case.pk}/acknowledge")
    assert acknowledged.status_code == 200
    conforms(schema, "/api/v1/cases/{id}/acknowledge", "post", acknowledged.json())


def test_an_undecided_adjustment_matches_the_schema(planner_client, schema):
    case = CaseFactory(location=LocationFactory(code="S200"))
    adjustment = CorrectiveAdjustment.objects.create(
        case=case, sku=case.sku, location=case.location, state="available", quantity=3, value="7.50",
        status=CorrectiveAdjustment.Status.PENDING_APPROVAL, transaction_id="case-1-adj-1",
        requested_by=make_user(Role.STORE_MANAGER), requested_at=timezone.now(),
    )
    response = planner_client.get(f"/api/v1/adjustments/{adjustment.pk}")
    assert response.status_code == 200 and response.json()["approved_by"] is None
    conforms(schema, "/api/v1/adjustments/{id}", "get", response.json())
    assert Case.objects.count() == 1
