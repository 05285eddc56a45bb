"""The simulated retailer's master data, loaded through the tower's own
services: regions and locations (inventory.masterdata.import_locations),
SKUs with barcodes, case packs and weighed items (import_skus), the source
systems and their lanes (register_source, set_lane), the rollout program
with a live pilot wave and two in preparation, and training records
(rollout.training.record_training).

Codes start with SIM so a simulated estate is never mistaken for a real one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from inventory.lanes import set_lane
from inventory.masterdata import import_locations, import_skus, register_source
from inventory.models import Location, Region
from rollout.models import Program, TrainingModule, Wave, WaveLocation
from rollout.training import record_training

REGIONS = [("SIMN", "North (simulated)", "Europe/Berlin"), ("SIMS", "South (simulated)", "Europe/Madrid"),
           ("SIMW", "West (simulated)", "Europe/London")]
DC = "SIMDC01"
WEB = "SIMWEB01"
LEGACY_POS, TARGET_POS, ECOM, WMS, ERP = "SIM-POS-LEGACY", "SIM-POS-NEXT", "SIM-ECOM", "SIM-WMS", "SIM-ERP"
# code, kind, generation, push interval (s), expected interval (s), latency target (s)
SOURCES = [
    (LEGACY_POS, "pos", "legacy", 1800, 6 * 3600, 3600),
    (TARGET_POS, "pos", "target", 600, 6 * 3600, 900),
    (ECOM, "ecom", "target", 900, 24 * 3600, 900),
    (WMS, "wms", "target", 3600, 12 * 3600, 3600),
    (ERP, "erp", "target", 3600, 8 * 86400, 3600),
]
TILL_TYPES = ["sale", "return", "disposition", "write_off", "damage", "adjustment", "cycle_count", "transfer_in"]
ECOM_TYPES = ["reserve", "release", "pick", "pack", "stage", "fulfil", "return", "disposition", "transfer_in"]
WMS_TYPES = ["receipt", "transfer_out", "cycle_count", "damage", "write_off"]
ERP_TYPES = ["cycle_count", "adjustment"]

# category -> (unit cost range, base unit, case unit, case factor, sale unit, sale quantities)
CATEGORIES = {
    "Grocery": ((0.8, 9.0), "EA", "CS12", 12, "EA", (1, 1, 1, 2)),
    "Beverages": ((0.3, 2.5), "EA", "CS24", 24, "EA", (1, 1, 2, 6)),
    "Household": ((1.0, 8.0), "EA", "CS12", 12, "EA", (1, 1, 1, 2)),
    "Apparel": ((3.0, 35.0), "EA", "CS6", 6, "EA", (1,)),
    # Weighed at the till: the base unit is the gram, the till sells kilograms.
    "Fresh produce": ((0.002, 0.012), "G", "CS5KG", 5000, "KG", ("0.25", "0.5", "0.75", "1.2")),
}
# The West region's tills weigh in pounds: a decimal factor of the gram.
POUNDS_REGION = "SIMW"
POUND = Decimal("453.59237")
MODULES = [("SIM-POS", "Selling and returns on the new tills (simulated)"),
           ("SIM-COUNT", "Cycle counts in the new system (simulated)")]
CASHIERS_PER_STORE = 4


@dataclass
class Item:
    code: str
    category: str
    cost: Decimal
    case_unit: str
    case_factor: int
    sale_unit: str
    sale_quantities: tuple
    velocity: float  # share of its store's sales

    @property
    def weighed(self):
        return self.sale_unit != "EA"


@dataclass
class Estate:
    stores: list  # location codes
    timezone: dict  # location code -> tz name
    items: list
    sources: dict  # code -> SourceSystem
    till_of: dict  # store -> till source code (the coexistence store alternates)
    coexisting: str
    pilot: list
    waves_in_preparation: list
    cashiers: dict = field(default_factory=dict)  # store -> [cashier ids]


def ean13(body12):
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def build_estate(rng, stores, skus, start) -> Estate:
    """Load the master data of a retailer of `stores` stores and `skus` SKUs,
    its rollout and training; returns what the story needs of it."""
    for code, name, _tz in REGIONS:
        Region.objects.get_or_create(code=code, defaults={"name": name})  # the importer would name them by code
    rows, timezones, codes = [], {}, []
    for n in range(stores):
        region, _name, tz = REGIONS[n % len(REGIONS)]
        code = f"{region}{n // len(REGIONS) + 1:03d}"
        codes.append(code)
        timezones[code] = tz
        rows.append({"code": code, "name": f"Store {code} (simulated)", "kind": "store", "region": region,
                     "timezone": tz, "banner": "Simulated Retail", "format": "Supermarket"})
    rows.append({"code": DC, "name": "Central DC (simulated)", "kind": "dc", "region": REGIONS[0][0],
                 "timezone": REGIONS[0][2], "format": "DC"})
    rows.append({"code": WEB, "name": "Online fulfilment (simulated)", "kind": "ecommerce",
                 "region": REGIONS[0][0], "timezone": REGIONS[0][2], "format": "Online"})
    timezones[DC] = timezones[WEB] = REGIONS[0][2]
    _loaded(import_locations(rows), "locations")

    items, sku_rows = [], []
    categories = list(CATEGORIES.items())
    for i in range(skus):
        category, ((low, high), base, case_unit, factor, sale_unit, quantities) = categories[i % len(categories)]
        code = f"SIM{100001 + i}"
        cost = Decimal(str(round(rng.uniform(low, high), 4 if base == "G" else 2)))
        # Long-tailed velocities: a Pareto draw, a few SKUs sell most.
        velocity = rng.paretovariate(1.2)
        conversions = f"{case_unit}={factor}" + (f";KG=1000;LBR={POUND}" if base == "G" else "")
        sku_rows.append({"code": code, "description": f"{category} item {i + 1} (simulated)", "category": category,
                         "unit_cost": str(cost), "base_unit": base, "barcodes": ean13(f"209{100001 + i:09d}"),
                         "conversions": conversions})
        items.append(Item(code, category, cost, case_unit, factor, sale_unit, quantities, velocity))
    _loaded(import_skus(sku_rows), "SKUs")
    total = sum(item.velocity for item in items)
    for item in items:
        item.velocity /= total

    pilot = codes[:max(1, math.ceil(stores / 10))]
    coexisting = codes[len(pilot)] if stores > len(pilot) else pilot[-1]
    sources = {}
    for code, kind, generation, _push, interval, latency in SOURCES:
        sources[code], _ = register_source(code, kind, name=f"{code} (simulated)", generation=generation,
                                           interval_s=interval, latency_target_s=latency)
    legacy_stores = [code for code in codes if code not in pilot]
    set_lane(sources[LEGACY_POS], locations=legacy_stores, event_types=TILL_TYPES, snapshot_kinds=["on_hand"])
    set_lane(sources[TARGET_POS], locations=sorted({*pilot, coexisting}), event_types=TILL_TYPES,
             snapshot_kinds=["on_hand"])
    set_lane(sources[ECOM], locations=[WEB, *codes], event_types=ECOM_TYPES, snapshot_kinds=["on_hand"])
    set_lane(sources[WMS], locations=[DC], event_types=WMS_TYPES, snapshot_kinds=["on_hand"])
    set_lane(sources[ERP], locations=[], event_types=ERP_TYPES, snapshot_kinds=["valuation"])
    till_of = {code: TARGET_POS if code in pilot else LEGACY_POS for code in codes}

    rest = [code for code in codes if code not in pilot and code != coexisting]
    half = len(rest) // 2
    waves = [rest[:half], rest[half:]]
    _rollout(pilot, coexisting, waves, start)
    estate = Estate(codes, timezones, items, sources, till_of, coexisting, pilot, waves)
    estate.cashiers = {code: [f"{code}-C{n}" for n in range(1, CASHIERS_PER_STORE + 1)] for code in codes}
    _train(rng, estate, start)
    return estate


def _loaded(report, what):
    if report.refused:
        raise ValueError(f"The simulated {what} were refused: {report.refused[0]}")


def _rollout(pilot, coexisting, waves, start):
    """A program whose pilot went live two weeks before the simulation starts
    (the coexistence store with it, fed by both tills) and two waves in
    preparation, cutting over after it ends."""
    program, _ = Program.objects.get_or_create(
        name="ERP rollout (simulated)", defaults={"description": "The simulated retailer's rollout."})
    live = (start - timedelta(days=14)).date()
    plan = [("Pilot (simulated)", Wave.Kind.PILOT, [*pilot, coexisting] if coexisting not in pilot else pilot,
             live, live)]
    for n, stores in enumerate(waves, start=1):
        if stores:
            plan.append((f"Wave {n} (simulated)", Wave.Kind.REGIONAL, stores,
                         (start + timedelta(days=120 + 30 * n)).date(), None))
    locations = {loc.code: loc for loc in Location.objects.filter(code__startswith="SIM")}
    for order, (name, kind, stores, planned, actual) in enumerate(plan, start=1):
        wave, _ = Wave.objects.get_or_create(program=program, name=name, defaults={
            "kind": kind, "order": order, "planned_cutover": planned, "actual_cutover": actual,
            "status": Wave.Status.LIVE if actual else Wave.Status.PREPARING})
        for code in stores:
            WaveLocation.objects.get_or_create(program=program, location=locations[code], defaults={"wave": wave})
    Location.objects.filter(code__in=plan[0][2]).update(go_live_date=live)


def _train(rng, estate, start):
    """Eight people a store; the pilot trained before its cutover, the waves
    in preparation part of the way."""
    for code, name in MODULES:
        TrainingModule.objects.get_or_create(code=code, defaults={"name": name, "required": True})
    rows = []
    for store in estate.stores:
        share = 1.0 if store in estate.pilot or store == estate.coexisting else 0.6
        for person in range(8):
            for module, _name in MODULES:
                if rng.random() < share:
                    rows.append({"person_id": f"{store}-P{person}", "person_name": f"Person {person} of {store}",
                                 "location": store, "module": module, "proficiency": rng.randint(60, 98),
                                 "completed_at": (start - timedelta(days=rng.randint(15, 45))).isoformat()})
    _loaded(record_training(rows, now=start), "training records")

