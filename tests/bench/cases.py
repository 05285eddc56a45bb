"""Timing the case screens at benchmark scale: the queue, its filters, the
case page, the counts and My stores.

`bench_cases()` makes sure the bench estate holds the cases it needs, then
requests each page through Django's test client as three people: a store
manager with two stores, the regional ops lead of one region (60 stores at
full scale) and a planner who sees the whole estate. The time measured is
server time: the request through the whole middleware stack, queries and
template rendering, without the network.

The cases are made the way production makes them: ledger events posted by
`ingest_events` and findings opened by `sync_findings` (routing, SLA due
times, history, lineage). Then a share is acknowledged, assigned, put on
wait, aged (so some are past due and breached) and the done ones are
cleared and partly closed. Bench cases have a reference starting with
BENCH-CASE-; they are kept between runs and rebuilt when their numbers do
not match the ones asked for.
"""
from __future__ import annotations

import random
import statistics
import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from controltower.models import Profile, Role
from controltower.scoping import role_of, visible_locations
from controltower.navigation import landing_for
from exceptions.detectors import DETECTORS
from exceptions.findings import CaseKind, Finding
from exceptions.models import Case, CaseHistory
from exceptions.services.sync import sync_findings
from inventory.ledger import ingest_events
from inventory.models import SKU, InventoryEvent, Location, SourceSystem

from .ingest import PREFIX, BenchError, ensure_master_data

REFERENCE = "BENCH-CASE-"
USER_PREFIX = "bench-"
STORES_PER_MANAGER = 2
# The kinds a store deals with, and how often each is found.
KINDS = {
    CaseKind.NEGATIVE_STOCK: 40, CaseKind.TRANSFER_NOT_RECEIVED: 15, CaseKind.SNAPSHOT_MISMATCH: 15,
    CaseKind.RETURN_NOT_DISPOSITIONED: 10, CaseKind.SUSPECTED_DUPLICATE: 10, CaseKind.RECEIPT_WITHOUT_PO: 10,
}
SEVERITIES = {1: 5, 2: 20, 3: 50, 4: 25}
EVENT_TYPE = {CaseKind.RECEIPT_WITHOUT_PO: "receipt", CaseKind.RETURN_NOT_DISPOSITIONED: "return"}
# The history action each bench move records, as the services name them.
ACTION = {Case.Status.ACKNOWLEDGED: "acknowledge", Case.Status.IN_PROGRESS: "assign", Case.Status.WAITING: "wait"}
AGE_BUCKETS = 48  # active cases are spread over their last 48 x 5 hours
DONE_DAYS = 60
TARGET_P95_MS = 200


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

def bench_people(locations):
    """One store manager per two stores, one regional ops lead per region and
    a planner; existing bench people are kept. Returns (store managers in
    store order, regional leads by region id, planner)."""
    User = get_user_model()
    stores = list(locations)
    groups = [stores[i:i + STORES_PER_MANAGER] for i in range(0, len(stores), STORES_PER_MANAGER)]
    regions = sorted({location.region_id for location in stores})
    wanted = (
        [(f"{USER_PREFIX}sm-{n:03d}", Role.STORE_MANAGER, None, group) for n, group in enumerate(groups)]
        + [(f"{USER_PREFIX}ops-{region_id}", Role.REGIONAL_OPS, region_id, []) for region_id in regions]
        + [(f"{USER_PREFIX}planner", Role.PLANNER, None, [])]
    )
    User.objects.bulk_create([User(username=name, password="!") for name, *_ in wanted], ignore_conflicts=True)
    users = User.objects.in_bulk([name for name, *_ in wanted], field_name="username")
    Profile.objects.bulk_create(
        [Profile(user=users[name], role=role, region_id=region_id) for name, role, region_id, _ in wanted],
        ignore_conflicts=True,
    )
    profiles = {p.user_id: p for p in Profile.objects.filter(user__in=users.values())}
    Through = Profile.locations.through
    Through.objects.bulk_create(
        [Through(profile_id=profiles[users[name].pk].pk, location_id=location.pk)
         for name, _, _, group in wanted for location in group],
        ignore_conflicts=True,
    )
    users = User.objects.select_related("profile").in_bulk([name for name, *_ in wanted], field_name="username")
    managers = [users[name] for name, role, _, group in wanted for _ in group]
    leads = {region_id: users[name] for name, role, region_id, _ in wanted if role == Role.REGIONAL_OPS}
    return managers, leads, users[f"{USER_PREFIX}planner"]


def _bench_cases():
    return Case.objects.filter(reference__startswith=REFERENCE)


def ensure_cases(active, done, locations, skus, managers, seed=11, fresh=False):
    """Make the bench hold `active` open-to-waiting and `done` resolved or
    closed cases over `locations` and `skus`, the in-progress ones assigned to
    `managers` (one per location, in order); `fresh`: rebuild them even so.
    Returns seconds spent (0 when the cases were already there)."""
    bench = _bench_cases()
    if (not fresh and bench.filter(status__in=Case.ACTIVE).count() == active
            and bench.filter(status__in=Case.DONE).count() == done):
        return 0.0
    started = time.perf_counter()
    bench.delete()
    rng = random.Random(seed)
    specs = [_spec(rng, n, locations, skus) for n in range(active + done)]
    event_ids = _post_events(specs[:active])
    for kind in KINDS:
        findings = [(spec["n"] < active, _finding(spec, event_ids)) for spec in specs if spec["kind"] == kind]
        sync_findings(kind, [f for _, f in findings])
        # The done cases' conditions clear: the next run finds only the active ones.
        sync_findings(kind, [f for still, f in findings if still], scope={"reference__startswith": REFERENCE})
    _work_on(rng, active, dict(zip((loc.pk for loc in locations), managers)))
    return time.perf_counter() - started


def _spec(rng, n, locations, skus):
    location = locations[n % len(locations)]
    sku = skus[int(len(skus) * rng.random() ** 2)]  # a few SKUs are in many cases
    kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
    return {
        "n": n, "kind": kind, "location": location, "sku": sku, "quantity": rng.randint(1, 12),
        "severity": rng.choices(list(SEVERITIES), weights=list(SEVERITIES.values()))[0],
        "age_s": rng.uniform(3600, 10 * 86400),
    }


def _post_events(specs):
    """One ledger event per active case, posted as a source would (events
    already in the ledger from an earlier run are not posted again).
    Returns {case number: event id}."""
    source, _ = SourceSystem.objects.get_or_create(
        code=f"{PREFIX}CASES", defaults={"name": "Bench case lineage", "kind": SourceSystem.Kind.POS})
    now = timezone.now()
    known = set(InventoryEvent.objects.filter(source=source).values_list("transaction_id", flat=True))
    raw = [
        {"transaction_id": f"{REFERENCE}{s['n']}", "type": EVENT_TYPE.get(s["kind"], "sale"),
         "location": s["location"].code, "sku": s["sku"].code, "quantity": s["quantity"],
         "occurred_at": (now - timedelta(seconds=s["age_s"] + 600)).isoformat()}
        for s in specs if f"{REFERENCE}{s['n']}" not in known
    ]
    for start in range(0, len(raw), 5000):
        report = ingest_events(source, raw[start:start + 5000])
        refused = [r for r in report.results if r.status not in ("accepted", "duplicate")]
        if refused:
            raise BenchError(f"bench lineage events refused: {refused[:3]}")
    ids = dict(InventoryEvent.objects.filter(source=source).values_list("transaction_id", "id"))
    return {s["n"]: ids[f"{REFERENCE}{s['n']}"] for s in specs}


def _finding(spec, event_ids):
    quantity, sku = spec["quantity"], spec["sku"]
    lineage = [("event", event_ids[spec["n"]])] if spec["n"] in event_ids else []
    return Finding(
        kind=spec["kind"], location_id=spec["location"].pk, sku_id=sku.pk, reference=f"{REFERENCE}{spec['n']}",
        severity=spec["severity"], quantity_at_risk=quantity, value_at_risk=quantity * sku.unit_cost,
        summary=f"Bench: {DETECTORS[spec['kind']].label} of {quantity} x {sku.code} at {spec['location'].code}.",
        details={"expected": 0, "observed": quantity}, lineage=lineage,
    )


def _work_on(rng, active, manager_of):
    """What people and time do to the cases: a quarter acknowledged, a fifth
    in progress with the store manager, one in twenty waiting; ages spread
    over 10 days, so the overdue ones are breached; the done ones resolved
    over the last 60 days, 40% of them closed."""
    now = timezone.now()
    bench = _bench_cases()
    rows = list(bench.filter(status__in=Case.ACTIVE).order_by("id").values_list("id", "location_id"))
    moves = {  # status -> {assignee: [case ids]}
        Case.Status.ACKNOWLEDGED: {}, Case.Status.IN_PROGRESS: {}, Case.Status.WAITING: {},
    }
    for case_id, location_id in rows:
        r = rng.random()
        status = (Case.Status.ACKNOWLEDGED if r < 0.25 else Case.Status.IN_PROGRESS if r < 0.45
                  else Case.Status.WAITING if r < 0.50 else None)
        if status:
            assignee = None if status == Case.Status.ACKNOWLEDGED else manager_of.get(location_id)
            moves[status].setdefault(assignee, []).append(case_id)
    changes = {
        Case.Status.ACKNOWLEDGED: {"acknowledged_at": now},
        Case.Status.IN_PROGRESS: {"acknowledged_at": now},
        Case.Status.WAITING: {"acknowledged_at": now, "waiting_on": "Carrier", "paused_since": now},
    }
    history = []
    for status, by_assignee in moves.items():
        for assignee, ids in by_assignee.items():
            for start in range(0, len(ids), 1000):
                bench.filter(pk__in=ids[start:start + 1000]).update(
                    status=status, assignee=assignee, **changes[status])
            history += [
                CaseHistory(case_id=case_id, at=now, actor=assignee, action=ACTION[status], field="status",
                            from_value=Case.Status.OPEN, to_value=status)
                for case_id in ids
            ]
    CaseHistory.objects.bulk_create(history, batch_size=2000)
    ids = [case_id for case_id, _ in rows]
    for bucket in range(AGE_BUCKETS):
        age = timedelta(hours=5 * bucket)
        bench.filter(pk__in=ids[bucket::AGE_BUCKETS]).update(**{
            name: F(name) - age for name in (
                "opened_at", "response_due_at", "resolution_due_at", "warning_due_at", "escalation_due_at")
        })
    overdue = bench.filter(status__in=Case.ACTIVE, resolution_due_at__lt=now)
    overdue.update(breached_at=F("resolution_due_at"), warned_at=F("warning_due_at"),
                   escalation_level=Case.Level.REGIONAL_OPS)
    done = list(bench.filter(status__in=Case.DONE).order_by("id").values_list("id", flat=True))
    bench.filter(pk__in=done[::5] + done[1::5]).update(status=Case.Status.CLOSED)
    for day in range(DONE_DAYS):  # resolved over the last DONE_DAYS days
        bench.filter(pk__in=done[day::DONE_DAYS]).update(
            opened_at=F("opened_at") - timedelta(days=day), resolved_at=F("resolved_at") - timedelta(days=day))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE exceptions_case, exceptions_casehistory, exceptions_caselink, "
                           "inventory_position, inventory_inventoryevent, inventory_location")


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------

def _pages(user, rng, sku_codes, repeats, case_pages):
    """(page name, url, htmx target or None) for one person, in request order.
    The filtered queue is the htmx fragment the filters ask for; q= is part
    of a SKU code, page= the last page."""
    cases = list(_bench_cases().restrict(user).filter(status__in=Case.ACTIVE).values_list("id", flat=True))
    stores = list(visible_locations(user).filter(code__startswith=PREFIX).values_list("code", flat=True))
    cases_url, count = reverse("cases"), len(cases)
    last_page = max(1, -(-count // 50))
    filters = [
        "severity=1", "breached=true", "kind=negative_stock", "assignee=me", f"q={sku_codes[7][-3:]}",
        f"location={stores[0]}", f"page={last_page}", "status=done",
    ]
    pages = [("queue", cases_url, None)] * repeats
    pages += [(f"queue ?{query}", f"{cases_url}?{query}", "case-table") for query in filters] * repeats
    pages += [("case page", reverse("case-detail", args=[pk]), None) for pk in rng.sample(cases, min(case_pages, count))]
    pages += [("counts (htmx)", reverse("case-counts"), "case-counts")] * repeats
    pages += [("my stores", reverse("stores"), None)] * repeats
    # Where signing in lands: the home page, or the person's main screen (a regional ops lead's region board).
    pages += [("home", reverse(landing_for(role_of(user)) or "home"), None)] * repeats
    return pages, count, len(stores)


def _get(client, url, target):
    headers = {"HX-Request": "true", "HX-Target": target} if target else {}
    started = time.perf_counter()
    # Home sends most roles to their own board: timed with it.
    response = client.get(url, headers=headers, follow=True)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise BenchError(f"GET {url} answered {response.status_code}")
    return seconds, len(response.content)


def time_pages(user, rng, sku_codes, repeats=20, case_pages=100):
    """Request each page as `user`; returns one result row per page."""
    client = Client()
    client.force_login(user)
    pages, cases, stores = _pages(user, rng, sku_codes, repeats, case_pages)
    seen, times, sizes, queries = set(), {}, {}, {}
    for name, url, target in pages:
        if name not in seen:  # the first of each page warms up and counts queries, off the clock
            seen.add(name)
            with CaptureQueriesContext(connection) as captured:
                _get(client, url, target)
            queries[name] = len(captured)
        seconds, size = _get(client, url, target)
        times.setdefault(name, []).append(seconds * 1000)
        sizes.setdefault(name, []).append(size)
    return [
        {
            "page": name, "requests": len(ms), "cases_in_scope": cases, "stores_in_scope": stores,
            "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(_p95(ms), 1), "max_ms": round(max(ms), 1),
            "queries": queries[name], "kb": round(statistics.mean(sizes[name]) / 1024, 1),
        }
        for name, ms in times.items()
    ]


def _p95(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def bench_cases(locations=600, skus=20_000, active=50_000, done=100_000, repeats=20, case_pages=100, fresh=False):
    """The case screens' server time per person and page, at the given scale."""
    ensure_master_data(locations=locations, skus=skus)
    location_rows = list(Location.objects.filter(code__startswith=PREFIX).order_by("code")[:locations])
    sku_rows = list(SKU.objects.filter(code__startswith=PREFIX).order_by("code")[:skus])
    managers, leads, planner = bench_people(location_rows)
    setup_seconds = ensure_cases(active, done, location_rows, sku_rows, managers, fresh=fresh)
    people = [
        ("store manager", managers[0]),
        ("regional ops lead", leads[location_rows[0].region_id]),
        ("planner (whole estate)", planner),
    ]
    rng = random.Random(5)
    sku_codes = [sku.code for sku in sku_rows]
    rows = []
    for label, user in people:
        for row in time_pages(user, rng, sku_codes, repeats=repeats, case_pages=case_pages):
            rows.append({"person": label, **row})
    bench = _bench_cases()
    return {
        "locations": len(location_rows),
        "skus": len(sku_rows),
        "active_cases": bench.filter(status__in=Case.ACTIVE).count(),
        "done_cases": bench.filter(status__in=Case.DONE).count(),
        "breached_cases": bench.filter(status__in=Case.ACTIVE, breached_at__isnull=False).count(),
        "setup_seconds": round(setup_seconds, 1),
        "target_p95_ms": TARGET_P95_MS,
        "worst_p95_ms": max(row["p95_ms"] for row in rows),
        "pages": rows,
        "db_vendor": connection.vendor,
        "timestamp": timezone.now().isoformat(),
    }
