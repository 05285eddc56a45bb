"""The anomaly detectors over 90 days of an estate's sales (PostgreSQL only).

`bench_anomalies(stores, skus, days)` generates, inside one transaction
rolled back at the end: `stores` stores x `skus` SKUs, each pair selling on
a day with a chance from a long-tailed velocity (0.9 for the fastest SKUs
down to 0.02; about 0.12 on average), one sale line at most a pair and day,
over `days` days; one pair in 1,000 stops selling 21 days before the end
(phantom stock); every pair that sold holds 20 on record. The sales summary
phantom reads (exceptions.reconciliation.position_sales) is built from
those lines first, timed on its own, as a first run on an existing
database builds it; then an hour of sales arrives (one pair in 24 sells
again), which the runs take in as an hourly run would, and phantom runs once more a day later (the look-back moves on). Five adjustments
a store and week (one store 40), refunds as return events by three cashiers
a store (one of them five times as many), and a day of ingest counts per
till source (one with a spike today). Then each anomaly kind runs as beat
runs it (exceptions.reconciliation.runs.run_kind), timed. The target is
600 x 20,000 x 90 days in under 60 s each: generating that (about 130
million sale lines) takes hours here.

`summarised=True` (--anomaly-summarised) reaches it: the ledger holds only
the sale lines the runs read by their time (today's, the look-back's first
part-day's, and the window's first whole day's, which leaves it a day
later); the summary rows of the whole days after it up to yesterday are
drawn straight into PositionSales, as those lines would sum (per pair: its
last and first sale day geometric at its velocity, its sale days between
binomial), the first day's lines added, and the window row written as a
refresh leaves it. So the summary's build from scratch is not timed, the
days before the look-back are not generated (no detector reads their
sales), and a late line's position summed again whole reads three days of
lines, not 55.
"""
import time
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from exceptions.findings import CaseKind
from exceptions.reconciliation.common import config
from exceptions.models import PositionSales, PositionSalesWindow
from exceptions.reconciliation.position_sales import midnight, refresh, window_days
from exceptions.reconciliation.runs import run_kind
from inventory.models import SKU, IngestDay, Location, Region, SourceSystem

KINDS = (CaseKind.PHANTOM_INVENTORY, CaseKind.ADJUSTMENT_OUTLIER, CaseKind.REFUND_OUTLIER,
         CaseKind.REJECTION_SPIKE)
TARGET_S = 60
SOURCES = 20

COLUMNS = ("source_id, transaction_id, type, location_id, sku_id, quantity, from_state, to_state, reference, "
           "reason, occurred_at, received_at, latency_ms, content_hash, entered_quantity, entered_unit, cashier")


def bench_anomalies(stores=600, skus=20_000, days=90, summarised=False):
    if connection.vendor != "postgresql":
        raise RuntimeError("The anomalies bench needs PostgreSQL (DATABASE_URL).")
    now = timezone.now()
    result = {"stores": stores, "skus": skus, "days": days, "target_s": TARGET_S, "kinds": [],
              "summarised": summarised}
    with transaction.atomic():
        started = time.perf_counter()
        source = _estate(stores, skus)
        result.update(_generate(source, stores, skus, days, now, summarised))
        result["generate_seconds"] = round(time.perf_counter() - started, 1)
        if not summarised:
            started = time.perf_counter()
            result["summary_positions"] = refresh(now, config("phantom_lookback_days"))
            result["summary_seconds"] = round(time.perf_counter() - started, 1)
        result["hour_lines"] = _hour_of_sales(source, stores, skus, now)
        # Phantom again a day later: the look-back moves on, a day of positions is summed again.
        for kind, at in [(kind, now) for kind in KINDS] + [(CaseKind.PHANTOM_INVENTORY, now + timedelta(days=1))]:
            started = time.perf_counter()
            run = run_kind(kind, now=at, budget_s=10 * TARGET_S)
            seconds = time.perf_counter() - started
            with connection.cursor() as cursor:  # the run's timeout outlives it in the bench's one transaction
                cursor.execute("SET LOCAL statement_timeout = 0")
            result["kinds"].append({"kind": kind if at == now else f"{kind} +1 day", "seconds": round(seconds, 2),
                                    "outcome": run.outcome, "counts": run.counts, "error": run.error[:200],
                                    "within_target": run.outcome == "ok" and seconds < TARGET_S})
            if at == now and kind == CaseKind.PHANTOM_INVENTORY:
                result["phantom"] = _phantom_found(stores)
        transaction.set_rollback(True)
    return result


def _estate(stores, skus):
    region = Region.objects.create(code="ANBENCH", name="Anomalies bench")
    Location.objects.bulk_create(
        [Location(code=f"AB-L{n:04d}", name=f"Bench store {n}", region=region) for n in range(stores)],
        batch_size=5000)
    SKU.objects.bulk_create(
        [SKU(code=f"AB-K{n:05d}", description="Bench item", category="Bench", unit_cost="2.50")
         for n in range(skus)], batch_size=5000)
    return SourceSystem.objects.create(code="AB-POS", kind=SourceSystem.Kind.POS, expected_interval_s=3600)


def _days(days, now, summarised):
    """(the days ago with sale lines in the ledger, (first, last) days ago summed directly or None).
    Summarised: the lines of the days phantom reads by their time (today, the look-back's
    first part-day, the window's first whole day, which leaves it a day later); the whole days after
    it to yesterday straight into the summary; no lines before the look-back."""
    if not summarised:
        return list(range(days)), None
    lookback = config("phantom_lookback_days")
    first, last = window_days(now, lookback)
    line_day = [(now - timedelta(days=d, hours=3)).date() for d in range(lookback + 1)]
    summed = [d for d, day in enumerate(line_day) if first < day <= last]
    return [d for d, day in enumerate(line_day) if not first < day <= last], (min(summed), max(summed))


def _summarise(cursor, params, stores, pairs, summed, now, velocity, stops):
    """The summary rows of the days `summed` (days ago, first and last) as their lines would sum, drawn
    per pair: its last and first sale day (geometric from either end at its velocity), its sale days
    between (binomial, normal approximation), one line a day; then the lines of the window's first
    day added as a refresh adds a day entering the window, and the window row, its watermark the
    newest line."""
    near, far = summed
    # Pair p's last sale day a days ago and first b days ago, then its sale days n.
    draws = (
        f"SELECT p, v, a, GREATEST(a, %(far)s - FLOOR(LN(1 - random()) / LN(1 - v))::int) AS b, "
        f"SQRT(-2 * LN(1 - random())) * COS(2 * PI() * random()) AS z "
        f"FROM (SELECT p, v, lo + FLOOR(LN(1 - random()) / LN(1 - v))::int AS a "
        f"      FROM (SELECT p, {velocity} AS v, CASE WHEN {stops} THEN 21 ELSE %(near)s END AS lo "
        f"            FROM (SELECT k * %(stores)s + l AS p FROM generate_series(%(loc_from)s, %(loc_to)s) l, "
        f"                  generate_series(0, %(skus)s - 1) k) pairs) x) y WHERE a <= %(far)s"
    )
    sums = (
        f"SELECT %(loc)s + p %% %(stores)s, %(sku)s + p / %(stores)s, n, n, n, "
        f"CAST(%(now)s::timestamptz - b * interval '1 day' - interval '3 hours' AS date), "
        f"CAST(%(now)s::timestamptz - a * interval '1 day' - interval '3 hours' AS date), "
        f"%(now)s::timestamptz - a * interval '1 day' - interval '3 hours' "
        f"FROM (SELECT p, a, b, CASE WHEN b = a THEN 1 ELSE 2 + LEAST(b - a - 1, GREATEST(0, "
        f"ROUND((b - a - 1) * v + SQRT((b - a - 1) * v * (1 - v)) * z)))::int END AS n FROM ({draws}) w) q"
    )
    # In the order of its unique index, a few stores at a time, as a build writes it (refresh's day writes
    # walk its pages in that order).
    skus = pairs // stores
    chunk = max(1, 2_000_000 // skus)
    for start in range(0, stores, chunk):
        cursor.execute(
            "INSERT INTO exceptions_positionsales (location_id, sku_id, sale_days, sales, squares, first_day, "
            f"last_day, last_at) {sums} ORDER BY 1, 2",
            {**params, "stores": stores, "skus": skus, "near": near, "far": far,
             "loc_from": start, "loc_to": min(start + chunk, stores) - 1})
    first, last = window_days(now, config("phantom_lookback_days"))
    cursor.execute(
        "INSERT INTO exceptions_positionsales (location_id, sku_id, sale_days, sales, squares, first_day, "
        "last_day, last_at) SELECT location_id, sku_id, 1, COUNT(*), COUNT(*) * COUNT(*), %(first)s, %(first)s, "
        "MAX(occurred_at) FROM inventory_inventoryevent WHERE type = 'sale' AND source_id = %(source)s "
        "AND occurred_at >= %(from)s AND occurred_at < %(to)s GROUP BY location_id, sku_id "
        "ON CONFLICT (location_id, sku_id) DO UPDATE SET sale_days = exceptions_positionsales.sale_days + 1, "
        "sales = exceptions_positionsales.sales + excluded.sales, "
        "squares = exceptions_positionsales.squares + excluded.squares, first_day = excluded.first_day",
        {"source": params["source"], "first": first, "from": midnight(first), "to": midnight(first + timedelta(days=1))})
    cursor.execute("SELECT MAX(id) FROM inventory_inventoryevent")
    PositionSalesWindow.objects.create(first_day=first, last_day=last, watermark=cursor.fetchone()[0])
    cursor.execute("ANALYZE exceptions_positionsales")


def _generate(source, stores, skus, days, now, summarised):
    """Insert the lines, positions and ingest counts; returns what was made."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id) FROM inventory_location WHERE code LIKE 'AB-L%%'")
        loc = cursor.fetchone()[0]
        cursor.execute("SELECT MIN(id) FROM inventory_sku WHERE code LIKE 'AB-K%%'")
        sku = cursor.fetchone()[0]
        cursor.execute("SELECT setseed(0.42)")
        params = {"source": source.pk, "loc": loc, "sku": sku, "now": now}
        pairs = stores * skus
        # Pair p: store p mod stores, SKU p / stores; its velocity falls with the SKU's rank in 100.
        velocity = "0.9 / (1 + ((p / %(stores)s) %% 100) / 2.5)"
        # One pair in 1,000 stops selling 21 days before the end.
        stops = "p %% 1000 = 7"
        stopped = f"({stops} AND d < 21)"
        sale = (
            f"SELECT %(source)s, 'AB-S-' || p || '-' || d, 'sale', %(loc)s + p %% %(stores)s, "
            f"%(sku)s + p / %(stores)s, 1, 'available', NULL, '', '', "
            f"%(now)s::timestamptz - d * interval '1 day' - interval '3 hours', "
            f"%(now)s::timestamptz - d * interval '1 day', 1000, md5(p || '-' || d), 1, 'EA', '' "
            f"FROM generate_series(%(from)s, %(to)s) p, unnest(%(line_days)s::int[]) d "
            # "+ 0 * d": a draw per pair and day (without d, PostgreSQL draws once a pair).
            f"WHERE NOT {stopped} AND random() + 0 * d < {velocity}"
        )
        line_days, summed = _days(days, now, summarised)
        chunk = max(1, 2_000_000 // max(1, len(line_days)))
        for start in range(0, pairs, chunk):
            cursor.execute(f"INSERT INTO inventory_inventoryevent ({COLUMNS}) {sale}",
                           {**params, "stores": stores, "line_days": line_days,
                            "from": start, "to": min(start + chunk, pairs) - 1})
        if summed:
            _summarise(cursor, params, stores, pairs, summed, now, velocity, stops)
        cursor.execute("SELECT COUNT(*) FROM inventory_inventoryevent WHERE source_id = %s", [source.pk])
        sales = cursor.fetchone()[0]
        weeks = days // 7
        # Adjustments: 5 a store and week, store 0 forty; refunds: 3 cashiers a store, C1 five times C2's.
        cursor.execute(
            f"INSERT INTO inventory_inventoryevent ({COLUMNS}) "
            "SELECT %(source)s, 'AB-A-' || s || '-' || w || '-' || i, 'adjustment', %(loc)s + s, %(sku)s + i, "
            "-1, NULL, 'available', '', 'SHRINK', %(now)s::timestamptz - (w * 7 + i %% 7) * interval '1 day', "
            "%(now)s, 1000, md5('a' || s || w || i), -1, 'EA', '' "
            "FROM generate_series(0, %(stores)s - 1) s, generate_series(0, %(weeks)s - 1) w, "
            "generate_series(0, 39) i WHERE i < CASE WHEN s = 0 THEN 40 ELSE 5 END",
            {**params, "stores": stores, "weeks": weeks})
        cursor.execute(
            f"INSERT INTO inventory_inventoryevent ({COLUMNS}) "
            "SELECT %(source)s, 'AB-R-' || s || '-' || c || '-' || w || '-' || i, 'return', %(loc)s + s, "
            "%(sku)s + i, 1, NULL, 'returned', '', '', "
            "%(now)s::timestamptz - (w * 7 + i %% 7) * interval '1 day' - interval '2 hours', %(now)s, 1000, "
            "md5('r' || s || c || w || i), 1, 'EA', 'AB-L' || s || '-C' || c "
            "FROM generate_series(0, %(stores)s - 1) s, generate_series(1, 3) c, "
            "generate_series(0, %(weeks)s - 1) w, generate_series(0, 19) i "
            "WHERE i < CASE WHEN c = 1 AND s %% 100 = 3 THEN 20 ELSE 4 END",
            {**params, "stores": stores, "weeks": weeks})
        cursor.execute(
            "INSERT INTO inventory_position (location_id, sku_id, available, reserved, picked, packed, staged, "
            "in_transit, damaged, returned, pending_inspection, quarantined, safety_stock, updated_at) "
            "SELECT location_id, sku_id, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, now() "
            "FROM inventory_inventoryevent WHERE source_id = %s AND type = 'sale' "
            "UNION SELECT location_id, sku_id, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, now() FROM exceptions_positionsales",
            [source.pk])
        positions = cursor.rowcount
        cursor.execute("ANALYZE inventory_inventoryevent")
        cursor.execute("ANALYZE inventory_position")
    tills = SourceSystem.objects.bulk_create(
        [SourceSystem(code=f"AB-TILL-{n:02d}", kind=SourceSystem.Kind.POS) for n in range(SOURCES)])
    today = now.date()
    IngestDay.objects.bulk_create([
        IngestDay(source=till, day=today - timedelta(days=d), received=5000 + 100 * n,
                  rejected=(600 if (n == 0 and d == 0) else 20 + n))
        for n, till in enumerate(tills) for d in range(days)
    ])
    summary_rows = PositionSales.objects.count() if summed else None
    return {"sale_lines": sales, "positions": positions, "summary_rows": summary_rows}


def _hour_of_sales(source, stores, skus, now):
    """An hour's sales received since the summary was built (one pair in 24 sells once more, half an hour
    ago), as the hourly run finds them; returns how many lines."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO inventory_inventoryevent ({COLUMNS}) "
            "SELECT %(source)s, 'AB-H-' || p, 'sale', l0.id + p %% %(stores)s, k0.id + p / %(stores)s, 1, "
            "'available', NULL, '', '', %(now)s::timestamptz - interval '30 minutes', %(now)s, 1000, md5('h' || p), "
            "1, 'EA', '' FROM generate_series(0, %(pairs)s - 1) p, "
            "(SELECT MIN(id) AS id FROM inventory_location WHERE code LIKE 'AB-L%%') l0, "
            "(SELECT MIN(id) AS id FROM inventory_sku WHERE code LIKE 'AB-K%%') k0 WHERE p %% 24 = 5",
            {"source": source.pk, "stores": stores, "pairs": stores * skus, "now": now})
        return cursor.rowcount


def _phantom_found(stores):
    """Of the phantom cases opened, how many are the pairs that stopped selling (pair p: p mod 1,000 = 7)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE ((c.sku_id - k0.id) * %s + (c.location_id - l0.id)) %% 1000 = 7) "
            "FROM exceptions_case c, (SELECT MIN(id) AS id FROM inventory_sku WHERE code LIKE 'AB-K%%') k0, "
            "(SELECT MIN(id) AS id FROM inventory_location WHERE code LIKE 'AB-L%%') l0 "
            "WHERE c.kind = %s AND c.status = 'open'", [stores, CaseKind.PHANTOM_INVENTORY])
        cases, stopped = cursor.fetchone()
    return {"cases": cases, "stopped_pairs_found": stopped, "others": cases - stopped}


def anomalies_table(result):
    if result["summarised"]:
        summary = (f"the sales summary's whole days after the window's first drawn straight into it "
                   f"({result['summary_rows']:,} positions; its build not timed)")
    else:
        summary = (f"sales summary built from them in {result['summary_seconds']:,.1f} s "
                   f"({result['summary_positions']:,} positions)")
    lines = [
        f"anomalies: {result['stores']:,} stores x {result['skus']:,} SKUs x {result['days']} days: "
        f"{result['sale_lines']:,} sale lines, {result['positions']:,} positions, generated in "
        f"{result['generate_seconds']:,.0f} s; {summary}, then {result['hour_lines']:,} lines of the last hour; each kind run as beat runs it (target < "
        f"{result['target_s']} s at 600 x 20,000 x 90 days), phantom again a day later",
        f"  {'kind':<24}{'seconds':>10}{'opened':>8}  outcome",
    ]
    for row in result["kinds"]:
        lines.append(f"  {row['kind']:<24}{row['seconds']:>10.1f}{row['counts'].get('opened', ''):>8}  "
                     f"{row['outcome']}{': ' + row['error'] if row['error'] else ''}")
    phantom = result["phantom"]
    lines.append(f"  phantom cases: {phantom['cases']}, of which {phantom['stopped_pairs_found']} pairs that stopped "
                 f"selling (injected) and {phantom['others']} others")
    return "\n".join(lines)
