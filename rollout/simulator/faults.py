"""The faults the simulator injects, each at a rate per opportunity, and
what a case that catches one looks like.

Every fault is recorded as an InjectedFault (the ground truth) when it is
injected; the detectors never read that table (tests/controltower/
test_layout.py keeps exceptions and inventory from importing this package).
"""
from __future__ import annotations

from dataclasses import dataclass

from rollout.models import InjectedFault


@dataclass(frozen=True)
class FaultKind:
    key: str
    words: str  # what went wrong, in the retailer's words
    opportunity: str  # what the rate is per
    rate: float  # the default rate
    # The case kinds that catch it; None: any kind whose case names the
    # fault's cashier (the anomaly kinds, whatever they are called).
    catches: tuple | None
    # The fault's keys a catching case must carry the same of.
    keys: tuple
    # deterministic (target 95%), statistical (80%) or absorbed (the tower
    # takes it without a case by design: scored by its ingest answer).
    nature: str


# What shows a record off the books at a pair.
ANY_DRIFT = ("snapshot_mismatch", "financial_variance", "count_variance", "negative_stock")
FAULTS = {f.key: f for f in (
    FaultKind("late_replay", "till offline, its sales replayed hours later", "store-day", 0.02,
              ANY_DRIFT, ("location", "sku"), "absorbed"),
    FaultKind("same_key_duplicate", "an event sent twice under its own key", "event", 0.002,
              (), ("source", "reference"), "absorbed"),
    FaultKind("new_key_replay", "an event sent again under a new key", "event", 0.001,
              ("suspected_duplicate",), ("location", "sku"), "deterministic"),
    FaultKind("case_as_each", "a case pack posted as one unit", "case movement", 0.01,
              (*ANY_DRIFT, "transfer_not_received"), ("location", "sku"), "deterministic"),
    FaultKind("transfer_never_received", "a transfer shipped and never received", "transfer", 0.02,
              ("transfer_not_received",), ("location", "sku", "reference"), "deterministic"),
    FaultKind("return_never_dispositioned", "a customer return never dispositioned", "return", 0.05,
              ("return_not_dispositioned",), ("location", "sku"), "deterministic"),
    FaultKind("reservation_never_released", "a cancelled order's reservation never released", "order", 0.03,
              ("reservation_not_released",), ("location", "sku"), "deterministic"),
    FaultKind("silent_feed", "a source silent for a day", "source-day", 0.005,
              ("stale_feed",), ("source",), "deterministic"),
    FaultKind("shrink_store", "a store losing stock nobody records", "store", 0.05,
              ("count_variance", "snapshot_mismatch", "negative_stock", "adjustment_outlier"), ("location",),
              "statistical"),
    FaultKind("refund_cashier", "a cashier refunding far more than the others", "store", 0.05,
              None, ("location", "cashier"), "statistical"),
    FaultKind("phantom_stock", "on hand in the record, empty shelf, sales stop", "store x fast mover", 0.02,
              ("phantom_inventory", "count_variance", "snapshot_mismatch"), ("location", "sku"), "statistical"),
    FaultKind("missed_cost_change", "a cost change the tower never got", "SKU", 0.01,
              ("financial_variance",), ("sku",), "deterministic"),
    FaultKind("unknown_sku_burst", "a source sending a burst of unknown SKUs", "source-day", 0.005,
              ("master_data_rejections",), ("source",), "deterministic"),
)}
TARGETS = {"deterministic": 0.95, "statistical": 0.80, "absorbed": 0.95}


class RatesError(ValueError):
    """--faults cannot be read; the message names the part."""


def parse_rates(text: str | None) -> dict:
    """{kind: rate} from `late_replay=0.05,silent_feed=0.01` on top of the
    defaults; "0" or "none" sets every rate to zero (a clean run)."""
    rates = {key: kind.rate for key, kind in FAULTS.items()}
    if text is None or not text.strip():
        return rates
    if text.strip().lower() in ("0", "none", "clean"):
        return dict.fromkeys(rates, 0.0)
    for part in text.split(","):
        key, sep, value = (p.strip() for p in part.partition("="))
        if not sep or key not in FAULTS:
            raise RatesError(f"--faults: '{part.strip()}' is not KIND=RATE with KIND one of {', '.join(FAULTS)}.")
        try:
            rate = float(value)
        except ValueError:
            raise RatesError(f"--faults: the rate of {key}, '{value}', is not a number.") from None
        if not 0 <= rate <= 1:
            raise RatesError(f"--faults: the rate of {key} must be between 0 and 1.")
        rates[key] = rate
    return rates


class GroundTruth:
    """Records the faults of one simulation as they are injected."""

    def __init__(self, simulation, rates, rng):
        self.simulation = simulation
        self.rates = rates
        self.rng = rng
        self.pending = []

    def roll(self, kind):
        """True when a fault of `kind` happens at this opportunity."""
        rate = self.rates[kind]
        return rate > 0 and self.rng.random() < rate

    def record(self, kind, at, location="", sku="", source="", reference="", **details):
        fault = InjectedFault(simulation=self.simulation, kind=kind, location=location, sku=sku, source=source,
                              reference=reference[:128], occurred_at=at, details=details)
        self.pending.append(fault)
        return fault  # its details may still grow until the day's flush

    def flush(self):
        InjectedFault.objects.bulk_create(self.pending, batch_size=1000)
        self.pending = []
