from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self):
        from controltower.models import Role
        from controltower.navigation import register
        from controltower.permissions import FEED_WATCHERS, JOURNEY_FOLLOWERS

        register("integration-health", "Integration health", roles=FEED_WATCHERS, order=60,
                 main_for={Role.INTEGRATION_ADMIN})
        register("journeys", "Journeys", roles=JOURNEY_FOLLOWERS, order=45)
        register_metrics()

        from . import journey_kpis
        from .records import register_records

        register_records()
        from .rollups import register_rollups

        register_rollups()
        journey_kpis.register()


def register_metrics():
    """The inventory metrics: each defined once, in the words every screen shows."""
    from controltower.metrics import HIGHER, LOWER, Unit, register

    from . import metrics

    register(
        "item_master_completeness", "Item master completeness", unit=Unit.PERCENT, better=HIGHER,
        compute=metrics.item_master_completeness,
        target="99", amber="95", scopes=(),
        definition="Active SKUs with a unit cost above zero, a category and a base unit, and no unit "
                   "conversion the item master would refuse, over all active SKUs. The whole item master "
                   "as it stands: it ignores the locations and the window.",
    )
    register(
        "duplicate_barcodes", "Duplicate barcodes", unit=Unit.COUNT, better=LOWER,
        compute=metrics.duplicate_barcodes,
        target="0", amber="5", scopes=(),
        definition="Barcodes an item master load tried to give to a second SKU in the window (refused, "
                   "as the tower holds a barcode on one SKU only). The whole item master: it ignores the "
                   "locations.",
    )
    register(
        "event_acceptance_rate", "Event acceptance rate", unit=Unit.PERCENT, better=HIGHER,
        compute=metrics.event_acceptance_rate,
        target="99.5", amber="98", scopes=("sources",),
        definition="Events taken into the ledger over events received from the sources (taken, rejected "
                   "or refused as a conflict) in the window. Resent duplicates are left out; a rejection "
                   "replayed after a master-data fix counts as the rejection it was.",
    )
    register(
        "sync_latency_p50", "Sync latency p50", unit=Unit.SECONDS, better=LOWER,
        compute_many=metrics.sync_latency_p50_many,
        target="60", amber="300", scopes=("locations", "sources"),
        definition="Median (50th percentile) of received time minus occurred time of the events the ledger "
                   "took from the sources in the window (at the given locations, if any). Also shown: the same "
                   "percentile per event type.",
    )
    register(
        "sync_latency_p95", "Sync latency p95", unit=Unit.SECONDS, better=LOWER,
        compute_many=metrics.sync_latency_p95_many,
        target="300", amber="900", scopes=("locations", "sources"),
        definition="95th percentile of received time minus occurred time of the events the ledger took "
                   "from the sources in the window (at the given locations, if any). Also shown: the same "
                   "percentile per event type.",
    )
    register(
        "inventory_accuracy_exact", "Inventory record accuracy", unit=Unit.PERCENT, better=HIGHER,
        compute_many=metrics.inventory_accuracy_exact_many,
        target="95", amber="80", scopes=("locations",),
        definition="Counted location x SKU pairs whose latest count in the window equals the record as of "
                   "the count time, over all counted pairs (exact match; an over and an under never net).",
    )
    register(
        "inventory_accuracy_tolerance", "Inventory record accuracy within tolerance", unit=Unit.PERCENT,
        better=HIGHER, compute_many=metrics.inventory_accuracy_tolerance_many,
 target="98", amber="90", scopes=("locations",),
        definition="Counted location x SKU pairs whose latest count in the window is within the location "
                   "kind's count tolerance of the record, over all counted pairs.",
    )
    register(
        "manual_adjustment_volume", "Manual adjustment volume", unit=Unit.COUNT, better=LOWER,
        compute_many=metrics.manual_adjustment_volume_many,
        target="10", amber="25", scopes=("locations",),
        definition="Manual stock adjustments (each with its reason code, from a source or posted for a case) "
                   "that occurred at the locations in the window; cycle counts are not adjustments. Also "
                   "shown: their units and value at cost, write-ups and write-downs added, never netted.",
    )
    register(
        "manual_adjustment_value", "Manual adjustment value", unit=Unit.VALUE, better=LOWER,
        compute_many=metrics.manual_adjustment_value_many,
        target="500", amber="1500", scopes=("locations",),
        definition="Value at the SKU's unit cost of the manual stock adjustments that occurred at the "
                   "locations in the window (cycle counts excluded); a write-up and a write-down both add, "
                   "never net.",
    )
    register(
        "transfer_lead_time", "Transfer lead time", unit=Unit.SECONDS, better=LOWER,
        compute_many=metrics.transfer_lead_time_many,
        target="129600", amber="259200", scopes=("locations",), rollup_days=7,  # a store receives a few a week
        definition="Median of receipt time minus shipping time (the transfer in minus the transfer out) of the "
                   "transfer lines received at the locations in the window. Also shown: the transfers to "
                   "them still in transit at the end of the window, by age.",
    )
