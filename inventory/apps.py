from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self):
        """Register the app's screens, its metrics, its record lists and its rollups."""
        from controltower.models import Role
        from controltower.navigation import register
        from controltower.permissions import FEED_WATCHERS, JOURNEY_FOLLOWERS, SALES_CHECK_READERS

        from . import journey_kpis, metrics, readiness_metrics
        from .records import register_records
        from .rollups import register_rollups

        register("integration-health", "Integration health", roles=FEED_WATCHERS, order=60,
                 main_for={Role.INTEGRATION_ADMIN})
        register("journeys", "Journeys", roles=JOURNEY_FOLLOWERS, order=45)
        register("store-day-sales", "Store-day sales", roles=SALES_CHECK_READERS, order=62)
        metrics.register_metrics()
        journey_kpis.register_metrics()
        readiness_metrics.register_metrics()
        register_records()
        register_rollups()
