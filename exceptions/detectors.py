"""The detector registry: each case kind is declared once, by the
registration next to its finder (exceptions/reconciliation/<module>.py),
and everything that handles a kind reads it here: the reconciliation run
(exceptions.reconciliation and its runs), beat's tasks and schedule
(exceptions.reconciliation_tasks), `manage.py reconcile`, the case service
(how a person settles a case), the kind choices of the models and filters,
and the default routing and SLA a database gets (install_defaults, after
every migrate).

The registry is complete once the exceptions app is ready: its ready()
imports exceptions.reconciliation, whose modules register their kinds.
"""
from collections.abc import Callable
from dataclasses import dataclass, field

from controltower.env import env_int


@dataclass(frozen=True)
class Route:
    """A default routing rule of a kind: its cases of `severity` (None: any)
    go to the team whose code is `team`."""

    team: str
    severity: int | None = None
    priority: int = 100


@dataclass(frozen=True)
class Detector:
    key: str  # Case.kind as stored; at most 32 characters
    label: str  # what the screens call the kind
    # The findings, list[Finding]: find() if the kind is neither timed nor
    # incremental, find(now=...) if timed, find(now=..., since=...) if incremental.
    # None: a kind raised by people (RAISED_BY_PEOPLE), never run.
    find: Callable | None
    # How often beat runs it, in seconds; RECONCILE_<KEY>_EVERY_S overrides.
    every_s: int
    # Which open cases of the kind a run may resolve: clearable(now, since)
    # gives Case filter keywords; None (or no callable): all of them.
    clearable: Callable | None = None
    # Its findings depend on the time (an SLA passed, a window of days);
    # the others compare what the systems hold now.
    timed: bool = False
    # The model (ledger lines, rejections) whose rows after a watermark are
    # all a run needs to look at: exceptions.reconciliation.runs keeps the
    # id of the last row a run looked at. None: every run looks at everything.
    incremental: type | None = None
    # It compares two reads that must see one state of the database: on
    # PostgreSQL the run is one REPEATABLE READ transaction.
    one_snapshot: bool = False
    # Work the tower does once the cases are synced, which may clear some
    # (it releases expired holds): when it returns true, the kind is found
    # and synced again.
    afterwards: Callable | None = None
    # Findings about something that happened (two lines that look alike, a
    # key sent twice with different content) never clear by themselves: once
    # a person has resolved one, it stays resolved.
    settled_by_a_person: bool = False
    # Findings about one piece of evidence (a count, a snapshot), named by
    # this key of their details: a person's resolution stands while the
    # finding rests on the same evidence; new evidence still beyond
    # tolerance reopens the case.
    evidence: str = ""
    # The routing rules and SLA policies of the kind a database starts with
    # (install_defaults); without them, the kind follows the rules and
    # policies of any kind. sla: {severity: (response, resolution)} in minutes.
    routes: tuple[Route, ...] = ()
    sla: dict = field(default_factory=dict)

    def every(self):
        """Seconds between two runs on beat."""
        kind = self.key.upper()
        return env_int(f"RECONCILE_{kind}_EVERY_S", self.every_s)

    def beat_entry(self):
        """Its entry in beat's schedule; `expires` just under the interval,
        so runs do not pile up behind a slow one."""
        every = self.every()
        return {"task": f"reconcile.{self.key}", "schedule": every, "options": {"expires": every * 0.9}}


DETECTORS: dict[str, Detector] = {}
# Kinds raised by people (an issue reported from a store), not found by a run:
# declared the same way, with no finder and no schedule (find None), they are
# routed, timed, escalated and settled like every case, and never cleared by a run.
RAISED_BY_PEOPLE: dict[str, Detector] = {}


def register(detector):
    if detector.key in DETECTORS or detector.key in RAISED_BY_PEOPLE:
        raise ValueError(f"The case kind '{detector.key}' is registered already.")
    (DETECTORS if detector.find is not None else RAISED_BY_PEOPLE)[detector.key] = detector
    return detector


def declared():
    """Every case kind: the detectors' and those raised by people."""
    return {**DETECTORS, **RAISED_BY_PEOPLE}


def kind_choices():
    """The choices of every kind field (Case, routing rules, SLA policies, runs, filters)."""
    return [(detector.key, detector.label) for detector in declared().values()]


def beat_schedule():
    """Beat's entries of the reconciliation tasks, one per kind."""
    return {f"reconcile-{key}": detector.beat_entry() for key, detector in DETECTORS.items()}


def install_defaults(apps, using="default", kinds=None):
    """Put the default routing rules and SLA policies of `kinds` (default:
    the registered kinds this database has not had them for) and record the
    kinds: each kind's defaults are put once per database, so what admins
    change or delete afterwards stands. A rule whose team is not there (a
    database whose teams were changed) is left to its admins."""
    Team, RoutingRule, SLAPolicy, InstalledKind = (
        apps.get_model("exceptions", name) for name in ("Team", "RoutingRule", "SLAPolicy", "InstalledKind"))
    if kinds is None:
        installed = set(InstalledKind.objects.using(using).values_list("kind", flat=True))
        kinds = [key for key in declared() if key not in installed]
    for key in kinds:
        detector = declared()[key]
        for route in detector.routes:
            team = Team.objects.using(using).filter(code=route.team).first()
            if team is not None:
                RoutingRule.objects.using(using).get_or_create(
                    kind=key, severity=route.severity, region=None,
                    defaults={"team": team, "priority": route.priority})
        for severity, (response, resolution) in detector.sla.items():
            SLAPolicy.objects.using(using).get_or_create(
                kind=key, severity=severity,
                defaults={"response_minutes": response, "resolution_minutes": resolution})
        InstalledKind.objects.using(using).get_or_create(kind=key)
