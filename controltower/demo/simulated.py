"""The full demo: the simulator's retailer (rollout.simulator), its clock
stopped at the moment of the first load, so the demo looks current.

18 stores in three simulated regions, a DC and an online node, 200 SKUs,
five weeks of sales, orders, returns, transfers, counts and snapshots,
posted through the tower's ingest services with the tower's scheduled runs
in between, and faults injected at rates that give every role living
cases (DEMO_RATES). On top of the simulator's program (a pilot live since
before the history starts, two waves in preparation) the PMO's gates are
walked as in the small demo's rollout (controltower.demo.rollout), and the
demo logins keep their usernames, scoped to the simulated stores.

Running it again posts nothing: the database holds one simulation. For
fresh times, start from an empty database (`make clean demo`).
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone

from inventory.models import Location, Region, SourceSystem
from rollout.evaluation import evaluate_wave
from rollout.models import GateKind, Program, Simulation
from rollout.playbook import apply_playbook
from rollout.simulator import simulate
from rollout.simulator.faults import parse_rates

from .casework import Casework
from .people import USERS, issue_tokens, upsert_users
from .rollout import demo_people, ease_training, walk

STORES, SKUS, DAYS = 18, 200, 35
# Per opportunity (rollout.simulator.faults): the defaults, with the rare
# kinds raised so each shows at this size.
DEMO_RATES = {"reservation_never_released": 0.1, "silent_feed": 0.02, "shrink_store": 0.15,
              "refund_cashier": 0.15, "transfer_never_received": 0.05, "unknown_sku_burst": 0.03}
# The small demo's logins, scoped to the simulated estate (the North region
# keeps Berlin's time, the South Madrid's).
SCOPES = {"manager.berlin": (("SIMN001", "SIMN002"), None), "manager.paris": (("SIMS001", "SIMS002", "SIMS003"), None),
          "ops.germany": ((), "SIMN")}
USERS_SIMULATED = [(username, role, *SCOPES.get(username, (stores, region)), superuser)
                   for username, role, stores, region, superuser in USERS]
PROGRAM = "ERP rollout (simulated)"  # rollout.simulator.world names it
HISTORY_DAYS = 10  # daily evaluations of the waves in preparation
# The simulated goods cost 0.01 to 25 a unit: finance approves the demo's corrections above this,
# not the default 500.00 none of them reaches. The Makefile's demo targets export it (one value:
# a test checks the Makefile says the same).
APPROVAL_THRESHOLD = "50.00"


def load_simulated(seed, now, report, stores=STORES, skus=SKUS, days=DAYS):
    """Run the simulator up to `now` (once), then the logins, the tokens and
    the gates; fills `report` (controltower.demo.retailer.DemoReport)."""
    if not Simulation.objects.exists():
        start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days - 1)
        rates = {**parse_rates(None), **DEMO_RATES}
        casework = Casework(seed, start, now, days, SCOPES, logins=lambda: _logins(report))
        simulation = simulate(stores, skus, days, seed, rates, start=start, until=now, progress=casework.day_closed)
        report.events_loaded = True
        report.first_day = (start - timedelta(hours=1)).date()
        report.ingest = dict(simulation.summary["answers"])
        report.count("locations", stores + 2)  # the stores, the DC and the online node
        report.count("SKUs", skus)
    _logins(report)
    issue_tokens({s.code: s for s in SourceSystem.objects.filter(code__startswith="SIM-")}, report)
    if report.events_loaded:
        _walk_gates(Program.objects.get(name=PROGRAM), now)


def _logins(report):
    """The demo logins, scoped to the simulated stores (again on every load: passwords reset)."""
    regions = {region.code: region for region in Region.objects.filter(code__startswith="SIM")}
    locations = {location.code: location for location in Location.objects.filter(code__startswith="SIM")}
    report.logins = upsert_users(regions, locations, report, users=USERS_SIMULATED)


def _walk_gates(program, now):
    """The playbook's gates on the simulator's program: the pilot passed
    every gate up to its cutover, the waves in preparation the early ones
    three weeks ago, measured daily since."""
    apply_playbook(program)
    people = demo_people()
    ease_training(program, people, at=now - timedelta(days=70))
    pilot, *preparing = program.waves.order_by("order")
    went_live = pilot.actual_cutover
    cutover = datetime.combine(went_live, time(9), tzinfo=dt_timezone.utc)
    walk(pilot, people, start=cutover - timedelta(days=35), step=timedelta(days=6), through=GateKind.CUTOVER)
    evaluate_wave(pilot, now)
    for wave in preparing:
        walk(wave, people, start=now - timedelta(days=21), step=timedelta(days=3), through=GateKind.INTEGRATION_PERFORMANCE)
    for day in range(HISTORY_DAYS + 1):
        for wave in preparing:
            evaluate_wave(wave, now - timedelta(days=HISTORY_DAYS - day))
