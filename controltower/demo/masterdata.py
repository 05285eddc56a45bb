"""The demo retailer's master data: regions, stores, the DC and the ecommerce
node, the source systems and their lanes, the SKUs with barcodes and case
conversions, and the PO lines behind the week's receipts.

Every `upsert_*` function creates what is missing and keeps what is there,
counting the rows it made on the report (`DemoReport.count`).
"""
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from inventory.lanes import set_lane
from inventory.models import SKU, Barcode, Location, PurchaseOrderLine, Region, SourceSystem, UnitConversion

BANNER = "Demo Retail"

REGIONS = [
    ("DE", "Germany (demo)", "Europe/Berlin"),
    ("FR", "France (demo)", "Europe/Paris"),
    ("UK", "United Kingdom (demo)", "Europe/London"),
    ("ES", "Spain (demo)", "Europe/Madrid"),
]
STORES = {
    "DE": ["Berlin Mitte", "Berlin Spandau", "Hamburg Altona", "Munich Schwabing", "Cologne Ehrenfeld"],
    "FR": ["Paris Bastille", "Paris La Defense", "Lyon Part-Dieu", "Lille Centre", "Bordeaux Chartrons"],
    "UK": ["London Camden", "Manchester Piccadilly", "Leeds Trinity", "Bristol Cabot"],
    "ES": ["Madrid Sol", "Barcelona Gracia", "Valencia Ruzafa", "Seville Triana"],
}
DC = "DC01"
WEB = "WEB01"

# Pilot stores went live on the target POS four weeks ago (before that the
# legacy POS fed them); DE003 is cutting over now and is fed by both POS
# systems (coexistence).
PILOT = ("DE001", "DE002", "FR001")
PILOT_LIVE_DAYS = 28
CUTOVER_STORE = "DE003"

# code, name, kind, generation, push interval (s), expected interval (s), latency target (s)
SOURCES = [
    ("POS-LEGACY-EU", "Legacy POS, Europe (demo)", "pos", "legacy", 900, 3600, 1800),
    ("POS-NEXT", "Target POS (demo)", "pos", "target", 60, 900, 300),
    ("ECOM", "Ecommerce platform (demo)", "ecom", "target", 60, 900, 120),
    ("WMS", "Warehouse management (demo)", "wms", "target", 300, 1800, 600),
    ("ERP", "ERP (demo)", "erp", "target", 3600, 86400, 3600),
]

# What the tills send, in the stores they run in (see source_lanes).
TILL_TYPES = ["sale", "return", "disposition", "write_off", "damage", "adjustment", "cycle_count", "transfer_in"]

# category -> (products, sizes, unit cost range, case unit)
CATEGORIES = {
    "Grocery": (["Fusilli", "Basmati rice", "Olive oil", "Tomato passata", "Oat flakes", "Coffee beans"],
                ["250 g", "500 g", "1 kg"], (0.8, 9.0), "CS12"),
    "Beverages": (["Sparkling water", "Orange juice", "Cola", "Iced tea", "Lager"],
                  ["330 ml", "1 l", "1.5 l"], (0.3, 2.5), "CS24"),
    "Household": (["Dish soap", "Laundry liquid", "Kitchen roll", "Bin bags"],
                  ["small", "large", "value pack"], (1.0, 8.0), "CS12"),
    "Personal care": (["Shampoo", "Toothpaste", "Shower gel", "Deodorant"],
                      ["50 ml", "250 ml", "400 ml"], (0.9, 6.0), "CS12"),
    "Apparel": (["T-shirt", "Socks 3-pack", "Hoodie", "Rain jacket"],
                ["S", "M", "L", "XL"], (3.0, 35.0), "CS6"),
    "Electronics": (["USB-C cable", "Earbuds", "Power bank", "LED bulb"],
                    ["basic", "plus", "pro"], (2.0, 40.0), "CS6"),
}


def upsert_regions(report):
    """{code: Region} for the demo regions."""
    regions = {}
    for code, name, _tz in REGIONS:
        regions[code], created = Region.objects.get_or_create(code=code, defaults={"name": name})
        report.count("regions", created)
    return regions


def upsert_locations(regions, now, report):
    """{code: Location}; stores first, then the DC and the ecommerce node."""
    today = timezone.localdate(now)
    rows = []
    for region_code, _name, tz in REGIONS:
        for n, city in enumerate(STORES[region_code], 1):
            code = f"{region_code}{n:03d}"
            if code in PILOT:
                go_live = today - timedelta(days=PILOT_LIVE_DAYS)
            elif code == CUTOVER_STORE:
                go_live = today - timedelta(days=3)
            else:
                go_live = today + timedelta(days=30 if region_code in ("DE", "FR") else 60)
            fmt = "Express" if n % 3 == 0 else "Supermarket"
            rows.append((code, city, Location.Kind.STORE, region_code, tz, fmt, go_live))
    rows.append((DC, "Central DC Kassel", Location.Kind.DC, "DE", "Europe/Berlin", "DC", None))
    rows.append((WEB, "Online fulfilment", Location.Kind.ECOMMERCE, "DE", "Europe/Berlin", "Online", None))
    locations = {}
    for code, name, kind, region_code, tz, fmt, go_live in rows:
        locations[code], created = Location.objects.get_or_create(
            code=code,
            defaults={
                "name": name, "kind": kind, "region": regions[region_code], "timezone": tz,
                "banner": BANNER, "format": fmt, "go_live_date": go_live,
            },
        )
        report.count("locations", created)
    return locations


def upsert_sources(locations, report):
    """{code: SourceSystem} for the demo sources, each given its lane (as it is now)."""
    sources = {}
    for code, name, kind, generation, _push, interval, latency in SOURCES:
        sources[code], created = SourceSystem.objects.get_or_create(
            code=code,
            defaults={
                "name": name, "kind": kind, "generation": generation,
                "expected_interval_s": interval, "latency_target_s": latency,
            },
        )
        report.count("source systems", created)
    set_lanes(sources, locations)
    return sources


def set_lanes(sources, locations, before_pilot_cutover=False):
    """Give each demo source its lane (source_lanes)."""
    for code, (stores, event_types, snapshot_kinds) in source_lanes(locations, before_pilot_cutover).items():
        set_lane(sources[code], locations=stores, event_types=event_types, snapshot_kinds=snapshot_kinds)


def source_lanes(locations, before_pilot_cutover=False):
    """{source: (location codes, event types, snapshot kinds)}: what each demo
    source sends. The cutover store is in both POS lanes; the legacy POS fed
    the pilot stores too until their cutover (`before_pilot_cutover`: the
    lanes the history before it is posted with); the ecommerce platform
    serves click & collect at the pilot stores; the ERP (which loads master
    data and PO lines by its kind) counts opening balances everywhere, so its
    lane has no locations."""
    stores = [code for code, location in locations.items() if location.kind == Location.Kind.STORE]
    return {
        "POS-LEGACY-EU": ([code for code in stores if before_pilot_cutover or code not in PILOT], TILL_TYPES,
                          ["on_hand"]),
        "POS-NEXT": ([*PILOT, CUTOVER_STORE], TILL_TYPES, ["on_hand"]),
        "ECOM": (
            [WEB, *PILOT],
            ["reserve", "release", "pick", "pack", "stage", "fulfil", "return", "disposition", "write_off",
             "transfer_in"],
            ["on_hand"],
        ),
        "WMS": ([DC], ["receipt", "transfer_out", "damage", "write_off", "disposition", "cycle_count"], ["on_hand"]),
        "ERP": ([], ["cycle_count", "adjustment", "sales_posting"], ["valuation"]),
    }


def ean13(body12):
    """The 13-digit EAN for a 12-digit body: body plus its check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def upsert_skus(rng, dims, report):
    """[(code, case unit, case factor, id)] after upserting SKUs, barcodes and conversions.

    Barcodes use the 200-299 prefix GS1 reserves for in-store numbering, so
    they can never be a real product's."""
    categories = list(CATEGORIES.items())
    specs = []
    for i in range(dims.skus):
        category, (products, sizes, (low, high), case_unit) = categories[i % len(categories)]
        description = f"{rng.choice(products)} {rng.choice(sizes)}"
        cost = Decimal(str(round(rng.uniform(low, high), 2)))
        code = f"SKU{10001 + i}"
        barcodes = [ean13(f"200{10001 + i:09d}")]
        if i % 5 == 0:  # a second barcode (e.g. a promotional pack)
            barcodes.append(ean13(f"201{10001 + i:09d}"))
        specs.append((code, f"{description} ({category})", category, cost, case_unit, barcodes))

    existing = set(SKU.objects.filter(code__in=[s[0] for s in specs]).values_list("code", flat=True))
    SKU.objects.bulk_create(
        [
            SKU(code=code, description=description, category=category, unit_cost=cost, base_unit="EA")
            for code, description, category, cost, _unit, _barcodes in specs
            if code not in existing
        ]
    )
    report.count("SKUs", len(specs) - len(existing))
    ids = dict(SKU.objects.filter(code__in=[s[0] for s in specs]).values_list("code", "id"))

    known_barcodes = set(Barcode.objects.filter(sku_id__in=ids.values()).values_list("code", flat=True))
    new_barcodes = [
        Barcode(code=barcode, sku_id=ids[code])
        for code, *_rest, barcodes in specs
        for barcode in barcodes
        if barcode not in known_barcodes
    ]
    Barcode.objects.bulk_create(new_barcodes)
    report.count("barcodes", len(new_barcodes))

    known_units = set(UnitConversion.objects.filter(sku_id__in=ids.values()).values_list("sku_id", "unit"))
    new_units = []
    out = []
    for code, _description, _category, _cost, case_unit, _barcodes in specs:
        factor = int(case_unit[2:])
        out.append((code, case_unit, factor, ids[code]))
        if (ids[code], case_unit) not in known_units:
            new_units.append(UnitConversion(sku_id=ids[code], unit=case_unit, factor=factor))
    UnitConversion.objects.bulk_create(new_units)
    report.count("unit conversions", len(new_units))
    return out


def upsert_po_lines(po_lines, report):
    created = len(po_lines) - PurchaseOrderLine.objects.filter(
        po_number__in={p.po_number for p in po_lines}
    ).count()
    PurchaseOrderLine.objects.bulk_create(
        po_lines,
        update_conflicts=True,
        unique_fields=["po_number", "line"],
        update_fields=["location", "sku", "quantity_ordered", "status", "expected_at"],
    )
    report.count("PO lines", created)

