"""Cases API: scoped lists and details, actions, finance approvals."""
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from exceptions.models import Case, CorrectiveAdjustment
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory, RegionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return LocationFactory(code="BER-01")


@pytest.fixture
def manager(store):
    return make_user("store_manager", [store], username="anna")


@pytest.fixture
def case(store):
    return CaseFactory(location=store, severity=2)


def login(client, user):
    client.force_authenticate(user)
    return client


def test_list_is_scoped_and_most_urgent_first(api_client, store, manager):
    now = timezone.now()
    calm = CaseFactory(location=store, severity=1, resolution_due_at=now + timedelta(hours=2))
    breached = CaseFactory(location=store, severity=3, breached_at=now)
    urgent = CaseFactory(location=store, severity=1, resolution_due_at=now + timedelta(hours=1))
    CaseFactory(location=LocationFactory())  # another store's case
    response = login(api_client, manager).get("/api/v1/cases")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [breached.pk, urgent.pk, calm.pk]


def test_a_case_past_its_due_time_is_listed_with_the_breached_before_the_sweep(api_client, store, manager,
                                                                              time_machine):
    now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    time_machine.move_to(now, tick=False)
    at_risk = CaseFactory(location=store, severity=1, warning_due_at=now - timedelta(hours=1),
                          resolution_due_at=now + timedelta(hours=1))
    overdue = CaseFactory(location=store, severity=3, resolution_due_at=now - timedelta(minutes=1))
    response = login(api_client, manager).get("/api/v1/cases")
    assert [row["id"] for row in response.json()["results"]] == [overdue.pk, at_risk.pk]


def test_filters(api_client, store, manager):
    region = RegionFactory(code="NORTH")
    north = LocationFactory(code="HAM-01", region=region)
    CaseFactory(location=store, kind="stale_feed", breached_at=timezone.now())
    mine = CaseFactory(location=store, assignee=manager)
    there = CaseFactory(location=north)
    client = login(api_client, make_user("admin"))
    assert [r["id"] for r in client.get("/api/v1/cases?assignee=anna").json()["results"]] == [mine.pk]
    assert [r["id"] for r in client.get("/api/v1/cases?region=NORTH").json()["results"]] == [there.pk]
    assert client.get("/api/v1/cases?location=BER-01&breached=true").json()["count"] == 1
    assert client.get("/api/v1/cases?kind=negative_stock&status=open&severity=3").json()["count"] == 2
    bad = client.get("/api/v1/cases?severity=9")
    assert bad.status_code == 400 and "severity" in bad.json()["errors"]


def test_detail_has_lineage_history_comments(api_client, case, manager):
    client = login(api_client, manager)
    client.post(f"/api/v1/cases/{case.pk}/comment", {"body": "Checking the shelf"}, format="json")
    body = client.get(f"/api/v1/cases/{case.pk}").json()
    assert body["comments"][0]["body"] == "Checking the shelf"
    assert body["history"][0]["action"] == "comment"
    assert body["lineage"] == [] and body["adjustments"] == []


def test_out_of_scope_case_is_not_found(api_client, case):
    client = login(api_client, make_user("store_manager", [LocationFactory()]))
    assert client.get(f"/api/v1/cases/{case.pk}").status_code == 404
    assert client.post(f"/api/v1/cases/{case.pk}/acknowledge").status_code == 404
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN


def test_read_only_role_gets_403(api_client, case):
    response = login(api_client, make_user("executive")).post(f"/api/v1/cases/{case.pk}/acknowledge")
    assert response.status_code == 403


def test_acknowledge_assign_wait_resume(api_client, case, manager):
    client = login(api_client, manager)
    assert client.post(f"/api/v1/cases/{case.pk}/acknowledge").json()["status"] == "acknowledged"
    assert client.post(f"/api/v1/cases/{case.pk}/assign", {"assignee": "anna"}, format="json").json()[
        "assignee"] == "anna"
    assert client.post(f"/api/v1/cases/{case.pk}/wait", {"waiting_on": "ERP"}, format="json").json()[
        "status"] == "waiting"
    assert client.post(f"/api/v1/cases/{case.pk}/resume").json()["status"] == "in_progress"


def test_assign_unknown_user_names_the_field(api_client, case, manager):
    response = login(api_client, manager).post(f"/api/v1/cases/{case.pk}/assign", {"assignee": "nobody"},
                                               format="json")
    assert response.status_code == 400 and "assignee" in response.json()["errors"]


def test_resolve_needs_root_cause_then_reopen(api_client, case, manager):
    client = login(api_client, manager)
    missing = client.post(f"/api/v1/cases/{case.pk}/resolve", {"resolution_code": "recounted"}, format="json")
    assert missing.status_code == 400 and "root_cause" in missing.json()["errors"]
    done = client.post(f"/api/v1/cases/{case.pk}/resolve",
                       {"resolution_code": "recounted", "root_cause": "shrink", "note": "ok"}, format="json")
    assert done.json()["status"] == "resolved"
    again = client.post(f"/api/v1/cases/{case.pk}/reopen", {"reason": "still wrong"}, format="json")
    assert again.json()["status"] == "open" and again.json()["reopen_count"] == 1
    twice = client.post(f"/api/v1/cases/{case.pk}/reopen", {"reason": "x"}, format="json")
    assert twice.status_code == 400 and "status" in twice.json()["errors"]


def test_large_adjustment_needs_finance(api_client, case, manager):
    client = login(api_client, manager)
    client.post(f"/api/v1/cases/{case.pk}/resolve", {
        "resolution_code": "recounted", "root_cause": "shrink",
        "adjustment": {"state": "available", "quantity": -1000, "reason": "ADMIN_CORRECTION", "confirm": True},
    }, format="json")
    adjustment = CorrectiveAdjustment.objects.get()
    assert adjustment.status == "pending_approval"
    assert client.post(f"/api/v1/adjustments/{adjustment.pk}/approve").status_code == 403
    finance = login(api_client, make_user("finance"))
    response = finance.post(f"/api/v1/adjustments/{adjustment.pk}/approve")
    assert response.status_code == 200 and response.json()["status"] == "posted"
    assert finance.post(f"/api/v1/adjustments/{adjustment.pk}/reject").status_code == 400


def test_schema_still_generates(api_client):
    response = login(api_client, make_user("admin")).get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/cases/{id}/resolve" in response.content
