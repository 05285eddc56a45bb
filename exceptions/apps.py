from django.apps import AppConfig
from django.apps import apps as global_apps


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    verbose_name = "Exception cases"

    def ready(self):
        from django.db.models.signals import post_migrate

        from controltower.celery import app as celery_app
        from controltower.models import Role
        from controltower.navigation import register
        from controltower.permissions import APPROVERS, CASE_READERS, VARIANCE_READERS

        register("cases", "Cases", roles=CASE_READERS, order=10, labels={Role.STORE_MANAGER: "My cases"})
        register("variances", "Variances", roles=VARIANCE_READERS, order=40, main_for={Role.PLANNER})
        register("approvals", "Approvals", roles=APPROVERS, order=50, main_for={Role.FINANCE})
        register_metrics()

        from .rollups import register_rollups

        register_rollups()

        # Its modules register the detectors: the registry is complete from here on.
        from . import reconciliation  # noqa: F401
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


def register_metrics():
    """The exceptions metrics: each defined once, in the words every screen shows."""
    from controltower.metrics import HIGHER, LOWER, Unit, register

    from . import metrics

    register(
        "open_sev1_cases", "Open severity-1 cases", unit=Unit.COUNT, better=LOWER,
        compute_many=metrics.open_sev1_cases,
        target="0", amber="2", scopes=("locations",), live=True,
        definition="Severity-1 cases active (open to waiting) at the locations at the end of the window. "
                   "Cases of no location (feeds, the estate) count only for the whole estate.",
    )
    register(
        "open_sev2_cases", "Open severity-2 cases", unit=Unit.COUNT, better=LOWER,
        compute_many=metrics.open_sev2_cases,
        target="5", amber="20", scopes=("locations",), live=True,
        definition="Severity-2 cases active (open to waiting) at the locations at the end of the window. "
                   "Cases of no location (feeds, the estate) count only for the whole estate.",
    )
    register(
        "sla_attainment", "Case SLA attainment", unit=Unit.PERCENT, better=HIGHER,
        compute_many=metrics.sla_attainment,
        target="95", amber="85", scopes=("locations",), rollup_days=7,  # a store resolves a few a week
        definition="Cases resolved in the window by their resolution due time, over the cases resolved in "
                   "the window that had a resolution target.",
    )
    register(
        "case_aging_p90", "Case aging p90", unit=Unit.SECONDS, better=LOWER,
        compute_many=metrics.case_aging_p90,
        target="172800", amber="432000", scopes=("locations",), live=True,
        definition="90th percentile of the age of the cases active at the end of the window, from when "
                   "each was opened.",
    )
    register(
        "case_aging_p50", "Case aging p50", unit=Unit.SECONDS, better=LOWER,
        compute_many=metrics.case_aging_p50,
        target="86400", amber="259200", scopes=("locations",), live=True,
        definition="Median (50th percentile) of the age of the cases active at the end of the window, from "
                   "when each was opened.",
    )
    register(
        "days_since_last_sev1", "Days since the last severity-1 case", unit=Unit.DAYS, better=HIGHER,
        compute_many=metrics.days_since_last_sev1,
        target="7", amber="2", scopes=("locations",),
        definition="Days from the opening of the latest severity-1 case at the locations to the end of the "
                   "window; where there never was one, from the first case recorded there (the days without "
                   "one so far); no data before any case.",
    )
    register(
        "duplicate_transaction_rate", "Duplicate transaction rate", unit=Unit.PERCENT, better=LOWER,
        compute=metrics.duplicate_transaction_rate,
        target="0.1", amber="0.5", scopes=("sources",),
        definition="Duplicates acknowledged at ingest plus confirmed suspected duplicates (reversed as "
                   "duplicates), over events received from the sources, over the whole UTC days the "
                   "window touches.",
    )
    register(
        "variance_value_at_risk", "Snapshot variance value at risk", unit=Unit.VALUE, better=LOWER,
        compute_many=metrics.variance_value_at_risk,
        target="1000", amber="10000", scopes=("locations",), live=True,
        definition="The quantity differences of the snapshot mismatches active (open to waiting) at the "
                   "locations at the end of the window, valued at each SKU's unit cost, in the currency of "
                   "the item master. Financial variances (the ERP's values) are not in it.",
    )
    register(
        "stale_feeds", "Stale feeds", unit=Unit.COUNT, better=LOWER,
        compute=metrics.stale_feeds,
        target="0", amber="1", scopes=("sources",), live=True,
        definition="Active sources silent longer than their expected feed interval at the end of the "
                   "window (tills: while their stores trade), or that never sent anything; a source with "
                   "no expected interval is never stale.",
    )
