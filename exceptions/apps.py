from django.apps import AppConfig


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    verbose_name = "Exception cases"

    def ready(self):
        """Register the app's screens, its metrics, its rollups and what it adds to inventory's screens."""
        from controltower import panels
        from controltower.models import Role
        from controltower.navigation import register
        from controltower.permissions import APPROVERS, CASE_READERS, VARIANCE_READERS

        from . import metrics
        from .rollups import register_rollups
        from .views.panels import journey_cases, reconciliation_runs

        register("cases", "Cases", roles=CASE_READERS, order=10, labels={Role.STORE_MANAGER: "My cases"})
        register("variances", "Variances", roles=VARIANCE_READERS, order=40, main_for={Role.PLANNER})
        register("approvals", "Approvals", roles=APPROVERS, order=50, main_for={Role.FINANCE})
        metrics.register_metrics()
        register_rollups()
        panels.register("integration-health", reconciliation_runs)
        panels.register("journey", journey_cases)
