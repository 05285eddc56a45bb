"""The readiness forecast of a red criterion, from its evidence history."""
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest

from rollout.evaluation import evaluate_wave, forecast
from rollout.models import Gate
from tests.inventory.factories import LocationFactory

from .factories import CriterionFactory, GateTemplateFactory, WaveFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=dt_timezone.utc)
DAY = timedelta(days=1)


@pytest.fixture
def setup(gauge):
    store = LocationFactory(code="F001")
    wave = WaveFactory(name="Forecast", stores=[store])
    criterion = CriterionFactory(template=GateTemplateFactory(program=wave.program), threshold=Decimal("95"))
    return wave, store, criterion


def run_days(wave, store, gauge, values):
    for day, value in enumerate(values):
        gauge.set({store: value}, since=T0 + day * DAY)
        evaluate_wave(wave, at=T0 + day * DAY)
    return Gate.objects.select_related("wave").get(wave=wave)


def test_a_red_criterion_moving_up_turns_green_at_its_rate(setup, gauge):
    wave, store, criterion = setup
    gate = run_days(wave, store, gauge, [90, 91, 92])  # one point a day, 3 short

    predicted = forecast(gate, criterion, at=T0 + 2 * DAY)

    assert predicted.rate_per_day == Decimal("1")
    assert predicted.green_at == T0 + 5 * DAY
    assert predicted.text == "green by 07 Nov 2026 08:00 UTC"


def test_not_before_the_planned_cutover(setup, gauge):
    wave, store, criterion = setup
    wave.planned_cutover = date(2026, 11, 6)
    wave.save()
    gate = run_days(wave, store, gauge, [90, 91, 92])

    predicted = forecast(gate, criterion, at=T0 + 2 * DAY)

    assert predicted.green_at is None and predicted.text == "not before the planned cutover"


def test_flat_or_worsening_is_not_moving_towards_green(setup, gauge):
    wave, store, criterion = setup
    gate = run_days(wave, store, gauge, [92, 91, 90])

    predicted = forecast(gate, criterion, at=T0 + 2 * DAY)

    assert predicted.green_at is None and predicted.text == "not moving towards the threshold"
    assert predicted.rate_per_day == Decimal("-1")


def test_a_green_criterion_has_no_forecast_and_one_point_no_rate(setup, gauge):
    wave, store, criterion = setup
    gate = run_days(wave, store, gauge, [90])
    assert forecast(gate, criterion, at=T0).text == "one measurement: no rate yet"

    gauge.set({store: 97}, since=T0 + DAY)
    evaluate_wave(wave, at=T0 + DAY)
    assert forecast(gate, criterion, at=T0 + DAY) is None


def test_a_crawl_towards_a_far_threshold_is_not_within_a_year(setup, gauge):
    """A threshold the API accepts can be huge: the straight line then ends past any date."""
    wave, store, criterion = setup
    criterion.threshold = Decimal("9999999999")  # the largest it holds
    criterion.save()
    gate = run_days(wave, store, gauge, [90, 91, 92])

    predicted = forecast(gate, criterion, at=T0 + 2 * DAY)

    assert predicted.green_at is None and predicted.text == "not within a year at this rate"
    assert predicted.rate_per_day == Decimal("1")
