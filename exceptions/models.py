"""Exception cases: what went wrong at a store, who owns it, by when, and how
it was put right. Routing and SLA policies are data, loaded with defaults
by a data migration and edited in the admin (the trading hours the SLA clock
counts are the locations', in inventory.models)."""
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from datetime import datetime
from datetime import timezone as dt_timezone

from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

from controltower.models import Role
from controltower.scoping import ScopedQuerySet

from .detectors import kind_choices
from .findings import IMPACT_LENGTH, REFERENCE_LENGTH, Drift

SEVERITY_VALIDATORS = [MinValueValidator(1), MaxValueValidator(4)]
# An SLA target of at most a month: the clock finds it within its look-ahead
# (exceptions.services.sla.LOOKAHEAD_DAYS) for any store open a few hours a day. A
# larger figure typed into the admin would stop every case of that severity
# from opening (the due time could not be computed).
SLA_MAX_MINUTES = 30 * 24 * 60
SLA_MINUTES_VALIDATORS = [MaxValueValidator(SLA_MAX_MINUTES)]


class Team(models.Model):
    class Kind(models.TextChoices):
        STORE = "store", "Store"
        REGIONAL_OPS = "regional_ops", "Regional ops"
        PLANNING = "planning", "Planning"
        FINANCE = "finance", "Finance"
        INTEGRATION = "integration", "Integration"
        COMMAND_CENTER = "command_center", "Hypercare command center"

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    region = models.ForeignKey(
        "inventory.Region", null=True, blank=True, on_delete=models.SET_NULL,
        help_text="For a regional ops team: the region it covers (empty = any region).",
    )
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.name


# The kind of team a person of each role works in: the cases routed to it are
# "my team's" (controltower.web.mywork, the queue's team=mine).
# The executive, the PMO and the admin work in no such team.
TEAM_OF_ROLE = {
    Role.STORE_MANAGER: Team.Kind.STORE,
    Role.REGIONAL_OPS: Team.Kind.REGIONAL_OPS,
    Role.PLANNER: Team.Kind.PLANNING,
    Role.FINANCE: Team.Kind.FINANCE,
    Role.INTEGRATION_ADMIN: Team.Kind.INTEGRATION,
}


class RootCause(models.TextChoices):
    MASTER_DATA = "master_data", "Master data"
    INTEGRATION_DELAY = "integration_delay", "Integration delay"
    PROCESS_NON_COMPLIANCE = "process_non_compliance", "Process non-compliance"
    SYSTEM_DEFECT = "system_defect", "System defect"
    SHRINK = "shrink", "Shrink"
    TRAINING = "training", "Training"


class ResolutionCode(models.TextChoices):
    """How a case was put right: chosen from this list when a person resolves it."""

    STOCK_CORRECTED = "stock_corrected", "Stock corrected (adjustment posted)"
    RECOUNTED = "recounted", "Recounted: the record was right"
    MASTER_DATA_FIXED = "master_data_fixed", "Master data fixed"
    EVENT_REPLAYED = "event_replayed", "Missing or rejected event replayed"
    DUPLICATE_SETTLED = "duplicate_settled", "Duplicate settled"
    TRANSFER_COMPLETED = "transfer_completed", "Transfer received or closed"
    PROCESS_FOLLOWED_UP = "process_followed_up", "Process followed up with the team"
    NO_ACTION_NEEDED = "no_action_needed", "No action needed"


# A case the system resolved says so; a person's resolution is one of ResolutionCode.
RESOLUTION_LABELS = {**dict(ResolutionCode.choices), "condition_cleared": "Condition cleared (by the system)"}


class AdjustmentReason(models.TextChoices):
    """The reason code a corrective adjustment is posted to the ledger with
    (the codes the sources' own adjustments use, e.g. SHRINK, FOUND)."""

    SHRINK = "SHRINK", "Shrink: stolen or lost"
    FOUND = "FOUND", "Found: stock the record missed"
    SPOILAGE = "SPOILAGE", "Spoiled or expired"
    SUPPLIER_SHORT = "SUPPLIER_SHORT", "Supplier delivered short"
    RECEIVING_ERROR = "RECEIVING_ERROR", "Receipt booked wrong"
    UNIT_OF_MEASURE = "UNIT_OF_MEASURE", "Entered in the wrong unit"
    ADMIN_CORRECTION = "ADMIN_CORRECTION", "Booking error corrected"


# A case not resolved reads as resolved at the end of time: "active as of T" is then one range,
# resolved_until() >= T, which an index answers (an OR with IS NULL it cannot).
NEVER = datetime(9999, 12, 31, tzinfo=dt_timezone.utc)


def resolved_until():
    """A case's resolution time, or NEVER while it is not resolved (the case_active_as_of index)."""
    return Coalesce(F("resolved_at"), Value(NEVER, output_field=models.DateTimeField()))


class Case(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        IN_PROGRESS = "in_progress", "In progress"
        WAITING = "waiting", "Waiting"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    class Level(models.IntegerChoices):
        OWNER = 0, "Owner team"
        REGIONAL_OPS = 1, "Regional ops"
        COMMAND_CENTER = 2, "Hypercare command center"

    kind = models.CharField(max_length=32, choices=kind_choices)
    severity = models.PositiveSmallIntegerField(validators=SEVERITY_VALIDATORS)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    waiting_on = models.CharField(max_length=200, blank=True, help_text="Who the case waits on")
    location = models.ForeignKey("inventory.Location", null=True, blank=True, on_delete=models.PROTECT,
                                 db_index=False)  # case_location_status leads with it
    sku = models.ForeignKey("inventory.SKU", null=True, blank=True, on_delete=models.PROTECT)
    source = models.ForeignKey("inventory.SourceSystem", null=True, blank=True, on_delete=models.PROTECT)
    reference = models.CharField(max_length=REFERENCE_LENGTH, blank=True)
    fingerprint = models.CharField(max_length=255, unique=True)
    quantity_at_risk = models.BigIntegerField(default=0)
    value_at_risk = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    customer_impact = models.CharField(max_length=IMPACT_LENGTH, blank=True)
    summary = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    # Why a snapshot mismatch or financial variance differs; its words and numbers are in details["drift"].
    drift = models.CharField(max_length=16, choices=Drift.choices, blank=True)

    owner = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_cases"
    )
    escalation_level = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.OWNER)

    # SLA clock. Due times are in the location's trading hours; they move
    # later by the paused time when a waiting case resumes.
    sla_policy = models.ForeignKey("SLAPolicy", null=True, blank=True, on_delete=models.SET_NULL)
    opened_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    warning_due_at = models.DateTimeField(null=True, blank=True, help_text="75% of the resolution target")
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    escalation_due_at = models.DateTimeField(null=True, blank=True, help_text="When the next ladder step is due")
    sla_paused_seconds = models.BigIntegerField(default=0, help_text="Trading-hours seconds spent waiting")
    paused_since = models.DateTimeField(null=True, blank=True)

    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_code = models.CharField(max_length=64, blank=True)
    root_cause = models.CharField(max_length=32, choices=RootCause.choices, blank=True)
    resolution_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="resolved_cases"
    )
    auto_resolved = models.BooleanField(default=False)
    reopen_count = models.PositiveIntegerField(default=0)

    ACTIVE = (Status.OPEN, Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.WAITING)
    DONE = (Status.RESOLVED, Status.CLOSED)

    objects = ScopedQuerySet.as_manager()
    scope_fields = ("location",)  # a case on no location is for the estate roles

    class Meta:
        indexes = [
            # The queue's order within the breached cases and within the others
            # (exceptions.sla.BY_SEVERITY_AND_DUE): each part of a page is read off this index
            # alone, in order, with what tells whether a case is breached now (exceptions.sla.urgency).
            # An ascending index keeps NULLs last on PostgreSQL, as the order asks (SQLite refuses
            # NULLS LAST in an index).
            models.Index(fields=["severity", "resolution_due_at", "id"], name="case_urgency",
                         include=["status", "breached_at", "acknowledged_at", "response_due_at", "location"]),
            # The counts per status (active; done by resolution time), read from an index
            # alone: for the estate, and for a store or region, whose queue page is sorted
            # from its index too.
            models.Index(fields=["status", "resolved_at"], name="case_status", include=["breached_at"]),
            # (opened_at: the case aging of a store's active cases, exceptions.metrics, reads it alone.)
            # (root_cause, kind and id: the root-cause Paretos of a wave's stores, exceptions.pareto.)
            models.Index(fields=["location", "status", "resolved_at"], name="case_location_status",
                         include=["breached_at", "severity", "resolution_due_at", "opened_at", "root_cause", "kind",
                                  "id"]),
            models.Index(fields=["kind", "status"], name="case_kind"),
            # The cases active as of a time at some locations (exceptions.metrics: the open cases,
            # their age, the value at risk, measured live for a wave's hundreds of stores on every
            # hypercare page), read from the index alone: only the active ones are in the range.
            # With the status and due time, the wave's worst problems (rollout.stability) too; and
            # resolved_at itself, as PostgreSQL reads an index alone only when it holds every
            # column a query names (the range names resolved_at inside the expression).
            models.Index(F("location"), resolved_until(), name="case_active_as_of",
                         include=["id", "status", "severity", "opened_at", "kind", "value_at_risk",
                                  "resolution_due_at", "resolved_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(severity__gte=1, severity__lte=4), name="case_severity_1_4"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.get_kind_display()}"

    @property
    def resolution_label(self):
        """The resolution code in words (a code from before the list is shown as it is)."""
        return RESOLUTION_LABELS.get(self.resolution_code, self.resolution_code)


class CaseLink(models.Model):
    """Lineage: a ledger event, snapshot line, transfer, rejection or PO line behind a case."""

    class Kind(models.TextChoices):
        EVENT = "event"
        SNAPSHOT_LINE = "snapshot_line"
        TRANSFER = "transfer"
        REJECTION = "rejection"
        PO_LINE = "po_line"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "kind", "object_id"], name="caselink_once"),
        ]


class CaseHistory(models.Model):
    """One row per change to a case. An empty actor is the system."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=32)
    field = models.CharField(max_length=32, blank=True)
    from_value = models.CharField(max_length=300, blank=True)
    to_value = models.CharField(max_length=300, blank=True)
    note = models.TextField(blank=True)
    # The other fields the same action changed, {name: [from, to]}: one entry per action.
    other_changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def other_changes_in_order(self):
        """[(name, [from, to])] by name: PostgreSQL's jsonb keeps no key order, so the
        screens read them in one order on every backend."""
        return sorted(self.other_changes.items())


class CaseComment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    at = models.DateTimeField()
    body = models.TextField()

    class Meta:
        ordering = ["at", "id"]


class CaseAttachment(models.Model):
    """A file a person attached to a case (a reported issue's photo). Kept under MEDIA_ROOT and
    served only to who sees the case (exceptions.views.case.case_attachment)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="cases/%Y/%m/")
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField()

    def __str__(self):
        return f"#{self.case_id} {self.file.name}"


class CaseMail(models.Model):
    """An e-mail to a case's owning team (an SLA warning, breach or
    escalation), kept from the moment it is due: a worker sends it
    (exceptions.services.mail), and once `sent_at` is set it is never sent again."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="mails")
    action = models.CharField(max_length=32)
    recipients = models.JSONField(default=list)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True, help_text="None: not sent yet.")

    class Meta:
        indexes = [models.Index(fields=["created_at"], condition=Q(sent_at__isnull=True), name="case_mail_unsent")]

    def __str__(self):
        return f"{self.subject} ({'sent' if self.sent_at else 'not sent'})"


class CorrectiveAdjustment(models.Model):
    """A stock correction that resolves a case, posted to the ledger as an
    `adjustment` event. Above the approval threshold finance approves first."""

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        POSTED = "posted", "Posted"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="adjustments")
    sku = models.ForeignKey("inventory.SKU", on_delete=models.PROTECT)
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT)
    state = models.CharField(max_length=20)
    quantity = models.BigIntegerField(help_text="Signed, in base units")
    reason = models.CharField(max_length=32, choices=AdjustmentReason.choices, blank=True,
                              help_text="The reason code it is posted to the ledger with")
    value = models.DecimalField(max_digits=14, decimal_places=2, help_text="|quantity| x unit cost")
    status = models.CharField(max_length=16, choices=Status.choices)
    approval_why = models.CharField(max_length=300, blank=True,
                                    help_text="Why finance approves it first (the threshold it went over)")
    transaction_id = models.CharField(max_length=128, unique=True, help_text="Ledger key: case-<id>-adj-<n>")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requested_adjustments"
    )
    requested_at = models.DateTimeField()
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="approved_adjustments"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True, help_text="Why finance rejected it")
    posted_at = models.DateTimeField(null=True, blank=True)
    # The resolution it was asked with ({"resolution_code", "root_cause", "note"}): the
    # case waits for finance and resolves with it once finance approves; null for an
    # adjustment posted on its own.
    resolution = models.JSONField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_fields = ("case__location",)  # whoever sees the case

    class Meta:
        ordering = ["id"]


class RoutingRule(models.Model):
    """Sends a new case to a team. Empty kind, severity or region match any.
    The most specific rule wins: one naming the kind beats one naming the
    region, which beats one naming the severity; then the lowest priority."""

    kind = models.CharField(max_length=32, choices=kind_choices, blank=True)
    severity = models.PositiveSmallIntegerField(null=True, blank=True, validators=SEVERITY_VALIDATORS)
    region = models.ForeignKey("inventory.Region", null=True, blank=True, on_delete=models.CASCADE)
    team = models.ForeignKey(Team, on_delete=models.CASCADE)
    priority = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["priority", "id"]


class SLAPolicy(models.Model):
    """Response and resolution targets per case kind and severity. An empty
    kind is the default for that severity."""

    kind = models.CharField(max_length=32, choices=kind_choices, blank=True)
    severity = models.PositiveSmallIntegerField(validators=SEVERITY_VALIDATORS)
    response_minutes = models.PositiveIntegerField(validators=SLA_MINUTES_VALIDATORS)
    resolution_minutes = models.PositiveIntegerField(validators=SLA_MINUTES_VALIDATORS)
    trading_hours_only = models.BooleanField(
        default=True, help_text="Count only the location's trading hours (else around the clock)"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "severity"], name="slapolicy_once")]
        verbose_name_plural = "SLA policies"


class InstalledKind(models.Model):
    """A case kind whose default routing rules and SLA policies (its
    detector's, exceptions.detectors.install_defaults) this database has
    had: they are put once, so what admins change or delete afterwards stands."""

    kind = models.CharField(max_length=32, unique=True)
    installed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.kind


class DuplicateVerdict(models.Model):
    """What a person decided about a suspected duplicate pair of ledger lines
    (exceptions.reconciliation.stock): the later line was a duplicate and is
    reversed (`reversal` is the tower's compensating line), or the two are
    not duplicates (who and why). Either way the pair is never raised again,
    and its case resolves itself on the next run."""

    class Verdict(models.TextChoices):
        REVERSED = "reversed", "Duplicate, reversed"
        NOT_DUPLICATE = "not_duplicate", "Not a duplicate"

    earlier_event = models.ForeignKey("inventory.InventoryEvent", on_delete=models.PROTECT, related_name="+")
    later_event = models.ForeignKey("inventory.InventoryEvent", on_delete=models.PROTECT, related_name="+")
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    reversal = models.ForeignKey(
        "inventory.InventoryEvent", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="duplicate_verdicts")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["earlier_event", "later_event"], name="uniq_duplicate_verdict"),
        ]

    def __str__(self):
        return f"{self.earlier_event_id}+{self.later_event_id} {self.verdict}"


class ReconciliationRun(models.Model):
    """One run of one reconciliation kind (exceptions.reconciliation.runs):
    how it ended, what it changed, the error of a run that failed, and the
    watermark the next run of an incremental kind starts from. Shown on the
    integration health page; kept for RUN_RETENTION days."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "Ok"
        FAILED = "failed", "Failed"
        TIMED_OUT = "timed_out", "Timed out"
        SKIPPED = "skipped", "Skipped: already running"

    kind = models.CharField(max_length=32, choices=kind_choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    counts = models.JSONField(default=dict, blank=True, help_text="Cases opened, updated, reopened, resolved")
    error = models.TextField(blank=True)
    # An incremental kind's next run looks at the rows (ledger lines, rejections) after this id.
    watermark = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "-started_at"], name="run_kind_started")]

    def __str__(self):
        return f"{self.kind} {self.started_at:%Y-%m-%d %H:%M:%S} {self.outcome}"

    @property
    def seconds(self):
        """How long it ran (None while running)."""
        return None if self.finished_at is None else round((self.finished_at - self.started_at).total_seconds(), 1)


class PositionSales(models.Model):
    """Per position, its sale lines (less those reversed) over the whole UTC
    days of phantom inventory's look-back: what the phantom finder reads
    instead of every sale line (exceptions.reconciliation.position_sales
    keeps it up to date)."""

    # No foreign keys in the database: a summary the ledger rebuilds, written a million rows a day; Django
    # still deletes a location's or SKU's rows with it.
    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE, db_index=False, related_name="+",
                                 db_constraint=False)
    sku = models.ForeignKey("inventory.SKU", on_delete=models.CASCADE, db_index=False, related_name="+",
                            db_constraint=False)
    sale_days = models.IntegerField()
    sales = models.BigIntegerField()
    squares = models.BigIntegerField(help_text="The sum of the squares of its sale lines a day")
    first_day = models.DateField()
    last_day = models.DateField()
    last_at = models.DateTimeField()

    # Read by the phantom finder only; a screen would show a person their own stores' rows.
    objects = ScopedQuerySet.as_manager()
    scope_fields = ("location",)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "sku"], name="uniq_position_sales")]


class PositionSalesWindow(models.Model):
    """The one row saying which days PositionSales holds, and the last
    ledger line it has taken in."""

    first_day = models.DateField()
    last_day = models.DateField()
    watermark = models.BigIntegerField(default=0)
