from django.apps import AppConfig


class RolloutConfig(AppConfig):
    name = "rollout"

    def ready(self):
        from controltower.models import Role
        from controltower.navigation import register
        from controltower.permissions import ROLLOUT_FOLLOWERS

        register("rollout", "Rollout", roles=ROLLOUT_FOLLOWERS, order=70)
        register("hypercare", "Hypercare", roles={Role.EXECUTIVE, Role.ADMIN}, order=80)

        from .training import register_metrics

        register_metrics()
