"""The dashboards' building blocks (controltower.dashboards): tiles read the
rollups and say no data as no data; figures tell lines apart without colour."""
import json
from datetime import date, timedelta
from decimal import Decimal

import plotly.graph_objects as go
import pytest
from django.utils import timezone

from controltower import csvsafe, dashboards, metrics
from controltower.models import KpiDay

pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 30)


def row(value, day=DAY, member="S1", metric="inventory_accuracy_exact"):
    return KpiDay.objects.create(metric=metric, day=day, dimension="location", member=member,
                                 value=value, sample=0 if value is None else 10,
                                 records_url="/api/v1/accuracy?locations=S1", computed_at=timezone.now())


def test_a_tile_has_value_target_status_and_records():
    row(Decimal("81.5"))
    tile, = dashboards.tiles(["inventory_accuracy_exact"], "location", "S1", DAY)
    assert (tile.text, tile.status, tile.sample) == ("81.5%", "amber", 10)
    assert tile.records_url == "/api/v1/accuracy?locations=S1"
    assert tile.metric.target_text == "at least 95.0%"


def test_no_rollup_and_no_data_read_as_no_data_never_zero():
    row(None)
    stored, missing = dashboards.tiles(["inventory_accuracy_exact", "sla_attainment"], "location", "S1", DAY)
    assert (stored.text, stored.status) == ("no data", "no data")
    assert (missing.text, missing.status, missing.records_url) == ("no data", "no data", "")


def test_a_tile_with_no_data_today_shows_its_latest_value_of_the_week_saying_which_day():
    row(Decimal("60"), day=DAY - timedelta(days=5))
    row(Decimal("70"), day=DAY - timedelta(days=3))
    row(None, day=DAY - timedelta(days=1))
    row(None)
    tile, = dashboards.tiles(["inventory_accuracy_exact"], "location", "S1", DAY)
    assert (tile.text, tile.covers) == ("70.0%", DAY - timedelta(days=3))
    assert tile.period == f"On {DAY - timedelta(days=3):%d %b %Y} (no data since)"
    assert dashboards.tiles(["inventory_accuracy_exact"], "location", "S1", DAY + timedelta(days=5))[0].text == (
        "no data")  # nothing in the week before: no data
    row(Decimal("90"), metric="sla_attainment")  # a 7-day metric with a value today: today's, no note
    assert dashboards.tiles(["sla_attainment"], "location", "S1", DAY)[0].period == f"The 7 days to {DAY:%d %b %Y}"


def test_lines_differ_by_dash_and_marker_and_a_day_without_data_is_a_gap():
    metric = metrics.get("inventory_accuracy_exact")
    s1 = [row(Decimal(60)), row(None, day=date(2026, 12, 1))]
    s2 = [row(Decimal(70), member="S2")]
    figure = json.loads(dashboards.trend_figure(metric, [("S1", s1), ("S2", s2)], marks=[(DAY, "Go-live")],
                                                targets=[(metric.target, "Target 95%")]))
    first, second, target = figure["data"]
    assert first["y"] == [60.0, None]
    assert (target["name"], target["y"], target["line"]["dash"]) == ("Target 95%", [95.0, 95.0], "dash")
    assert first["line"]["dash"] != second["line"]["dash"]
    assert first["marker"]["symbol"] != second["marker"]["symbol"]
    go.Figure(figure)  # Plotly's own schema check: raises on any property it does not know
    texts = {note["text"] for note in figure["layout"]["annotations"]}
    assert {"Go-live", "S1", "S2"} <= texts
    assert dashboards.trend_summary(metric, s1) == (
        "Inventory record accuracy from 60.0% on 30 Nov 2026 to 60.0% on 30 Nov 2026; target at least 95.0%.")


def test_a_csv_export_neutralises_formula_cells():
    response = csvsafe.csv_response("t.csv", ["location", "value"], [["=HYPERLINK(1)", Decimal("-5")]])
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines() == ["location,value", "'=HYPERLINK(1),-5"]
    assert response["Content-Disposition"] == 'attachment; filename="t.csv"'


def test_durations_are_drawn_in_the_unit_a_person_reads():
    metric = metrics.get("case_aging_p90")
    rows = [KpiDay(metric="case_aging_p90", day=DAY, dimension="estate", member="", value=Decimal(36000), sample=3)]
    figure = json.loads(dashboards.trend_figure(metric, [("Estate", rows)], targets=[(metric.target, "Target")]))
    assert figure["layout"]["yaxis"]["title"]["text"] == "days"
    assert figure["data"][0]["y"] == [36000 / 86400]
    assert figure["data"][1]["y"] == [2, 2]  # the 2-day target, in days
