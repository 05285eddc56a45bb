"""The feeds: sources gone quiet, rejections waiting for master data,
idempotency conflicts."""
from __future__ import annotations

from django.db.models import Count, Exists, F, Max, Min, OuterRef, Window
from django.db.models.fields.json import KT
from django.db.models.functions import RowNumber
from django.utils import timezone

from controltower.when import duration_words
from inventory.models import RejectedEvent, SourceSystem
from inventory.sources import expected_interval, follows_trading_hours, is_stale, silence
from inventory.trading import Calendar

from ..detectors import Detector, Route, register
from ..findings import CaseKind, Finding
from ..models import Case
from .common import LINEAGE_LIMIT


def stale_feed(now=None) -> list[Finding]:
    """Active sources silent longer than their expected interval (tills:
    while their stores trade), or that never sent anything. Severity 1 past
    four intervals (the tower is blind to that feed), else 2."""
    now = now or timezone.now()
    calendar = Calendar()
    findings = []
    for source in SourceSystem.objects.filter(active=True).order_by("code"):
        if not is_stale(source, source.last_event_at, now, calendar):
            continue
        interval = expected_interval(source)
        if source.last_event_at:
            silent = silence(source, source.last_event_at, now, calendar)
            trading = " of its stores' trading time" if follows_trading_hours(source) else ""
            summary = (f"{source.code} has sent nothing for {duration_words(silent)}{trading} "
                       f"(expected every {duration_words(interval)})")
        else:
            silent = None
            summary = f"{source.code} has never sent anything (expected every {duration_words(interval)})"
        findings.append(Finding(
            kind=CaseKind.STALE_FEED,
            location_id=None,
            sku_id=None,
            reference=source.code,
            source_id=source.pk,
            severity=1 if silent is None or silent > 4 * interval else 2,
            summary=summary,
            details={
                "last_event_at": source.last_event_at.isoformat() if source.last_event_at else None,
                "expected_interval_s": source.expected_interval_s,
            },
        ))
    return findings


def master_data_rejections() -> list[Finding]:
    """Rejected events waiting for a fix (neither replayed nor dismissed), one
    finding per source and cause (the first failing field). Severity 2 from
    1000 rejections, else 3."""
    groups = (
        RejectedEvent.objects.waiting().filter(kind=RejectedEvent.Kind.REJECTED)
        .values("source_id", "source__code", "cause")
        .annotate(count=Count("id"), first_at=Min("received_at"), last_at=Max("received_at"))
        .order_by("source__code", "cause")
    )
    findings = []
    for group in groups:
        ids = (
            RejectedEvent.objects.waiting().filter(
                kind=RejectedEvent.Kind.REJECTED,
                source_id=group["source_id"], cause=group["cause"],
            ).order_by("-id").values_list("id", flat=True)[:LINEAGE_LIMIT]
        )
        findings.append(Finding(
            kind=CaseKind.MASTER_DATA_REJECTIONS,
            location_id=None,
            sku_id=None,
            reference=f"{group['source__code']}:{group['cause']}",
            source_id=group["source_id"],
            severity=2 if group["count"] >= 1000 else 3,
            quantity_at_risk=group["count"],
            summary=(
                f"{group['count']} events from {group['source__code']} rejected for '{group['cause'].replace('_', ' ')}', "
                "waiting for a master-data fix and a replay"
            ),
            details={
                "rejections": group["count"],
                "first_at": group["first_at"].isoformat(),
                "last_at": group["last_at"].isoformat(),
            },
            lineage=[("rejection", pk) for pk in ids],
        ))
    return findings


def _waiting_conflicts():
    return RejectedEvent.objects.filter(kind=RejectedEvent.Kind.CONFLICT, replayed_at__isnull=True)


def idempotency_conflict(now=None, since=None) -> list[Finding]:
    """Events refused because their (source, transaction id) was already
    posted with other content: one finding per source and transaction id
    with conflicts not replayed. From `since` (a rejection id) on, only the
    keys refused again since then are looked at: the others keep their cases
    as they are until their conflicts are replayed (clearable_conflicts).
    Grouped in the database: 20,000 keys are one query, not 20,000 rows in Python."""
    waiting = _waiting_conflicts()
    if since is not None:
        fresh = waiting.filter(id__gt=since, source_id=OuterRef("source_id"),
                               transaction_id=OuterRef("transaction_id"))
        waiting = waiting.filter(Exists(fresh))
    groups = list(
        waiting.values("source_id", "source__code", "transaction_id")
        .annotate(count=Count("id"), first_id=Min("id"), last_at=Max("received_at"))
        .order_by("first_id")
    )
    firsts = RejectedEvent.objects.in_bulk([g["first_id"] for g in groups])
    latest = {}
    for source_id, transaction_id, pk in (
        waiting.annotate(newest=Window(RowNumber(), partition_by=[F("source_id"), F("transaction_id")],
                                       order_by=F("id").desc()))
        .filter(newest__lte=LINEAGE_LIMIT).order_by("id").values_list("source_id", "transaction_id", "id")
    ):
        latest.setdefault((source_id, transaction_id), []).append(pk)
    findings = []
    for group in groups:
        source_code, transaction_id, n = group["source__code"], group["transaction_id"], group["count"]
        first = firsts[group["first_id"]].payload
        findings.append(Finding(
            kind=CaseKind.IDEMPOTENCY_CONFLICT,
            location_id=first.get("location_id"),
            sku_id=first.get("sku_id"),
            reference=f"{source_code}:{transaction_id}",
            source_id=group["source_id"],
            severity=3,
            summary=(
                f"{source_code} sent transaction {transaction_id} again with different content "
                f"({n} time{'s' if n > 1 else ''}); the first version stands"
            ),
            details={"conflicts": n, "last_at": group["last_at"].isoformat(), "transaction_id": transaction_id},
            lineage=[("rejection", pk) for pk in latest.get((group["source_id"], transaction_id), [])],
        ))
    return findings


def clearable_conflicts() -> list[int]:
    """The active idempotency-conflict cases whose key has no conflict left
    to replay (an incremental run does not find them again to clear them)."""
    waiting = _waiting_conflicts().filter(source_id=OuterRef("source_id"), transaction_id=OuterRef("txn"))
    return list(
        Case.objects.filter(kind=CaseKind.IDEMPOTENCY_CONFLICT, status__in=Case.ACTIVE)
        .annotate(txn=KT("details__transaction_id")).exclude(Exists(waiting)).values_list("id", flat=True)
    )


register(Detector(CaseKind.STALE_FEED, "Stale feed", stale_feed, every_s=120, timed=True,
                  routes=(Route("INTEGRATION"),)))
register(Detector(CaseKind.MASTER_DATA_REJECTIONS, "Master-data rejections", master_data_rejections,
                  every_s=300, routes=(Route("INTEGRATION"),)))
register(Detector(
    CaseKind.IDEMPOTENCY_CONFLICT, "Idempotency conflict", idempotency_conflict, every_s=300,
    # An incremental run clears the keys with no conflict waiting any more; the
    # others are found again only when they grow.
    clearable=lambda now, since: None if since is None else {"pk__in": clearable_conflicts()},
    incremental=RejectedEvent, settled_by_a_person=True, routes=(Route("INTEGRATION"),),
))
