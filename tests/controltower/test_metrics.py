"""The metric registry's own rules (controltower.metrics); each app's metrics
are tested with the app."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from controltower import metrics
from controltower.metrics import HIGHER, Reading, Scope, Unit, Window

WINDOW = Window(since=None, until=datetime(2026, 12, 1, tzinfo=timezone.utc))


def share_of_locations(scope, window):
    if not scope.locations:
        return Reading(value=None, sample=0)
    return Reading(value=Decimal(100) * len(scope.locations) / 4, sample=len(scope.locations),
                   records_url="/api/v1/locations")


@pytest.fixture
def registered():
    metrics.register("test_share", "Test share", definition="Locations over four.", unit=Unit.PERCENT,
                     better=HIGHER, compute=share_of_locations)
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
                         compute=lambda scope, window: Reading(None, 0))


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
