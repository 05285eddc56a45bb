"""The exceptions metrics of the registry (controltower.metrics): open cases
by severity, SLA attainment, case aging, days since the last severity-1
case, stale feeds and the duplicate transaction rate. Registered from ExceptionsConfig.ready(), where their
definitions are. Windows are half-open (since <= time < until), as in
inventory.metrics.

Cases are counted at the scope's locations. A case with no location (a
stale feed, master-data rejections, projection drift: about a source or the
whole estate) counts only when the scope is the whole estate: it belongs to
no store of a narrower scope. A case is active as of `until` when it was
opened before it and not resolved before it; a resolved case reopened later
has no resolution time any more, so it reads as active since it opened.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

from django.db.models import Count, Max, Q, Sum

from controltower.db import nearest_rank
from controltower.metrics import Reading, records_url, share
from inventory.metrics import codes, empty, of_sources
from inventory.models import IngestDay, InventoryEvent, Location, SourceSystem

from .findings import CaseKind
from .models import Case, DuplicateVerdict
from .reconciliation.feeds import is_stale
from .sla import HAS_TARGET, RESOLVED_IN_TIME

DAY_SECONDS = Decimal(86400)


def cases_at(scope):
    cases = Case.objects.all()
    return cases if scope.locations is None else cases.filter(location_id__in=scope.locations)


def active_as_of(cases, until):
    return cases.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=until), opened_at__lt=until)


def cases_url(scope, **filters):
    return records_url("/api/v1/cases", locations=codes(Location, scope.locations), **filters)


def _open_cases(severity):
    def open_cases(scope, window):
        if empty(scope, "locations"):
            return Reading(value=None, sample=0)
        count = active_as_of(cases_at(scope), window.until).filter(severity=severity).count()
        return Reading(value=Decimal(count), sample=count,
                       records_url=cases_url(scope, status="active", severity=severity))
    return open_cases


open_sev1_cases = _open_cases(1)
open_sev2_cases = _open_cases(2)


def sla_attainment(scope, window):
    """Cases resolved in the window by their resolution due time, over the
    cases resolved in the window that had one (exceptions.sla)."""
    if empty(scope, "locations"):
        return Reading(value=None, sample=0)
    resolved = cases_at(scope).filter(HAS_TARGET, resolved_at__lt=window.until)
    if window.since is not None:
        resolved = resolved.filter(resolved_at__gte=window.since)
    total = resolved.count()
    in_time = resolved.filter(RESOLVED_IN_TIME).count()
    return Reading(
        value=share(in_time, total), sample=total,
        records_url=cases_url(scope, status="done", resolved_since=window.since, resolved_until=window.until),
        detail={"in_time": in_time, "late": total - in_time},
    )


def case_aging_p90(scope, window):
    """The 90th percentile (nearest rank) of the age of the cases active as
    of `until`, in seconds from when each opened."""
    if empty(scope, "locations"):
        return Reading(value=None, sample=0)
    active = active_as_of(cases_at(scope), window.until)
    # The oldest ages are the earliest openings: rank by opened_at, latest first.
    opened_at, count = nearest_rank(active, "opened_at", Decimal("0.90"), descending=True)
    return Reading(
        value=None if opened_at is None else Decimal((window.until - opened_at).total_seconds()),
        sample=count, records_url=cases_url(scope, status="active"),
    )


def days_since_last_sev1(scope, window):
    """Days from the opening of the latest severity-1 case before `until`
    to `until`; no data when there never was one."""
    if empty(scope, "locations"):
        return Reading(value=None, sample=0)
    sev1 = cases_at(scope).filter(severity=1, opened_at__lt=window.until)
    latest = sev1.aggregate(latest=Max("opened_at"))["latest"]
    if latest is None:
        return Reading(value=None, sample=0, records_url=cases_url(scope, severity=1))
    days = Decimal((window.until - latest).total_seconds()) / DAY_SECONDS
    return Reading(value=days.quantize(Decimal("0.01")), sample=sev1.count(),
                   records_url=cases_url(scope, severity=1), detail={"last_opened_at": latest.isoformat()})


def variance_value_at_risk(scope, window):
    """The value at the SKU's unit cost of the quantity differences of the
    snapshot mismatches active as of `until` (Case.value_at_risk)."""
    if empty(scope, "locations"):
        return Reading(value=None, sample=0)
    active = active_as_of(cases_at(scope), window.until).filter(kind=CaseKind.SNAPSHOT_MISMATCH)
    found = active.aggregate(value=Sum("value_at_risk"), cases=Count("id"))
    return Reading(
        value=found["value"] or Decimal(0), sample=found["cases"],
        records_url=cases_url(scope, kind=CaseKind.SNAPSHOT_MISMATCH.value, status="active"),
    )


def stale_feeds(scope, window):
    """Active sources of the scope silent beyond their expected interval as
    of `until` (the stale_feed rule, exceptions.reconciliation.feeds). What a
    source last sent: its last_event_at when that is not after `until`,
    else its latest ledger line received by then."""
    if empty(scope, "sources"):
        return Reading(value=None, sample=0)
    sources = list(of_sources(SourceSystem.objects.filter(active=True), scope, field=""))
    later = [s.pk for s in sources if s.last_event_at is None or s.last_event_at > window.until]
    ledger = dict(
        InventoryEvent.objects.filter(source_id__in=later, received_at__lte=window.until)
        .values("source_id").annotate(last=Max("received_at")).values_list("source_id", "last")
    ) if later else {}
    stale = []
    for source in sources:
        last = ledger.get(source.pk) if source.pk in later else source.last_event_at
        if is_stale(source, last, window.until):
            stale.append(source.code)
    return Reading(
        value=Decimal(len(stale)) if sources else None, sample=len(sources),
        records_url=records_url("/api/v1/cases", kind="stale_feed", status="active"),
        detail={"stale": sorted(stale)},
    )


def utc_days(window):
    """The first and last UTC day the window touches (first None: no start)."""
    first = None if window.since is None else window.since.astimezone(dt_timezone.utc).date()
    return first, (window.until - timedelta(microseconds=1)).astimezone(dt_timezone.utc).date()


def duplicate_transaction_rate(scope, window):
    """Duplicates acknowledged at ingest plus confirmed suspected duplicates
    (pairs a person reversed as a duplicate, by the day the later line was
    received), over events received, from the scope's sources. Ingest counts
    are kept per source and UTC day (IngestDay), so the window is read as the
    whole UTC days it touches; they name no location, so the scope's
    locations are not used."""
    if empty(scope, "sources"):
        return Reading(value=None, sample=0)
    first, last = utc_days(window)
    days = of_sources(IngestDay.objects.filter(day__lte=last), scope)
    confirmed = DuplicateVerdict.objects.filter(
        verdict=DuplicateVerdict.Verdict.REVERSED,
        later_event__received_at__lt=datetime.combine(last + timedelta(days=1), time(), dt_timezone.utc),
    )
    if first is not None:
        days = days.filter(day__gte=first)
        confirmed = confirmed.filter(later_event__received_at__gte=datetime.combine(first, time(), dt_timezone.utc))
    confirmed = of_sources(confirmed, scope, field="later_event__source").count()
    totals = days.aggregate(received=Sum("received"), duplicates=Sum("duplicates"))
    received, duplicates = totals["received"] or 0, totals["duplicates"] or 0
    return Reading(
        value=share(duplicates + confirmed, received), sample=received,
        records_url=records_url(
            "/api/v1/ingest-days", sources=codes(SourceSystem, scope.sources),
            since=first and first.isoformat(), until=last.isoformat(),
        ),
        detail={"acknowledged": duplicates, "confirmed": confirmed, "received": received},
    )
