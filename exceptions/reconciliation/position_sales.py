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
  window); a position left with no sale day goes. Its first sale day, when
  that day left, becomes the window's first day: its true first sale since
  is not read (that would mean reading every line of each such position).
  This can only lengthen its span, so lower its rate and make a run without
  a sale look less unusual: its phantom case comes later, if at all. (A
  position whose sales since are closer together than the minimum span is
  then tested, at that lower rate: it did sell on the day that left.)
The first refresh (no PositionSalesWindow row), or one whose window does not
follow the last (an earlier `now`, a longer look-back), builds it from every
sale line of the window. One transaction: a run stopped halfway leaves the
summary as it was. Runs of phantom inventory are one at a time
(runs.run_kind's lock); two refreshes at once would collide on the
position's unique row, and the second fail whole.
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
WORK_MEM = "256MB"


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
    """Bring PositionSales up to the window of a run at `now`; returns how many positions were summed whole."""
    first, last = window_days(now, lookback)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Its sums and the finder's statement hash a million positions or more: PostgreSQL's
            # default 4 MB per hash would spill them to disk. For the rest of the run's transaction.
            cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        window = PositionSalesWindow.objects.first()
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
            _take_out(cursor, window.first_day, min(first, window.last_day + timedelta(days=1)), first)
            _take_in(cursor, max(window.last_day + timedelta(days=1), first), last + timedelta(days=1))
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


def _daily_lines(alias="e"):
    """SQL: the sale lines from %(from)s to %(to)s not reversed, a row per
    position and UTC day: its lines n and the time of its last."""
    return f"""SELECT {alias}.location_id, {alias}.sku_id, {utc_day_sql(f'{alias}.occurred_at')} AS day,
                      COUNT(*) AS n, MAX({alias}.occurred_at) AS last_at
               FROM {{lines}}
               WHERE {alias}.type = 'sale' AND {alias}.occurred_at >= %(from)s AND {alias}.occurred_at < %(to)s
                 AND {not_reversed(alias)}
               GROUP BY {alias}.location_id, {alias}.sku_id, 3"""


def _take_out(cursor, start, end, first):
    """Subtract the lines of the days `start` to before `end` (leaving the
    window) from every position's sums, its first day no earlier than
    `first`; drop the positions left with none. The positions summed again
    whole are not in the summary by then."""
    if start >= end:
        return
    days = {"from": db_time(midnight(start)), "to": db_time(midnight(end))}
    daily = _daily_lines().format(lines="inventory_inventoryevent e")
    cursor.execute(
        f"""CREATE TEMPORARY TABLE phantom_leaving AS
            SELECT location_id, sku_id, COUNT(*) AS gone_days, SUM(n) AS gone_sales, SUM(n * n) AS gone_squares
            FROM ({daily}) daily GROUP BY location_id, sku_id""", days)
    _analyse(cursor, "phantom_leaving")
    cursor.execute(
        """UPDATE exceptions_positionsales
           SET sale_days = sale_days - o.gone_days, sales = sales - o.gone_sales,
               squares = squares - o.gone_squares, first_day = %s
           FROM phantom_leaving o
           WHERE exceptions_positionsales.location_id = o.location_id
             AND exceptions_positionsales.sku_id = o.sku_id""", [first])
    cursor.execute("DROP TABLE phantom_leaving")
    cursor.execute("DELETE FROM exceptions_positionsales WHERE sale_days = 0")


def _take_in(cursor, start, end):
    """Add the lines of the days `start` to before `end` (entering the
    window) to every position's sums but those summed again whole: a set of
    updates for the positions in the summary, then the new ones."""
    if start >= end:
        return
    days = {"from": db_time(midnight(start)), "to": db_time(midnight(end))}
    daily = _daily_lines().format(lines="inventory_inventoryevent e")
    cursor.execute(
        f"""CREATE TEMPORARY TABLE phantom_entering AS
            SELECT location_id, sku_id, COUNT(*) AS new_days, SUM(n) AS new_sales, SUM(n * n) AS new_squares,
                   MIN(day) AS new_first_day, MAX(day) AS new_last_day, MAX(last_at) AS new_last_at
            FROM ({daily}) daily
            WHERE NOT EXISTS (SELECT 1 FROM phantom_touched t
                              WHERE t.location_id = daily.location_id AND t.sku_id = daily.sku_id)
            GROUP BY location_id, sku_id""", days)
    _analyse(cursor, "phantom_entering")
    cursor.execute(
        """UPDATE exceptions_positionsales
           SET sale_days = sale_days + n.new_days, sales = sales + n.new_sales, squares = squares + n.new_squares,
               last_day = n.new_last_day, last_at = n.new_last_at
           FROM phantom_entering n
           WHERE exceptions_positionsales.location_id = n.location_id
             AND exceptions_positionsales.sku_id = n.sku_id""")
    cursor.execute(
        """INSERT INTO exceptions_positionsales
               (location_id, sku_id, sale_days, sales, squares, first_day, last_day, last_at)
           SELECT location_id, sku_id, new_days, new_sales, new_squares, new_first_day, new_last_day, new_last_at
           FROM phantom_entering n
           WHERE NOT EXISTS (SELECT 1 FROM exceptions_positionsales s
                             WHERE s.location_id = n.location_id AND s.sku_id = n.sku_id)""")
    cursor.execute("DROP TABLE phantom_entering")


def _sum_positions(cursor, first, last, lines):
    """Insert the sums over the days `first` to `last` of the sale `lines` (SQL: a FROM with the alias e)."""
    if first > last:
        return 0
    cursor.execute(
        f"""INSERT INTO exceptions_positionsales
                (location_id, sku_id, sale_days, sales, squares, first_day, last_day, last_at)
            SELECT location_id, sku_id, COUNT(*), SUM(n), SUM(n * n), MIN(day), MAX(day), MAX(last_at)
            FROM ({_daily_lines().format(lines=lines)}) daily
            GROUP BY location_id, sku_id""",
        {"from": db_time(midnight(first)), "to": db_time(midnight(last + timedelta(days=1)))},
    )
    return cursor.rowcount
