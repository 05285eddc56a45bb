"""The sales summary phantom inventory reads: per position (location x SKU),
its sale lines over the whole UTC days of the look-back (the days before
today back to the day after the look-back's start), in PositionSales: how
many days it sold, its lines, the sum of their squares a day, its first and
last sale day and time. Sale lines a duplicate verdict or an EPCIS error
declaration reversed (a `reversal` line whose reference is `event <id>`) do
not count.

`refresh(now)` brings it up to date before each phantom run, re-adding up,
from the ledger, only the positions whose days could have changed:
- those with a sale or reversal line after the watermark (the last line it
  took in): new lines, late lines for old days (an offline till's replay),
  reversals;
- those with a line on a day that left or entered the window since the last
  refresh (once a day, when the look-back moves on).
A position is summed again whole over the window, never adjusted by a
difference, so a line taken in twice changes nothing. The first refresh
(no PositionSalesWindow row) builds it from every sale line of the window.
One transaction: a run stopped halfway leaves the summary as it was. Runs
of phantom inventory are one at a time (runs.run_kind's lock); two
refreshes at once would collide on the position's unique row, and the
second fail whole.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone

from django.db import connection, transaction
from django.utils import timezone

from controltower.db import db_time, utc_day_sql
from inventory.models import InventoryEvent

from ..models import PositionSalesWindow

# A line committed this long after it was received (ingest is a short
# transaction) is still taken in: the watermark stays before the lines
# received in the last minute, which the next refresh reads again.
LATE_COMMIT = timedelta(minutes=1)


def window_days(now, lookback):
    """(first, last) whole UTC days of the summary for a run at `now`: the day
    after the look-back's start to yesterday. The part-days at either end are
    read from the ledger by the finder."""
    return ((now - timedelta(days=lookback)).astimezone(dt_timezone.utc).date() + timedelta(days=1),
            now.astimezone(dt_timezone.utc).date() - timedelta(days=1))


def midnight(day):
    return datetime.combine(day, time(), tzinfo=dt_timezone.utc)


def not_reversed(alias):
    """SQL: the ledger line `alias` has not been reversed by the tower."""
    return (f"'event ' || {alias}.id NOT IN (SELECT r.reference FROM inventory_inventoryevent r "
            f"WHERE r.type = 'reversal' AND r.occurred_at >= %(from)s AND r.occurred_at < %(to)s)")


def refresh(now, lookback):
    """Bring PositionSales up to the window of a run at `now`; returns how many positions were summed again."""
    first, last = window_days(now, lookback)
    with transaction.atomic(), connection.cursor() as cursor:
        window = PositionSalesWindow.objects.first()
        watermark = _watermark(window.watermark if window else 0)
        if window is None:
            cursor.execute("DELETE FROM exceptions_positionsales")
            changed = _sum_positions(cursor, first, last, "inventory_inventoryevent e")
            window = PositionSalesWindow(first_day=first, last_day=last)
        else:
            _touched(cursor, window, first, last)
            cursor.execute("DELETE FROM exceptions_positionsales WHERE (location_id, sku_id) IN "
                           "(SELECT location_id, sku_id FROM phantom_touched)")
            changed = _sum_positions(
                cursor, first, last,
                "phantom_touched t JOIN inventory_inventoryevent e "
                "ON e.location_id = t.location_id AND e.sku_id = t.sku_id")
            cursor.execute("DROP TABLE phantom_touched")
            window.first_day, window.last_day = first, last
        window.watermark = watermark
        window.save()
    return changed


def _watermark(since):
    """The newest ledger line received LATE_COMMIT before now: every line up to it is committed."""
    newest = (InventoryEvent.objects.filter(id__gt=since, received_at__lt=timezone.now() - LATE_COMMIT)
              .order_by("-id").values_list("id", flat=True).first())
    return newest if newest is not None else since


def _touched(cursor, window, first, last):
    """The positions to sum again, into the temporary table phantom_touched:
    a sale or reversal line after the watermark, or on a day in one window
    and not the other (the days between the two windows' starts, and
    between their ends). A table of its own, analysed, so the sums read
    their lines through the ledger's position index when they are few."""
    starts, ends = sorted((window.first_day, first)), sorted((window.last_day, last))
    cursor.execute(
        """CREATE TEMPORARY TABLE phantom_touched AS
           SELECT DISTINCT location_id, sku_id FROM inventory_inventoryevent
           WHERE type IN ('sale', 'reversal') AND (id > %(watermark)s
              OR (occurred_at >= %(left_from)s AND occurred_at < %(left_to)s)
              OR (occurred_at >= %(right_from)s AND occurred_at < %(right_to)s))""",
        {"watermark": window.watermark,
         "left_from": db_time(midnight(starts[0])), "left_to": db_time(midnight(starts[1])),
         "right_from": db_time(midnight(ends[0] + timedelta(days=1))),
         "right_to": db_time(midnight(ends[1] + timedelta(days=1)))})
    cursor.execute("ANALYZE phantom_touched")


def _sum_positions(cursor, first, last, lines):
    """Insert the sums over the days `first` to `last` of the sale `lines` (SQL: a FROM with the alias e)."""
    if first > last:
        return 0
    cursor.execute(
        f"""INSERT INTO exceptions_positionsales
                (location_id, sku_id, sale_days, sales, squares, first_day, last_day, last_at)
            SELECT location_id, sku_id, COUNT(*), SUM(n), SUM(n * n), MIN(day), MAX(day), MAX(last_at)
            FROM (SELECT e.location_id, e.sku_id, {utc_day_sql('e.occurred_at')} AS day, COUNT(*) AS n,
                         MAX(e.occurred_at) AS last_at
                  FROM {lines}
                  WHERE e.type = 'sale' AND e.occurred_at >= %(from)s AND e.occurred_at < %(to)s
                    AND {not_reversed('e')}
                  GROUP BY e.location_id, e.sku_id, 3) daily
            GROUP BY location_id, sku_id""",
        {"from": db_time(midnight(first)), "to": db_time(midnight(last + timedelta(days=1)))},
    )
    return cursor.rowcount
