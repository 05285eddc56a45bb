"""The documents sources send in their own formats: recorded as received
(Adapter.receive calls `record`), and summed per source and format for the
integration health screen (`document_health`).

A document that cannot be read, or is refused whole, is kept with its body
(at most API_MAX_BODY_BYTES) and the one line why: nothing a source sent is
lost, and an integration admin can open it to see what the source sent.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, Sum
from django.utils import timezone

from .models import ReceivedDocument

# The integration health screen sums the documents of this many days, up to now.
HEALTH_DAYS = 7
# The refused documents it lists, newest first.
REFUSED_SHOWN = 20
COUNTED = ("accepted", "duplicate", "conflict", "rejected", "ignored")


def record(source, adapter_name, body, received_at, report=None, error=""):
    """Record one document `source` sent in format `adapter_name`: with the
    answers of its lines (`report`, an IngestReport), or refused whole with
    `error` (one line) and its body kept."""
    document = ReceivedDocument(
        source=source, format=adapter_name, received_at=received_at, size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
    )
    if report is None:
        limit = settings.API_MAX_BODY_BYTES
        document.status = ReceivedDocument.Status.REFUSED
        document.error = " ".join(str(error).split())[:2000]  # one line, whatever the parser said
        document.body = bytes(body[:limit])
        document.truncated = len(body) > limit
    else:
        ignored, rejected = Counter(), Counter()
        for result in report.results:
            if result.status == "ignored":
                ignored[result.reason] += 1
            elif result.status == "rejected":
                rejected[next(iter(result.errors), "unknown")] += 1
        counts = report.counts
        document.lines = len(report.results)
        for name in COUNTED:
            setattr(document, name, counts.get(name, 0))
        document.ignored_by_reason = dict(ignored)
        document.rejected_by_cause = dict(rejected)
    document.save()
    return document


@dataclass
class FormatHealth:
    """What one source sent in one format over the period."""

    source_code: str
    format: str
    documents: int
    refused: int
    lines: int
    accepted: int
    duplicate: int
    conflict: int
    rejected: int
    ignored: int
    ignored_by_reason: list = field(default_factory=list)  # [(reason, n)], most first
    rejected_by_cause: list = field(default_factory=list)  # [(cause, n)], most first


def document_health(now=None, days=HEALTH_DAYS):
    """(since, [FormatHealth per source and format, by source code and format])
    over the `days` up to `now`: sums in the database, the reasons and causes
    too (one query each)."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    recent = ReceivedDocument.objects.filter(received_at__gte=since, received_at__lte=now)
    rows = {}
    for row in (recent.values("source_id", "source__code", "format")
                .annotate(documents=Count("id"), refused=Count("id", filter=Q(status="refused")),
                          **{name: Sum(name) for name in ("lines", *COUNTED)})
                .order_by("source__code", "format")):
        rows[(row["source_id"], row["format"])] = FormatHealth(
            row["source__code"], row["format"], row["documents"], row["refused"],
            *(row[name] or 0 for name in ("lines", *COUNTED)))
    if rows:
        for column, attribute in (("ignored_by_reason", "ignored_by_reason"), ("rejected_by_cause", "rejected_by_cause")):
            for source_id, format_name, key, total in _json_sums(column, since, now):
                getattr(rows[(source_id, format_name)], attribute).append((key, int(total)))
        for health in rows.values():
            for attribute in ("ignored_by_reason", "rejected_by_cause"):
                getattr(health, attribute).sort(key=lambda item: (-item[1], item[0]))
    return since, list(rows.values())


def _json_sums(column, since, now):
    """(source, format, key, sum) of a {key: n} column over the period, summed by the database."""
    table = ReceivedDocument._meta.db_table
    if connection.vendor == "postgresql":
        each = f"jsonb_each_text(d.{column}) AS j(key, value)"
        number = "j.value::bigint"
    else:
        each = f"json_each(d.{column}) AS j"
        number = "j.value"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT d.source_id, d.format, j.key, SUM({number}) FROM {table} d, {each} "
            "WHERE d.received_at >= %s AND d.received_at <= %s GROUP BY d.source_id, d.format, j.key",
            [connection.ops.adapt_datetimefield_value(since), connection.ops.adapt_datetimefield_value(now)],
        )
        return cursor.fetchall()


def refused_documents(limit=REFUSED_SHOWN):
    """The newest documents refused whole, without their bodies."""
    return list(ReceivedDocument.objects.filter(status=ReceivedDocument.Status.REFUSED)
                .select_related("source").defer("body")[:limit])
