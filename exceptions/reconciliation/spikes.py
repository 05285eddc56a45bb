"""Rejection-rate spikes per source: today's share of a source's events
refused for bad input against its usual share, on a p-chart (p-bar +/- k
sqrt(p-bar (1 - p-bar) / n)). The limit widens for a source that sent few
events today and narrows for one that sent many, so a small feed's three
rejections and a large feed's three thousand are judged alike.

Read from the per-source daily counts ingest keeps (inventory.IngestDay):
one aggregate over a few rows a source and day, whatever the ledger's size.
"""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from controltower.when import day
from inventory.models import IngestDay

from ..detectors import Detector, Route, register
from ..findings import CaseKind, Finding
from .stats import normal_tail, p_chart_limit, p_chart_score
from .common import anomaly, config, once_in


def rejection_spike(now=None) -> list[Finding]:
    """Sources whose rejection rate today (UTC, so far) is above the upper
    control limit of their last RECONCILIATION spike_baseline_days days,
    at spike_sigmas standard errors, with at least spike_min_events
    received today. Sources without a day of history are not judged; half a rejection
    is added to the history's, so a source that never had one is not
    flagged for its first.
    Severity 2 when more than half of today's events were refused (the
    feed is broken), else 3."""
    now = now or timezone.now()
    today = now.astimezone(timezone.get_fixed_timezone(0)).date()
    days, sigmas = config("spike_baseline_days"), config("spike_sigmas")
    first = today - timedelta(days=days)
    rows = IngestDay.objects.filter(day__gte=first, day__lte=today).select_related("source")
    by_source = {}
    for row in rows.order_by("source_id", "day"):
        by_source.setdefault(row.source, {})[row.day] = row
    findings = []
    for source, by_day in by_source.items():
        observed = by_day.get(today)
        if observed is None or observed.received < config("spike_min_events"):
            continue
        history = [row for d, row in by_day.items() if d < today]
        received = sum(row.received for row in history)
        if not received:
            continue
        # Half a rejection added (a source that never had one has no limit of 0: one refusal is no spike).
        p_bar = (sum(row.rejected for row in history) + 0.5) / (received + 1)
        n, p = observed.received, observed.rejected / observed.received
        limit = p_chart_limit(p_bar, n, sigmas)
        if p <= limit:
            continue
        score = p_chart_score(p, p_bar, n)
        values = [_rate(by_day.get(first + timedelta(days=i))) for i in range(days + 1)]
        findings.append(Finding(
            kind=CaseKind.REJECTION_SPIKE,
            location_id=None,
            sku_id=None,
            reference=source.code,
            source_id=source.pk,
            severity=2 if p > 0.5 else 3,
            quantity_at_risk=observed.rejected,
            summary=(f"{source.code} had {percent(p)} of today's events refused ({observed.rejected} of {n}), "
                     f"against {percent(p_bar)} usually"),
            details=anomaly(
                baseline=(f"{percent(p_bar)} of its events refused over the last {days} days "
                          f"({received:,} events received)."),
                observed=f"{percent(p)} refused today so far: {observed.rejected:,} of {n:,} events.",
                score=(f"{score:.1f} standard errors above its usual rate; the limit for "
                       f"{n:,} events is {percent(limit)}."),
                threshold=(f"Flagged above p-bar + {sigmas:g} standard errors (a p-chart): by chance alone a "
                           f"day goes that high {once_in(normal_tail(sigmas))} days."),
                window=f"{day(first)} to {day(today)}",
                series={"title": "Share refused a day (%)", "values": [None if v is None else round(v * 100, 2)
                                                                      for v in values],
                        "first": day(first), "last": day(today), "marked": [days],
                        "baseline": round(p_bar * 100, 2), "limit": round(limit * 100, 2)},
                numbers={"p_bar": round(p_bar, 6), "p": round(p, 6), "n": n, "limit": round(limit, 6),
                         "score": round(score, 3),
                         "baseline_received": received},
            ),
        ))
    return findings


def percent(share):
    """A share as people read it: "13%", "2.4%", "0.05%", "less than 0.01%"."""
    if share < 0.0001:
        return "less than 0.01%"
    return f"{share * 100:.2g}%" if share < 0.1 else f"{share:.0%}"


def _rate(row):
    return row.rejected / row.received if row is not None and row.received else None


# A broken feed should be seen within minutes, as stale feeds are.
register(Detector(CaseKind.REJECTION_SPIKE, "Rejection-rate spike", rejection_spike, every_s=300, timed=True,
                  routes=(Route("INTEGRATION"),)))
