"""The exceptions metrics of the registry (controltower.metrics): open cases
by severity, SLA attainment, case aging (p50, p90), days since the last severity-1
case, the share of resolved cases caused by training, stale feeds and the
duplicate transaction rate, each registered with
its definition by `register_metrics()` below (called from
ExceptionsConfig.ready()). Windows are half-open (since <= time < until), as in
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

from django.db import connection
from django.db.models import Count, Max, Min, Q, Sum
from django.urls import reverse

from controltower import records
from controltower.db import aware, db_time, int_array, nearest_rank, values_clause
from controltower.metrics import HIGHER, LOWER, Reading, Unit, read_together, records_url, register, share
from inventory.metrics import codes, codes_of, each_location_scope, empty, in_window, of_sources, union_of
from inventory.models import IngestDay, InventoryEvent, Location, Snapshot, SourceSystem
from inventory.sources import is_stale
from inventory.trading import Calendar

from .findings import CaseKind
from .models import NEVER, Case, DuplicateVerdict, RootCause, resolved_until
from .pareto import with_root_cause
from .services.reported import KIND as REPORTED
from .services.sla import HAS_TARGET, RESOLVED_IN_TIME

DAY_SECONDS = Decimal(86400)


def cases_at(scopes):
    """The cases at the locations of any of `scopes` (every case when one
    is the whole estate)."""
    location_ids = union_of(scopes, "locations")
    cases = Case.objects.all()
    return cases if location_ids is None else cases.filter(location_id__in=location_ids)


def active_as_of(cases, until):
    """Opened before `until` and not resolved before it (the case_active_as_of index)."""
    return cases.alias(resolved_until=resolved_until()).filter(resolved_until__gte=until, opened_at__lt=until)


def cases_urls(scopes):
    """The link to a scope's cases on the case list, `url(scope, **filters)`, for any of
    `scopes`: their location codes read and the list's path resolved once for all (a wave's
    360 stores each get one)."""
    location_codes = codes_of(Location, scopes, "locations")
    path = reverse("cases")

    def url(scope, **filters):
        return records_url(path, locations=location_codes(scope), **filters)
    return url


# Each function below measures many scopes at once (the KPI rollups measure
# every member of a dimension): it reads the cases of them all once, by
# location, and adds up per scope (the whole estate: every case, those of no
# location too); one scope is the same rule for one.

def _open_cases(cases_filter, list_filters):
    """The rule of a count of active cases: those of `cases_filter` (Case lookups), listed on the
    case list by `list_filters` (its filters naming exactly those cases)."""
    def open_cases(scopes, window):
        counts = {
            location_id: [n] for location_id, n in
            active_as_of(cases_at(scopes), window.until).filter(**cases_filter)
            .values("location_id").annotate(n=Count("id")).values_list("location_id", "n")
        }
        cases_url = cases_urls(scopes)

        def read(scope, rows):
            count = sum(rows)
            return Reading(value=Decimal(count), sample=count,
                           records_url=cases_url(scope, status="active", **list_filters))
        return each_location_scope(scopes, counts, read)
    return open_cases


open_sev1_cases = _open_cases({"severity": 1}, {"severity": 1})
open_sev2_cases = _open_cases({"severity": 2}, {"severity": 2})
# Issues people reported (kind reported) of severity 1 or 2.
open_reported_sev12 = _open_cases({"kind": REPORTED, "severity__lte": 2}, {"kind": REPORTED, "severity_max": 2})


def sla_attainment(scopes, window):
    """Cases resolved in the window by their resolution due time, over the
    cases resolved in the window that had one (exceptions.services.sla)."""
    resolved = in_window(cases_at(scopes).filter(HAS_TARGET), "resolved_at", window)
    totals = {
        location_id: [(total, in_time)] for location_id, total, in_time in
        resolved.values("location_id").annotate(total=Count("id"), in_time=Count("id", filter=RESOLVED_IN_TIME))
        .values_list("location_id", "total", "in_time")
    }
    cases_url = cases_urls(scopes)

    def read(scope, rows):
        total, in_time = sum(row[0] for row in rows), sum(row[1] for row in rows)
        return Reading(
            value=share(in_time, total), sample=total,
            records_url=cases_url(scope, status="done", resolved_since=window.since,
                                  resolved_until=window.until),
            detail={"in_time": in_time, "late": total - in_time},
        )
    return each_location_scope(scopes, totals, read)


def _root_cause_share(root_cause):
    def root_cause_share(scopes, window):
        """Cases resolved in the window with `root_cause`, over those resolved in it with any root
        cause (exceptions.pareto: the Pareto's share of that bar)."""
        resolved = in_window(with_root_cause(cases_at(scopes)), "resolved_at", window)
        totals = {
            location_id: [(total, of_cause)] for location_id, total, of_cause in
            resolved.values("location_id").annotate(total=Count("id"),
                                                    of_cause=Count("id", filter=Q(root_cause=root_cause)))
            .values_list("location_id", "total", "of_cause")
        }
        cases_url = cases_urls(scopes)

        def read(scope, rows):
            total, of_cause = sum(row[0] for row in rows), sum(row[1] for row in rows)
            return Reading(
                value=share(of_cause, total), sample=total,
                records_url=cases_url(scope, status="done", root_cause=root_cause, resolved_since=window.since,
                                      resolved_until=window.until),
                detail={root_cause: of_cause, "other_root_causes": total - of_cause},
            )
        return each_location_scope(scopes, totals, read)
    return root_cause_share


training_root_cause_share = _root_cause_share(RootCause.TRAINING)


# Each scope's cases active as of a time ranked by opening, latest first, in
# the database (a wave's 360 stores have tens of thousands of active cases:
# reading their openings into Python took most of the hypercare pages' time).
# Only the openings at the nearest ranks asked for, ceil(fraction * n) in
# integers, come back. The cases are read by their locations first (from the
# case_active_as_of index alone on PostgreSQL), then paired with the scopes
# that hold them. PostgreSQL picks each rank from the scope's ordered array of
# openings, each scope's sorted on its own in memory (grouping every scope's
# cases first sorted a wave's 60,000 pairs on disk: twice the time); SQLite,
# which has no arrays, numbers the rows.
SCOPE_CASES = """
    FROM {cases} c JOIN scope_location ON c.location_id = scope_location.location_id
    WHERE c.location_id {locations} AND COALESCE(c.resolved_at, %s) >= %s AND c.opened_at < %s
"""
RANKED_OPENINGS = {
    "postgresql": """
WITH scope_location (scope_no, location_id) AS (SELECT * FROM unnest(%s::bigint[], %s::bigint[]))
SELECT scope_no, CARDINALITY(openings), {picks} FROM (
    SELECT scope_no, ARRAY_AGG(location_id) AS locations FROM scope_location GROUP BY scope_no
) scope CROSS JOIN LATERAL (
    SELECT ARRAY_AGG(c.opened_at ORDER BY c.opened_at DESC) AS openings FROM {cases} c
    WHERE c.location_id = ANY(scope.locations) AND COALESCE(c.resolved_at, %s) >= %s AND c.opened_at < %s
) ranked
WHERE CARDINALITY(openings) > 0
""",
    "sqlite": """
WITH scope_location (scope_no, location_id) AS (VALUES {pairs})
SELECT scope_no, n, place, opened_at FROM (
    SELECT scope_location.scope_no, c.opened_at,
           ROW_NUMBER() OVER (PARTITION BY scope_location.scope_no ORDER BY c.opened_at DESC) AS place,
           COUNT(*) OVER (PARTITION BY scope_location.scope_no) AS n
    {scope_cases}
) ranked
WHERE {ranks}
""",
}
# The nearest rank of a fraction numerator / denominator among n rows, in SQL.
RANK_SQL = "(COUNT(*) * %s + %s - 1) / %s"


def _rank(count, fraction):
    """The nearest rank of `fraction` among `count` rows, ceil(fraction * count), in integers."""
    numerator, denominator = fraction.as_integer_ratio()
    return (count * numerator + denominator - 1) // denominator


def _openings_at_ranks(scopes, until, fractions):
    """{(index of a scope naming locations, fraction): (the opening at the nearest rank `fraction`
    of its cases active as of `until`, latest first; how many there are)}; a scope without such
    cases is not in it."""
    pairs = [(n, location_id) for n, scope in enumerate(scopes) if scope.locations
             for location_id in sorted(scope.locations)]
    if not pairs:
        return {}
    locations = sorted({location_id for _, location_id in pairs})
    rank_params = [value for fraction in fractions for numerator, denominator in [fraction.as_integer_ratio()]
                   for value in (numerator, denominator, denominator)]
    times = [db_time(NEVER), db_time(until), db_time(until)]
    found = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # arrays: thousands of pairs as placeholders cost more
            picks = ", ".join([f"openings[{RANK_SQL.replace('COUNT(*)', 'CARDINALITY(openings)')}]"] * len(fractions))
            cursor.execute(RANKED_OPENINGS["postgresql"].format(picks=picks, cases=Case._meta.db_table), [
                int_array(n for n, _ in pairs), int_array(location_id for _, location_id in pairs), *rank_params,
                *times])
            for n, count, *openings in cursor.fetchall():
                for fraction, opened_at in zip(fractions, openings, strict=True):
                    found[(n, fraction)] = (aware(opened_at), count)
        else:
            values, params = values_clause(pairs, 2)
            scope_cases = SCOPE_CASES.format(cases=Case._meta.db_table,
                                             locations=f"IN ({', '.join(['%s'] * len(locations))})")
            ranks = " OR ".join([f"place = {RANK_SQL.replace('COUNT(*)', 'n')}"] * len(fractions))
            cursor.execute(RANKED_OPENINGS["sqlite"].format(pairs=values, scope_cases=scope_cases, ranks=ranks),
                           [*params, *locations, *times, *rank_params])
            for n, count, place, opened_at in cursor.fetchall():
                for fraction in fractions:
                    if _rank(count, fraction) == place:
                        found[(n, fraction)] = (aware(opened_at), count)
    return found


def case_aging(scopes, window, fractions):
    """{fraction: [Reading]}: the `fractions` percentiles (nearest rank) of the age of the cases
    active as of `until`, in seconds from when each opened, one ranking of each scope's openings
    for them all (the oldest ages are the earliest openings, so the openings are ranked latest
    first)."""
    ranked = _openings_at_ranks(scopes, window.until, fractions)
    cases_url = cases_urls(scopes)
    readings = {fraction: [] for fraction in fractions}
    for n, scope in enumerate(scopes):
        for fraction in fractions:
            if scope.locations is None:  # the whole estate: its cases of no location too
                opened_at, count = nearest_rank(active_as_of(Case.objects.all(), window.until), "opened_at",
                                                fraction, descending=True)
            else:
                opened_at, count = ranked.get((n, fraction), (None, 0))
            readings[fraction].append(Reading(value=None, sample=0) if empty(scope, "locations") else Reading(
                value=None if opened_at is None else Decimal((window.until - opened_at).total_seconds()),
                sample=count, records_url=cases_url(scope, status="active")))
    return readings


CASE_AGING = {"case_aging_p50": Decimal("0.50"), "case_aging_p90": Decimal("0.90")}


def case_aging_of(keys, scopes, window):
    """{key: [Reading]} of the case-aging percentiles among `keys`, read together."""
    readings = case_aging(scopes, window, [CASE_AGING[key] for key in keys])
    return {key: readings[CASE_AGING[key]] for key in keys}


def case_aging_p50(scopes, window):
    return case_aging_of(["case_aging_p50"], scopes, window)["case_aging_p50"]


def case_aging_p90(scopes, window):
    return case_aging_of(["case_aging_p90"], scopes, window)["case_aging_p90"]


def days_since_last_sev1(scopes, window):
    """Days from the opening of the latest severity-1 case before `until`
    to `until`; where there never was one, from the first case of any
    severity (the days without one since the tower's records begin); no
    data before any case."""
    opened = {
        location_id: [(latest_sev1, first, n)] for location_id, latest_sev1, first, n in
        cases_at(scopes).filter(opened_at__lt=window.until).values("location_id")
        .annotate(latest_sev1=Max("opened_at", filter=Q(severity=1)), first=Min("opened_at"),
                  n=Count("id", filter=Q(severity=1)))
        .values_list("location_id", "latest_sev1", "first", "n")
    }
    cases_url = cases_urls(scopes)

    def read(scope, rows):
        url = cases_url(scope, severity=1)
        if not rows:
            return Reading(value=None, sample=0, records_url=url)
        sev1 = [row[0] for row in rows if row[0] is not None]
        since = max(sev1) if sev1 else min(row[1] for row in rows)
        days = Decimal((window.until - since).total_seconds()) / DAY_SECONDS
        detail = {"last_opened_at": since.isoformat()} if sev1 else {"no_severity_1_since": since.isoformat()}
        return Reading(value=days.quantize(Decimal("0.01")), sample=sum(row[2] for row in rows),
                       records_url=url, detail=detail)
    return each_location_scope(scopes, opened, read)


def variance_value_at_risk(scopes, window):
    """The value at the SKU's unit cost of the quantity differences of the
    snapshot mismatches active as of `until` (Case.value_at_risk)."""
    active = active_as_of(cases_at(scopes), window.until).filter(kind=CaseKind.SNAPSHOT_MISMATCH)
    totals = {
        location_id: [(value or Decimal(0), n)] for location_id, value, n in
        active.values("location_id").annotate(value=Sum("value_at_risk"), n=Count("id"))
        .values_list("location_id", "value", "n")
    }
    cases_url = cases_urls(scopes)

    def read(scope, rows):
        return Reading(
            value=sum((row[0] for row in rows), Decimal(0)), sample=sum(row[1] for row in rows),
            records_url=cases_url(scope, kind=CaseKind.SNAPSHOT_MISMATCH, status="active"),
        )
    return each_location_scope(scopes, totals, read)


def stale_feeds(scope, window):
    """Active sources of the scope silent beyond their expected interval as
    of `until` (the stale_feed rule, exceptions.reconciliation.feeds). What a
    source last sent: its last_event_at when that is not after `until`,
    else its latest ledger line or snapshot received by then."""
    if empty(scope, "sources"):
        return Reading(value=None, sample=0)
    sources = list(of_sources(SourceSystem.objects.filter(active=True), scope, field=""))
    later = [s.pk for s in sources if s.last_event_at is None or s.last_event_at > window.until]
    heard = {}
    for model in (InventoryEvent, Snapshot) if later else ():
        for source_id, last in (model.objects.filter(source_id__in=later, received_at__lte=window.until)
                                .values("source_id").annotate(last=Max("received_at"))
                                .values_list("source_id", "last")):
            heard[source_id] = max(last, heard.get(source_id, last))
    calendar = Calendar()
    stale = []
    for source in sources:
        last = heard.get(source.pk) if source.pk in later else source.last_event_at
        if is_stale(source, last, window.until, calendar):
            stale.append(source.code)
    return Reading(
        value=Decimal(len(stale)) if sources else None, sample=len(sources),
        records_url=records_url(reverse("cases"), kind="stale_feed", status="active"),
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
        records_url=records.url(
            "ingest-days", sources=codes(SourceSystem, scope.sources),
            since=first and first.isoformat(), until=last.isoformat(),
        ),
        detail={"acknowledged": duplicates, "confirmed": confirmed, "received": received},
    )


def register_metrics():
    """The exceptions metrics: each defined once, in the words every screen shows."""
    register(
        "open_sev1_cases", "Open severity-1 cases", unit=Unit.COUNT, better=LOWER,
        compute_many=open_sev1_cases,
        target="0", amber="2", scopes=("locations",), live=True,
        definition="Severity-1 cases active (open to waiting) at the locations at the end of the window. "
                   "Cases of no location (feeds, the estate) count only for the whole estate.",
    )
    register(
        "open_sev2_cases", "Open severity-2 cases", unit=Unit.COUNT, better=LOWER,
        compute_many=open_sev2_cases,
        target="5", amber="20", scopes=("locations",), live=True,
        definition="Severity-2 cases active (open to waiting) at the locations at the end of the window. "
                   "Cases of no location (feeds, the estate) count only for the whole estate.",
    )
    register(
        "open_reported_sev12", "Open severity-1/2 reported issues", unit=Unit.COUNT, better=LOWER,
        compute_many=open_reported_sev12,
        target="0", amber="2", scopes=("locations",), live=True,
        definition="Issues people reported (Report an issue) of severity 1 or 2 active (open to waiting) at the "
                   "locations at the end of the window.",
    )
    register(
        "sla_attainment", "Case SLA attainment", unit=Unit.PERCENT, better=HIGHER,
        compute_many=sla_attainment,
        target="95", amber="85", scopes=("locations",), rollup_days=7,  # a store resolves a few a week
        definition="Cases resolved in the window by their resolution due time, over the cases resolved in "
                   "the window that had a resolution target.",
    )
    register(
        "training_root_cause_share", "Resolved cases caused by training", unit=Unit.PERCENT, better=LOWER,
        compute_many=training_root_cause_share,
        target="10", amber="25", scopes=("locations",), rollup_days=7,  # as SLA attainment: a few a week
        definition="Cases resolved in the window whose resolution named the root cause training, over the "
                   "cases resolved in the window with any root cause (the system's own resolutions name none).",
    )
    register(
        "case_aging_p90", "Case aging p90", unit=Unit.SECONDS, better=LOWER,
        compute_many=case_aging_p90,
        target="172800", amber="432000", scopes=("locations",), live=True,
        definition="90th percentile of the age of the cases active at the end of the window, from when "
                   "each was opened.",
    )
    register(
        "case_aging_p50", "Case aging p50", unit=Unit.SECONDS, better=LOWER,
        compute_many=case_aging_p50,
        target="86400", amber="259200", scopes=("locations",), live=True,
        definition="Median (50th percentile) of the age of the cases active at the end of the window, from "
                   "when each was opened.",
    )
    read_together(CASE_AGING, case_aging_of)
    register(
        "days_since_last_sev1", "Days since the last severity-1 case", unit=Unit.DAYS, better=HIGHER,
        compute_many=days_since_last_sev1,
        target="7", amber="2", scopes=("locations",),
        definition="Days from the opening of the latest severity-1 case at the locations to the end of the "
                   "window; where there never was one, from the first case recorded there (the days without "
                   "one so far); no data before any case.",
    )
    register(
        "duplicate_transaction_rate", "Duplicate transaction rate", unit=Unit.PERCENT, better=LOWER,
        compute=duplicate_transaction_rate,
        target="0.1", amber="0.5", scopes=("sources",),
        definition="Duplicates acknowledged at ingest plus confirmed suspected duplicates (reversed as "
                   "duplicates), over events received from the sources, over the whole UTC days the "
                   "window touches.",
    )
    register(
        "variance_value_at_risk", "Snapshot variance value at risk", unit=Unit.VALUE, better=LOWER,
        compute_many=variance_value_at_risk,
        target="1000", amber="10000", scopes=("locations",), live=True,
        definition="The quantity differences of the snapshot mismatches active (open to waiting) at the "
                   "locations at the end of the window, valued at each SKU's unit cost, in the currency of "
                   "the item master. Financial variances (the ERP's values) are not in it.",
    )
    register(
        "stale_feeds", "Stale feeds", unit=Unit.COUNT, better=LOWER,
        compute=stale_feeds,
        target="0", amber="1", scopes=("sources",), live=True,
        definition="Active sources silent longer than their expected feed interval at the end of the "
                   "window (tills: while their stores trade), or that never sent anything; a source with "
                   "no expected interval is never stale.",
    )
