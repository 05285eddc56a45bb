"""The journeys screens: a filtered list (kind, location, state, stuck) that
the journey KPIs' records link opens, and a journey's page with its steps,
times and SLA, linked from its journey_stuck case."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine

from controltower.metrics import Scope, Window, measure
from controltower.models import Role
from exceptions.findings import CaseKind
from exceptions.models import Case
from exceptions.reconciliation import run_reconciliation
from inventory.journeys import ingest_steps
from inventory.models import Journey
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory, RegionFactory, SourceSystemFactory
from tests.records import records_behind

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=dt_timezone.utc)


def step(txn, name, hours_ago, business_id, journey="order_to_fulfilment", **extra):
    return {"transaction_id": txn, "journey": journey, "business_id": business_id, "step": name,
            "occurred_at": (NOW - timedelta(hours=hours_ago)).isoformat(), **extra}


@pytest.fixture
def journeys():
    oms = SourceSystemFactory(code="OMS")
    region = RegionFactory(code="R1")
    mine, theirs = LocationFactory(code="MINE1", region=region), LocationFactory(code="THEIRS1", region=region)
    ingest_steps(oms, [
        step("a1", "placed", 90, "WEB-STUCK", channel="bopis", quantity=2),
        step("a2", "ready_for_pickup", 80, "WEB-STUCK", location=mine.code),  # 72 h SLA: 8 h past it
        step("b1", "placed", 3, "WEB-FRESH", channel="web"),  # 24 h SLA: 21 h left
        step("b2", "ready_for_pickup", 1, "WEB-FRESH", location=mine.code),
        step("c1", "received", 2, "RET-THEIRS", journey="return_to_refund", location=theirs.code),
    ], received_at=NOW)
    return {"mine": mine, "theirs": theirs}


@time_machine.travel(NOW, tick=False)
def test_the_list_filters_by_kind_location_state_and_stuck_in_the_users_scope(journeys, client):
    client.force_login(make_user(Role.STORE_MANAGER, locations=[journeys["mine"]]))
    page = client.get("/journeys/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "WEB-STUCK" in html and "WEB-FRESH" in html and "RET-THEIRS" not in html  # another store's
    assert "8.0 h past its 72 h SLA" in html
    listed = lambda query: [j.business_id for j, *_ in client.get(f"/journeys/?{query}").context["rows"]]  # noqa: E731
    assert listed("stuck=true") == ["WEB-STUCK"]
    assert listed("stuck=false") == ["WEB-FRESH"]
    assert listed("kind=return_to_refund") == []
    assert listed("state=ready_for_pickup&location=MINE1") == ["WEB-FRESH", "WEB-STUCK"]
    assert client.get("/journeys/?location=THEIRS1").status_code == 400  # not a location they may choose


@time_machine.travel(NOW, tick=False)
def test_the_journey_kpis_records_open_the_list_with_the_same_journeys(journeys, client):
    reading = measure("pickup_readiness_accuracy", Scope.of(locations=[journeys["mine"].pk]),
                      Window(NOW - timedelta(days=7), NOW)).reading
    assert reading.records_url.startswith("/journeys/?")
    rows = records_behind(client, reading.records_url, make_user(Role.REGIONAL_OPS, region=journeys["mine"].region))
    assert sorted(row["business_id"] for row in rows) == ["WEB-FRESH", "WEB-STUCK"]


@time_machine.travel(NOW, tick=False)
def test_a_journey_page_shows_its_steps_times_and_sla_and_its_case_links_to_it(journeys, client, default_routing):
    run_reconciliation(CaseKind.JOURNEY_STUCK, now=NOW)
    stuck = Journey.objects.get(business_id="WEB-STUCK")
    case = Case.objects.get(kind=CaseKind.JOURNEY_STUCK, reference="order WEB-STUCK")
    user = make_user(Role.STORE_MANAGER, locations=[journeys["mine"]])
    client.force_login(user)

    case_page = client.get(f"/cases/{case.pk}/").content.decode()
    assert f'href="/journeys/{stuck.pk}/"' in case_page

    html = client.get(f"/journeys/{stuck.pk}/").content.decode()
    assert "Order to fulfilment WEB-STUCK" in html and "Stuck" in html
    assert "ready for pickup but not collected" in html and "72 h" in html
    assert "due 20 Nov 2026 05:00 CET" in html  # 72 h after ready for pickup, 80 h ago; in the store's zone
    steps = html[html.index('id="steps-title"'):]
    assert steps.index("16 Nov 2026 19:00 CET") < steps.index("17 Nov 2026 05:00 CET")  # placed, then ready
    assert f'href="/cases/{case.pk}/"' in html

    theirs = Journey.objects.get(business_id="RET-THEIRS")
    assert client.get(f"/journeys/{theirs.pk}/").status_code == 404  # out of scope: not found


def test_the_screens_are_for_the_roles_that_follow_journeys(client):
    client.force_login(make_user(Role.INTEGRATION_ADMIN))
    assert client.get("/journeys/").status_code == 403
    client.force_login(make_user(Role.EXECUTIVE))
    assert client.get("/journeys/").status_code == 200
