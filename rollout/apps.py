from django.apps import AppConfig


class RolloutConfig(AppConfig):
    name = "rollout"

    def ready(self):
        """Register the app's screens, its metrics, its record lists and its rollups."""
        from controltower.models import Role
        from controltower.navigation import register
        from controltower.permissions import HYPERCARE_WATCHERS, ROLLOUT_FOLLOWERS

        from controltower.audit import track

        from . import metrics
        from .models import BlackoutWindow, Criterion, GateTemplate, GoNoGo, SignOff, Waiver, Wave, WaveLocation
        from .rollups import register_rollups
        from .training import register_records

        # Governance: waivers, sign-offs, go/no-go, gate and criterion edits, waves (cutover dates,
        # their stores), blackouts.
        for model in (Waiver, SignOff, GoNoGo, GateTemplate, Criterion, Wave, WaveLocation, BlackoutWindow):
            track(model)

        register("rollout", "Rollout", roles=ROLLOUT_FOLLOWERS, order=70, main_for={Role.PMO})
        register("hypercare", "Hypercare", roles=HYPERCARE_WATCHERS, order=80, main_for={Role.EXECUTIVE})
        metrics.register_metrics()
        register_records()
        register_rollups()
