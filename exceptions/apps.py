from django.apps import AppConfig


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    verbose_name = "Exception cases"

    def ready(self):
        from controltower.models import Role
        from controltower.navigation import register

        # The roles whose teams are routed cases and work them in the queue.
        case_workers = {
            Role.STORE_MANAGER, Role.REGIONAL_OPS, Role.PLANNER, Role.FINANCE, Role.INTEGRATION_ADMIN, Role.ADMIN,
        }
        register("cases", "Cases", roles=case_workers, order=10, labels={Role.STORE_MANAGER: "My cases"})
        register("variances", "Variances", roles={Role.PLANNER, Role.FINANCE, Role.ADMIN}, order=40)
        register("approvals", "Approvals", roles={Role.FINANCE, Role.ADMIN}, order=50)
