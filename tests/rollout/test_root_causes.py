"""Root causes, so the next wave learns (exceptions.pareto, rollout.root_causes): the resolved
cases by root cause, kind and category, largest first with the cumulative share, week by week,
on hypercare and the rollout board, each count the same as the case list it links to; and the
registered share of cases caused by training, in the hypercare-exit playbook."""
import csv
import io
import json
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from controltower import metrics
from controltower.metrics import Scope, Window
from controltower.models import Role
from exceptions import pareto
from exceptions.models import Case, RootCause
from rollout import root_causes
from rollout.models import GateKind, Wave
from rollout.playbook import LTE, PLAYBOOK
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory, RegionFactory
from tests.rollout.factories import WaveFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=dt_timezone.utc)  # a Wednesday


def resolved(store, root_cause, days_ago=1, kind="negative_stock", category=None, status=Case.Status.RESOLVED):
    details = {"category": category} if category else {}
    return CaseFactory(location=store, kind=kind, status=status, root_cause=root_cause,
                       opened_at=NOW - timedelta(days=days_ago + 1), resolved_at=NOW - timedelta(days=days_ago),
                       details=details)


@pytest.fixture
def wave():
    """North: S1 in NORTH, S2 in SOUTH. At S1: 3 training, 2 master data (1 of them closed), 1 shrink
    (a reported POS issue); at S2: 1 training. Not counted: an open case, a case the system resolved
    (no root cause), a case at S9 in no wave, a case resolved after NOW."""
    north, south = RegionFactory(code="NORTH"), RegionFactory(code="SOUTH")
    s1, s2 = LocationFactory(code="S1", region=north), LocationFactory(code="S2", region=south)
    outside = LocationFactory(code="S9", region=north)
    wave = WaveFactory(name="North", stores=[s1, s2], status=Wave.Status.LIVE, actual_cutover=NOW.date())
    for days_ago in (1, 2, 9):
        resolved(s1, RootCause.TRAINING, days_ago)
    resolved(s1, RootCause.MASTER_DATA)
    resolved(s1, RootCause.MASTER_DATA, status=Case.Status.CLOSED)
    resolved(s1, RootCause.SHRINK, kind="reported", category="POS")
    resolved(s2, RootCause.TRAINING)
    CaseFactory(location=s1, opened_at=NOW - timedelta(days=1))
    resolved(s1, "")
    resolved(outside, RootCause.TRAINING)
    resolved(s1, RootCause.SYSTEM_DEFECT, days_ago=-1)
    return wave


def test_the_pareto_counts_resolved_cases_by_root_cause_largest_first_with_the_cumulative_share(wave):
    user = make_user(Role.EXECUTIVE)
    section = root_causes.wave_section(user, wave, list(wave.locations.order_by("code")), as_of=NOW)
    by_cause = section["paretos"][0]
    assert [(bar.value, bar.count) for bar in by_cause.bars] == [("training", 4), ("master_data", 2), ("shrink", 1)]
    assert [round(bar.cumulative, 1) for bar in by_cause.bars] == [Decimal("57.1"), Decimal("85.7"), Decimal("100")]
    assert [(bar.label, bar.count) for bar in section["paretos"][1].bars] == [
        ("Negative stock", 6), ("Reported issue", 1)]
    assert [(bar.label, bar.count) for bar in section["paretos"][2].bars] == [("POS", 1)]
    figure = json.loads(by_cause.figure)
    assert figure["data"][0]["y"] == [4, 2, 1] and figure["data"][1]["yaxis"] == "y2"
    assert figure["data"][0]["customdata"] == [bar.records_url for bar in by_cause.bars]
    assert figure["layout"]["yaxis"]["dtick"] == 1  # 4 cases at most: no tick at half a case


def test_each_count_is_the_number_of_cases_its_link_lists(wave):
    """Numbers agree: every bar and weekly count equals the case list behind its link."""
    user = make_user(Role.EXECUTIVE)
    client = Client()
    client.force_login(user)
    section = root_causes.wave_section(user, wave, list(wave.locations.order_by("code")), as_of=NOW)
    checked = 0
    with time_machine.travel(NOW, tick=False):
        for table in section["root_cause_tables"]:
            for row in table.rows:
                for cell in row:
                    if cell.url and cell.number is not None:
                        listed = client.get(cell.url).context["page"].paginator.count
                        assert listed == cell.number, (table.name, cell.url)
                        checked += 1
    assert checked >= 10


def test_the_weeks_count_by_resolution_week_monday_to_sunday(wave):
    user = make_user(Role.EXECUTIVE)
    tables = root_causes.wave_section(user, wave, list(wave.locations.all()), as_of=NOW)["root_cause_tables"]
    weekly = next(table for table in tables if table.name == "root-causes-by-week")
    assert len(weekly.rows) == pareto.TREND_WEEKS
    training = weekly.header.index("Training")
    assert weekly.rows[-1][0].text == "30 Nov 2026"
    assert [row[training].number for row in weekly.rows[-2:]] == [1, 3]  # 9 days ago: the week before
    assert weekly.rows[-1][-1].number == 6


def test_no_resolved_case_says_no_data():
    store = LocationFactory(code="S5")
    wave = WaveFactory(stores=[store])
    section = root_causes.wave_section(make_user(Role.EXECUTIVE), wave, [store], as_of=NOW)
    assert section["paretos"] == []
    assert all(not table.rows and table.empty.startswith("No data") for table in section["root_cause_tables"])


def test_a_store_manager_sees_only_the_cases_of_their_store(wave):
    s2 = wave.locations.get(code="S2")
    manager = make_user(Role.STORE_MANAGER, locations=[s2])
    found = pareto.pareto(Case.objects.restrict(manager), "root_cause", ["S1", "S2"], NOW)
    assert [(bar.value, bar.count) for bar in found.bars] == [("training", 1)]


def test_hypercare_pages_show_the_pareto_and_export_it(wave):
    client = Client()
    client.force_login(make_user(Role.EXECUTIVE))
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        page = client.get(f"/hypercare/waves/{wave.pk}/")
        # The part is read when it comes into view (htmx), or shown with the page by its link.
        part = client.get(f"/hypercare/waves/{wave.pk}/?part=root-causes", headers={"HX-Request": "true"})
        region = client.get(f"/hypercare/waves/{wave.pk}/regions/SOUTH/?part=root-causes")
        store = client.get(f"/hypercare/waves/{wave.pk}/stores/S1/?part=root-causes")
        exported = client.get(f"/hypercare/waves/{wave.pk}/?format=csv&table=by-root-cause")
    assert 'hx-get="?part=root-causes" hx-trigger="revealed"' in page.content.decode()
    assert "paretos" not in page.context
    fragment = part.content.decode()
    assert fragment.startswith('<section id="root-causes"') and "Resolved cases by root cause" in fragment
    assert [(b.value, b.count) for b in region.context["paretos"][0].bars] == [("training", 1)]
    assert [(b.value, b.count) for b in store.context["paretos"][0].bars] == [
        ("training", 3), ("master_data", 2), ("shrink", 1)]
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert rows[0] == ["Root cause", "Resolved cases", "Share", "Cumulative share"]
    assert rows[1][:2] == ["Training", "4"]


def test_the_rollout_board_shows_the_root_causes_per_wave(wave):
    client = Client()
    client.force_login(make_user(Role.PMO))
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        board = client.get(f"/rollout/?program={wave.program_id}&region=SOUTH")
        # The part is read when it comes into view (htmx), or shown with the board by its link.
        part = client.get(f"/rollout/?program={wave.program_id}&region=SOUTH&part=root-causes",
                          headers={"HX-Request": "true"})
        response = client.get(f"/rollout/?program={wave.program_id}&part=root-causes")
    assert f'hx-get="?program={wave.program_id}&amp;region=SOUTH&amp;part=root-causes" hx-trigger="revealed"' in \
        board.content.decode()
    assert "root_cause_table" not in board.context
    fragment = part.content.decode()
    assert "<html" not in fragment and "Region SOUTH" in fragment and "Resolved cases by root cause" in fragment
    table = response.context["root_cause_table"]
    assert [row[0].text for row in table.rows] == ["North"]
    assert table.rows[0][-1].number == 7
    assert [bar.count for bar in response.context["root_cause_pareto"].bars] == [4, 2, 1]


def _counts(table):
    """{row's first cell: [each count]} of a root-cause table."""
    return {row[0].text: [cell.number for cell in row[1:]] for row in table.rows}


def _by_cause(found):
    return {bar.value: bar.count for bar in found.bars}


def test_the_board_counts_each_region_as_hypercare_s_region_page(wave):
    """One function, one set of filters: the board's region row, its Pareto and its weeks are
    hypercare's region page's, link for link."""
    client = Client()
    client.force_login(make_user(Role.PMO))
    causes = [cause for cause, _label in RootCause.choices]
    with time_machine.travel(NOW, tick=False):
        for region in ("NORTH", "SOUTH"):
            board = client.get(f"/rollout/?program={wave.program_id}&region={region}&part=root-causes").context
            hypercare = client.get(f"/hypercare/waves/{wave.pk}/regions/{region}/?part=root-causes").context
            shown = board["root_cause_region"]
            assert shown["code"] == region
            expected = _by_cause(hypercare["paretos"][0])
            assert _by_cause(shown["paretos"][0]) == expected
            assert _counts(board["root_cause_regions"])[region] == [
                *[expected.get(cause, 0) for cause in causes], sum(expected.values())]
            ours = {table.name: table for table in shown["root_cause_tables"]}
            for table in hypercare["root_cause_tables"]:
                if table.name in ours:
                    assert [[(c.text, c.url) for c in row] for row in ours[table.name].rows] == \
                           [[(c.text, c.url) for c in row] for row in table.rows], table.name
            assert set(ours) == {"by-root-cause", "root-causes-by-week"}
    assert _counts(board["root_cause_regions"]) == {"NORTH": [2, 0, 0, 0, 1, 3, 6], "SOUTH": [0, 0, 0, 0, 0, 1, 1]}


def test_a_region_in_two_waves_counts_both_on_the_board(wave):
    """NORTH's stores in a second wave of the program: the board's NORTH is the sum of the two
    waves' hypercare NORTH pages."""
    s3 = LocationFactory(code="S3", region=wave.locations.get(code="S1").region)
    later = WaveFactory(program=wave.program, name="North 2", stores=[s3])
    resolved(s3, RootCause.INTEGRATION_DELAY)
    resolved(s3, RootCause.TRAINING)
    client = Client()
    client.force_login(make_user(Role.PMO))
    with time_machine.travel(NOW, tick=False):
        board = client.get(f"/rollout/?program={wave.program_id}&region=NORTH&part=root-causes").context
        pages = [client.get(f"/hypercare/waves/{w.pk}/regions/NORTH/?part=root-causes").context for w in (wave, later)]
    expected = {}
    for page in pages:
        for cause, count in _by_cause(page["paretos"][0]).items():
            expected[cause] = expected.get(cause, 0) + count
    assert _by_cause(board["root_cause_region"]["paretos"][0]) == expected == {
        "training": 4, "master_data": 2, "shrink": 1, "integration_delay": 1}
    assert _counts(board["root_cause_regions"])["NORTH"][-1] == 8


def test_the_board_shows_the_region_with_the_most_first_and_names_a_region_it_has_not(wave):
    client = Client()
    client.force_login(make_user(Role.PMO))
    with time_machine.travel(NOW, tick=False):
        first = client.get(f"/rollout/?program={wave.program_id}&part=root-causes")
        unknown = client.get(f"/rollout/?program={wave.program_id}&region=WEST&part=root-causes")
    assert [row[0].text for row in first.context["root_cause_regions"].rows] == ["NORTH", "SOUTH"]
    assert first.context["root_cause_region"]["code"] == "NORTH"
    assert first.context["root_cause_regions"].rows[1][0].url == \
        f"/rollout/?program={wave.program_id}&region=SOUTH&part=root-causes#root-causes-region"
    assert "root_cause_region_error" not in first.context
    assert unknown.context["root_cause_region_error"].startswith("region: no region “WEST”")
    assert unknown.context["root_cause_region"]["code"] == "NORTH"
    assert "region: no region “WEST”" in unknown.content.decode()


def test_each_region_count_on_the_board_is_the_number_of_cases_its_link_lists(wave):
    user = make_user(Role.PMO)
    client = Client()
    client.force_login(user)
    checked = 0
    with time_machine.travel(NOW, tick=False):
        board = client.get(f"/rollout/?program={wave.program_id}&part=root-causes").context
        for row in board["root_cause_regions"].rows:
            for cell in row[1:]:
                if cell.url:
                    assert client.get(cell.url).context["page"].paginator.count == cell.number, cell.url
                    checked += 1
    assert checked == 6  # NORTH: 3 root causes and its total; SOUTH: 1 and its total


def test_a_regional_manager_sees_only_their_region_on_the_board(wave):
    south = wave.locations.get(code="S2").region
    client = Client()
    client.force_login(make_user(Role.REGIONAL_OPS, region=south))
    with time_machine.travel(NOW, tick=False):
        board = client.get(f"/rollout/?program={wave.program_id}&region=NORTH&part=root-causes").context
    assert _counts(board["root_cause_regions"]) == {"SOUTH": [0, 0, 0, 0, 0, 1, 1]}
    assert board["root_cause_region_choices"] == [("SOUTH", south.name)]
    assert board["root_cause_region"]["code"] == "SOUTH"


def test_the_training_share_is_a_registered_metric_in_the_hypercare_exit_playbook(wave):
    window = Window(NOW - timedelta(days=7), NOW)
    reading = metrics.measure("training_root_cause_share", Scope.of(locations=wave.locations.values_list("pk", flat=True)), window).reading
    assert reading.value == Decimal(300) / 6  # 3 of the week's 6 (the 9-days-ago case is outside)
    assert reading.sample == 6
    assert "root_cause=training" in reading.records_url
    assert ("training_root_cause_share", LTE) in [(rule.metric, rule.comparator)
                                                  for rule in PLAYBOOK[GateKind.HYPERCARE_EXIT][1]]
