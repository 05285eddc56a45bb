"""Timing the KPI rollups at benchmark scale (600 locations, 20,000 SKUs),
and the dashboard pages that read them.

`bench_rollups()`:
- makes sure the bench ledger holds at least `events` lines (the ingest
  section's, or posted here through inventory.ledger.ingest_events: the
  same generator, most lines occurring in the last hour);
- times the nightly rollup of one day of it (controltower.rollups.roll_day
  of today, the day the bench lines occurred), then a from-scratch rollup of
  DAYS days (roll_up_since), and leaves those KpiDay rows for the pages;
- times the pages of `pages()` with `time_pages`, the reusable part:
  GET each URL with the Django test client as a given user, server time
  through the whole middleware stack (target p95 < 200 ms).
"""
from __future__ import annotations

import statistics
import time
import uuid
from datetime import timedelta

from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from controltower import metrics, rollups
from controltower.models import KpiDay
from inventory.ledger import ingest_events
from inventory.models import InventoryEvent, Location

from .cases import _p95
from .ingest import LOCATIONS, PREFIX, SKUS, BenchError, ensure_master_data, generate_batches, vacuum_analyze
from .rollout import bench_pmo

DAYS = 90
REPEATS = 20
TARGET_P95_MS = 200
TARGET_DAY_S = 60


def ensure_ledger(source, events):
    """At least `events` bench ledger lines; returns how many there are."""
    have = InventoryEvent.objects.filter(source=source).count()
    if have < events:
        batches, _valid, _expected = generate_batches(events - have, run=f"{PREFIX}R{uuid.uuid4().hex[:8]}")
        for batch in batches:
            ingest_events(source, batch)
        vacuum_analyze()
        have = InventoryEvent.objects.filter(source=source).count()
    return have


def time_pages(user, urls, repeats=REPEATS):
    """Server time of GET `urls` as `user` (Django test client: the request
    through middleware, queries and templates, without the network): one
    warm-up each off the clock, then `repeats` requests. Returns one row per
    URL: p50, p95 and max in ms, the queries of one request, its size."""
    client = Client()
    client.force_login(user)
    rows = []
    for url in urls:
        response = client.get(url)
        if response.status_code != 200:
            raise BenchError(f"GET {url} answered {response.status_code}")
        captured = []

        def count(execute, sql, params, many, context):
            captured.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            client.get(url)
        ms = []
        for _ in range(repeats):
            started = time.perf_counter()
            client.get(url)
            ms.append((time.perf_counter() - started) * 1000)
        rows.append({"url": url, "requests": repeats, "p50_ms": round(statistics.median(ms), 1),
                     "p95_ms": round(_p95(ms), 1), "max_ms": round(max(ms), 1), "queries": len(captured),
                     "kb": round(len(response.content) / 1024, 1)})
    return rows


def pages():
    """The pages that read the rollups, as (URL name, user): the rollout
    board today; the dashboards add theirs here."""
    return [(reverse("rollout"), bench_pmo())]


def bench_rollups(events=200_000, days=DAYS, repeats=REPEATS):
    source = ensure_master_data()
    ledger_lines = ensure_ledger(source, events)
    today = rollups.utc_today()
    members = {name: len(rollups.dimension(name).members()) for name in ("estate", "location", "region", "source")}

    started = time.perf_counter()
    rows_day = rollups.roll_day(today)
    day_s = time.perf_counter() - started

    started = time.perf_counter()
    scratch = rollups.roll_up_since(today - timedelta(days=days - 1))
    scratch_s = time.perf_counter() - started

    by_user = {}
    for url, user in pages():
        by_user.setdefault(user, []).append(url)
    page_rows = [row for user, urls in by_user.items() for row in time_pages(user, urls, repeats)]
    return {
        "locations": Location.objects.filter(code__startswith=PREFIX).count(), "target_locations": LOCATIONS,
        "skus": SKUS, "ledger_lines": ledger_lines, "metrics": len(metrics.metrics()), "members": members,
        "day_s": round(day_s, 2), "day_rows": rows_day, "target_day_s": TARGET_DAY_S,
        "days": scratch["days"], "scratch_s": round(scratch_s, 1), "scratch_rows": scratch["rows"],
        "kpi_rows": KpiDay.objects.count(), "pages": page_rows, "target_p95_ms": TARGET_P95_MS,
        "at": timezone.now().isoformat(),
    }


def rollups_table(result):
    lines = [
        f"rollups: {result['metrics']} metrics over {result['locations']:,} locations "
        f"({', '.join(f'{n:,} {name}' for name, n in result['members'].items())} members), "
        f"{result['ledger_lines']:,} bench ledger lines",
        f"  {'nightly rollup of one day (roll_day)':<44} {result['day_s']:>10,.2f} s, {result['day_rows']:,} rows "
        f"(target < {result['target_day_s']} s)",
        f"  {'from scratch, ' + str(result['days']) + ' days (roll_up_since)':<44} {result['scratch_s']:>10,.1f} s, "
        f"{result['scratch_rows']:,} rows ({result['scratch_s'] / result['days']:.2f} s a day)",
        f"  {'page':<44}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'queries':>9}{'kB':>7}",
    ]
    for row in result["pages"]:
        lines.append(f"  {row['url']:<44}{row['requests']:>5}{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}"
                     f"{row['max_ms']:>9.1f}{row['queries']:>9}{row['kb']:>7.1f}")
    return "\n".join(lines)
