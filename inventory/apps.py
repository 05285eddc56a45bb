from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self):
        """Register the app's screens, its metrics, its record lists and its rollups."""
        from controltower.models import Role
        from controltower.navigation import register
        from controltower.permissions import FEED_WATCHERS, JOURNEY_FOLLOWERS, SALES_CHECK_READERS

        from controltower.audit import track

        from . import journey_kpis, metrics, readiness_metrics
        from .models import (SKU, Barcode, ExternalId, Holiday, Location, MasterDataChange, SourceSystem, TradingHours,
                             UnitConversion)
        from .records import register_records
        from .rollups import register_rollups

        # Master data and the sources' settings: privileged changes (a source's last event is not one).
        # The imports write in bulk, past the ORM's signals, and record their own entries
        # (controltower.audit.Load); a fix on the integration screens is one such load, and its
        # MasterDataChange (what changed, for which rejection) is in the trail too.
        for model in (SKU, Barcode, UnitConversion, Location, ExternalId, TradingHours, Holiday, MasterDataChange):
            track(model)
        track(SourceSystem, exclude=("last_event_at", "webhook_secret"))
        register("integration-health", "Integration health", roles=FEED_WATCHERS, order=60,
                 main_for={Role.INTEGRATION_ADMIN})
        register("journeys", "Journeys", roles=JOURNEY_FOLLOWERS, order=45)
        register("store-day-sales", "Store-day sales", roles=SALES_CHECK_READERS, order=62)
        metrics.register_metrics()
        journey_kpis.register_metrics()
        readiness_metrics.register_metrics()
        register_records()
        register_rollups()
