from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self):
        from controltower.models import Role
        from controltower.navigation import register

        register("integration-health", "Integration health", roles={Role.INTEGRATION_ADMIN, Role.ADMIN}, order=60)
