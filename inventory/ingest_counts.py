"""What each source sent, per day, and how ingest answered it.

`count_batch` adds one batch to its source's day (IngestDay) inside the
batch's own transaction, with one upsert whose increments are done by the
database: two batches of one source at once both count, and a batch that
rolls back counts nothing. The duplicate transaction rate (DOMAIN.md) is
read from these rows; `observed_replays` tells how late a source resends
what it already sent, the figure to set its replay window by
(SourceSystem.replay_window_s)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from datetime import timezone as dt_timezone

from django.db import connection
from django.db.models import Max, Sum
from django.utils import timezone

from .models import IngestDay

ANSWERS = ("accepted", "duplicate", "conflict", "rejected")
OBSERVED_DAYS = 30


def count_batch(source, received_at, answers, longest_resend_s=None):
    """Add a batch's `answers` ({accepted, duplicate, conflict, rejected}: n)
    to `source`'s day of `received_at` (UTC). `longest_resend_s`: the longest
    time between a key's first receipt and its resend in this batch."""
    received = sum(answers.values())
    if not received:
        return
    day = connection.ops.adapt_datefield_value(received_at.astimezone(dt_timezone.utc).date())
    t = IngestDay._meta.db_table
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {t} (source_id, day, received, accepted, duplicates, conflicts, rejected, "
            "longest_resend_s) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (source_id, day) DO UPDATE SET "
            f"received = {t}.received + excluded.received, accepted = {t}.accepted + excluded.accepted, "
            f"duplicates = {t}.duplicates + excluded.duplicates, conflicts = {t}.conflicts + excluded.conflicts, "
            f"rejected = {t}.rejected + excluded.rejected, "
            # NULL is "no resend yet": the larger of the two, either when one is missing.
            f"longest_resend_s = {greatest}(COALESCE({t}.longest_resend_s, excluded.longest_resend_s), "
            f"COALESCE(excluded.longest_resend_s, {t}.longest_resend_s))",
            [source.pk, day, received, *(answers.get(name, 0) for name in ANSWERS), longest_resend_s],
        )


@dataclass(frozen=True)
class ObservedReplays:
    days: int
    received: int
    duplicates: int
    longest_resend_s: int | None

    @property
    def words(self):
        if not self.received:
            return f"Nothing received in the last {self.days} days."
        if not self.duplicates:
            return (f"No event resent under its own transaction id in the last {self.days} days "
                    f"({self.received:,} received): nothing to set the window by yet.")
        return (f"In the last {self.days} days {self.duplicates:,} of {self.received:,} events were resent under "
                f"their own transaction id (acknowledged duplicates), the latest {self.longest_resend_s:,} s after "
                "the first receipt: a replay under a new id is likely to come as late.")


def observed_replays(source, days=OBSERVED_DAYS) -> ObservedReplays:
    """What `source`'s acknowledged duplicates of the last `days` days show."""
    since = (timezone.now() - timedelta(days=days)).date()
    figures = IngestDay.objects.filter(source=source, day__gte=since).aggregate(
        received=Sum("received"), duplicates=Sum("duplicates"), longest=Max("longest_resend_s"))
    return ObservedReplays(days, figures["received"] or 0, figures["duplicates"] or 0, figures["longest"])
