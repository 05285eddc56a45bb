"""The ingest section, and the bench estate the other sections share.

Each section is a plain function returning a dict; `python -m tests.bench`
(`make bench`) runs the sections and writes one JSON file per section
(var/bench/<section>.json). Sections run against PostgreSQL only: SQLite
numbers say nothing about production.

The ingest section measures the HTTP bulk endpoint (POST /api/v1/events
behind gunicorn, idempotency included) against two references measured in
the same run on the same rows:
- raw COPY of the ledger rows into a scratch copy of the ledger table, the
  physical limit of the database;
- the naive path: one ORM save per event plus a position read-modify-write,
  one transaction per event.

Bench data uses codes starting with BENCH- so it never mixes with demo data.
"""
from __future__ import annotations

import http.client
import os
import queue
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from controltower.models import ApiToken
from exceptions.findings import CaseKind
from exceptions.reconciliation import reservation_not_released, run_reconciliation
from inventory.ledger import MOVES, rebuild_positions
from inventory.ledger.posting import LEDGER_COLUMNS, LEDGER_COPY_TYPES
from inventory.models import (
    SKU,
    Channel,
    InventoryEvent,
    Location,
    Position,
    Region,
    SourceSystem,
    UnitConversion,
)

PREFIX = "BENCH-"
BATCH_SIZE = settings.INGEST_MAX_EVENTS
LOCATIONS = 600
REGIONS = 10
SKUS = 20_000
DUPLICATE_SHARE = 0.05
CONFLICT_SHARE = 0.001
BAD_SHARE = 0.002
NAIVE_SAMPLE = 2000


class BenchError(Exception):
    """The bench cannot run here (wrong database, server did not start)."""


def require_postgres():
    if connection.vendor != "postgresql":
        raise BenchError(
            f"The bench runs against PostgreSQL only (this is {connection.vendor}). "
            "Set DATABASE_URL=postgres://... to a database the bench may fill."
        )


# --------------------------------------------------------------------------
# Master data
# --------------------------------------------------------------------------

def location_code(n):
    return f"{PREFIX}L{n:04d}"


def sku_code(n):
    return f"{PREFIX}{n:05d}"


def ensure_master_data(locations=LOCATIONS, skus=SKUS):
    """Create the bench regions (consecutive stores share one), locations,
    SKUs (each with a CS12 case) and source systems; rows already present
    are kept. Returns the ingest source."""
    regions = [
        Region.objects.get_or_create(code=f"{PREFIX}R{r}", defaults={"name": f"Bench region {r}"})[0]
        for r in range(REGIONS)
    ]
    Location.objects.bulk_create(
        [
            Location(code=location_code(n), name=f"Bench store {n}", region=regions[n * REGIONS // locations])
            for n in range(locations)
        ],
        ignore_conflicts=True,
        batch_size=5000,
    )
    for r, region in enumerate(regions):  # stores made by an older bench sat in one region
        codes = [location_code(n) for n in range(locations) if n * REGIONS // locations == r]
        Location.objects.filter(code__in=codes).exclude(region=region).update(region=region)
    SKU.objects.bulk_create(
        [
            SKU(code=sku_code(n), description=f"Bench item {n}", category="Bench",
                unit_cost=Decimal("2.50"), base_unit="EA")
            for n in range(skus)
        ],
        ignore_conflicts=True,
        batch_size=5000,
    )
    sku_ids = SKU.objects.filter(code__startswith=PREFIX).values_list("id", flat=True)
    UnitConversion.objects.bulk_create(
        [UnitConversion(sku_id=sku_id, unit="CS12", factor=12) for sku_id in sku_ids],
        ignore_conflicts=True,
        batch_size=5000,
    )
    source, _ = SourceSystem.objects.get_or_create(
        code=f"{PREFIX}POS", defaults={"name": "Bench POS", "kind": SourceSystem.Kind.POS}
    )
    return source


def vacuum_analyze():
    """Reclaim dead position versions and refresh planner statistics, as
    autovacuum does on a normal server (it is off on the shared bench
    server). Without fresh statistics the idempotency pre-check scans the
    whole source through the source_id index; with every update's dead
    version kept, the position UPDATE costs twice as much."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE inventory_inventoryevent, inventory_position, inventory_countanchor, "
                       "inventory_transfer, inventory_sku, inventory_location, inventory_unitconversion")


def issue_token(source):
    """A fresh token for the bench source (the previous ones are revoked)."""
    ApiToken.objects.filter(source=source).update(revoked=True)
    return ApiToken.issue(source=source)[1]


# --------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------

def _iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


def _event(rng, run, n, now, locations, skus):
    """One valid raw event (two for a transfer: out and in)."""
    loc = location_code(rng.randrange(locations))
    # A skewed assortment: a few SKUs sell a lot, most rarely.
    sku = sku_code(int(skus * rng.random() ** 3))
    late = rng.random() < 0.02
    occurred = now - timedelta(seconds=rng.uniform(1, 172_800 if late else 3600))
    base = {"transaction_id": f"{run}-{n}", "location": loc, "sku": sku, "occurred_at": _iso(occurred)}
    r = rng.random()
    if r < 0.55:
        return [{**base, "type": "sale", "quantity": rng.randint(1, 3)}]
    if r < 0.70:
        if rng.random() < 0.3:
            return [{**base, "type": "receipt", "quantity": rng.randint(1, 4), "unit": "CS12"}]
        return [{**base, "type": "receipt", "quantity": rng.randint(1, 50)}]
    if r < 0.78:
        return [{**base, "type": "reserve", "quantity": rng.randint(1, 2)}]
    if r < 0.82:
        return [{**base, "type": "release", "quantity": 1}]
    if r < 0.90:
        to = location_code(rng.randrange(locations))
        if to == loc:
            return [{**base, "type": "sale", "quantity": 1}]
        quantity, reference = rng.randint(1, 20), f"{PREFIX}T-{run}-{n}"
        arrived = occurred + timedelta(seconds=rng.uniform(1, 600))
        return [
            {**base, "type": "transfer_out", "quantity": quantity, "to_location": to,
             "reference": reference},
            {**base, "transaction_id": f"{run}-{n}-in", "type": "transfer_in", "location": to,
             "quantity": quantity, "reference": reference, "occurred_at": _iso(min(arrived, now))},
        ]
    if r < 0.94:
        return [{**base, "type": "adjustment", "quantity": rng.choice([-2, -1, 1, 2]), "reason": "SHRINK"}]
    if r < 0.97:
        return [{**base, "type": "return", "quantity": 1}]
    return [{**base, "type": "cycle_count", "quantity": rng.randint(0, 100)}]


def _bad_event(rng, run, n, now):
    occurred = _iso(now - timedelta(seconds=60))
    if rng.random() < 0.5:
        return {"transaction_id": f"{run}-{n}", "type": "sale", "location": location_code(0),
                "sku": f"{PREFIX}UNKNOWN", "quantity": 1, "occurred_at": occurred}
    return {"transaction_id": f"{run}-{n}", "type": "sale", "location": location_code(0),
            "sku": sku_code(0), "quantity": -1, "occurred_at": occurred}


def generate_batches(count, run, seed=7, batch_size=BATCH_SIZE, locations=LOCATIONS, skus=SKUS):
    """`count` raw events in batches, with resent duplicates (taken from
    batches at least two back, so two concurrent clients never race on one
    key), a few conflicts (a known key with new content) and a few invalid
    events. Returns (batches, the new valid events in order, expected status
    counts)."""
    rng = random.Random(seed)
    now = timezone.now().astimezone(dt_timezone.utc)
    batches, accepted = [], []  # accepted: the new valid events of each batch
    expected = {"accepted": 0, "duplicate": 0, "conflict": 0, "rejected": 0}
    n = 0
    while n < count:
        batch, fresh = [], []
        pool = [e for done in accepted[:-2] for e in done] if len(accepted) > 2 else []
        while len(batch) < batch_size and n < count:
            r = rng.random()
            if pool and r < DUPLICATE_SHARE:
                batch.append(rng.choice(pool))
                expected["duplicate"] += 1
            elif pool and r < DUPLICATE_SHARE + CONFLICT_SHARE:
                batch.append({**rng.choice(pool), "reason": "BENCH-CONFLICT"})
                expected["conflict"] += 1
            elif r > 1 - BAD_SHARE:
                batch.append(_bad_event(rng, run, n, now))
                expected["rejected"] += 1
            else:
                events = _event(rng, run, n, now, locations, skus)[: batch_size - len(batch)]
                batch.extend(events)
                fresh.extend(events)
                expected["accepted"] += len(events)
                n += len(events) - 1
            n += 1
        batches.append(batch)
        accepted.append(fresh)
    return batches, [e for fresh in accepted for e in fresh], expected


# --------------------------------------------------------------------------
# HTTP path: gunicorn + keep-alive clients
# --------------------------------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workers):
    """Start gunicorn on a free local port; returns (process, port)."""
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "controltower.settings")}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "controltower.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "300",
         "--log-level", "warning"],
        cwd=settings.BASE_DIR, env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"gunicorn exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return process, port
        except OSError:
            time.sleep(0.2)
    stop_server(process)
    raise BenchError("gunicorn did not answer within 30 s")


def stop_server(process):
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def post_batches(port, token, bodies, clients=2, path="/api/v1/events", content_type="application/json"):
    """POST the bodies (JSON to /api/v1/events unless told) from `clients`
    threads, each on one keep-alive connection. Returns (seconds, status counts)."""
    work = queue.Queue()
    for body in bodies:
        work.put(body)
    headers = {"Authorization": f"Token {token}", "Content-Type": content_type}
    counts = {"accepted": 0, "duplicate": 0, "conflict": 0, "rejected": 0}
    failures = []
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        while True:
            try:
                body = work.get_nowait()
            except queue.Empty:
                break
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            with lock:
                if response.status >= 300:
                    failures.append(f"HTTP {response.status}: {data[:300]!r}")
                    continue
                for status, n in orjson.loads(data)["counts"].items():
                    counts[status] = counts.get(status, 0) + n
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise BenchError(f"{len(failures)} requests failed; first: {failures[0]}")
    return seconds, counts


def measure_http(token, batches, workers, clients=2):
    bodies = [orjson.dumps({"events": batch}) for batch in batches]
    process, port = start_server(workers)
    try:
        # Warm every worker up (imports, URL conf, DB connection) off the clock.
        warm = orjson.dumps({"events": []})
        post_batches(port, token, [warm] * (2 * workers), clients=clients)
        return post_batches(port, token, bodies, clients=clients)
    finally:
        stop_server(process)


# --------------------------------------------------------------------------
# References: raw COPY and the naive ORM path
# --------------------------------------------------------------------------

def default_states(event_type):
    """(from_state, to_state) an event of this type moves when it names no
    states: the defaults of the ledger's own moves table."""
    _allowed_from, default_from, _allowed_to, default_to = MOVES[event_type]
    return default_from, default_to


def _ids():
    return (
        dict(Location.objects.filter(code__startswith=PREFIX).values_list("code", "id")),
        dict(SKU.objects.filter(code__startswith=PREFIX).values_list("code", "id")),
    )


def ledger_rows(source, events, received_at):
    """The ledger rows the valid events make, for the COPY reference."""
    locations, skus = _ids()
    rows = []
    for e in events:
        from_state, to_state = default_states(e["type"])
        factor = 12 if e.get("unit") == "CS12" else 1
        occurred = datetime.fromisoformat(e["occurred_at"])
        rows.append((
            source.pk, e["transaction_id"], e["type"], locations[e["location"]], skus[e["sku"]],
            e["quantity"] * factor, from_state, to_state, locations.get(e.get("to_location")),
            e.get("reference", ""), e.get("reason", ""), occurred, received_at,
            int((received_at - occurred).total_seconds() * 1000), uuid.uuid4().hex,
            Decimal(e["quantity"]), e.get("unit", "EA"), e.get("cashier", ""),
        ))
    return rows


def measure_copy(rows, batch_size=BATCH_SIZE):
    """COPY the rows, one batch per transaction, into a scratch copy of the
    ledger table (same columns, indexes and unique key), then drop it.
    Returns seconds."""
    # The ids come from the table's own identity here (LEDGER_COLUMNS[0] is id).
    columns = ", ".join(LEDGER_COLUMNS[1:])
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_ledger_copy")
        cursor.execute("CREATE TABLE bench_ledger_copy (LIKE inventory_inventoryevent INCLUDING ALL)")
    try:
        started = time.perf_counter()
        for start in range(0, len(rows), batch_size):
            with transaction.atomic(), connection.cursor() as cursor:
                with cursor.cursor.copy(f"COPY bench_ledger_copy ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(LEDGER_COPY_TYPES[1:])
                    for row in rows[start:start + batch_size]:
                        copy.write_row(row)
        return time.perf_counter() - started
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_ledger_copy")


def measure_naive(events):
    """One transaction per event: InventoryEvent.save(), then each touched
    position locked, read, added to and saved. Returns seconds.

    The events go into the real ledger under their own source, stamped now,
    so they land after every count and the positions stay equal to the fold."""
    source, _ = SourceSystem.objects.get_or_create(
        code=f"{PREFIX}NAIVE", defaults={"name": "Bench naive path", "kind": SourceSystem.Kind.POS}
    )
    locations, skus = _ids()
    run = uuid.uuid4().hex[:8]
    started = time.perf_counter()
    for n, e in enumerate(events):
        from_state, to_state = default_states(e["type"])
        if e["type"] == "cycle_count":
            from_state, to_state = None, "available"
            e = {**e, "type": "adjustment", "quantity": 1, "reason": "BENCH"}
        now = timezone.now()
        quantity = e["quantity"] * (12 if e.get("unit") == "CS12" else 1)
        location_id = locations[e["location"]]
        to_location_id = locations.get(e.get("to_location"))
        with transaction.atomic():
            InventoryEvent(
                source=source, transaction_id=f"{run}-{n}", type=e["type"], location_id=location_id,
                sku_id=skus[e["sku"]], quantity=quantity, from_state=from_state, to_state=to_state,
                to_location_id=to_location_id, reference=e.get("reference", ""),
                reason=e.get("reason", ""), occurred_at=now, received_at=now, latency_ms=0,
                content_hash=uuid.uuid4().hex, entered_quantity=e["quantity"],
                entered_unit=e.get("unit", "EA"),
            ).save()
            legs = []
            if from_state:
                legs.append((location_id, from_state, -quantity))
            if to_state:
                legs.append((to_location_id or location_id, to_state, quantity))
            for loc, state, delta in legs:
                position, _ = Position.objects.select_for_update().get_or_create(
                    location_id=loc, sku_id=skus[e["sku"]]
                )
                setattr(position, state, getattr(position, state) + delta)
                position.save()
    return time.perf_counter() - started


# --------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------

def reservation_ageing(source):
    """The scheduled reservation_not_released kind over the whole bench
    ledger: its reserves (unreferenced, so matched to releases oldest first
    per location x SKU) held as web carts (30 min), then again with the
    tower releasing the expired holds itself. Rolled back: the bench keeps
    neither the cases nor the releases."""
    with transaction.atomic():
        web, _ = Channel.objects.get_or_create(
            code="web", defaults={"name": "Web cart", "hold_minutes": 30, "holds_back_safety_stock": True})
        SourceSystem.objects.filter(pk=source.pk).update(default_channel=web)
        started = time.perf_counter()
        findings = reservation_not_released()  # the check alone: one query over the ledger
        check_seconds = time.perf_counter() - started
        started = time.perf_counter()
        cases = run_reconciliation(CaseKind.RESERVATION_NOT_RELEASED)
        seconds = time.perf_counter() - started
        SourceSystem.objects.filter(pk=source.pk).update(releases_expired_reservations=True)
        started = time.perf_counter()
        released = run_reconciliation(CaseKind.RESERVATION_NOT_RELEASED)
        release_seconds = time.perf_counter() - started
        result = {
            "reservation_ageing_check_seconds": round(check_seconds, 3),
            "reservation_ageing_findings": len(findings),
            "reservation_ageing_seconds": round(seconds, 3),
            "reservation_ageing_reserves": InventoryEvent.objects.filter(type="reserve").count(),
            "reservation_ageing_cases_opened": len(cases.opened),
            "reservation_release_seconds": round(release_seconds, 3),
            "reservation_release_lines": InventoryEvent.objects.filter(reason="hold_expired").count(),
            "reservation_release_cases_resolved": len(released.resolved),
        }
        transaction.set_rollback(True)
    return result


def ingest_section(events=200_000, workers=2, clients=2, skip_http=False, naive_sample=NAIVE_SAMPLE):
    """Ingest through the HTTP bulk endpoint vs raw COPY vs the naive path."""
    require_postgres()
    source = ensure_master_data()
    vacuum_analyze()
    token = issue_token(source)
    run = f"{PREFIX}{uuid.uuid4().hex[:8]}"
    batches, valid, expected = generate_batches(events, run)
    sent = sum(len(b) for b in batches)
    result = {
        "events": sent,
        "batch_size": BATCH_SIZE,
        "batches": len(batches),
        "workers": workers,
        "clients": clients,
        "cores": os.cpu_count(),
        "duplicates_share": round(expected["duplicate"] / sent, 4),
        "expected": expected,
        "db_vendor": connection.vendor,
        "db_version": connection.pg_version,
        "timestamp": timezone.now().isoformat(),
    }
    if not skip_http:
        seconds, counts = measure_http(token, batches, workers, clients)
        result.update(http_seconds=round(seconds, 3), events_per_s=round(sent / seconds), counts=counts)
        if counts != expected:
            raise BenchError(f"ingest answered {counts}, expected {expected}")
        # Off the clock: the positions must still equal the ledger fold.
        started = time.perf_counter()
        check = rebuild_positions(location_ids=list(
            Location.objects.filter(code__startswith=PREFIX).values_list("id", flat=True)
        ))
        result.update(positions_checked=check.positions_checked, position_differences=len(check.differences),
                      positions_check_seconds=round(time.perf_counter() - started, 3))
        if check.differences:
            raise BenchError(f"positions differ from the ledger: {check.differences[:5]}")
        # The scheduled projection_drift kind: the same check over every position of the
        # database (the whole bench ledger), then the case sync.
        started = time.perf_counter()
        drift = run_reconciliation(CaseKind.PROJECTION_DRIFT)
        result.update(projection_drift_seconds=round(time.perf_counter() - started, 3),
                      projection_drift_positions=Position.objects.count(),
                      projection_drift_ledger_lines=InventoryEvent.objects.count(),
                      projection_drift_cases_opened=len(drift.opened))
        result.update(reservation_ageing(source))

    rows = ledger_rows(source, valid, timezone.now())
    seconds = measure_copy(rows)
    result.update(copy_rows=len(rows), copy_seconds=round(seconds, 3), copy_rows_per_s=round(len(rows) / seconds))

    sample = valid[:naive_sample]
    seconds = measure_naive(sample)
    result.update(naive_events=len(sample), naive_seconds=round(seconds, 3),
                  naive_events_per_s=round(len(sample) / seconds))
    if "events_per_s" in result:
        result["ratio_to_copy"] = round(result["events_per_s"] / result["copy_rows_per_s"], 3)
        result["speedup_over_naive"] = round(result["events_per_s"] / result["naive_events_per_s"], 1)
    return result

