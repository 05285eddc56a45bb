"""Timing the rollout at benchmark scale: a program of 10 waves over the 600
bench stores, every gate of every wave evaluated through the metric
registry, and the PMO board's server time.

`bench_rollout()` rebuilds the bench program (BENCH rollout) each run:
7 gate templates whose criteria are the program's intended ones (the agreed
metric keys below) that are registered in this build; the keys not
registered are listed in the result, not measured. Training records (two
required modules, 10 people a store) make the training metrics real. Then:

- history: the hourly run (rollout.evaluation.evaluate_all) at each of the
  last HISTORY_HOURS hours, so the board reads the evidence of a day;
- full evaluation: rollout.evaluation.evaluate_gate on every gate of every
  wave (70 gates), timed (target < 60 s);
- the board: GET /rollout/ as a PMO, REPEATS times after one warm-up,
  server time through the whole middleware stack (target p95 < 200 ms).
"""
from __future__ import annotations

import statistics
import time
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from controltower import metrics
from controltower.models import Profile, Role
from inventory.models import Location
from rollout.evaluation import evaluate_all, evaluate_gate
from rollout.models import (
    Criterion,
    Gate,
    GateKind,
    GateTemplate,
    Program,
    TrainingModule,
    TrainingRecord,
    Wave,
    WaveLocation,
)

from .cases import _p95
from .ingest import PREFIX, BenchError, ensure_master_data

PROGRAM = "BENCH rollout"
WAVES = 10
STORES = 600
PEOPLE_PER_STORE = 10
HISTORY_HOURS = 24
REPEATS = 30
TARGET_EVALUATION_S = 60
TARGET_P95_MS = 200

L, S = Criterion.ScopeKind.LOCATIONS, Criterion.ScopeKind.SOURCES
GE, LE = Criterion.Comparator.GTE, Criterion.Comparator.LTE
# kind: (roles that sign off, [(metric, comparator, threshold, scope)])
GATES = {
    GateKind.DESIGN_COMPLETE: ([], []),
    GateKind.DATA_READINESS: ([Role.INTEGRATION_ADMIN], [
        ("item_master_completeness", GE, "98", L), ("duplicate_barcodes", LE, "0", L)]),
    GateKind.INTEGRATION_PERFORMANCE: ([Role.INTEGRATION_ADMIN], [
        ("event_acceptance_rate", GE, "99", S), ("sync_latency_p95", LE, "300", S), ("stale_feeds", LE, "0", S),
        ("duplicate_transaction_rate", LE, "0.5", L)]),
    GateKind.TRAINING_COMPLETE: ([Role.REGIONAL_OPS], [
        ("training_completion", GE, "90", L), ("training_proficiency", GE, "70", L)]),
    GateKind.STORE_READINESS: ([Role.REGIONAL_OPS, Role.FINANCE], [
        ("inventory_accuracy_exact", GE, "95", L), ("inventory_accuracy_tolerance", GE, "98", L),
        ("open_sev1_cases", LE, "0", L)]),
    GateKind.CUTOVER: ([Role.FINANCE], [("open_sev1_cases", LE, "0", L), ("open_sev2_cases", LE, "5", L)]),
    GateKind.HYPERCARE_EXIT: ([Role.FINANCE], [
        ("sla_attainment", GE, "90", L), ("case_aging_p90", LE, "172800", L), ("days_since_last_sev1", GE, "7", L)]),
}


def build_program(stores, now):
    """The bench program, rebuilt: returns (program, metric keys measured, keys not registered)."""
    Program.objects.filter(name=PROGRAM).delete()
    program = Program.objects.create(name=PROGRAM)
    registered = {metric.key for metric in metrics.metrics()}
    measured, missing = set(), set()
    for order, (kind, (roles, criteria)) in enumerate(GATES.items(), start=1):
        template = GateTemplate.objects.create(program=program, kind=kind, order=order, required_roles=roles)
        for key, comparator, threshold, scope in criteria:
            if key not in registered:
                missing.add(key)
                continue
            measured.add(key)
            Criterion.objects.create(template=template, metric=key, comparator=comparator,
                                     threshold=Decimal(threshold), scope=scope, window_hours=24)
    size = len(stores) // WAVES
    for n in range(WAVES):
        wave = Wave.objects.create(program=program, name=f"Bench wave {n + 1}", order=n + 1,
                                   kind=Wave.Kind.PILOT if n == 0 else Wave.Kind.REGIONAL,
                                   planned_cutover=(now + timedelta(days=14 * (n + 1))).date())
        WaveLocation.objects.bulk_create([WaveLocation(wave=wave, program=program, location=location)
                                          for location in stores[n * size:(n + 1) * size]])
    Wave.objects.filter(program=program).update(started_at=now - timedelta(hours=HISTORY_HOURS + 1))
    return program, sorted(measured), sorted(missing)


def ensure_training(stores, now):
    """Two required modules; in every store 10 people, 8 of them with both
    (the later waves' stores complete fewer: their training gate is red)."""
    modules = [TrainingModule.objects.get_or_create(code=f"{PREFIX}{code}", defaults={"name": code})[0]
               for code in ("TILLS", "COUNTS")]
    TrainingRecord.objects.filter(person_id__startswith=PREFIX).delete()
    records = []
    for n, store in enumerate(stores):
        complete = PEOPLE_PER_STORE - 1 - (n * WAVES // len(stores)) // 2
        for person in range(PEOPLE_PER_STORE):
            for m, module in enumerate(modules):
                if m and person >= complete:
                    continue
                records.append(TrainingRecord(person_id=f"{PREFIX}{store.code}-{person}", location=store,
                                              module=module, completed_at=now - timedelta(days=3 + person % 5),
                                              proficiency=60 + (n + person) % 35))
    TrainingRecord.objects.bulk_create(records, batch_size=5000)
    return len(records)


def bench_pmo():
    User = get_user_model()
    user, _ = User.objects.get_or_create(username="bench-pmo", defaults={"password": "!"})
    Profile.objects.update_or_create(user=user, defaults={"role": Role.PMO})
    return user


def time_board(user, repeats=REPEATS):
    client = Client()
    client.force_login(user)
    url = reverse("rollout")
    response = client.get(url)  # the warm-up (its session and connection), off the clock
    if response.status_code != 200:
        raise BenchError(f"GET {url} answered {response.status_code}")
    captured = []

    def count(execute, sql, params, many, context):
        captured.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        client.get(url)
    ms, size = [], len(response.content)
    for _ in range(repeats):
        started = time.perf_counter()
        client.get(url)
        ms.append((time.perf_counter() - started) * 1000)
    return {"requests": repeats, "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(_p95(ms), 1),
            "max_ms": round(max(ms), 1), "queries": len(captured), "kb": round(size / 1024, 1)}


def bench_rollout(locations=STORES, repeats=REPEATS):
    now = timezone.now()
    ensure_master_data(locations=locations)
    stores = list(Location.objects.filter(code__startswith=PREFIX).order_by("code")[:locations])
    records = ensure_training(stores, now)
    program, measured, missing = build_program(stores, now)

    started = time.perf_counter()
    for hours in range(HISTORY_HOURS, 0, -1):
        evaluate_all(now - timedelta(hours=hours))
    history_s = time.perf_counter() - started

    gates = list(Gate.objects.filter(wave__program=program).select_related("template", "wave__program"))
    started = time.perf_counter()
    evaluations = sum(len(evaluate_gate(gate, now)) for gate in gates)
    full_s = time.perf_counter() - started

    board = time_board(bench_pmo(), repeats)
    states = dict(Gate.objects.filter(wave__program=program).values("status").annotate(n=Count("id"))
                  .values_list("status", "n"))
    return {
        "waves": WAVES, "stores": len(stores), "training_records": records, "gates": len(gates),
        "metrics_measured": measured, "metrics_not_registered": missing,
        "history_runs": HISTORY_HOURS, "history_mean_s": round(history_s / HISTORY_HOURS, 2),
        "full_evaluation_s": round(full_s, 2), "full_evaluation_criteria": evaluations,
        "target_evaluation_s": TARGET_EVALUATION_S, "board": board, "target_p95_ms": TARGET_P95_MS,
        "gate_states": states, "db_vendor": connection.vendor,
    }


def rollout_table(result):
    board = result["board"]
    lines = [
        f"rollout: {result['waves']} waves over {result['stores']:,} stores, {result['gates']} gates, "
        f"{result['training_records']:,} training records; metrics measured: {', '.join(result['metrics_measured'])}",
        f"  {'full evaluation of every gate':<44} {result['full_evaluation_s']:>10,.2f} s, "
        f"{result['full_evaluation_criteria']} criteria (target < {result['target_evaluation_s']} s)",
        f"  {'the hourly run (mean of ' + str(result['history_runs']) + ')':<44} {result['history_mean_s']:>10,.2f} s",
        f"  {'board GET /rollout/ (PMO)':<44} p50 {board['p50_ms']:.1f} ms, p95 {board['p95_ms']:.1f} ms, "
        f"max {board['max_ms']:.1f} ms, {board['queries']} queries, {board['kb']} kB (target p95 < "
        f"{result['target_p95_ms']} ms)",
        f"  {'gates by status after the run':<44} " + ", ".join(f"{n} {s}" for s, n in result["gate_states"].items()),
    ]
    if result["metrics_not_registered"]:
        lines.append(f"  not registered in this build, not measured: {', '.join(result['metrics_not_registered'])}")
    return "\n".join(lines)
