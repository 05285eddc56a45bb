"""The feeds: sources gone quiet, rejections waiting for master data,
idempotency conflicts."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Max, Min
from django.utils import timezone

from inventory.fields import MAX_SMALL_INTEGER
from inventory.models import RejectedEvent, SourceSystem

from ..findings import CaseKind, Finding
from .common import (
    LINEAGE_LIMIT,
    duration_words,
)


def expected_interval(source):
    # A 32-bit column on PostgreSQL; SQLite keeps whatever the admin took.
    return timedelta(seconds=min(source.expected_interval_s, MAX_SMALL_INTEGER))


def is_stale(source, last_event_at, now):
    """A feed is stale when it never posted or was silent longer than its
    expected interval at `now` (the stale_feed cases and the stale_feeds metric)."""
    return last_event_at is None or last_event_at < now - expected_interval(source)


def stale_feed(now=None) -> list[Finding]:
    """Active sources silent longer than their expected interval, or that
    never posted. Severity 1 past four intervals (the tower is blind to that
    feed), else 2."""
    now = now or timezone.now()
    findings = []
    for source in SourceSystem.objects.filter(active=True).order_by("code"):
        interval = expected_interval(source)
        if not is_stale(source, source.last_event_at, now):
            continue
        if source.last_event_at:
            silent = now - source.last_event_at
            summary = f"{source.code} has sent nothing for {duration_words(silent)} (expected every {duration_words(interval)})"
        else:
            silent = None
            summary = f"{source.code} has never sent an event (expected every {duration_words(interval)})"
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
    """Rejected events not yet replayed, one finding per source and cause
    (the first failing field). Severity 2 from 1000 rejections, else 3."""
    groups = (
        RejectedEvent.objects.filter(kind=RejectedEvent.Kind.REJECTED, replayed_at__isnull=True)
        .values("source_id", "source__code", "cause")
        .annotate(count=Count("id"), first_at=Min("received_at"), last_at=Max("received_at"))
        .order_by("source__code", "cause")
    )
    findings = []
    for group in groups:
        ids = (
            RejectedEvent.objects.filter(
                kind=RejectedEvent.Kind.REJECTED, replayed_at__isnull=True,
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
                f"{group['count']} events from {group['source__code']} rejected for '{group['cause']}', "
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


def idempotency_conflict() -> list[Finding]:
    """Events refused because their (source, transaction id) was already
    posted with other content: one finding per source and transaction id."""
    conflicts = (
        RejectedEvent.objects.filter(kind=RejectedEvent.Kind.CONFLICT, replayed_at__isnull=True)
        .select_related("source")
        .order_by("id")
    )
    grouped = {}
    for rejection in conflicts:
        grouped.setdefault((rejection.source, rejection.transaction_id), []).append(rejection)
    findings = []
    for (source, transaction_id), rejections in grouped.items():
        first = rejections[0].payload
        findings.append(Finding(
            kind=CaseKind.IDEMPOTENCY_CONFLICT,
            location_id=first.get("location_id"),
            sku_id=first.get("sku_id"),
            reference=f"{source.code}:{transaction_id}",
            source_id=source.pk,
            severity=3,
            summary=(
                f"{source.code} sent transaction {transaction_id} again with different content "
                f"({len(rejections)} time{'s' if len(rejections) > 1 else ''}); the first version stands"
            ),
            details={"conflicts": len(rejections), "last_at": rejections[-1].received_at.isoformat()},
            lineage=[("rejection", r.pk) for r in rejections[-LINEAGE_LIMIT:]],
        ))
    return findings
