from django.apps import AppConfig
from django.apps import apps as global_apps


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    verbose_name = "Exception cases"

    def ready(self):
        """Register the app's screens, its metrics, its rollups and its detectors."""
        from django.db.models.signals import post_migrate

        from controltower.celery import app as celery_app
        from controltower.models import Role
        from controltower.navigation import register, register_header_action
        from controltower.permissions import APPROVERS, CASE_READERS, VARIANCE_READERS

        from controltower.audit import track

        from . import metrics
        from .models import CorrectiveAdjustment, RoutingRule, SLAPolicy, Team
        from .rollups import register_rollups

        # Adjustments (asked, approved, rejected) and who gets which cases how fast: privileged.
        for model in (CorrectiveAdjustment, RoutingRule, SLAPolicy, Team):
            track(model)
        # Every person, from every screen: an issue becomes a case (exceptions.services.reported).
        register_header_action("report-issue", "Report an issue")
        register("cases", "Cases", roles=CASE_READERS, order=10, labels={Role.STORE_MANAGER: "My cases"})
        register("variances", "Variances", roles=VARIANCE_READERS, order=40, main_for={Role.PLANNER})
        register("approvals", "Approvals", roles=APPROVERS, order=50, main_for={Role.FINANCE})
        metrics.register_metrics()
        register_rollups()

        # Its modules register the detectors, and the reported issues' kind: the registry is
        # complete from here on.
        from . import reconciliation  # noqa: F401
        from .services import reported  # noqa: F401
        from .detectors import beat_schedule

        # Beat's entries of the detectors join settings.CELERY_BEAT_SCHEDULE's:
        # django-celery-beat's DatabaseScheduler writes app.conf.beat_schedule
        # to its tables when beat starts, after this.
        celery_app.conf.beat_schedule = {**celery_app.conf.beat_schedule, **beat_schedule()}
        post_migrate.connect(install_detector_defaults, sender=self)


def install_detector_defaults(sender, using, apps=global_apps, **kwargs):
    """The default routing and SLA of a kind registered since the last migrate
    (a flush sends the signal too, without the migration state's apps)."""
    from .detectors import install_defaults

    try:
        apps.get_model("exceptions", "InstalledKind")
    except LookupError:  # migrated back before the table
        return
    install_defaults(apps, using)
