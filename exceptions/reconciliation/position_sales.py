"""The sales summary phantom inventory reads: per position (location x SKU),
its sale lines over the whole UTC days of the look-back (the days before
today back to the day after the look-back's start), in PositionSales: how
many days it sold, its lines, the sum of their squares a day, its first and
last sale day and time. Sale lines a duplicate verdict or an EPCIS error
declaration reversed (a `reversal` line whose reference is `event <id>`) do
not count.

`refresh(now)` brings it up to date before each phantom run:
- the positions with a sale or reversal line after the watermark (the last
  line it took in) on a day of the window, or of the last window (late
  lines for old days from an offline till's replay, reversals), are summed
  again whole over the window, so a line taken in twice changes nothing.
  Today's lines are not in the summary: they wait for their day to enter
  the window;
- when the look-back moves on (once a day), every other position loses the
  lines of the days leaving the window and gains those of the days entering
  it, read by their time (one day's lines, not each position's whole
  window), one write per position that sold on either, in the order of the
  summary's unique index (the order a build writes it in, so the writes
  walk its pages once); a position left with no sale day goes. Its first
  sale day, when that day left, becomes the window's first day: its true first sale since
  is not read (that would mean reading every line of each such position).
  This can only lengthen its span, so lower its rate and make a run without
  a sale look less unusual: its phantom case comes later, if at all. (A
  position whose sales since are closer together than the minimum span is
  then tested, at that lower rate: it did sell on the day that left.)
The first refresh (no PositionSalesWindow row), or one whose window does not
follow the last (an earlier `now`, a longer look-back), builds it from every
sale line of the window. One transaction: a run stopped halfway leaves the
summary as it was. On PostgreSQL both tables are UNLOGGED (migration
exceptions 0027): derived from the ledger, they cost no WAL, and a crash
empties them together, so the next run builds the summary anew. Runs of
phantom inventory are one at a time (runs.run_kind's lock); a refresh started meanwhile by another caller
waits on the window row, then finds the window moved on and takes in only
what came since. Two first builds at once collide on the position's unique
row, and the second fails whole.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone

from django.db import connection, transaction
from django.utils import timezone

from controltower.db import db_time, utc_day_sql
from controltower.locks import lock_rows
from inventory.models import InventoryEvent

from ..models import PositionSalesWindow

# A line committed this long after it was received (ingest is a short
# transaction) is still taken in: the watermark stays before the lines
# received in the last minute, which the next refresh reads again.
LATE_COMMIT = timedelta(minutes=1)
WORK_MEM = "256MB"


def window_days(now, lookback):
    """(first, last) whole UTC days of the summary for a run at `now`: the day
    after the look-back's start to yesterday. The part-days at either end are
    read from the ledger by the finder."""
    return ((now - timedelta(days=lookback)).astimezone(dt_timezone.utc).date() + timedelta(days=1),
            now.astimezone(dt_timezone.utc).date() - timedelta(days=1))


def midnight(day):
    return datetime.combine(day, time(), tzinfo=dt_timezone.utc)


def not_reversed(alias, start="from", end="to"):
    """SQL: the ledger line `alias` has not been reversed by the tower (by a reversal from %(start)s to
    %(end)s, parameter names)."""
    return (f"'event ' || {alias}.id NOT IN (SELECT r.reference FROM inventory_inventoryevent r "
            f"WHERE r.type = 'reversal' AND r.occurred_at >= %({start})s AND r.occurred_at < %({end})s)")


def refresh(now, lookback):
    """Bring PositionSales up to the window of a run at `now`; returns how many positions were summed whole."""
    first, last = window_days(now, lookback)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Its sums and the finder's statement hash a million positions or more: PostgreSQL's
            # default 4 MB per hash would spill them to disk. For the rest of the run's transaction.
            cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        # Locked: a second refresh at once waits, then finds the window moved on (and adds no day twice).
        window = lock_rows(PositionSalesWindow.objects.all()).first()
        watermark = _watermark(window.watermark if window else 0)
        if window is None or first < window.first_day or last < window.last_day:
            cursor.execute("DELETE FROM exceptions_positionsales")
            changed = _sum_positions(cursor, first, last, "inventory_inventoryevent e")
            window = window or PositionSalesWindow()
        else:
            _touched(cursor, window.watermark, window.first_day, last)
            cursor.execute("DELETE FROM exceptions_positionsales WHERE (location_id, sku_id) IN "
                           "(SELECT location_id, sku_id FROM phantom_touched)")
            # The days leaving the window, and those entering it (none between two runs of a day).
            _move_on(cursor, (window.first_day, min(first, window.last_day + timedelta(days=1))),
                     (max(window.last_day + timedelta(days=1), first), last + timedelta(days=1)), first)
            changed = _sum_positions(
                cursor, first, last,
                "phantom_touched t JOIN inventory_inventoryevent e "
                "ON e.location_id = t.location_id AND e.sku_id = t.sku_id")
            cursor.execute("DROP TABLE phantom_touched")
        window.first_day, window.last_day, window.watermark = first, last, watermark
        window.save()
    return changed


def _watermark(since):
    """The newest ledger line received LATE_COMMIT before now: every line up to it is committed."""
    newest = (InventoryEvent.objects.filter(id__gt=since, received_at__lt=timezone.now() - LATE_COMMIT)
              .order_by("-id").values_list("id", flat=True).first())
    return newest if newest is not None else since


def _touched(cursor, watermark, first, last):
    """The positions to sum again whole, into the temporary table
    phantom_touched: a sale or reversal line after the watermark on the days
    `first` to `last`. A table of its own, analysed, so the sums read their
    lines through the ledger's position index when they are few."""
    cursor.execute(
        """CREATE TEMPORARY TABLE phantom_touched AS
           SELECT DISTINCT location_id, sku_id FROM inventory_inventoryevent
           WHERE id > %(watermark)s AND type IN ('sale', 'reversal')
             AND occurred_at >= %(from)s AND occurred_at < %(to)s""",
        {"watermark": watermark, "from": db_time(midnight(first)),
         "to": db_time(midnight(last + timedelta(days=1)))})
    _analyse(cursor, "phantom_touched")


def _analyse(cursor, table):
    """Statistics for a temporary table, so PostgreSQL hashes a million
    positions rather than look each one up (it guesses a few thousand)."""
    cursor.execute(f"ANALYZE {table}")


def _daily_lines(alias="e", start="from", end="to"):
    """SQL: the sale lines from %(start)s to %(end)s (parameter names) not reversed, a row per
    position and UTC day: its lines n and the time of its last."""
    return f"""SELECT {alias}.location_id, {alias}.sku_id, {utc_day_sql(f'{alias}.occurred_at')} AS day,
                      COUNT(*) AS n, MAX({alias}.occurred_at) AS last_at
               FROM {{lines}}
               WHERE {alias}.type = 'sale' AND {alias}.occurred_at >= %({start})s AND {alias}.occurred_at < %({end})s
                 AND {not_reversed(alias, start, end)}
               GROUP BY {alias}.location_id, {alias}.sku_id, 3"""


def _move_on(cursor, leaving, entering, first):
    """Take the lines of the days `leaving` (first, and the day after the
    last) out of every position's sums and add those of the days
    `entering`, but for the positions summed again whole (phantom_touched):
    one write per position that sold on either, in the order of the
    summary's unique index (the order a build writes its rows in), so the
    writes walk its pages once. A position that sold on a day leaving has
    the window's first day as its first; one left with no sale day goes."""
    if leaving[0] >= leaving[1] and entering[0] >= entering[1]:
        return
    leaving_daily = _daily_lines(start="leave_from", end="leave_to").format(lines="inventory_inventoryevent e")
    entering_daily = _daily_lines(start="enter_from", end="enter_to").format(lines="inventory_inventoryevent e")
    params = {"first": first, "leave_from": db_time(midnight(leaving[0])), "leave_to": db_time(midnight(leaving[1])),
              "enter_from": db_time(midnight(entering[0])), "enter_to": db_time(midnight(entering[1]))}
    cursor.execute(
        f"""CREATE TEMPORARY TABLE phantom_moving AS
            SELECT location_id, sku_id, SUM(sign) AS sale_days, SUM(sign * n) AS sales,
                   SUM(sign * n * n) AS squares,
                   CASE WHEN MIN(sign) < 0 THEN %(first)s ELSE MIN(day) END AS first_day,
                   MAX(day) AS last_day, MAX(last_at) AS last_at
            FROM (SELECT -1 AS sign, leaving.* FROM ({leaving_daily}) leaving
                  UNION ALL SELECT 1 AS sign, entering.* FROM ({entering_daily}) entering) moving
            GROUP BY location_id, sku_id""", params)
    _analyse(cursor, "phantom_moving")
    # The window's first day comes in as first_day exactly for a position that sold on a day leaving: the
    # days entering come after every day of a position still in the summary.
    cursor.execute(
        """INSERT INTO exceptions_positionsales
               (location_id, sku_id, sale_days, sales, squares, first_day, last_day, last_at)
           SELECT location_id, sku_id, sale_days, sales, squares, first_day, last_day, last_at
           FROM phantom_moving m
           WHERE NOT EXISTS (SELECT 1 FROM phantom_touched t
                             WHERE t.location_id = m.location_id AND t.sku_id = m.sku_id)
           ORDER BY location_id, sku_id
           ON CONFLICT (location_id, sku_id) DO UPDATE SET
               sale_days = exceptions_positionsales.sale_days + excluded.sale_days,
               sales = exceptions_positionsales.sales + excluded.sales,
               squares = exceptions_positionsales.squares + excluded.squares,
               first_day = CASE WHEN excluded.first_day = %(first)s THEN excluded.first_day
                                ELSE exceptions_positionsales.first_day END,
               last_day = CASE WHEN excluded.last_day > exceptions_positionsales.last_day THEN excluded.last_day
                               ELSE exceptions_positionsales.last_day END,
               last_at = CASE WHEN excluded.last_at > exceptions_positionsales.last_at THEN excluded.last_at
                              ELSE exceptions_positionsales.last_at END""", params)
    cursor.execute("DROP TABLE phantom_moving")
    cursor.execute("DELETE FROM exceptions_positionsales WHERE sale_days <= 0")


def _sum_positions(cursor, first, last, lines):
    """Insert the sums over the days `first` to `last` of the sale `lines` (SQL: a FROM with the alias e)."""
    if first > last:
        return 0
    cursor.execute(
        f"""INSERT INTO exceptions_positionsales
                (location_id, sku_id, sale_days, sales, squares, first_day, last_day, last_at)
            SELECT location_id, sku_id, COUNT(*), SUM(n), SUM(n * n), MIN(day), MAX(day), MAX(last_at)
            FROM ({_daily_lines().format(lines=lines)}) daily
            GROUP BY location_id, sku_id
            ORDER BY location_id, sku_id""",
        {"from": db_time(midnight(first)), "to": db_time(midnight(last + timedelta(days=1)))},
    )
    return cursor.rowcount
