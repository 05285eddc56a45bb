"""One simulation: the retailer built, its story told through the tower,
the ground truth kept (see rollout.simulator)."""
from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.db import connection

from rollout.models import InjectedFault, Simulation

from .faults import GroundTruth
from .story import Story
from .wire import Wire
from .world import build_estate

# The simulated clock starts on a Monday; no run ever reads the wall clock.
START = datetime(2026, 3, 2, tzinfo=dt_timezone.utc)


# The faults that leave the tower's record at a pair off the books.
RECORD_MOVING = ("new_key_replay", "case_as_each", "reservation_never_released")


class SimulationExists(ValueError):
    """A database holds one simulated retailer; start from an empty one."""


def simulate(stores, skus, days, seed, rates, start=START, progress=None, until=None) -> Simulation:
    """Generate the retailer, run it for `days` days from `start` with the
    faults at `rates` ({kind: rate}), and return its Simulation (its summary
    filled in). `progress(days_done)` is called after each simulated day.
    `until` stops the clock before the last day ends (the demo stops it at
    its load time)."""
    if Simulation.objects.exists():
        raise SimulationExists("This database already holds a simulation: start from an empty database "
                               "(manage.py flush), or score it with --score.")
    if stores < 1 or skus < 5 or days < 1:
        raise ValueError("A simulation needs at least 1 store, 5 SKUs and 1 day.")
    if connection.vendor == "postgresql":
        # The run commits every batch as the sources would; a crash loses the
        # run either way, so the commits need not wait for the disk.
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")
    rng = random.Random(seed)
    fault_rng = random.Random(seed * 7919 + 17)  # the faults draw apart: the rates do not change the story
    end = start + timedelta(days=days)
    simulation = Simulation.objects.create(seed=seed, stores=stores, skus=skus, days=days, starts_at=start,
                                           ends_at=until or end + timedelta(hours=1), rates=rates)
    estate = build_estate(rng, stores, skus, start)
    wire = Wire(estate.sources)
    truth = GroundTruth(simulation, rates, fault_rng)
    story = Story(estate, wire, truth, rng, start, days)
    story.run(progress=progress, until=until)
    _settle_absorbed(simulation, story, wire)
    faults = Counter(InjectedFault.objects.filter(simulation=simulation).values_list("kind", flat=True))
    simulation.summary = {
        "sales": story.sales,
        "sold_pairs": len(story.sold_pairs),
        "sent": dict(wire.counts),
        "answers": dict(wire.answers),
        "tower_runs": wire.runs,
        "faults": dict(sorted(faults.items())),
        "pilot": estate.pilot,
        "coexisting": estate.coexisting,
        "waves_in_preparation": estate.waves_in_preparation,
    }
    simulation.save(update_fields=["summary"])
    return simulation


def _settle_absorbed(simulation, story, wire):
    """The faults the tower should absorb without a case keep what it should
    have made of them: the book's available at each pair an offline window's
    lines touched (late replays), the answer to the key sent twice
    (same-key duplicates). A pair whose record another fault moved (a
    replay under a new key, a case pack as one unit, a reservation never
    released) cannot be told apart from it: it is listed as confounded and
    not scored; a window whose every pair is confounded is not scored."""
    faults = InjectedFault.objects.filter(simulation=simulation)
    moved = set(faults.filter(kind__in=RECORD_MOVING).values_list("location", "sku"))
    for fault in faults.filter(kind__in=("late_replay", "same_key_duplicate")):
        if fault.kind == "late_replay":
            skus = fault.details["skus"]
            fault.details["book"] = {sku: story.book[(fault.location, sku)] for sku in skus}
            fault.details["confounded_skus"] = [sku for sku in skus if (fault.location, sku) in moved]
            fault.details["confounded"] = bool(skus) and len(fault.details["confounded_skus"]) == len(skus)
        else:
            fault.details["answer"] = wire.keyed_answers.get((fault.source, fault.reference), "")
        fault.save(update_fields=["details"])
