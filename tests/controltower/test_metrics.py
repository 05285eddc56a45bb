"""The metric registry's own rules (controltower.metrics); each app's metrics
are tested with the app."""
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from controltower import metrics
from controltower.metrics import HIGHER, Reading, Scope, Status, Unit, Window

WINDOW = Window(since=None, until=datetime(2026, 12, 1, tzinfo=timezone.utc))


def share_of_locations(scope, window):
    if not scope.locations:
        return Reading(value=None, sample=0)
    return Reading(value=Decimal(100) * len(scope.locations) / 4, sample=len(scope.locations),
                   records_url="/api/v1/locations")


@pytest.fixture
def registered():
    metrics.register("test_share", "Test share", definition="Locations over four.", unit=Unit.PERCENT,
                     better=HIGHER, compute=share_of_locations, target=None)
    yield metrics.get("test_share")
    metrics._metrics.pop("test_share")


def test_a_metric_is_measured_over_a_scope_and_says_what_it_rests_on(registered):
    measured = metrics.measure("test_share", Scope.of(locations=[1, 2, 3]), WINDOW)
    assert measured.value == Decimal(75)
    assert measured.reading.sample == 3
    assert measured.text == "75.0%"
    assert measured.metric.definition == "Locations over four."
    assert measured.window == WINDOW


def test_nothing_to_measure_is_no_data_never_zero(registered):
    measured = metrics.measure("test_share", Scope.of(locations=[]), WINDOW)
    assert measured.no_data and measured.value is None
    assert measured.text == "no data"


def test_a_key_is_defined_once(registered):
    with pytest.raises(ValueError, match="already registered"):
        metrics.register("test_share", "Again", definition="", unit=Unit.COUNT, better=HIGHER,
                         compute=lambda scope, window: Reading(None, 0), target=None)


def test_an_unknown_key_names_the_known_ones(registered):
    with pytest.raises(ValueError, match="Unknown metric 'nope'; one of .*test_share"):
        metrics.get("nope")


def test_units_format_in_words():
    metric = metrics.Metric("k", "K", "", Unit.SECONDS, HIGHER, share_of_locations)
    assert metric.format(Decimal("12.6")) == "13 s"
    assert metric.format(None) == "no data"


def test_a_share_of_nothing_is_no_data():
    assert metrics.share(1, 4) == Decimal(25)
    assert metrics.share(0, 5) == Decimal(0)
    assert metrics.share(0, 0) is None


def test_a_value_against_its_target_in_words():
    higher = metrics.Metric("k", "K", "", Unit.PERCENT, HIGHER, share_of_locations,
                            target=Decimal(95), amber=Decimal(80))
    assert [higher.status(v) for v in (None, 96, 95, 85, 80, 79)] == [
        Status.NO_DATA, Status.GREEN, Status.GREEN, Status.AMBER, Status.AMBER, Status.RED]
    lower = metrics.Metric("k", "K", "", Unit.SECONDS, metrics.LOWER, share_of_locations,
                           target=Decimal(300), amber=Decimal(900))
    assert [lower.status(v) for v in (0, 300, 600, 901)] == [Status.GREEN, Status.GREEN, Status.AMBER, Status.RED]
    assert lower.target_text == "at most 5 min"
    assert metrics.Metric("k", "K", "", Unit.COUNT, HIGHER, share_of_locations).status(3) == Status.NO_TARGET


def test_amber_lies_on_the_bad_side_of_the_target():
    with pytest.raises(ValueError, match="amber must lie beyond the target"):
        metrics.register("test_bad", "Bad", definition="", unit=Unit.PERCENT, better=HIGHER,
                         compute=share_of_locations, target=90, amber=95)


def test_durations_read_in_the_unit_a_person_uses():
    metric = metrics.Metric("k", "K", "", Unit.SECONDS, metrics.LOWER, share_of_locations)
    assert [metric.format(Decimal(v)) for v in (59, 300, 9000, 172800)] == ["59 s", "5 min", "2.5 h", "2.0 days"]


def test_the_metrics_reference_lists_every_metric_with_its_target_and_definition():
    page = (Path(__file__).resolve().parents[2] / "docs" / "reference" / "metrics.md").read_text()
    for metric in metrics.metrics():
        line = next((line for line in page.splitlines() if line.startswith(f"| [`{metric.key}`](#{metric.key}) |")),
                    None)
        assert line is not None, f"docs/reference/metrics.md's table has no row for {metric.key}"
        target = "none" if metric.target is None else metric.format(metric.target)
        assert f"| {target}" in line, metric.key
        assert f"### {metric.key}\n\n**{metric.label}.** {metric.definition}\n" in page, metric.key
