"""What the tower catches: the simulator (rollout.simulator) run twice, with
its default fault rates (the rarer kinds raised: BENCH_RATES) and clean
(every rate zero), each scored by every registered detector and
reconciliation kind.

A simulation wants a database of its own (the bench database holds other
sections' cases, which would count as false ones): each run gets a fresh
database next to the bench's, `<bench database>_sim` and
`<bench database>_sim_clean`, dropped and made again every time, migrated,
then `manage.py simulate ... --score --score-json`. The figures are the
command's own: recall per fault kind, false cases, their share of the store
x SKU pairs that sold.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import psycopg
from django.conf import settings
from django.db import connection

from .ingest import BenchError

ROOT = Path(__file__).resolve().parents[2]
# Over the defaults: the rarer kinds often enough to be seen at the bench's size.
BENCH_RATES = ("reservation_never_released=0.1,silent_feed=0.03,shrink_store=0.2,refund_cashier=0.2,"
               "phantom_stock=0.1,unknown_sku_burst=0.1,case_as_each=0.03,missed_cost_change=0.03")


def _fresh_database(name):
    params = connection.get_connection_params()
    server = {key: params[key] for key in ("host", "port", "user", "password") if params.get(key)}
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    user = server.get("user", "postgres")
    password = f":{server['password']}" if server.get("password") else ""
    return f"postgres://{user}{password}@{server.get('host', '127.0.0.1')}:{server.get('port', 5432)}/{name}"


def _manage(url, *args):
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise BenchError(f"manage.py {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def bench_simulate(stores, skus, days, seed):
    base = settings.DATABASES["default"]["NAME"]
    results = {"stores": stores, "skus": skus, "days": days, "seed": seed, "runs": {}}
    for label, faults in (("faults", BENCH_RATES), ("clean", "0")):
        url = _fresh_database(f"{base}_sim" + ("_clean" if label == "clean" else ""))
        _manage(url, "migrate", "--noinput")
        out = settings.VAR_DIR / "bench" / f"simulate-{label}.json"
        started = time.monotonic()
        _manage(url, "simulate", "--stores", str(stores), "--skus", str(skus), "--days", str(days),
                "--seed", str(seed), "--faults", faults, "--score-json", str(out))
        score = orjson.loads(out.read_bytes())
        score["seconds"] = round(time.monotonic() - started, 1)
        results["runs"][label] = score
    return results


def simulate_table(result):
    lines = [f"simulate: {result['stores']} stores, {result['skus']} SKUs, {result['days']} days, "
             f"seed {result['seed']}: recall per fault kind (default rates, {BENCH_RATES})",
             f"  {'fault kind':<28}{'nature':<15}{'injected':>9}{'found':>7}{'recall':>8}{'target':>8}"]
    faulted = result["runs"]["faults"]
    for kind in faulted["kinds"]:
        recall = "-" if kind["recall"] is None else f"{kind['recall']:.0%}"
        verdict = "" if kind["met"] is None else ("  met" if kind["met"] else "  BELOW TARGET")
        lines.append(f"  {kind['kind']:<28}{kind['nature']:<15}{kind['injected']:>9}{kind['found']:>7}"
                     f"{recall:>8}{kind['target']:>8.0%}{verdict}")
    for label in ("faults", "clean"):
        run = result["runs"][label]
        share = "-" if run["false_share"] is None else f"{run['false_share']:.2%}"
        lines.append(f"  {label + ' run':<28}{run['cases']:,} cases, {run['false_cases']} matching no fault "
                     f"({share} of {run['sold_pairs']:,} pairs that sold; target < 2%), {run['seconds']:,.0f} s")
        if run["false_by_kind"]:
            lines.append(f"  {'':<28}false: " + ", ".join(f"{k} {n}" for k, n in sorted(run["false_by_kind"].items())))
    return "\n".join(lines)
