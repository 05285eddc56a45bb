from django.apps import AppConfig


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    verbose_name = "Exception cases"

    def ready(self):
        from controltower.models import Role
        from controltower.navigation import register
        from controltower.permissions import APPROVERS, CASE_WORKERS

        register("cases", "Cases", roles=CASE_WORKERS, order=10, labels={Role.STORE_MANAGER: "My cases"})
        register("variances", "Variances", roles={Role.PLANNER, Role.FINANCE, Role.ADMIN}, order=40)
        register("approvals", "Approvals", roles=APPROVERS, order=50)
