"""Cross-channel journeys (an order, a return, a promotion, a replenishment)
and the steps sources send of them."""
from django.db import models
from django.db.models import Q

from controltower.scoping import ScopedQuerySet

from .master import Location
from .sources import SourceSystem

class JourneyKind(models.TextChoices):
    ORDER = "order_to_fulfilment", "Order to fulfilment"
    RETURN = "return_to_refund", "Return to refund"
    PROMOTION = "promotion_to_settlement", "Promotion to settlement"
    REPLENISHMENT = "inventory_to_replenishment", "Inventory to replenishment"


class Journey(models.Model):
    """A cross-channel journey keyed by its business id (an order, a return,
    a promotion at a store, a replenishment), followed through its steps.

    Everything but the key is derived from the steps by inventory.journeys
    (step order, then occurred time; never arrival order) and recomputed, under
    the journey's row lock, whenever a step arrives. `due_at` is when the
    current state overruns its step SLA (None: no SLA runs): past it, the
    journey is stuck and has a case."""

    kind = models.CharField(max_length=32, choices=JourneyKind.choices)
    business_id = models.CharField(max_length=100)
    state = models.CharField(max_length=32, blank=True)
    state_at = models.DateTimeField(null=True, blank=True, help_text="When the step that set the state occurred")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, null=True, blank=True, related_name="journeys")
    channel = models.CharField(max_length=32, blank=True, help_text="inventory.Channel code")
    started_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, help_text="Stuck from here on, unless it moves on")
    # The earliest occurrence of each step taken: {step: ISO time}.
    step_times = models.JSONField(default=dict)
    # The step times, flags and legs the KPIs and SLAs read.
    placed_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    collected_at = models.DateTimeField(null=True, blank=True)
    fallout_at = models.DateTimeField(null=True, blank=True)
    fallout_reason = models.CharField(max_length=64, blank=True)
    substituted = models.BooleanField(default=False)
    short = models.BooleanField(default=False, help_text="Collected or shipped fewer units than placed")
    goods_received_at = models.DateTimeField(
        null=True, blank=True, help_text="The return received at the store, or the replenishment at its location"
    )
    refunded_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    ready_s = models.BigIntegerField(null=True, blank=True, help_text="Placed to ready for pickup, in seconds")
    refund_s = models.BigIntegerField(null=True, blank=True, help_text="Return received to refunded, in seconds")
    settle_s = models.BigIntegerField(null=True, blank=True, help_text="Refunded to settled, in seconds")
    updated_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_fields = ("location",)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "business_id"], name="journey_kind_business_id"),
        ]
        indexes = [
            models.Index(fields=["kind", "placed_at"], name="journey_kind_placed"),
            models.Index(fields=["kind", "ready_at"], name="journey_kind_ready"),
            models.Index(fields=["kind", "refunded_at"], name="journey_kind_refunded"),
            models.Index(fields=["kind", "settled_at"], name="journey_kind_settled"),
            models.Index(fields=["due_at"], name="journey_due", condition=Q(due_at__isnull=False)),
        ]

    def __str__(self):
        return f"{self.kind}:{self.business_id}"


class JourneyStep(models.Model):
    """One step of a journey as a source sent it; (source, transaction_id) is
    its idempotency key, as for ledger lines."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="steps")
    source = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, db_index=False, related_name="journey_steps")
    transaction_id = models.CharField(max_length=128)
    step = models.CharField(max_length=32)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="journey_steps"
    )
    channel = models.CharField(max_length=32, blank=True)
    reason = models.CharField(max_length=64, blank=True, help_text="Fallout or price override reason code")
    cashier = models.CharField(max_length=64, blank=True, help_text="Who did it at the till")
    quantity = models.BigIntegerField(null=True, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    reference = models.CharField(max_length=128, blank=True)
    content_hash = models.CharField(max_length=32, help_text="Tells a duplicate from a conflict")

    objects = ScopedQuerySet.as_manager()
    scope_fields = ("journey__location",)  # seen by who sees its journey

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "transaction_id"], name="journey_step_source_txn"),
        ]
        indexes = [
            models.Index(fields=["step", "occurred_at"], name="journey_step_time"),
            models.Index(fields=["received_at"], name="journey_step_received"),
        ]

    def __str__(self):
        return f"{self.source_id}:{self.transaction_id} {self.step}"
