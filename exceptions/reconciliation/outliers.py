"""Outliers among people and places: a store that adjusts its stock far more
than the chain's stores or than its own weeks, a cashier who refunds far
more than the chain's cashiers or than their own weeks.

Both count per week in SQL (one aggregate: a row per store or cashier and
week, not per event) and score the last 7 days in Python with the modified
z-score (exceptions.reconciliation.stats), robust to the outliers it looks
for. The weeks are whole 7-day runs back from the run's time: each holds
every weekday once, so a busy Saturday is in every week compared and weekly
seasonality cannot make an outlier. Only more than usual is flagged: fewer
adjustments or refunds is no problem to chase.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from statistics import median

from django.utils import timezone

from controltower.db import db_time, seconds_apart_sql
from controltower.when import day
from inventory.models import JourneyKind, Location

from ..detectors import Detector, Route, register
from ..findings import CaseKind, Finding
from . import stats
from .common import anomaly, config, fetch_rows

# Own weeks needed before a store's or cashier's own score means anything.
MIN_OWN_WEEKS = 3


@dataclass
class Outlier:
    key: tuple  # (location id, cashier or "")
    counts: list  # per week, the oldest first; the last is the 7 days looked at
    observed: int
    chain_median: float
    chain_score: float
    own_median: float | None
    own_score: float | None

    @property
    def score(self):
        return max(self.chain_score, self.own_score or 0.0)


def outliers(weekly, weeks):
    """The outliers of `weekly` ({key: {weeks ago: count}}, week 0 the last
    7 days) over `weeks` weeks before: their last week beyond
    RECONCILIATION outlier_score against the last week of every key (the
    chain) or against their own weeks, and at least outlier_min_count.
    Own weeks start at the key's first week with a count (a store new to
    the tower has no weeks of zeros before it); fewer than MIN_OWN_WEEKS:
    no own score."""
    threshold, minimum = config("outlier_score"), config("outlier_min_count")
    chain = [counts.get(0, 0) for counts in weekly.values()]
    found = []
    for key, counts in weekly.items():
        observed = counts.get(0, 0)
        if observed < minimum:
            continue
        chain_score = stats.modified_z(observed, chain)
        first = max((w for w in counts if w > 0), default=0)
        own = [counts.get(w, 0) for w in range(min(first, weeks), 0, -1)]
        own_score = stats.modified_z(observed, own) if len(own) >= MIN_OWN_WEEKS else None
        if chain_score > threshold or (own_score is not None and own_score > threshold):
            found.append(Outlier(key, [counts.get(w, 0) for w in range(weeks, -1, -1)], observed,
                                 median(chain), chain_score, median(own) if own_score is not None else None,
                                 own_score))
    return found


def _weeks_ago(column):
    return f"FLOOR({seconds_apart_sql('%(now)s', column)} / 604800)"


def _window(now, weeks):
    return {"now": db_time(now), "start": db_time(now - timedelta(weeks=weeks + 1))}


def _words(outlier, what, peers, threshold):
    """The baseline, observed and score of an outlier, in words."""
    own = (f"; in its own {len(outlier.counts) - 1} weeks before, a median of {outlier.own_median:g} a week"
           if outlier.own_median is not None else "")
    own_score = f", {outlier.own_score:.1f} against its own weeks" if outlier.own_score is not None else ""
    return {
        "baseline": f"The chain's {peers} made a median of {outlier.chain_median:g} {what} in the last 7 days{own}.",
        "observed": f"{outlier.observed} {what} in the last 7 days.",
        "score": (f"Robust score (modified z) {outlier.chain_score:.1f} against the chain{own_score}; "
                  f"above {threshold:g} is an outlier."),
        "threshold": (f"Flagged above {threshold:g}, from {config('outlier_min_count')} {what} a week: "
                      "a score that high happens by chance about once in a few thousand."),
    }


def _series(outlier, now, weeks, title):
    return {"title": title, "values": outlier.counts, "first": day(now - timedelta(weeks=weeks + 1)),
            "last": day(now), "marked": [weeks], "baseline": outlier.chain_median, "limit": None}


def _numbers(outlier):
    return {"observed": outlier.observed, "chain_median": outlier.chain_median,
            "chain_score": round(outlier.chain_score, 3), "own_median": outlier.own_median,
            "own_score": None if outlier.own_score is None else round(outlier.own_score, 3),
            "weekly": outlier.counts}


def adjustment_outlier(now=None) -> list[Finding]:
    """Stores whose manual adjustments of the last 7 days are an outlier
    against the chain's stores (those that adjusted in the weeks looked at)
    or their own weeks. Severity 3: a pattern to look into (shrink,
    miscounts, a process not followed), not money lost yet."""
    now = now or timezone.now()
    weeks, threshold = config("outlier_weeks"), config("outlier_score")
    weekly = {}
    for row in fetch_rows(
        f"""SELECT e.location_id, {_weeks_ago('e.occurred_at')} AS ago, COUNT(*) AS n
            FROM inventory_inventoryevent e JOIN inventory_location loc ON loc.id = e.location_id
            WHERE e.type = 'adjustment' AND e.occurred_at > %(start)s AND e.occurred_at <= %(now)s
              AND loc.kind = 'store'
            GROUP BY e.location_id, 2""",
        _window(now, weeks),
    ):
        weekly.setdefault((row["location_id"], ""), {})[int(row["ago"])] = row["n"]
    codes = _codes(weekly)
    findings = []
    for outlier in outliers(weekly, weeks):
        location_id = outlier.key[0]
        findings.append(Finding(
            kind=CaseKind.ADJUSTMENT_OUTLIER,
            location_id=location_id,
            sku_id=None,
            severity=3,
            quantity_at_risk=outlier.observed,
            summary=(f"{codes[location_id]} made {outlier.observed} stock adjustments in the last 7 days, "
                     f"far more than usual (the chain's stores: {outlier.chain_median:g})"),
            details=anomaly(**_words(outlier, "adjustments", "stores", threshold),
                            window=f"{day(now - timedelta(days=7))} to {day(now)}",
                            series=_series(outlier, now, weeks, "Adjustments a week"),
                            numbers=_numbers(outlier)),
        ))
    return findings


def refund_outlier(now=None) -> list[Finding]:
    """Cashiers whose refunds of the last 7 days are an outlier against the
    chain's cashiers (those who refunded in the weeks looked at) or their
    own weeks: the refund steps of return journeys that name a cashier, at
    the step's location (else the journey's). One case per store and
    cashier. Severity 2: refunds are money paid out."""
    now = now or timezone.now()
    weeks, threshold = config("outlier_weeks"), config("outlier_score")
    weekly = {}
    for row in fetch_rows(
        f"""SELECT COALESCE(s.location_id, j.location_id) AS location_id, s.cashier,
                   {_weeks_ago('s.occurred_at')} AS ago, COUNT(*) AS n
            FROM inventory_journeystep s JOIN inventory_journey j ON j.id = s.journey_id
            WHERE s.step = 'refunded' AND j.kind = %(kind)s AND s.cashier <> ''
              AND s.occurred_at > %(start)s AND s.occurred_at <= %(now)s
            GROUP BY 1, 2, 3""",
        {**_window(now, weeks), "kind": JourneyKind.RETURN},
    ):
        weekly.setdefault((row["location_id"], row["cashier"]), {})[int(row["ago"])] = row["n"]
    codes = _codes(weekly)
    findings = []
    for outlier in outliers(weekly, weeks):
        location_id, cashier = outlier.key
        where = f" at {codes[location_id]}" if location_id else ""
        findings.append(Finding(
            kind=CaseKind.REFUND_OUTLIER,
            location_id=location_id,
            sku_id=None,
            reference=f"cashier {cashier}",
            severity=2,
            quantity_at_risk=outlier.observed,
            summary=(f"Cashier {cashier}{where} refunded {outlier.observed} returns in the last 7 days, "
                     f"far more than usual (the chain's cashiers: {outlier.chain_median:g})"),
            details=anomaly(**_words(outlier, "refunds", "cashiers", threshold),
                            window=f"{day(now - timedelta(days=7))} to {day(now)}",
                            series=_series(outlier, now, weeks, "Refunds a week"),
                            numbers={**_numbers(outlier), "cashier": cashier}),
        ))
    return findings


def _codes(weekly):
    ids = {key[0] for key in weekly if key[0] is not None}
    return dict(Location.objects.filter(pk__in=ids).values_list("pk", "code"))


# Daily is enough for a pattern of weeks; hourly keeps the last 7 days current.
register(Detector(CaseKind.ADJUSTMENT_OUTLIER, "Outlier adjustments (store)", adjustment_outlier, every_s=3600,
                  timed=True, routes=(Route("REGIONAL-OPS"),)))
register(Detector(CaseKind.REFUND_OUTLIER, "Refund outlier (cashier)", refund_outlier, every_s=3600,
                  timed=True, routes=(Route("REGIONAL-OPS"),)))
