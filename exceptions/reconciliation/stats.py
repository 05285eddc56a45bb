"""The statistics behind the anomaly cases, plain and database-free: the
finders (phantom, outliers, spikes) aggregate in SQL and score the few rows
that come back here.

- Phantom inventory: the chance of a run of days without a sale, under a
  Poisson rate, or a negative binomial when a SKU's daily sales vary more
  than a Poisson allows (overdispersion). (The Benjamini-Hochberg step-up
  over every position tested runs in the finder's SQL.)
- Outliers: the modified z-score (Iglewicz and Hoaglin), robust to the
  outliers themselves: 0.6745 (x - median) / MAD, of counts: the MAD at
  least a Poisson's.
- Spikes: the p-chart's upper control limit, p-bar + k sqrt(p-bar (1 - p-bar) / n).
"""
from __future__ import annotations

import math
from statistics import median

# The modified z-score's constant: the MAD of a normal sample is 0.6745 sigma.
MAD_SCALE = 0.6745


def daily_moments(total, total_squares, days):
    """(mean, variance) of a count per day over `days` days, from the sum
    and the sum of squares of the days with a count (the other days are 0).
    The variance is the sample variance (n - 1); 0 for a single day."""
    mean = total / days
    if days < 2:
        return mean, 0.0
    return mean, max(0.0, (total_squares - total * total / days) / (days - 1))


def dispersion(mean, variance):
    """The negative binomial's size k (variance = mean + mean^2 / k) by the
    method of moments; None when the counts are not overdispersed (a Poisson
    fits)."""
    if mean <= 0 or variance <= mean:
        return None
    return mean * mean / (variance - mean)


def log_no_sale(rate, days, size=None):
    """ln P(no sale in `days` days) at `rate` sales a day: Poisson, -rate x
    days; with a negative binomial of size k a day (days add up: k x days
    over the run), -k days ln(1 + rate / k). Logarithms: a long run's chance
    is smaller than a float holds."""
    if size is None:
        return -rate * days
    return -size * days * math.log1p(rate / size)


def modified_z(value, values):
    """The modified z-score of a count against `values` (counts too),
    0.6745 (x - median) / MAD, the MAD at least what chance alone gives a
    count: a Poisson's, 0.6745 sqrt(median) (of a median of at least 1).
    A few weeks of a handful of refunds agree closely by luck (a MAD of 1,
    or 0); chance still moves a week of 5 to 9 now and then, and that is
    no outlier."""
    centre = median(values)
    mad = median(abs(v - centre) for v in values)
    return MAD_SCALE * (value - centre) / max(mad, MAD_SCALE * math.sqrt(max(centre, 1)))


def normal_tail(z):
    """P(Z > z) of a standard normal: how often chance alone goes beyond z standard deviations."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def p_chart_limit(p_bar, n, sigmas=3):
    """The upper control limit of a proportion over `n` items: p-bar + sigmas
    sqrt(p-bar (1 - p-bar) / n), at most 1."""
    return min(1.0, p_bar + sigmas * math.sqrt(p_bar * (1 - p_bar) / n))


def p_chart_score(p, p_bar, n):
    """How many standard errors `p` lies above p-bar, over `n` items."""
    return (p - p_bar) / math.sqrt(p_bar * (1 - p_bar) / n)
