"""The region board (controltower.web): a regional ops lead lands on their
region's stores ranked by breached and open cases, accuracy and latency read
from the rollups, with the cases escalated to them; an admin picks a region;
columns sort by GET links; the tables export as CSV."""
import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from controltower.models import KpiDay, Role
from exceptions.models import Case, Team
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory, TeamFactory
from tests.inventory.factories import LocationFactory, RegionFactory

pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 30)


def kpi(metric, member, value, dimension="location", day=DAY):
    return KpiDay.objects.create(metric=metric, day=day, dimension=dimension, member=member, value=value,
                                 sample=0 if value is None else 12,
                                 records_url=f"/api/v1/accuracy?locations={member}", computed_at=timezone.now())


@pytest.fixture
def north():
    """Region N with three stores: N1 has a breached case, N2 two open cases, N3 none."""
    region = RegionFactory(code="N", name="North")
    stores = [LocationFactory(code=code, region=region) for code in ("N1", "N2", "N3")]
    CaseFactory(location=stores[0], breached_at=timezone.now())
    CaseFactory(location=stores[1])
    CaseFactory(location=stores[1])
    CaseFactory(location=stores[2], status=Case.Status.RESOLVED)
    kpi("inventory_accuracy_exact", "N1", Decimal("97"))
    kpi("inventory_accuracy_exact", "N2", Decimal("70"))
    kpi("inventory_accuracy_exact", "N3", None)
    kpi("inventory_accuracy_exact", "N", Decimal("83.5"), dimension="region")
    return region


def codes_in_order(response):
    return [row.location.code for row in response.context["board"].rows]


def test_regional_ops_land_on_their_region_ranked_by_breached_then_open_cases(client, north):
    LocationFactory(code="S9", region=RegionFactory(code="S"))
    client.force_login(make_user(Role.REGIONAL_OPS, region=north))
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("region-board")
    assert codes_in_order(response) == ["N1", "N2", "N3"]
    html = response.content.decode()
    assert reverse("store", args=["S9"]) not in html  # (not the bare "S9": a CSRF token may hold it)
    assert reverse("store", args=["N2"]) in html
    # the region tile from the region rollup, linked to its records; a store without counts reads no data
    assert "83.5%" in html and "/api/v1/accuracy?locations=N" in html
    assert response.context["board"].rows[2].kpis["inventory_accuracy_exact"].text == "no data"


def test_regional_ops_cannot_open_another_region(client, north):
    RegionFactory(code="S")
    LocationFactory(code="S9", region=RegionFactory(code="S"))
    client.force_login(make_user(Role.REGIONAL_OPS, region=north))
    assert client.get(reverse("region-board"), {"region": "S"}).status_code == 404
    assert client.get(reverse("region-board"), {"region": "N"}).status_code == 200


def test_an_admin_picks_a_region_and_a_store_manager_is_refused(client, north):
    LocationFactory(code="S9", region=RegionFactory(code="S", name="South"))
    client.force_login(make_user(Role.ADMIN))
    response = client.get(reverse("region-board"), {"region": "S"})
    assert codes_in_order(response) == ["S9"]
    assert [r.code for r in response.context["regions"]] == ["N", "S"]
    client.force_login(make_user(Role.STORE_MANAGER, locations=north.locations.all()))
    assert client.get(reverse("region-board")).status_code == 403


def test_sorting_by_accuracy_puts_the_worst_first_and_no_data_last_both_ways(client, north):
    client.force_login(make_user(Role.REGIONAL_OPS, region=north))
    worst = client.get(reverse("region-board"), {"sort": "inventory_accuracy_exact"})
    assert codes_in_order(worst) == ["N2", "N1", "N3"]
    best = client.get(reverse("region-board"), {"sort": "inventory_accuracy_exact", "order": "best"})
    assert codes_in_order(best) == ["N1", "N2", "N3"]
    by_open = client.get(reverse("region-board"), {"sort": "open"})
    assert codes_in_order(by_open) == ["N2", "N1", "N3"]
    # the sorted column's header link turns the order round; aria-sort says which way
    header = next(h for h in worst.context["headers"] if h["key"] == "inventory_accuracy_exact")
    assert header["aria_sort"] == "ascending" and "order=best" in header["url"]


def test_an_unknown_sort_column_is_a_clear_error(client, north):
    client.force_login(make_user(Role.REGIONAL_OPS, region=north))
    response = client.get(reverse("region-board"), {"sort": "colour"})
    assert response.status_code == 400
    assert b"sort: unknown column 'colour'" in response.content


def test_escalated_cases_are_those_moved_up_to_the_regions_regional_ops(client, north):
    lead_team = TeamFactory(code="RO-N", kind=Team.Kind.REGIONAL_OPS, region=north)
    n1 = north.locations.get(code="N1")
    waiting = CaseFactory(location=n1, escalation_level=Case.Level.REGIONAL_OPS, owner=lead_team,
                          breached_at=timezone.now() - timedelta(hours=2))
    CaseFactory(location=n1, escalation_level=Case.Level.COMMAND_CENTER,
                owner=TeamFactory(code="CC", kind=Team.Kind.COMMAND_CENTER))
    CaseFactory(location=n1, escalation_level=Case.Level.REGIONAL_OPS, owner=lead_team,
                status=Case.Status.RESOLVED)
    south_team = TeamFactory(code="RO-S", kind=Team.Kind.REGIONAL_OPS)
    CaseFactory(location=LocationFactory(code="S9", region=RegionFactory(code="S")),
                escalation_level=Case.Level.REGIONAL_OPS, owner=south_team)
    client.force_login(make_user(Role.REGIONAL_OPS, region=north))
    response = client.get(reverse("region-board"))
    assert list(response.context["escalated"]) == [waiting]
    assert reverse("case-detail", args=[waiting.pk]).encode() in response.content

    export = client.get(reverse("region-escalated-csv"))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0][:4] == ["id", "kind", "severity", "location"]
    assert [(row[0], row[3]) for row in rows[1:]] == [(str(waiting.pk), "N1")]


def test_the_store_table_exports_as_csv_in_the_order_shown(client, north):
    client.force_login(make_user(Role.REGIONAL_OPS, region=north))
    response = client.get(reverse("region-stores-csv"), {"sort": "inventory_accuracy_exact"})
    assert response["Content-Disposition"] == 'attachment; filename="region-N-stores.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:6] == ["location", "name", "open_cases", "breached", "inventory_accuracy_exact",
                           "inventory_accuracy_exact_status"]
    assert [(row[0], row[2], row[3], row[4], row[5]) for row in rows[1:]] == [
        ("N2", "2", "0", "70.0%", "red"), ("N1", "1", "1", "97.0%", "green"), ("N3", "0", "0", "no data", "no data")]
    client.force_login(make_user(Role.STORE_MANAGER, locations=north.locations.all()))
    assert client.get(reverse("region-stores-csv")).status_code == 403


def test_a_region_without_rolled_up_values_says_no_data_instead_of_drawing_empty_axes(client, north):
    LocationFactory(code="S9", region=RegionFactory(code="S"))
    client.force_login(make_user(Role.ADMIN))
    south = client.get(reverse("region-board"), {"region": "S"})
    assert [trend.figure for trend in south.context["board"].trends] == ["", ""]
    assert south.content.decode().count("no data in this period") == 3  # two accuracy lines, one latency
    assert "data-figure" not in south.content.decode()
    north_trends = client.get(reverse("region-board"), {"region": "N"}).context["board"].trends
    assert north_trends[0].figure != ""  # N's exact accuracy was rolled up


def test_a_store_that_counted_days_ago_shows_its_latest_accuracy_as_its_store_page_does(client, north):
    """N3 has no value on the latest day; its count of two days before is its latest, in the board's
    column as on its own page's tile (never "no data" beside a store page showing a value)."""
    kpi("inventory_accuracy_exact", "N3", Decimal("88"), day=DAY - timedelta(days=2))
    client.force_login(make_user(Role.ADMIN))
    board = client.get(reverse("region-board"), {"region": "N"}).context["board"]
    n3 = next(row for row in board.rows if row.location.code == "N3")
    assert n3.kpis["inventory_accuracy_exact"].text == "88.0%"
    page = client.get(reverse("store", args=["N3"])).context["page"]
    tile = next(tile for tile in page.tiles if tile.metric.key == "inventory_accuracy_exact")
    assert tile.text == "88.0%"
