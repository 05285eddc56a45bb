"""The immutable ledger: its lines, the events it refused (kept for replay),
what each source sent per day, and the transfers its lines add up to."""
from django.conf import settings
from django.db import models
from django.db.models import Q

from controltower.permissions import may_see_rejections
from controltower.scoping import ScopedQuerySet

from .master import SKU, Location
from .sources import SourceSystem
from .vocabulary import EventType, StateChoices

class InventoryEvent(models.Model):
    """One line of the immutable ledger.

    A line moves `quantity` out of `from_state` and into `to_state` (either may
    be empty). The into-leg lands at `to_location` when set (a transfer_out puts
    the stock in transit at its destination), else at `location`. An adjustment
    carries a signed quantity on `to_state`. A cycle_count's quantity is the
    counted quantity of `to_state` as of `occurred_at`.
    """

    # No index of their own on source and location: uniq_source_txn and
    # ledger_loc_sku_time lead with them, and every index costs each COPY.
    source = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, db_index=False, related_name="events")
    transaction_id = models.CharField(max_length=128)
    type = models.CharField(max_length=16, choices=EventType.choices)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, db_index=False, related_name="events")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="events")
    quantity = models.BigIntegerField()
    from_state = models.CharField(max_length=20, choices=StateChoices.choices, blank=True, null=True)
    to_state = models.CharField(max_length=20, choices=StateChoices.choices, blank=True, null=True)
    # Indexed by ledger_to_loc_sku_time (transfer lines only) instead of an FK index over every line.
    to_location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, db_index=False, related_name="inbound_events"
    )
    reference = models.CharField(max_length=128, blank=True)
    reason = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    latency_ms = models.BigIntegerField(help_text="received_at - occurred_at, in milliseconds")
    content_hash = models.CharField(max_length=32, help_text="Tells a duplicate from a conflict")
    # Entered quantity and unit as the source sent them, for audit.
    entered_quantity = models.DecimalField(max_digits=18, decimal_places=4)
    entered_unit = models.CharField(max_length=16)
    cashier = models.CharField(max_length=64, blank=True, default="", db_default="",
                               help_text="Who rang it up, as the till names them (POSLog OperatorID)")

    objects = ScopedQuerySet.as_manager()
    scope_fields = ("location",)  # a transfer_out line is its sender's

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "transaction_id"], name="uniq_source_txn"),
        ]
        indexes = [
            models.Index(fields=["location", "sku", "occurred_at"], name="ledger_loc_sku_time"),
            # The transfer arrival legs, for the count recompute and fold_ledger's into-leg at to_location.
            models.Index(
                fields=["to_location", "sku", "occurred_at"], name="ledger_to_loc_sku_time",
                condition=Q(to_location__isnull=False),
            ),
            models.Index(fields=["type", "occurred_at"], name="ledger_type_time"),
            models.Index(fields=["reference"], name="ledger_reference"),
        ]

    def __str__(self):
        return f"{self.source_id}:{self.transaction_id} {self.type}"


class Transfer(models.Model):
    reference = models.CharField(max_length=128)
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT)
    from_location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="transfers_out", null=True
    )
    to_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="transfers_in")
    quantity_shipped = models.BigIntegerField(default=0)
    quantity_received = models.BigIntegerField(default=0)
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_fields = ("from_location", "to_location")  # visible at either end

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reference", "sku"], name="uniq_transfer_line"),
        ]

    @property
    def outstanding(self):
        return self.quantity_shipped - self.quantity_received

    def __str__(self):
        return f"{self.reference} {self.sku_id}"


class RejectionQuerySet(ScopedQuerySet):
    """Rejections name no trusted location (an unknown one is a common
    cause): people who may see rejections see them all, other people none,
    and a source system its own."""

    def restrict_person(self, user):
        return self if may_see_rejections(user) else self.none()

    def restrict_source(self, source):
        return self.filter(source=source)

    def waiting(self):
        """Those waiting for a fix and a replay: neither replayed nor dismissed."""
        return self.filter(replayed_at__isnull=True, dismissed_at__isnull=True)


class RejectedEvent(models.Model):
    """An event the ledger refused, kept whole for replay once master data is fixed.

    `kind` tells a validation rejection from an idempotency conflict (same
    source and transaction id, different content).
    """

    class Kind(models.TextChoices):
        REJECTED = "rejected"
        CONFLICT = "conflict"

    class Feed(models.TextChoices):
        """Which ingest refused it, and so which one a replay posts it to."""

        INVENTORY = "inventory", "Inventory events"
        JOURNEYS = "journeys", "Journey steps"
        OBSERVATIONS = "observations", "Observed quantities"

    source = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="rejections")
    transaction_id = models.CharField(max_length=128, blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.REJECTED)
    feed = models.CharField(max_length=16, choices=Feed.choices, default=Feed.INVENTORY)
    payload = models.JSONField()
    errors = models.JSONField()
    cause = models.CharField(max_length=64, help_text="First failing field, for grouping")
    received_at = models.DateTimeField()
    replayed_at = models.DateTimeField(null=True, blank=True)
    replay_status = models.CharField(max_length=16, blank=True)
    # A rejection no master-data fix can ever let in (e.g. no occurred_at) is
    # dismissed by a person with a reason: kept, never replayed, counted apart.
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    dismiss_reason = models.TextField(blank=True)

    objects = RejectionQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["source", "cause"], name="rejection_source_cause"),
            models.Index(fields=["replayed_at"], name="rejection_replayed"),
        ]

    def __str__(self):
        return f"{self.source_id}:{self.transaction_id} {self.cause}"


class IngestDay(models.Model):
    """What one source sent on one day (UTC, by received_at), counted by
    ingest_events in the batch's own transaction: the events received and
    how each was answered. Duplicates are acknowledged, not stored as ledger
    lines: these counts are what keeps them, for the duplicate transaction
    rate. `longest_resend_s` is the longest time between a key's first
    receipt and a resend of it that day: how late this source replays."""

    source = models.ForeignKey(SourceSystem, on_delete=models.CASCADE, related_name="ingest_days")
    day = models.DateField()
    received = models.BigIntegerField(default=0)
    accepted = models.BigIntegerField(default=0)
    duplicates = models.BigIntegerField(default=0)
    conflicts = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    longest_resend_s = models.BigIntegerField(null=True, blank=True)

    # Seen as rejections are: estate-wide roles all of them, a source its own.
    objects = RejectionQuerySet.as_manager()

    class Meta:
        ordering = ["-day", "source"]
        constraints = [
            models.UniqueConstraint(fields=["source", "day"], name="uniq_ingest_day"),
        ]

    @property
    def duplicate_rate(self):
        """Duplicates over events received (None when nothing was received)."""
        return self.duplicates / self.received if self.received else None

    def __str__(self):
        return f"{self.source_id} {self.day}"
