from django.apps import AppConfig


class WebConfig(AppConfig):
    """The screens that compose several apps: home, My stores, the store
    page and the region board. Apart from the kernel: these import the domain apps."""

    name = "controltower.web"
    label = "web"
    verbose_name = "Control Tower screens"

    def ready(self):
        from controltower.models import Role
        from controltower.navigation import EVERY_ROLE, EVERYONE, register, register_badges
        from controltower.permissions import AUDIT_READERS, CASE_WORKERS, REGION_BOARD_READERS

        register("home", "Home", roles=EVERYONE, order=0)
        # The stores in scope with their open cases and negative positions: for whoever works cases.
        register("stores", "Stores", roles=CASE_WORKERS, order=20,
                 labels={Role.STORE_MANAGER: "My stores"})
        register("region-board", "Region board", roles=REGION_BOARD_READERS, order=30,
                 main_for={Role.REGIONAL_OPS})
        register("audit", "Audit trail", roles=AUDIT_READERS, order=95)
        # Each person's alert channels and the alerts sent to them (controltower.alerts): last in every menu.
        register("alerts", "Alerts", roles=EVERY_ROLE, order=98)
        # Home itself is the landing of the store manager, the admin and a person with no role.

        from .mywork import badges

        register_badges(badges)
