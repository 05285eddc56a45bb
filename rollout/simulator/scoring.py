"""What the tower caught of a simulation's faults: every registered
detector and reconciliation kind run at the simulation's end (on its
clock), each case (open or already cleared) matched with the ground truth.

Per fault kind: injected, found, recall against its target. A fault is
found when a case of a kind that catches it carries its keys (location,
SKU, source, reference as the fault names them); a fault the tower should
absorb without a case (a till's offline window replayed late, a key sent
twice) is found when the tower did: the position at each pair the window's
lines touched equals what the retailer's books say, or the resend was
answered as a duplicate (a pair whose record another fault moved cannot be
told apart from it: left out, and a window of such pairs only counted as
confounded, not scored). A case matching no fault (not
even as a side effect at a fault's location and SKU, or of its source) is
a false case.
"""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from exceptions.models import Case
from inventory.models import InventoryEvent, Position
from rollout.models import InjectedFault, Simulation

from .faults import FAULTS, TARGETS
from .wire import run_every_kind


@dataclass
class KindScore:
    kind: str
    nature: str
    injected: int = 0
    found: int = 0
    confounded: int = 0  # offline windows whose every pair another fault moved: not scored

    @property
    def recall(self):
        return self.found / self.injected if self.injected else None

    @property
    def target(self):
        return TARGETS[self.nature]

    @property
    def met(self):
        return None if self.recall is None else self.recall >= self.target


@dataclass
class Score:
    simulation: Simulation
    kinds: list
    cases: int
    false_by_kind: Counter = field(default_factory=Counter)
    cases_by_kind: Counter = field(default_factory=Counter)

    @property
    def false_cases(self):
        return sum(self.false_by_kind.values())

    @property
    def precision(self):
        return (self.cases - self.false_cases) / self.cases if self.cases else None

    @property
    def sold_pairs(self):
        return self.simulation.summary.get("sold_pairs", 0)

    @property
    def false_share(self):
        """False cases over the store x SKU pairs that sold (target: under 2%)."""
        return self.false_cases / self.sold_pairs if self.sold_pairs else None

    def as_dict(self):
        return {
            "seed": self.simulation.seed, "stores": self.simulation.stores, "skus": self.simulation.skus,
            "days": self.simulation.days, "cases": self.cases, "false_cases": self.false_cases,
            "precision": self.precision, "sold_pairs": self.sold_pairs, "false_share": self.false_share,
            "kinds": [{"kind": k.kind, "nature": k.nature, "injected": k.injected, "found": k.found,
                       "confounded": k.confounded,
                       "recall": k.recall, "target": k.target, "met": k.met} for k in self.kinds],
            "false_by_kind": dict(self.false_by_kind), "cases_by_kind": dict(self.cases_by_kind),
        }


@dataclass(frozen=True)
class SeenCase:
    kind: str
    location: str
    sku: str
    source: str
    reference: str
    text: str  # summary, reference and details: where an anomaly case names its cashier

    def value(self, key):
        return getattr(self, key) if key != "cashier" else self.text


def seen_cases():
    rows = list(Case.objects.values_list("kind", "location__code", "sku__code", "source__code", "reference",
                                         "summary", "details"))
    # A replayed batch's case lists its ledger lines by id: their keys are what a fault names.
    ids = {event_id for *_rest, details in rows for pair in details.get("pairs", []) for event_id in pair}
    keys = dict(InventoryEvent.objects.filter(id__in=ids).values_list("id", "transaction_id")) if ids else {}
    seen = []
    for kind, location, sku, source, reference, summary, details in rows:
        named = [keys.get(event_id, "") for pair in details.get("pairs", []) for event_id in pair]
        text = " ".join([summary, reference, json.dumps(details, default=str), *named])
        seen.append(SeenCase(kind, location or "", sku or "", source or "", reference, text))
    return seen


def catches(fault, case):
    """Does `case` catch `fault`, by the fault kind's rule?"""
    rule = FAULTS[fault.kind]
    if rule.catches is not None and case.kind not in rule.catches:
        return False
    for key in rule.keys:
        wanted = fault.details.get("cashier", "") if key == "cashier" else getattr(fault, key)
        if not wanted:
            continue
        if key == "cashier":
            if wanted not in case.text:
                return False
        elif not case.value(key) and key in ("location", "sku") and fault.reference:
            # A case about a batch (a replay of lines at several locations)
            # names no location or SKU: it lists the transactions.
            if not mentions(case.text, fault.reference):
                return False
        elif case.value(key) != wanted:
            return False
    return rule.catches is not None or bool(fault.details.get("cashier"))


def side_effect(fault, case):
    """A case a fault explains though it is not what catches it: at the
    fault's location and SKU (a case pack entered as one unit drives the
    shelf negative), at its location for a store-wide fault, about its
    source when the case names no location, or about the business document
    it repeated."""
    if case.location and fault.location and case.location == fault.location:
        # A store-wide fault explains any case at its store; a pair's fault only cases at its
        # pair; an offline window cases at the pairs its lines touched.
        if "skus" in fault.details:
            return case.sku in fault.details["skus"]
        return not fault.sku or case.sku == fault.sku
    if not case.location and case.sku and fault.sku == case.sku:
        return True
    if not case.location and case.source and case.source == fault.source and not fault.location:
        return True
    if case.reference and case.reference == fault.details.get("business_reference"):
        return True  # a transfer shipped twice, its case at the destination
    return mentions(case.text, fault.reference)


def mentions(text, reference):
    """`reference` as a whole word of `text` (sim-sale-38 is not in sim-sale-385)."""
    return bool(reference) and re.search(rf"(?<![\w-]){re.escape(reference)}(?![\w-])", text) is not None


def absorbed(fault, positions):
    """A key sent twice is absorbed when the tower answered "duplicate"; a
    till's offline window when the position at every pair its lines touched
    (but those another fault moved) is what the books say."""
    if fault.kind == "same_key_duplicate":
        return fault.details.get("answer") == "duplicate"
    confounded = set(fault.details["confounded_skus"])
    return all(positions.get((fault.location, sku)) == book
               for sku, book in fault.details["book"].items() if sku not in confounded)


def score(simulation=None) -> Score:
    """Run every kind at the simulation's end and score its cases (see the module docstring)."""
    simulation = simulation or Simulation.objects.order_by("-id").first()
    if simulation is None:
        raise ValueError("No simulation in this database: run manage.py simulate first.")
    run_every_kind(simulation.ends_at)
    cases = seen_cases()
    faults = list(InjectedFault.objects.filter(simulation=simulation))
    positions = dict(((loc, sku), available) for loc, sku, available in Position.objects.values_list(
        "location__code", "sku__code", "available"))
    by_kind = {key: KindScore(key, rule.nature) for key, rule in FAULTS.items()}
    by_location, by_document = defaultdict(list), defaultdict(list)
    for fault in faults:
        by_location[fault.location].append(fault)
        if fault.details.get("business_reference"):
            by_document[fault.details["business_reference"]].append(fault)
    cases_by_location = defaultdict(list)
    for case in cases:
        cases_by_location[case.location].append(case)
    for fault in faults:
        result = by_kind[fault.kind]
        if fault.details.get("confounded"):
            result.confounded += 1
            continue
        result.injected += 1
        if FAULTS[fault.kind].nature == "absorbed":
            result.found += absorbed(fault, positions)
            continue
        located = fault.location and "location" in FAULTS[fault.kind].keys
        candidates = cases_by_location[fault.location] + cases_by_location[""] if located else cases
        result.found += any(catches(fault, case) for case in candidates)
    report = Score(simulation, list(by_kind.values()), len(cases))
    for case in cases:
        report.cases_by_kind[case.kind] += 1
        near = by_location[case.location] + by_location[""] + by_document[case.reference] if case.location \
            else faults
        if not any(catches(f, case) or side_effect(f, case) for f in near):
            report.false_by_kind[case.kind] += 1
    return report
