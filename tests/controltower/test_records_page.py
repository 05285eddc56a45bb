"""The records behind a measured number open a page of the app (controltower.records):
a table in words with the user's scope, filters and a CSV export; never the API's JSON."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest

from controltower import metrics
from controltower.metrics import Scope, Window, measure
from controltower.models import Role
from inventory import ledger
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory, RejectedEventFactory, SKUFactory, SourceSystemFactory
from tests.records import records_behind

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=dt_timezone.utc)
EVER = Window(since=None, until=T0 + timedelta(days=365))


@pytest.fixture
def ledger_lines():
    till, sku = SourceSystemFactory(code="TILL"), SKUFactory(code="SKU1")
    mine, theirs = LocationFactory(code="MINE1"), LocationFactory(code="THEIRS1")
    events = [{"transaction_id": f"t{n}", "type": "receipt", "location": location.code, "sku": sku.code,
               "quantity": 5, "occurred_at": (T0 + timedelta(minutes=n)).isoformat()}
              for n, location in enumerate([mine, mine, theirs])]
    ledger.ingest_events(till, events, received_at=T0 + timedelta(hours=1))
    return {"till": till, "mine": mine, "theirs": theirs}


def test_every_metric_links_its_records_to_a_page_of_the_app_never_the_api(ledger_lines, client):
    RejectedEventFactory(source=ledger_lines["till"], received_at=T0)
    admin = make_user(Role.ADMIN, username="records-admin")
    linked = 0
    for metric in metrics.metrics():
        url = measure(metric.key, Scope(), EVER).reading.records_url
        if not url:
            continue
        linked += 1
        assert not url.startswith(("/api/", "/admin/")), (metric.key, url)
        records_behind(client, url, admin)  # an HTML page, and its CSV
    assert linked >= 10


def test_the_page_is_a_table_in_words_with_filters_and_csv(ledger_lines, client):
    url = measure("sync_latency_p95", Scope.of(sources=[ledger_lines["till"].pk]), EVER).reading.records_url
    assert url.startswith("/records/events/?")
    client.force_login(make_user(Role.PLANNER))
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and "<table" in html and "Ledger lines" in html
    assert "Occurred" in html and "Receipt" in html and "20 Nov 2026 09:00" in html
    assert 'name="received_since"' in html  # the filters, filled from the link
    assert "Export CSV" in html
    assert page.context["page"].paginator.count == 3


def test_a_store_manager_sees_only_their_stores_even_when_the_link_names_others(ledger_lines, client):
    manager = make_user(Role.STORE_MANAGER, locations=[ledger_lines["mine"]])
    url = f"/records/events/?locations={ledger_lines['mine'].code},{ledger_lines['theirs'].code}"
    rows = records_behind(client, url, manager)
    assert [row["Location"] for row in rows] == ["MINE1", "MINE1"]
    client.force_login(manager)
    assert client.get("/records/events/?location=THEIRS1").context["page"].paginator.count == 0


def test_rejections_are_refused_to_people_without_the_whole_estate(ledger_lines, client):
    RejectedEventFactory(source=ledger_lines["till"])
    client.force_login(make_user(Role.STORE_MANAGER, locations=[ledger_lines["mine"]]))
    assert client.get("/records/rejections/").status_code == 403
    assert client.get("/records/rejections.csv").status_code == 403
    client.force_login(make_user(Role.INTEGRATION_ADMIN))
    assert client.get("/records/rejections/").context["page"].paginator.count == 1


def test_a_bad_filter_is_a_400_naming_it_and_an_unknown_list_a_404(client):
    client.force_login(make_user(Role.PLANNER))
    page = client.get("/records/events/?received_since=yesterday")
    assert page.status_code == 400 and "received_since" in page.content.decode()
    assert client.get("/records/events.csv?received_since=yesterday").status_code == 400
    assert client.get("/records/nothing-here/").status_code == 404


def test_csv_cells_that_look_like_formulas_are_neutralised(client):
    SKUFactory(code="SAFE1", description="=HYPERLINK(\"http://evil\")")
    rows = records_behind(client, "/records/skus/?search=SAFE1", make_user(Role.PLANNER))
    assert rows[0]["Description"].startswith("'=")
