"""The demo retailer's rollout: one program, a live pilot wave and two waves
in preparation, with training records, measured by the real gate services.

- Pilot (DE001, DE002, FR001): cut over four weeks ago (the stores' go-live
  date); it passed every gate up to the cutover (sign-offs, the training
  criteria measured from its training records, the executive's "go"), and
  is now in hypercare, whose exit waits for its sign-offs.
- Germany (DE003-DE005): at the training gate, red: too few people have
  completed every required module, though more do every day (the board's
  forecast says when it turns green).
- France and Spain (FR002-FR005, ES001-ES004): at the training gate, whose
  proficiency is below the threshold and waived by the PMO (asked by the
  PMO, approved by the admin), so the gate is amber.

Every value comes from the training records made here, measured through
controltower.metrics by rollout.evaluation over the last 10 days (one run a
day), so the trend charts and the forecast have evidence. Demo names say
"(demo)". Run once: a database that already has the demo program keeps it as
it is (its dates are relative to the first load).
"""
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from controltower.models import Role
from rollout import gates
from rollout.criteria import decide, edit_criterion
from rollout.evaluation import evaluate_wave
from rollout.models import (
    BlackoutWindow,
    Criterion,
    GateKind,
    Program,
    TrainingModule,
    Wave,
    WaveLocation,
)
from rollout.playbook import apply_playbook
from rollout.schedule import schedule_cutover
from rollout.training import record_training

from .masterdata import PILOT, PILOT_LIVE_DAYS

PROGRAM = "ERP rollout (demo)"

# The demo's PMO eased the playbook's training thresholds for its first
# waves (asked by the PMO, approved by the admin: four eyes), on the record.
EASED = {"training_completion": Decimal("90"), "training_proficiency": Decimal("70")}
EASED_REASON = "First waves: refresher sessions follow in hypercare (demo)."

MODULES = [
    ("POS-BASICS", "Selling and returns on the new tills (demo)", True),
    ("STOCK-COUNT", "Cycle counts and receiving in the new system (demo)", True),
    ("CLICK-COLLECT", "Click and collect at the store (demo)", False),
]
PEOPLE_PER_STORE = 8

# name, kind, stores, planned cutover (days from now)
WAVES = [
    ("Pilot (demo)", Wave.Kind.PILOT, PILOT, None),
    ("Germany (demo)", Wave.Kind.REGIONAL, ("DE003", "DE004", "DE005"), 25),
    ("France and Spain (demo)", Wave.Kind.REGIONAL,
     ("FR002", "FR003", "FR004", "FR005", "ES001", "ES002", "ES003", "ES004"), 52),
]
HISTORY_DAYS = 10  # daily evaluations of the waves in preparation
WAIVED_FOR = timedelta(days=90)  # the waivers of the gates the demo's waves passed


def load_rollout(locations, now, report):
    """Build the demo program once (see the module docstring)."""
    if Program.objects.filter(name=PROGRAM).exists():
        return
    program = Program.objects.create(name=PROGRAM, description="The demo retailer's move to the new ERP and POS.")
    apply_playbook(program)
    today = now.date()
    BlackoutWindow.objects.create(name="Peak trading (demo)", program=program,
                                  starts_on=today + timedelta(days=35), ends_on=today + timedelta(days=45))
    BlackoutWindow.objects.create(name="Spring holidays (demo)", program=program, region=locations["ES001"].region,
                                  starts_on=today + timedelta(days=58), ends_on=today + timedelta(days=66))
    people = demo_people()
    ease_training(program, people, at=now - timedelta(days=70))
    waves = []
    for order, (name, kind, stores, days) in enumerate(WAVES, start=1):
        wave = Wave.objects.create(program=program, name=name, kind=kind, order=order)
        for code in stores:
            WaveLocation.objects.create(wave=wave, location=locations[code])
        if days is not None:
            schedule_cutover(wave, today + timedelta(days=days), user=people[Role.PMO])
        waves.append(wave)
    pilot, germany, south = waves
    _train(locations, now)

    # The pilot: every gate up to the cutover, one a week, then live.
    cutover = now - timedelta(days=PILOT_LIVE_DAYS)
    walk(pilot, people, start=cutover - timedelta(days=35), step=timedelta(days=6), through=GateKind.CUTOVER)
    Wave.objects.filter(pk=pilot.pk).update(planned_cutover=cutover.date(), actual_cutover=cutover.date())
    evaluate_wave(pilot, now)  # its hypercare exit, from the demo's cases and counts
    # The others passed the early gates three weeks ago; training is measured daily since.
    history = now - timedelta(days=HISTORY_DAYS)
    for wave in (germany, south):
        walk(wave, people, start=now - timedelta(days=21), step=timedelta(days=3),
              through=GateKind.INTEGRATION_PERFORMANCE)
    training = GateKind.TRAINING_COMPLETE
    for day in range(HISTORY_DAYS + 1):
        at = history + timedelta(days=day)
        if day == HISTORY_DAYS - 3:
            # It lapses a week before the cutover: the board flags it.
            _waive(south, training, "training_proficiency", people, at,
                   expires=south.planned_cutover - timedelta(days=7))
        for wave in (germany, south):
            evaluate_wave(wave, at)
    report.count("rollout waves", len(waves))


def demo_people():
    """{role: user} of the demo logins who sign off, decide and waive."""
    return {user.profile.role: user for user in get_user_model().objects.filter(
        username__in=["admin", "pmo", "finance", "integration", "ops.germany", "executive"]
    ).select_related("profile")}


def walk(wave, people, *, start, step, through):
    """Evaluate and sign off the wave's gates in order, one per `step` from
    `start`, up to and with the gate of kind `through`."""
    Wave.objects.filter(pk=wave.pk).update(started_at=start)
    wave.refresh_from_db()
    at = start
    for gate in wave.program.gate_templates.order_by("order"):
        evaluate_wave(wave, at)
        current = wave.gates.select_related("template", "wave").get(template=gate)
        _waive_short(current, people, at)
        for role in gate.required_roles:
            gates.sign_off(current, user=people[role], role=role, comment="Checked for the demo.",
                           at=at + timedelta(hours=1))
        if gate.kind == GateKind.CUTOVER:
            gates.record_go_no_go(current, user=people[Role.EXECUTIVE], decision="go",
                                  comment="Pilot ready: go.", at=at + timedelta(hours=2))
        if gate.kind == through:
            return
        at += step


def ease_training(program, people, *, at):
    """The PMO's eased training thresholds (EASED), approved by the admin."""
    for criterion in Criterion.objects.filter(template__program=program, template__kind=GateKind.TRAINING_COMPLETE,
                                              metric__in=EASED):
        change = edit_criterion(criterion, {"threshold": EASED[criterion.metric]}, user=people[Role.PMO],
                                reason=EASED_REASON, at=at)
        decide(change, user=people[Role.ADMIN], approve=True, at=at + timedelta(hours=2))


def _waive_short(gate, people, at):
    """Waive, on the record, each criterion of `gate` the demo's history
    cannot meet at `at` (before its feeds reached the tower there is no
    data; the retailer's realistic counts and cases miss the thresholds),
    so the earlier gates pass as the story says, amber on the board."""
    expires = timezone.now() + WAIVED_FOR
    for evaluation in gate.evaluations.filter(at=at, passed=False).select_related("criterion"):
        reason = ("No data in the tower yet: checked by hand in the stores (demo)." if evaluation.value is None
                  else "Accepted for this wave: the stores fix it by the next gate (demo).")
        waiver = gates.request_waiver(gate, evaluation.criterion, user=people[Role.PMO], reason=reason,
                                      expires_at=expires)
        gates.approve_waiver(waiver, user=people[Role.ADMIN], at=at)


def _waive(wave, kind, metric, people, at, *, expires):
    gate = wave.gates.select_related("template").get(template__kind=kind)
    criterion = gate.template.criteria.get(metric=metric)
    until = timezone.make_aware(datetime.combine(expires, time(18)))
    waiver = gates.request_waiver(gate, criterion, user=people[Role.PMO], expires_at=until,
                                  reason="Refresher sessions are booked for the week before cutover.")
    gates.approve_waiver(waiver, user=people[Role.ADMIN], at=at)


def _train(locations, now):
    """Training records per store: the pilot trained two months ago; Germany
    completes its second module one person at a time over the last 10 days
    (62% complete now); France and Spain are complete but less proficient."""
    for code, name, required in MODULES:
        TrainingModule.objects.get_or_create(code=code, defaults={"name": name, "required": required})
    rows = []
    _, _, pilot, _ = WAVES[0]
    _, _, germany, _ = WAVES[1]
    _, _, south, _ = WAVES[2]
    for code in pilot:
        for n in range(PEOPLE_PER_STORE):
            done = now - timedelta(days=60 - n)
            rows += _person(code, n, done, done + timedelta(days=1), proficiency=78 + n)
    for s, code in enumerate(germany):
        for n in range(PEOPLE_PER_STORE):
            person = s * PEOPLE_PER_STORE + n
            second = now - timedelta(days=HISTORY_DAYS) + timedelta(hours=16 * person) if person < 15 else None
            rows += _person(code, n, now - timedelta(days=14), second, proficiency=74 + n % 5)
    for code in south:
        for n in range(PEOPLE_PER_STORE):
            second = now - timedelta(days=12) if n < 7 or code.startswith("FR") else None
            rows += _person(code, n, now - timedelta(days=15), second, proficiency=60 + n % 8)
    report = record_training(rows)
    assert not report.refused, report.refused


def _person(store, n, first, second, *, proficiency):
    person = {"person_id": f"demo-{store}-{n + 1:02d}", "person_name": f"Associate {n + 1} of {store} (demo)",
              "location": store, "proficiency": proficiency}
    rows = [{**person, "module": "POS-BASICS", "completed_at": first.isoformat()}]
    if second is not None:
        rows.append({**person, "module": "STOCK-COUNT", "completed_at": second.isoformat()})
    return rows
