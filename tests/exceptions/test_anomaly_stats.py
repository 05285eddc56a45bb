"""The statistics of the anomaly cases against values worked by hand."""
import math

import pytest

from exceptions.reconciliation import stats


def test_daily_moments_count_the_days_without_a_sale_as_zeros():
    # Days 2, 0, 1, 0, 2 (5 days): sum 5, squares 4 + 1 + 4 = 9.
    # Mean 1; variance (9 - 25 / 5) / 4 = 1.
    assert stats.daily_moments(5, 9, 5) == (1.0, 1.0)
    assert stats.daily_moments(3, 9, 1) == (3.0, 0.0)


def test_dispersion_is_none_unless_the_days_vary_more_than_a_poisson():
    assert stats.dispersion(2.0, 2.0) is None
    assert stats.dispersion(2.0, 1.5) is None
    # variance = mean + mean^2 / k: 2 + 4 / k = 6 gives k = 1.
    assert stats.dispersion(2.0, 6.0) == 1.0


def test_a_poisson_run_without_a_sale():
    # 0.5 sales a day for 10 days: P(none) = exp(-5) = 0.006738.
    assert stats.log_no_sale(0.5, 10) == -5.0
    assert math.exp(stats.log_no_sale(0.5, 10)) == pytest.approx(0.006738, abs=1e-6)


def test_a_negative_binomial_run_is_likelier_than_a_poisson_one():
    # k = 1 a day, 2 sales a day, 3 days: (k / (k + m))^(k d) = (1/3)^3 = 1/27.
    assert math.exp(stats.log_no_sale(2.0, 3, size=1.0)) == pytest.approx(1 / 27)
    assert stats.log_no_sale(2.0, 3, size=1.0) > stats.log_no_sale(2.0, 3)


def test_the_modified_z_score():
    # median 100, deviations 40, 20, 0, 20, 100: MAD 20 (above a Poisson's 0.6745 x 10); (200 - 100) x 0.6745 / 20.
    assert stats.modified_z(200, [60, 80, 100, 120, 200]) == pytest.approx(3.3725)
    assert stats.modified_z(100, [60, 80, 100, 120, 200]) == 0


def test_a_count_spreads_at_least_as_chance_does():
    # median 5, MAD 1: a Poisson of 5 spreads 0.6745 sqrt(5) = 1.508; (11 - 5) / sqrt(5) = 2.68, no outlier.
    assert stats.modified_z(11, [4, 5, 6]) == pytest.approx(6 / 5 ** 0.5)
    assert stats.modified_z(14, [4, 5, 6]) > 3.5  # P(14 or more | 5) = 0.0008
    # median 4, MAD 0 (most weeks equal): the spread of a Poisson of 4; a median of 0 counts as 1.
    assert stats.modified_z(12, [4, 4, 4, 12]) == pytest.approx(8 / 2)
    assert stats.modified_z(3, [0, 0, 0, 1]) == pytest.approx(3)


def test_the_p_chart_limit_and_score():
    # p-bar 0.02, n 400: sqrt(0.02 x 0.98 / 400) = 0.007; limit 0.02 + 3 x 0.007 = 0.041.
    assert stats.p_chart_limit(0.02, 400) == pytest.approx(0.041)
    assert stats.p_chart_score(0.055, 0.02, 400) == pytest.approx(5.0)
    # A small source's limit is wider: n 25 gives sqrt(0.0196 / 25) = 0.028, limit 0.104.
    assert stats.p_chart_limit(0.02, 25) == pytest.approx(0.104)
    assert stats.p_chart_limit(0.5, 1, sigmas=3) == 1.0


def test_the_anomaly_chart_marks_the_unusual_bars_and_says_it_in_words():
    from exceptions.details import CHART_HEIGHT, CHART_WIDTH, anomaly_chart

    chart = anomaly_chart({"title": "Refunds a week", "values": [2, None, 4, 10], "first": "01 Nov 2026",
                           "last": "29 Nov 2026", "marked": [3], "baseline": 2, "limit": None})
    # Four bars a quarter of the width each, the gap (None) without a bar; the tallest is 10 / 1.1 of the height.
    assert [bar["x"] for bar in chart["bars"]] == [12.0, 172.0, 252.0] and CHART_WIDTH == 320
    assert [bar["marked"] for bar in chart["bars"]] == [False, False, True]
    assert chart["bars"][-1]["height"] == round(CHART_HEIGHT / 1.1, 1)
    assert chart["band"] == {"x": 240.0, "width": 80.0}
    assert chart["lines"] == [{"y": round(CHART_HEIGHT - 2 / 11 * CHART_HEIGHT, 1), "kind": "baseline"}]
    assert chart["words"] == ("Refunds a week, 4 bars from 01 Nov 2026 to 29 Nov 2026; usually 2; "
                              "the marked bars: 10.")
    assert anomaly_chart({"values": []}) is None


def test_how_often_chance_goes_beyond_the_thresholds():
    from exceptions.reconciliation.common import once_in

    # One-sided normal tails: 3 sigma 0.135% (once in 741), 3.5 sigma 0.0233% (once in 4,298).
    assert stats.normal_tail(3) == pytest.approx(0.0013499, rel=1e-4)
    assert once_in(stats.normal_tail(3)) == "about once in 740"
    assert once_in(stats.normal_tail(3.5)) == "about once in 4,300"
