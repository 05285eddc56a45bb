"""Timing the KPI rollups at benchmark scale (600 locations, 20,000 SKUs),
and the dashboard pages that read them.

`bench_rollups()`:
- makes sure the bench ledger holds at least `events` lines (the ingest
  section's, or posted here through inventory.ledger.ingest_events: the
  same generator, most lines occurring in the last hour);
- times the nightly rollup of one day of it (controltower.rollups.roll_day
  of today, the day the bench lines occurred), then a from-scratch rollup of
  DAYS days (roll_up_since), and leaves those KpiDay rows for the pages;
- `reuse_days`: when the bench database already holds KpiDay rows for
  every one of the DAYS days (a previous run's), the from-scratch rollup is
  skipped and reported as such (to iterate on the pages; a full run times
  both);
- vacuums and analyses the rollups and the cases (`analyze_for_pages`: autovacuum
  is off on the shared bench server), then
- times the pages of `pages()` with `time_pages`, the reusable part:
  GET each URL (or its htmx fragment) with the Django test client as the
  person who uses it, server time through the whole middleware stack
  (target p95 < 200 ms): the rollout board as a PMO; hypercare as an
  executive over a live wave of HYPERCARE_STORES stores (the BENCH
  hypercare program, kept between runs: its wave's id is the rollups'
  member); the region board and a store page as the regional ops lead of a
  region of 60 stores; integration health as an integration admin;
  variances as finance.
"""
from __future__ import annotations

import gc
import statistics
import time
import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from controltower import metrics, rollups
from controltower.models import KpiDay, Profile, Role
from exceptions.models import Case
from inventory.ledger import ingest_events
from inventory.models import InventoryEvent, Location, Position
from rollout.models import Criterion, GateKind, GateTemplate, Program, Wave, WaveLocation

from .cases import _p95
from .ingest import LOCATIONS, PREFIX, SKUS, BenchError, ensure_master_data, generate_batches, vacuum_analyze
from .rollout import GATES, bench_pmo

DAYS = 90
REPEATS = 20
TARGET_P95_MS = 200
TARGET_DAY_S = 60
HYPERCARE_PROGRAM = "BENCH hypercare"
HYPERCARE_STORES = 360  # the live wave: 6 of the 10 bench regions
LIVE_DAYS = 30  # went live this many days ago


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
    URL: p50, p95 and max in ms, the queries of one request, its size.
    A URL given as (url, target) is asked for as htmx asks for the fragment
    swapped into #target."""
    client = Client()
    client.force_login(user)
    # As a web worker serves them (controltower/wsgi.py): what is loaded so far, the bench's
    # own data included, is out of the garbage collector's reach, so a full collection walking
    # it does not land in a timed request.
    gc.freeze()
    rows = []
    for url in urls:
        url, headers = (url, {}) if isinstance(url, str) else (url[0], {"HX-Request": "true", "HX-Target": url[1]})
        size = _get(client, url, headers)
        captured = []

        def count(execute, sql, params, many, context):
            captured.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            _get(client, url, headers)
        ms = []
        for _ in range(repeats):
            started = time.perf_counter()
            _get(client, url, headers)
            ms.append((time.perf_counter() - started) * 1000)
        rows.append({"url": url + (f" #{headers['HX-Target']}" if headers else ""), "role": user.profile.role,
                     "requests": repeats, "p50_ms": round(statistics.median(ms), 1),
                     "p95_ms": round(_p95(ms), 1), "max_ms": round(max(ms), 1), "queries": len(captured),
                     "kb": round(size / 1024, 1)})
    return rows


def _get(client, url, headers):
    """GET `url` and read all of its body (a CSV export streams its rows); returns its size."""
    response = client.get(url, headers=headers)
    if response.status_code != 200:
        raise BenchError(f"GET {url} answered {response.status_code}")
    if response.streaming:
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


def bench_person(username, role, region=None):
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"password": "!"})
    Profile.objects.update_or_create(user=user, defaults={"role": role, "region": region})
    return user


def ensure_hypercare_program(today):
    """The BENCH hypercare program, kept between runs (the wave rollups are
    keyed by the wave's id): a pilot wave live for LIVE_DAYS days over the
    first HYPERCARE_STORES bench stores, with the hypercare-exit criteria
    of the rollout bench; the next 120 stores in a wave in preparation."""
    program, _ = Program.objects.get_or_create(name=HYPERCARE_PROGRAM)
    template, _ = GateTemplate.objects.get_or_create(program=program, kind=GateKind.HYPERCARE_EXIT,
                                                     defaults={"order": 1, "required_roles": [Role.FINANCE]})
    registered = {metric.key for metric in metrics.metrics()}
    for key, comparator, threshold, scope in GATES[GateKind.HYPERCARE_EXIT][1]:
        if key in registered:
            Criterion.objects.get_or_create(template=template, metric=key, defaults={
                "comparator": comparator, "threshold": threshold, "scope": scope, "window_hours": 24})
    stores = list(Location.objects.filter(code__startswith=PREFIX).order_by("code")[:HYPERCARE_STORES + 120])
    live, _ = Wave.objects.update_or_create(program=program, order=1, defaults={
        "name": "Bench pilot", "kind": Wave.Kind.PILOT, "status": Wave.Status.LIVE,
        "planned_cutover": today - timedelta(days=LIVE_DAYS), "actual_cutover": today - timedelta(days=LIVE_DAYS)})
    preparing, _ = Wave.objects.update_or_create(program=program, order=2, defaults={
        "name": "Bench wave 2", "kind": Wave.Kind.REGIONAL, "planned_cutover": today + timedelta(days=14)})
    for wave, members in ((live, stores[:HYPERCARE_STORES]), (preparing, stores[HYPERCARE_STORES:])):
        WaveLocation.objects.bulk_create([WaveLocation(wave=wave, program=program, location=store)
                                          for store in members], ignore_conflicts=True)
    return live


def analyze_for_pages():
    """Planner statistics and visibility maps of the tables the pages read, as autovacuum keeps
    them on a normal server (it is off on the shared bench server): without them the 1.2 million
    rows just rolled up have no statistics, and the cases' index-only reads go to the table."""
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {KpiDay._meta.db_table}, {Case._meta.db_table}")


def pages(live):
    """The pages that read the rollups, as (URL or (URL, htmx target), user)."""
    store = WaveLocation.objects.filter(wave=live).select_related("location__region").order_by("location__code") \
        .first().location
    region = store.region
    sku = Position.objects.filter(location=store).select_related("sku").order_by("sku__code").first()
    sku_code = sku.sku.code if sku else ""
    executive = bench_person("bench-executive", Role.EXECUTIVE)
    admin = bench_person("bench-integration-admin", Role.INTEGRATION_ADMIN)
    lead = bench_person("bench-regional-ops", Role.REGIONAL_OPS, region)
    hypercare_wave = reverse("hypercare-wave", args=[live.pk])
    hypercare_store = reverse("hypercare-location", args=[live.pk, store.code])
    store_page = reverse("store", args=[store.code])
    return [
        (reverse("rollout"), bench_pmo()),
        (reverse("hypercare"), executive),
        (hypercare_wave, executive),
        (reverse("hypercare-region", args=[live.pk, region.code]), executive),
        (hypercare_store, executive),
        (reverse("hypercare-skus", args=[live.pk, store.code]), executive),
        (reverse("hypercare-channels", args=[live.pk, store.code]), executive),
        (hypercare_wave + "?format=csv&table=worst-stores", executive),
        (reverse("region-board"), lead),
        (reverse("region-board") + "?sort=inventory_accuracy_exact", lead),
        (reverse("region-stores-csv"), lead),
        (store_page, lead),
        ((store_page + f"?q={sku_code}", "positions"), lead),
        ((store_page + "?negative=on", "positions"), lead),
        (reverse("integration-health"), admin),
        ((reverse("integration-health") + "?status=pending", "rejections"), admin),
        (reverse("variances"), bench_person("bench-finance", Role.FINANCE)),
    ]


def rolled_up_days(first, last):
    """How many of the days first..last have KpiDay rows."""
    return KpiDay.objects.filter(day__range=(first, last)).values("day").distinct().count()


def bench_rollups(events=200_000, days=DAYS, repeats=REPEATS, reuse_days=False):
    source = ensure_master_data()
    ledger_lines = ensure_ledger(source, events)
    today = rollups.utc_today()
    live = ensure_hypercare_program(today)
    members = {name: len(rollups.dimension(name).members())
               for name in ("estate", "location", "region", "source", "wave")}
    first = today - timedelta(days=days - 1)

    started = time.perf_counter()
    rows_day = rollups.roll_day(today)
    day_s = time.perf_counter() - started

    scratch_s, scratch = None, {"days": days, "rows": None}
    if not (reuse_days and rolled_up_days(first, today) == days):
        started = time.perf_counter()
        scratch = rollups.roll_up_since(first)
        scratch_s = round(time.perf_counter() - started, 1)

    analyze_for_pages()
    by_user = {}
    for url, user in pages(live):
        by_user.setdefault(user, []).append(url)
    page_rows = [row for user, urls in by_user.items() for row in time_pages(user, urls, repeats)]
    return {
        "locations": Location.objects.filter(code__startswith=PREFIX).count(), "target_locations": LOCATIONS,
        "skus": SKUS, "ledger_lines": ledger_lines, "metrics": len(metrics.metrics()), "members": members,
        "live_wave_stores": WaveLocation.objects.filter(wave=live).count(),
        "day_s": round(day_s, 2), "day_rows": rows_day, "target_day_s": TARGET_DAY_S,
        "days": scratch["days"], "scratch_s": scratch_s, "scratch_rows": scratch["rows"],
        "kpi_rows": KpiDay.objects.count(), "pages": page_rows, "target_p95_ms": TARGET_P95_MS,
        "worst_p95_ms": max(row["p95_ms"] for row in page_rows), "at": timezone.now().isoformat(),
    }


def rollups_table(result):
    if result["scratch_s"] is None:
        scratch = f"{'not rerun':>10}, the rows of a previous run reused (--reuse-rollups)"
    else:
        scratch = (f"{result['scratch_s']:>10,.1f} s, {result['scratch_rows']:,} rows "
                   f"({result['scratch_s'] / result['days']:.2f} s a day)")
    lines = [
        f"rollups: {result['metrics']} metrics over {result['locations']:,} locations "
        f"({', '.join(f'{n:,} {name}' for name, n in result['members'].items())} members), "
        f"{result['ledger_lines']:,} bench ledger lines, a live wave of {result['live_wave_stores']} stores",
        f"  {'nightly rollup of one day (roll_day)':<44} {result['day_s']:>10,.2f} s, {result['day_rows']:,} rows "
        f"(target < {result['target_day_s']} s)",
        f"  {'from scratch, ' + str(result['days']) + ' days (roll_up_since)':<44} {scratch}",
        f"  {'page':<64}{'person':<18}{'n':>4}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'queries':>9}{'kB':>7}",
    ]
    for row in result["pages"]:
        lines.append(f"  {row['url']:<64}{row['role']:<18}{row['requests']:>4}{row['p50_ms']:>9.1f}"
                     f"{row['p95_ms']:>9.1f}{row['max_ms']:>9.1f}{row['queries']:>9}{row['kb']:>7.1f}")
    verdict = "met" if result["worst_p95_ms"] < result["target_p95_ms"] else "NOT met"
    lines.append(f"  worst p95 {result['worst_p95_ms']:.1f} ms: target {verdict}")
    return "\n".join(lines)
