"""Outliers among people and places: a store that adjusts its stock far more
than the chain's stores or than its own weeks, a cashier who refunds far
more than the chain's cashiers or than their own weeks.

Both count per week in SQL (one aggregate: a row per store or cashier and
week, not per event) and score the last 7 days in Python with the modified
z-score (exceptions.reconciliation.stats), robust to the outliers it looks
for, its spread never below what chance gives a count (a Poisson's). The chain is compared over the last few weeks (a store
that adjusts more than its peers week after week), the store's or cashier's
own weeks over the last 7 days (a change). The weeks are whole 7-day runs
back from the run's time: each holds
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
from .stats import modified_z, normal_tail
from .common import anomaly, config, fetch_rows, once_in


@dataclass
class Outlier:
    key: tuple  # (location id, cashier or "")
    counts: list  # per week, the oldest first; the last is the last 7 days
    chain_weeks: int  # the weeks compared with the chain (the last ones)
    recent: int  # the count of the chain_weeks
    chain_median: float  # the chain's median count over those weeks
    chain_score: float
    own_median: float | None  # a week, in the weeks before the last 7 days
    own_score: float | None
    own_weeks: int  # the weeks of its own the last 7 days were compared with
    flagged_by_chain: bool

    @property
    def observed(self):
        return self.counts[-1]


def outliers(weekly, weeks):
    """The outliers of `weekly` ({key: {weeks ago: count}}, week 0 the last
    7 days), beyond RECONCILIATION outlier_score and with at least
    outlier_min_count in the window compared:
    - against the chain: the key's count of the last outlier_chain_weeks
      weeks against every key's (a store that adjusts more than its peers
      week after week);
    - against its own weeks: the last 7 days against the `weeks` weeks
      before (a change). Own weeks start at the key's first week with a
      count (a store new to the tower has no weeks of zeros before it);
      fewer than outlier_min_own_weeks: no own score (the median of a few
      thin first weeks is luck, and would make an ordinary week an outlier)."""
    threshold, minimum = config("outlier_score"), config("outlier_min_count")
    min_own_weeks = config("outlier_min_own_weeks")
    chain_weeks = config("outlier_chain_weeks")
    recent = {key: sum(counts.get(w, 0) for w in range(chain_weeks)) for key, counts in weekly.items()}
    chain = list(recent.values())
    found = []
    for key, counts in weekly.items():
        observed = counts.get(0, 0)
        chain_score = modified_z(recent[key], chain)
        first = max((w for w in counts if w > 0), default=0)
        own = [counts.get(w, 0) for w in range(min(first, weeks), 0, -1)]
        own_score = modified_z(observed, own) if len(own) >= min_own_weeks else None
        by_chain = recent[key] >= minimum and chain_score > threshold
        by_own = observed >= minimum and own_score is not None and own_score > threshold
        if by_chain or by_own:
            found.append(Outlier(key, [counts.get(w, 0) for w in range(weeks, -1, -1)], chain_weeks, recent[key],
                                 median(chain), chain_score, median(own) if own_score is not None else None,
                                 own_score, len(own), by_chain))
    return found


def _weeks_ago(column):
    return f"FLOOR({seconds_apart_sql('%(now)s', column)} / 604800)"


def _window(now, weeks):
    return {"now": db_time(now), "start": db_time(now - timedelta(weeks=weeks + 1))}


def _explain(outlier, what, peers, now, title):
    """An outlier's explanation (exceptions.reconciliation.common.anomaly)."""
    threshold, weeks, chain_weeks = config("outlier_score"), len(outlier.counts) - 1, outlier.chain_weeks
    own = (f" In its own {outlier.own_weeks} weeks before the last 7 days: a median of {outlier.own_median:g} a week."
           if outlier.own_median is not None else "")
    own_score = ("" if outlier.own_score is None
                 else f"; {outlier.own_score:.1f} for the last 7 days against its own weeks")
    flagged = outlier.flagged_by_chain
    return anomaly(
        baseline=(f"The chain's {peers} made a median of {outlier.chain_median:g} {what} in the last "
                  f"{chain_weeks} weeks.{own}"),
        observed=(f"{outlier.recent} {what} in the last {chain_weeks} weeks, {outlier.observed} of them "
                  "in the last 7 days."),
        score=(f"Robust score (modified z) {outlier.chain_score:.1f} against the chain{own_score}; "
               f"above {threshold:g} is an outlier."),
        threshold=(f"Flagged above {threshold:g}, from {config('outlier_min_count')} {what}: by chance alone a "
                   f"score goes that high {once_in(normal_tail(threshold))} times."),
        window=f"{day(now - timedelta(weeks=chain_weeks if flagged else 1))} to {day(now)}",
        series={"title": title, "values": outlier.counts, "first": day(now - timedelta(weeks=weeks + 1)),
                "last": day(now), "marked": list(range(weeks + 1 - (chain_weeks if flagged else 1), weeks + 1)),
                # The usual week: the chain's median a week, or the key's own.
                "baseline": round(outlier.chain_median / chain_weeks, 2) if flagged else outlier.own_median,
                "limit": None},
        numbers={"observed": outlier.observed, "recent": outlier.recent, "chain_weeks": chain_weeks,
                 "chain_median": outlier.chain_median, "chain_score": round(outlier.chain_score, 3),
                 "own_median": outlier.own_median,
                 "own_score": None if outlier.own_score is None else round(outlier.own_score, 3),
                 "weekly": outlier.counts},
    )


def _how_many(outlier, what):
    if outlier.flagged_by_chain:
        return (f"{outlier.recent} {what} in the last {outlier.chain_weeks} weeks, far more than the chain's "
                f"median of {outlier.chain_median:g}")
    return f"{outlier.observed} {what} in the last 7 days, far more than its usual {outlier.own_median:g} a week"


def adjustment_outlier(now=None) -> list[Finding]:
    """Stores whose manual adjustments of the last 7 days are an outlier
    against the chain's stores (those that adjusted in the weeks looked at)
    or their own weeks. Severity 3: a pattern to look into (shrink,
    miscounts, a process not followed), not money lost yet."""
    now = now or timezone.now()
    weeks = config("outlier_weeks")
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
            summary=f"{codes[location_id]} made {_how_many(outlier, 'stock adjustments')}",
            details=_explain(outlier, "adjustments", "stores", now, "Adjustments a week"),
        ))
    return findings


def refund_outlier(now=None) -> list[Finding]:
    """Cashiers whose refunds of the last 7 days are an outlier against the
    chain's cashiers (those who refunded in the weeks looked at) or their
    own weeks: the refund steps of return journeys that name a cashier, at
    the step's location (else the journey's), and the return events that
    name one (the POSLog's OperatorID). A return is often both (the till's
    return line and the refund step; the till's receipt names no return
    journey): each refund once, a week's count is the larger of the two.
    One case per store and cashier.
    Severity 2: refunds are money paid out."""
    now = now or timezone.now()
    weeks = config("outlier_weeks")
    weekly = {}
    for row in fetch_rows(
        f"""SELECT r.location_id, r.cashier, r.feed, {_weeks_ago('r.occurred_at')} AS ago, COUNT(*) AS n
            FROM (
                SELECT COALESCE(s.location_id, j.location_id) AS location_id, s.cashier, s.occurred_at,
                       'step' AS feed
                FROM inventory_journeystep s JOIN inventory_journey j ON j.id = s.journey_id
                WHERE s.step = 'refunded' AND j.kind = %(kind)s AND s.cashier <> ''
                  AND s.occurred_at > %(start)s AND s.occurred_at <= %(now)s
                UNION ALL
                SELECT e.location_id, e.cashier, e.occurred_at, 'event' FROM inventory_inventoryevent e
                WHERE e.type = 'return' AND e.cashier <> ''
                  AND e.occurred_at > %(start)s AND e.occurred_at <= %(now)s
            ) r
            GROUP BY 1, 2, 3, 4""",
        {**_window(now, weeks), "kind": JourneyKind.RETURN},
    ):
        counts = weekly.setdefault((row["location_id"], row["cashier"]), {})
        counts[int(row["ago"])] = max(counts.get(int(row["ago"]), 0), row["n"])
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
            summary=f"Cashier {cashier}{where} made {_how_many(outlier, 'refunds')}",
            details=_explain(outlier, "refunds", "cashiers", now, "Refunds a week"),
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
