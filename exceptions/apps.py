from django.apps import AppConfig


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    verbose_name = "Exception cases"

    def ready(self):
        """Register the app's screens, its metrics and its rollups."""
        from controltower.models import Role
        from controltower.navigation import register
        from controltower.permissions import APPROVERS, CASE_READERS, VARIANCE_READERS

        from . import metrics
        from .rollups import register_rollups

        register("cases", "Cases", roles=CASE_READERS, order=10, labels={Role.STORE_MANAGER: "My cases"})
        register("variances", "Variances", roles=VARIANCE_READERS, order=40, main_for={Role.PLANNER})
        register("approvals", "Approvals", roles=APPROVERS, order=50, main_for={Role.FINANCE})
        metrics.register_metrics()
        register_rollups()
