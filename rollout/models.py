"""Rollout governance: a program's waves of stores pass ordered stage gates.

Program -> Wave (pilot, then regional waves) -> its locations (WaveLocation:
a location is in at most one wave of a program). Each program has ordered
GateTemplates with measured Criteria and the roles that must sign off; a
Gate is one template for one wave. The hourly evaluation (rollout.evaluation)
keeps each criterion's measured value as an Evaluation, so history shows how
readiness moved. A gate passes when every criterion passes or carries a live
Waiver and every required role has a SignOff that is not stale
(rollout.gates). The cutover gate ends in a GoNoGo decision. Cutovers are
never scheduled inside a BlackoutWindow (Wave.refuse_blackout). Training records
feed the training metrics (rollout.training).
"""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q

from controltower.models import Role
from controltower.scoping import ScopedQuerySet
from controltower.when import day


class ProgramQuerySet(ScopedQuerySet):
    def restrict_person(self, user):
        """A program is seen by who sees one of its waves (the whole estate sees every program)."""
        from controltower.scoping import ESTATE_ROLES, role_of

        if role_of(user) in ESTATE_ROLES:
            return self
        return self.filter(waves__in=Wave.objects.restrict_person(user)).distinct()


class Program(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProgramQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class WaveQuerySet(ScopedQuerySet):
    def restrict_person(self, user):
        """A wave is seen by who sees one of its locations (the whole estate
        sees every wave, even one without locations yet)."""
        from controltower.scoping import ESTATE_ROLES, role_of, visible_locations

        if role_of(user) in ESTATE_ROLES:
            return self
        return self.filter(members__location__in=visible_locations(user)).distinct()


class Wave(models.Model):
    class Kind(models.TextChoices):
        PILOT = "pilot"
        REGIONAL = "regional"

    class Status(models.TextChoices):
        PREPARING = "preparing"
        LIVE = "live", "Live (cut over)"
        CLOSED = "closed", "Closed (hypercare exited)"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="waves")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.REGIONAL)
    order = models.PositiveSmallIntegerField(help_text="The pilot first (1), then the regional waves.")
    planned_cutover = models.DateField(null=True, blank=True)
    actual_cutover = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREPARING)
    started_at = models.DateTimeField(auto_now_add=True)
    locations = models.ManyToManyField("inventory.Location", through="WaveLocation", related_name="waves", blank=True)

    objects = WaveQuerySet.as_manager()

    class Meta:
        ordering = ["program", "order"]
        constraints = [
            models.UniqueConstraint(fields=["program", "name"], name="wave_name_unique_in_program"),
            models.UniqueConstraint(fields=["program", "order"], name="wave_order_unique_in_program"),
        ]

    def blackouts(self):
        """The blackout windows that apply to the wave: its program's, and those
        of the regions of its locations (for any program, or for this one)."""
        applies = Q(program_id=self.program_id, region__isnull=True)
        if self.pk is not None:
            regions = self.locations.values("region_id")
            applies |= Q(region_id__in=regions) & (Q(program__isnull=True) | Q(program_id=self.program_id))
        return BlackoutWindow.objects.filter(applies).select_related("region")

    def refuse_blackout(self, on, *, field="planned_cutover"):
        """Raise a ValidationError naming the window when a cutover `on` that
        day would fall inside one: the one check the API, the admin (clean)
        and the screens (rollout.schedule) share."""
        from django.core.exceptions import ValidationError

        window = self.blackouts().filter(starts_on__lte=on, ends_on__gte=on).order_by("starts_on").first()
        if window is not None:
            where = f" for region {window.region.code}" if window.region_id else ""
            raise ValidationError({field: (
                f"A cutover on {day(on)} falls in the blackout window \"{window.name}\"{where} "
                f"({day(window.starts_on)} to {day(window.ends_on)}); choose another day."
            )})

    def clean(self):
        if self.planned_cutover and self.program_id:
            self.refuse_blackout(self.planned_cutover)

    def __str__(self):
        return f"{self.program} / {self.name}"


class WaveLocation(models.Model):
    """A location in a wave. `program` repeats the wave's program so the
    database holds the rule: a location is in at most one wave of a program."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="members")
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="wave_memberships")

    objects = ScopedQuerySet.as_manager()
    scope_fields = ("location",)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "location"], name="location_in_one_wave_per_program"),
        ]

    def clean(self):
        """The constraint in words (the admin's inline has no program field to validate it by)."""
        from django.core.exceptions import ValidationError

        if self.wave_id and self.location_id:
            taken = (WaveLocation.objects.filter(program_id=self.wave.program_id, location_id=self.location_id)
                     .exclude(pk=self.pk).select_related("wave").first())
            if taken and taken.wave_id != self.wave_id:
                raise ValidationError({"location": f"{self.location.code} is already in wave {taken.wave.name}."})

    def save(self, *args, **kwargs):
        self.program_id = self.wave.program_id
        super().save(*args, **kwargs)

    def __str__(self):
        return f"{self.wave}: {self.location.code}"


# Gates, and everything hanging off one, are seen by who sees the wave.
class GateQuerySet(ScopedQuerySet):
    wave_path = "wave"

    def restrict_person(self, user):
        return self.filter(**{f"{self.wave_path}__in": Wave.objects.restrict_person(user)})


class GateChildQuerySet(GateQuerySet):
    wave_path = "gate__wave"


class GateKind(models.TextChoices):
    """The stage gates, in the order a wave passes them."""

    DESIGN_COMPLETE = "design_complete", "Design complete"
    DATA_READINESS = "data_readiness", "Data readiness"
    INTEGRATION_PERFORMANCE = "integration_performance", "Integration performance"
    TRAINING_COMPLETE = "training_complete", "Training complete"
    STORE_READINESS = "store_readiness", "Store readiness"
    CUTOVER = "cutover", "Cutover"
    HYPERCARE_EXIT = "hypercare_exit", "Hypercare exit"


class GateTemplate(models.Model):
    """One stage gate of a program: its criteria and the roles that must sign off."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="gate_templates")
    kind = models.CharField(max_length=32, choices=GateKind.choices)
    order = models.PositiveSmallIntegerField()
    required_roles = models.JSONField(
        default=list, blank=True,
        help_text="The roles (controltower Role values) that must sign off, e.g. [\"finance\", \"integration_admin\"].",
    )
    # A gate with no measured criterion never shows green: it passes on its
    # sign-offs only when the PMO chose that, on the record (rollout.criteria).
    sign_off_only = models.BooleanField(
        default=False, help_text="Chosen by the PMO: the gate has no measured criterion and passes on sign-offs.")

    class Meta:
        ordering = ["program", "order"]
        constraints = [
            models.UniqueConstraint(fields=["program", "kind"], name="gate_kind_unique_in_program"),
            models.UniqueConstraint(fields=["program", "order"], name="gate_order_unique_in_program"),
        ]

    def clean(self):
        from django.core.exceptions import ValidationError

        unknown = sorted(set(self.required_roles or []) - set(Role.values))
        if unknown:
            raise ValidationError({"required_roles": f"Unknown roles: {', '.join(unknown)}; one of {', '.join(Role.values)}."})

    def __str__(self):
        return f"{self.program}: {self.order}. {self.get_kind_display()}"


class Criterion(models.Model):
    """A measured condition of a gate: metric (controltower.metrics key),
    comparator and threshold over a scope and a window. With a baseline the
    threshold is an offset added to the baseline value (e.g. ">= pilot + -1.0")."""

    class Comparator(models.TextChoices):
        GTE = ">=", "at least"
        GT = ">", "more than"
        LTE = "<=", "at most"
        LT = "<", "less than"
        EQ = "=", "equal to"

    class ScopeKind(models.TextChoices):
        LOCATIONS = "locations", "The wave's locations"
        SOURCES = "sources", "The sources feeding the wave's locations"

    class Baseline(models.TextChoices):
        NONE = "", "None: the threshold itself"
        PILOT = "pilot", "No worse than the pilot wave's value"
        BEFORE_CUTOVER = "before_cutover", "No worse than the wave's own value before cutover"

    template = models.ForeignKey(GateTemplate, on_delete=models.CASCADE, related_name="criteria")
    metric = models.CharField(max_length=64, help_text="A metric key of the registry (controltower.metrics).")
    comparator = models.CharField(max_length=2, choices=Comparator.choices)
    threshold = models.DecimalField(max_digits=14, decimal_places=4)
    scope = models.CharField(max_length=16, choices=ScopeKind.choices, default=ScopeKind.LOCATIONS)
    window_hours = models.PositiveIntegerField(default=24)
    steady_hours = models.PositiveIntegerField(
        null=True, blank=True, help_text="It must have passed continuously for this many hours."
    )
    baseline = models.CharField(max_length=16, choices=Baseline.choices, blank=True, default=Baseline.NONE)
    added_at = models.DateTimeField(null=True, blank=True, help_text="None: since the gate was set up.")
    retired_at = models.DateTimeField(null=True, blank=True, help_text="No longer part of the gate from then on.")

    class Meta:
        ordering = ["template", "id"]
        verbose_name_plural = "criteria"

    @staticmethod
    def part_of_gate_at(at, prefix=""):
        """The criteria that were part of their gate at `at` (a Q)."""
        return ((Q(**{f"{prefix}added_at__isnull": True}) | Q(**{f"{prefix}added_at__lte": at}))
                & (Q(**{f"{prefix}retired_at__isnull": True}) | Q(**{f"{prefix}retired_at__gt": at})))

    def clean(self):
        from django.core.exceptions import ValidationError

        from controltower import metrics

        try:
            metrics.get(self.metric)
        except ValueError as error:
            raise ValidationError({"metric": str(error)}) from None

    def __str__(self):
        """In words, by the metric's label: "Training completion at least 90"."""
        from controltower import metrics

        try:
            label = metrics.get(self.metric).label
        except ValueError:  # a metric no longer registered
            label = self.metric.replace("_", " ")
        threshold = Decimal(self.threshold).normalize()
        if self.baseline:
            of = "the pilot's value" if self.baseline == self.Baseline.PILOT else "the value before cutover"
            return f"{label} {self.get_comparator_display()} {of} {threshold:+f}"
        return f"{label} {self.get_comparator_display()} {threshold:f}"


class Gate(models.Model):
    """One gate template for one wave."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Not yet open"
        OPEN = "open"
        PASSED = "passed"

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="gates")
    template = models.ForeignKey(GateTemplate, on_delete=models.CASCADE, related_name="gates")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.WAITING)
    opened_at = models.DateTimeField(null=True, blank=True)
    passed_at = models.DateTimeField(null=True, blank=True)

    objects = GateQuerySet.as_manager()

    class Meta:
        ordering = ["wave", "template__order"]
        constraints = [models.UniqueConstraint(fields=["wave", "template"], name="one_gate_per_wave_and_template")]

    def __str__(self):
        return f"{self.wave} / {self.template.get_kind_display()}"


class Evaluation(models.Model):
    """Evidence: one criterion of one wave's gate measured at one time."""

    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="evaluations")
    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="evaluations")
    at = models.DateTimeField()
    value = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True, help_text="None: no data.")
    baseline_value = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    threshold = models.DecimalField(
        max_digits=18, decimal_places=4, null=True, blank=True,
        help_text="The threshold applied (the baseline plus the offset for a baseline criterion).",
    )
    sample = models.PositiveIntegerField(default=0)
    records_url = models.CharField(max_length=2000, blank=True, help_text="Where the records behind the value are listed.")
    passed = models.BooleanField(help_text="The measurement met the criterion (and held for its steady duration).")
    waived = models.BooleanField(default=False, help_text="Failed, but a live waiver covered it.")
    note = models.CharField(max_length=300, blank=True)

    objects = GateChildQuerySet.as_manager()

    class Meta:
        ordering = ["gate", "criterion", "at"]
        indexes = [models.Index(fields=["gate", "criterion", "at"], name="evaluation_history")]

    @property
    def counts(self):
        return self.passed or self.waived

    def __str__(self):
        return f"{self.gate} {self.criterion} at {self.at:%Y-%m-%d %H:%M}: {'pass' if self.passed else 'fail'}"


class EvaluationRequest(models.Model):
    """"Evaluate now" asked for a wave: queued until a worker has evaluated
    its open gates (rollout.evaluation.run_request), then what it found, or
    why it failed. At most one request of a wave waits at a time: a second
    click finds it."""

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="evaluation_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True, help_text="None: queued.")
    evaluations = models.PositiveIntegerField(null=True, blank=True, help_text="Criteria measured.")
    failing = models.PositiveIntegerField(null=True, blank=True, help_text="Of those, failing and not waived.")
    error = models.CharField(max_length=300, blank=True, help_text="Why it failed (the worker's log has more).")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["wave"], condition=Q(finished_at__isnull=True),
                                               name="one_queued_evaluation_per_wave")]
        indexes = [models.Index(fields=["wave", "-requested_at"], name="evaluation_request_latest")]

    def __str__(self):
        return f"{self.wave} evaluation asked {self.requested_at:%Y-%m-%d %H:%M}"


class Waiver(models.Model):
    """A failing criterion accepted for a while: asked by one person, approved
    by another, always with an expiry after which it stops counting."""

    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="waivers")
    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="waivers")
    reason = models.TextField()
    expires_at = models.DateTimeField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    objects = GateChildQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(approved_by=F("requested_by")), name="waiver_four_eyes"),
        ]

    def clean(self):
        """The admin's checks; rollout.gates.request_waiver makes the same ones."""
        from django.core.exceptions import ValidationError
        from django.utils import timezone

        errors = {}
        if self.gate_id and self.criterion_id and self.criterion.template_id != self.gate.template_id:
            errors["criterion"] = "This criterion is not one of the gate's."
        if self.pk is None and self.expires_at and self.expires_at <= timezone.now():
            errors["expires_at"] = "The expiry must be in the future."
        if errors:
            raise ValidationError(errors)

    def is_live(self, at):
        return self.approved_at is not None and self.approved_at <= at < self.expires_at

    def __str__(self):
        return f"Waiver {self.criterion} on {self.gate} until {day(self.expires_at)}"


class SignOff(models.Model):
    """A role's sign-off of a gate. Stale (rollout.gates.is_stale) once one of
    the gate's criteria turned red after it: it no longer counts."""

    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="sign_offs")
    role = models.CharField(max_length=20, choices=Role.choices)
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    comment = models.TextField(blank=True)
    at = models.DateTimeField()

    objects = GateChildQuerySet.as_manager()

    class Meta:
        ordering = ["gate", "-at"]

    def __str__(self):
        return f"{self.get_role_display()} sign-off of {self.gate} by {self.person}"


class GoNoGo(models.Model):
    """The recorded go/no-go decision that ends a wave's cutover gate, with
    the evidence as it stood at that moment."""

    class Decision(models.TextChoices):
        GO = "go", "Go"
        NO_GO = "no_go", "No go"

    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="decisions")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()
    comment = models.TextField(blank=True)
    evidence = models.JSONField(default=dict, help_text="The gate's criteria, waivers and sign-offs at the decision.")

    objects = GateChildQuerySet.as_manager()

    class Meta:
        ordering = ["gate", "-decided_at"]
        verbose_name = "go/no-go decision"

    def __str__(self):
        return f"{self.get_decision_display()} for {self.gate.wave} by {self.decided_by}"


CHANGE_FIELD_WORDS = {
    "metric": "metric", "comparator": "must be", "threshold": "threshold", "scope": "measured over",
    "window_hours": "window (hours)", "steady_hours": "held for (hours)", "baseline": "baseline",
    "required_roles": "roles", "sign_off_only": "sign-off only",
}


class GateChangeQuerySet(ScopedQuerySet):
    def restrict_person(self, user):
        """A gate's history is seen by who sees its program."""
        return self.filter(template__program__in=Program.objects.restrict_person(user))


class GateChange(models.Model):
    """A change to a gate's criteria or sign-off roles (rollout.criteria), in
    its history: who, when, why, what it was and what it became. A change
    that loosens a criterion (a threshold made easier to meet, a comparator
    changed, a criterion retired) waits for a second person of the PMO or an
    admin: it is applied when approved, and stays declined if not."""

    class Action(models.TextChoices):
        ADD = "add", "Criterion added"
        EDIT = "edit", "Criterion changed"
        RETIRE = "retire", "Criterion retired"
        ROLES = "roles", "Sign-off roles changed"
        SIGN_OFF_ONLY = "sign_off_only", "Sign-off only chosen"
        MEASURED = "measured", "Sign-off only withdrawn"

    class Status(models.TextChoices):
        APPLIED = "applied"
        PENDING = "pending", "Waiting for a second approver"
        DECLINED = "declined"

    template = models.ForeignKey(GateTemplate, on_delete=models.CASCADE, related_name="changes")
    criterion = models.ForeignKey(Criterion, null=True, blank=True, on_delete=models.CASCADE, related_name="changes")
    action = models.CharField(max_length=16, choices=Action.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.APPLIED)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.TextField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", help_text="The second person, for a change that loosens.")
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = GateChangeQuerySet.as_manager()

    class Meta:
        ordering = ["template", "-requested_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(decided_by=F("requested_by")), name="gate_change_four_eyes"),
        ]
        indexes = [models.Index(fields=["template", "status"], name="gate_change_status")]

    @property
    def in_words(self):
        """What it changed, in words: "threshold 95 → 90"; for an addition,
        what was added: "metric Training completion; comparator at least; ..."."""
        def shown(name, value):
            if value is None or value == "":
                return "none"
            if name == "metric":
                from controltower import metrics

                try:
                    return metrics.get(value).label
                except ValueError:
                    return str(value)
            if name == "required_roles":
                return ", ".join(Role(role).label if role in Role.values else role for role in value) or "none"
            words = {"comparator": Criterion.Comparator, "scope": Criterion.ScopeKind, "baseline": Criterion.Baseline}
            if name in words and value in words[name].values:
                return words[name](value).label
            if isinstance(value, bool):
                return "yes" if value else "no"
            return str(value)

        before = self.before or {}
        parts = [f"{CHANGE_FIELD_WORDS.get(name, name)} {shown(name, before[name]) + ' → ' if name in before else ''}"
                 f"{shown(name, value)}" for name, value in (self.after or {}).items()
                 if name not in before or before[name] != value]
        return "; ".join(parts)

    def __str__(self):
        return f"{self.get_action_display()} on {self.template} by {self.requested_by}"


class BlackoutQuerySet(ScopedQuerySet):
    def restrict_person(self, user):
        """A window is seen by who sees its region, or a wave of its program."""
        from controltower.scoping import ESTATE_ROLES, role_of, visible_locations

        if role_of(user) in ESTATE_ROLES:
            return self
        regions = visible_locations(user).values("region_id")
        programs = Wave.objects.restrict_person(user).values("program_id")
        return self.filter(Q(region_id__in=regions) | Q(region__isnull=True, program_id__in=programs))


class BlackoutWindow(models.Model):
    """Days no cutover may be scheduled (peak trading): for one program, one
    region (of any program), or one region of one program. Inclusive dates."""

    name = models.CharField(max_length=200)
    program = models.ForeignKey(Program, null=True, blank=True, on_delete=models.CASCADE, related_name="blackouts")
    region = models.ForeignKey(
        "inventory.Region", null=True, blank=True, on_delete=models.CASCADE, related_name="blackouts"
    )
    starts_on = models.DateField()
    ends_on = models.DateField()

    objects = BlackoutQuerySet.as_manager()

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.CheckConstraint(condition=Q(program__isnull=False) | Q(region__isnull=False),
                                   name="blackout_for_program_or_region"),
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="blackout_ends_after_start"),
        ]

    def __str__(self):
        return f"{self.name} ({day(self.starts_on)} to {day(self.ends_on)})"


class TrainingModule(models.Model):
    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    required = models.BooleanField(default=True, help_text="Every person must complete it before cutover.")

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code


class TrainingRecord(models.Model):
    """A person's completed module (from the LMS, over the API or CSV): one per person and module."""

    person_id = models.CharField(max_length=64, help_text="The person's id in the training system.")
    person_name = models.CharField(max_length=200, blank=True)
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="training_records")
    module = models.ForeignKey(TrainingModule, on_delete=models.PROTECT, related_name="records")
    completed_at = models.DateTimeField()
    proficiency = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()
    scope_fields = ("location",)

    class Meta:
        ordering = ["person_id", "module"]
        constraints = [
            models.UniqueConstraint(fields=["person_id", "module"], name="one_training_record_per_person_module"),
            models.CheckConstraint(condition=Q(proficiency__lte=100), name="proficiency_at_most_100"),
        ]

    def __str__(self):
        return f"{self.person_id} {self.module.code}"


class Simulation(models.Model):
    """A run of `manage.py simulate` (rollout.simulator): the retailer it
    generated, its simulated clock and the fault rates it injected. Its
    faults are the ground truth the score compares the cases with; no
    detector reads them."""

    seed = models.IntegerField()
    stores = models.PositiveIntegerField()
    skus = models.PositiveIntegerField()
    days = models.PositiveIntegerField()
    starts_at = models.DateTimeField(help_text="The simulated clock's first moment.")
    ends_at = models.DateTimeField(help_text="The simulated clock's last moment: when the score runs.")
    rates = models.JSONField(default=dict, help_text="Fault kind: rate per opportunity.")
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"simulation {self.pk} (seed {self.seed})"


class InjectedFault(models.Model):
    """One fault the simulator injected, with the keys a case that catches it
    would carry (codes, not rows: the ground truth outlives nothing it names)."""

    simulation = models.ForeignKey(Simulation, on_delete=models.CASCADE, related_name="faults")
    kind = models.CharField(max_length=32)
    location = models.CharField(max_length=32, blank=True)
    sku = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=64, blank=True)
    reference = models.CharField(max_length=128, blank=True)
    occurred_at = models.DateTimeField()
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["simulation", "kind", "id"]
        indexes = [models.Index(fields=["simulation", "kind"], name="fault_by_kind")]

    def __str__(self):
        return f"{self.kind} {self.location} {self.sku}".strip()
