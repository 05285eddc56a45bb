"""Phantom inventory: the record says a position holds stock, but a SKU that
sold steadily has not sold for a run of days its sales rate makes very
unlikely. The shelf is probably empty (stolen, damaged, misplaced, never
received) while the record keeps replenishment from sending more.

One statement does the work (PostgreSQL and SQLite), from the sales
summary (exceptions.reconciliation.position_sales: the whole days, brought
up to date first) and the sale lines of the two part-days at its ends
(today, and the look-back's first day after its start). A position with no
lines on those part-days is its summary row: its sales rate, the variance
of its days and the chance of its run without a sale
(exceptions.reconciliation.stats: Poisson, or a negative binomial when its
days vary more than a Poisson's) come from that row's own columns, and
only the runs unlikely enough to pass at any rank (a chance at most the
false discovery rate) go on; a position with lines there has them added to
its row first. The count of positions tested (for the Benjamini-Hochberg
step-up) is of every position that sold steadily, stock on record or not
(joining millions of positions to their stock would cost more than the
rest; each more test only makes the step-up stricter); only the few
unlikely runs are joined to their positions with stock and ranked, so only
the runs unlikely even among that many tests come back.
"""
from __future__ import annotations

import math
from datetime import timedelta
from datetime import timezone as dt_timezone

from django.db import connection
from django.utils import timezone

from controltower.db import aware, days_ago_sql, db_time, seconds_apart_sql, select_rows
from controltower.when import day, when

from ..detectors import Detector, register
from ..findings import CaseKind, Finding
from .position_sales import midnight, not_reversed, refresh, window_days
from .stats import daily_moments, dispersion, log_no_sale
from .common import anomaly, chance_words, config, fetch_rows, money, severity_for_value, to_decimal


def phantom_inventory(now=None) -> list[Finding]:
    """Positions with stock whose run without a sale is too long for their
    sales rate, at the false discovery rate RECONCILIATION
    phantom_false_discovery_rate over the positions tested: those that
    sold steadily (stock on record or not), on at least phantom_min_sale_days days of the
    last phantom_lookback_days, its first and last sale at least
    phantom_min_span_days apart. The rate is of sale lines a day, from the
    position's first to its last sale day in the look-back (a span that
    long keeps a few sales close together from passing for a fast seller). Severity by the
    value of the stock on record, never above 2."""
    now = now or timezone.now()
    lookback, alpha = config("phantom_lookback_days"), config("phantom_false_discovery_rate")
    start = now - timedelta(days=lookback)
    refresh(now, lookback)
    first, last = window_days(now, lookback)
    ago = days_ago_sql("%(now)s", "e.occurred_at")
    first_ago, last_ago = days_ago_sql("%(now)s", "s.first_day"), days_ago_sql("%(now)s", "s.last_day")
    # A position's whole days pass on their own: with the part-days' lines it passes too (they only add).
    whole_passes = f"s.sale_days >= %(min_days)s AND {first_ago} - {last_ago} + 1 >= %(min_span)s"
    params = {"now": db_time(now), "start": db_time(start), "first": db_time(midnight(first)),
              "today": db_time(midnight(last + timedelta(days=1))), "from": db_time(start),
              "to": db_time(midnight(last + timedelta(days=2))),
              "min_days": config("phantom_min_sale_days"),
              "min_span": config("phantom_min_span_days"),
              "alpha": alpha, "log_alpha": math.log(alpha)}
    with connection.cursor() as cursor:
        # Per position, its lines on the part-days: a table of its own, analysed, so the statement
        # knows they are a million at a large estate and hashes them rather than look each one up.
        cursor.execute(
            f"""CREATE TEMPORARY TABLE phantom_edges AS
                SELECT location_id, sku_id, COUNT(*) AS sale_days, SUM(n) AS sales, SUM(n * n) AS squares,
                       MAX(ago) AS first_ago, MIN(ago) AS last_ago, MAX(last_at) AS last_at
                FROM (SELECT e.location_id, e.sku_id, {ago} AS ago, COUNT(*) AS n, MAX(e.occurred_at) AS last_at
                      FROM inventory_inventoryevent e
                      WHERE e.type = 'sale' AND ((e.occurred_at > %(start)s AND e.occurred_at < %(first)s)
                                                 OR (e.occurred_at >= %(today)s AND e.occurred_at <= %(now)s))
                        AND {not_reversed('e')}
                      GROUP BY e.location_id, e.sku_id, 3) daily
                GROUP BY location_id, sku_id""", params)
        cursor.execute("ANALYZE phantom_edges")
    rows = fetch_rows(
        f"""
        WITH merged AS (
            -- The positions with lines on the part-days: their whole days and those lines. The part-days
            -- are the look-back's first and last: they widen its span, never narrow it.
            SELECT m.*, first_ago - last_ago + 1 AS span
            FROM (SELECT e.location_id, e.sku_id, e.sale_days + COALESCE(s.sale_days, 0) AS sale_days,
                         e.sales + COALESCE(s.sales, 0) AS sales, e.squares + COALESCE(s.squares, 0) AS squares,
                         CASE WHEN s.first_day IS NULL OR e.first_ago > {first_ago} THEN e.first_ago
                              ELSE {first_ago} END AS first_ago,
                         CASE WHEN s.last_day IS NULL OR e.last_ago < {last_ago} THEN e.last_ago
                              ELSE {last_ago} END AS last_ago,
                         CASE WHEN s.last_at IS NULL OR e.last_at > s.last_at THEN e.last_at
                              ELSE s.last_at END AS last_at,
                         CASE WHEN s.sale_days IS NOT NULL AND {whole_passes} THEN 1 ELSE 0 END AS whole
                  FROM phantom_edges e LEFT JOIN exceptions_positionsales s
                      ON s.location_id = e.location_id AND s.sku_id = e.sku_id) m
            WHERE sale_days >= %(min_days)s AND first_ago - last_ago + 1 >= %(min_span)s
        ), tests AS (
            -- Every position whose whole days pass, and those the part-days' lines make pass, stock on
            -- record or not: counting millions of positions with stock would join them all, and each
            -- more test only makes the step-up stricter.
            SELECT (SELECT COUNT(*) FROM exceptions_positionsales s WHERE {whole_passes})
                 + (SELECT COUNT(*) FROM merged WHERE whole = 0) AS tests
        ), unlikely AS (
            -- The runs unlikely enough to pass at some rank: a position's whole days alone when it has
            -- no part-day lines (its chance from its own row), else its merged sums.
            SELECT * FROM ({_scored(f"SELECT s.location_id, s.sku_id, s.sale_days, s.sales, s.squares, "
                                    f"{first_ago} - {last_ago} + 1 AS span, s.last_at "
                                    f"FROM exceptions_positionsales s WHERE {whole_passes}")}) w
            WHERE log_p <= %(log_alpha)s
              AND NOT EXISTS (SELECT 1 FROM phantom_edges e
                              WHERE e.location_id = w.location_id AND e.sku_id = w.sku_id)
            UNION ALL
            SELECT * FROM ({_scored("SELECT location_id, sku_id, sale_days, sales, squares, span, last_at "
                                    "FROM merged")}) m
            WHERE log_p <= %(log_alpha)s
        ), ranked AS (
            SELECT u.*, p.available, t.tests,
                   ROW_NUMBER() OVER (ORDER BY u.log_p, u.location_id, u.sku_id) AS p_rank
            FROM unlikely u
            JOIN inventory_position p ON p.location_id = u.location_id AND p.sku_id = u.sku_id
            CROSS JOIN tests t
            WHERE p.available > 0
        ), stepped AS (
            SELECT r.*, MAX(CASE WHEN log_p <= LN(p_rank * %(alpha)s / tests) THEN p_rank END) OVER () AS rejected
            FROM ranked r
        )
        SELECT x.*, loc.code AS location_code, loc.timezone, k.code AS sku_code, k.unit_cost
        FROM stepped x
        JOIN inventory_location loc ON loc.id = x.location_id
        JOIN inventory_sku k ON k.id = x.sku_id
        WHERE x.p_rank <= x.rejected
        ORDER BY x.p_rank
        """,
        params,
    )
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE phantom_edges")
    series, latest = _daily_sales(rows, now, start, lookback), _latest_sales(rows)
    return [_finding(row, series.get((row["location_id"], row["sku_id"]), {}),
                     latest.get((row["location_id"], row["sku_id"])), now, lookback, alpha)
            for row in rows]


def _scored(sums):
    """SQL: the rows of `sums` (location_id, sku_id, sale_days, sales, squares, span, last_at) with their
    rate (sale lines a day), the variance of their days, the days since their last sale (gap) and the log
    of the chance of a run that long without a sale (log_p)."""
    since_last = f"({seconds_apart_sql('%(now)s', 'last_at')} / 86400.0)"
    # The negative binomial's size k = rate^2 / (variance - rate), so rate / k = (variance - rate) / rate.
    log_p = """CASE WHEN variance > rate
        THEN -(rate * rate / (variance - rate)) * gap * LN(1 + (variance - rate) / rate)
        ELSE -rate * gap END"""
    return f"""SELECT m.*, {log_p} AS log_p
        FROM (SELECT t.*, CAST(sales AS DOUBLE PRECISION) / span AS rate,
                     (CAST(squares AS DOUBLE PRECISION) - CAST(sales AS DOUBLE PRECISION) * sales / span)
                         / (span - 1) AS variance,
                     {since_last} AS gap
              FROM ({sums}) t) m"""


def _daily_sales(rows, now, start, lookback):
    """{(location, sku): {days ago: sale lines}} of the flagged positions, for their charts."""
    if not rows:
        return {}
    ago = days_ago_sql("%s", "e.occurred_at")
    pairs = {(row["location_id"], row["sku_id"]) for row in rows}
    found = select_rows(
        f"""SELECT e.location_id, e.sku_id, {ago} AS ago, COUNT(*)
            FROM inventory_inventoryevent e
            WHERE e.type = 'sale' AND e.occurred_at > %s AND e.occurred_at <= %s
              AND e.location_id {{}} AND e.sku_id {{}}
            GROUP BY e.location_id, e.sku_id, 3""",
        sorted({p[0] for p in pairs}), sorted({p[1] for p in pairs}),
        params=(db_time(now), db_time(start), db_time(now)),
    )
    series = {}
    for location_id, sku_id, days_ago, n in found:
        if (location_id, sku_id) in pairs and 0 <= int(days_ago) < lookback:
            series.setdefault((location_id, sku_id), {})[int(days_ago)] = n
    return series


def _latest_sales(rows):
    """{(location, sku): the id of its latest sale line} of the flagged positions, for their lineage."""
    if not rows:
        return {}
    wanted = {(row["location_id"], row["sku_id"], aware(row["last_at"])) for row in rows}
    found = select_rows(
        """SELECT e.location_id, e.sku_id, e.occurred_at, MAX(e.id) FROM inventory_inventoryevent e
           WHERE e.type = 'sale' AND e.occurred_at {} AND e.location_id {} AND e.sku_id {}
           GROUP BY e.location_id, e.sku_id, e.occurred_at""",
        sorted({db_time(w[2]) for w in wanted}), sorted({w[0] for w in wanted}), sorted({w[1] for w in wanted}),
    )
    return {(loc, sku): pk for loc, sku, at, pk in found if (loc, sku, aware(at)) in wanted}


def _finding(row, daily, latest_id, now, lookback, alpha):
    rate, variance = daily_moments(*(int(row[name]) for name in ("sales", "squares", "span")))
    gap = float(row["gap"])
    size = dispersion(rate, variance)
    log_p = log_no_sale(rate, gap, size)
    model = "Poisson" if size is None else "negative binomial (its days vary more than a steady rate's)"
    available = row["available"]
    value = money(available * to_decimal(row["unit_cost"]))
    gap_days = math.floor(gap)
    values = [daily.get(ago, 0) for ago in range(lookback - 1, -1, -1)]
    # The days since its last sale's (UTC) day: the unusual part of the chart.
    quiet = (now.astimezone(dt_timezone.utc).date() - aware(row["last_at"]).date()).days
    return Finding(
        kind=CaseKind.PHANTOM_INVENTORY,
        location_id=row["location_id"],
        sku_id=row["sku_id"],
        severity=max(2, severity_for_value(value)),
        quantity_at_risk=available,
        value_at_risk=value,
        customer_impact=(f"The record says {available} on hand: customers may find an empty shelf, "
                         "and replenishment sends no more."),
        summary=(f"{row['sku_code']} at {row['location_code']} has not sold for {gap_days} days with "
                 f"{available} on record; it sold {rate:.1f} times a day before"),
        details=anomaly(
            baseline=(f"Sold on {row['sale_days']} of the {int(row['span'])} days from its first to its last sale "
                      f"in the last {lookback} days: {rate:.2f} sales a day."),
            observed=(f"No sale for {gap:.1f} days (last sale {when(aware(row['last_at']), row['timezone'])}), "
                      f"{available} on record."),
            score=f"A run that long has a {chance_words(log_p)} chance at that rate ({model}).",
            threshold=(f"Flagged among the {_positions(row['tests'])} tested at a false discovery rate of "
                       f"{alpha:.1%} (Benjamini-Hochberg): at most that share of such cases is chance."),
            window=f"{day(now - timedelta(days=lookback))} to {day(now)}",
            series={"title": "Sales a day", "values": values, "first": day(now - timedelta(days=lookback)),
                    "last": day(now), "marked": list(range(max(0, lookback - quiet), lookback)),
                    "baseline": round(rate, 2), "limit": None},
            numbers={"rate_per_day": round(rate, 4), "variance": round(variance, 4), "gap_days": round(gap, 2),
                     "log_p": round(log_p, 3), "model": "poisson" if size is None else "negative_binomial",
                     "size": None if size is None else round(size, 4), "tests": row["tests"],
                     "rank": row["p_rank"], "sale_days": row["sale_days"]},
        ),
        lineage=[("event", latest_id)] if latest_id else [],  # the latest sale line
    )


def _positions(n):
    return "1 position" if n == 1 else f"{n:,} positions"


# Hourly: a run of days grows by the hour. A sale, or a count that finds the
# shelf empty (the record at 0), clears the case.
register(Detector(CaseKind.PHANTOM_INVENTORY, "Phantom inventory", phantom_inventory, every_s=3600, timed=True))
