"""The position projection of the ledger, on-hand and ATP, and the count
anchors that keep a counted state where its count put it."""
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest

from controltower.scoping import ScopedQuerySet

from .ledger import InventoryEvent
from .master import SKU, Location
from .vocabulary import ON_HAND_STATES, StateChoices

class Position(models.Model):
    """Quantities per state for one location x SKU: a projection of the ledger."""

    # uniq_position leads with location: no index of its own (each one costs every position update).
    location = models.ForeignKey(Location, on_delete=models.PROTECT, db_index=False, related_name="positions")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="positions")
    available = models.BigIntegerField(default=0)
    reserved = models.BigIntegerField(default=0)
    picked = models.BigIntegerField(default=0)
    packed = models.BigIntegerField(default=0)
    staged = models.BigIntegerField(default=0)
    in_transit = models.BigIntegerField(default=0)
    damaged = models.BigIntegerField(default=0)
    returned = models.BigIntegerField(default=0)
    pending_inspection = models.BigIntegerField(default=0)
    quarantined = models.BigIntegerField(default=0)
    safety_stock = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()
    scope_fields = ("location",)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "sku"], name="uniq_position"),
        ]
        indexes = [
            models.Index(fields=["available"], name="position_available", condition=Q(available__lt=0)),
        ]

    @property
    def on_hand(self):
        return sum(getattr(self, s) for s in ON_HAND_STATES)

    @property
    def atp(self):
        """Available-to-promise as the channels that hold back safety stock
        see it (available_to_promise)."""
        return available_to_promise(self.available, self.safety_stock)

    def atp_for(self, channel):
        """ATP as `channel` sees it (available_to_promise)."""
        return available_to_promise(self.available, self.safety_stock, channel.holds_back_safety_stock)

    @property
    def negative_available(self):
        return self.available < 0

    def __str__(self):
        return f"{self.location_id}/{self.sku_id}"


def on_hand_expression():
    """On-hand as a query expression, for annotating position querysets."""
    expression = F(ON_HAND_STATES[0])
    for state in ON_HAND_STATES[1:]:
        expression = expression + F(state)
    return expression


def available_to_promise(available, safety_stock, holds_back_safety_stock=True):
    """ATP, the one rule (DOMAIN.md): available minus safety stock, never
    below zero, for a channel that holds back safety stock (the online
    channels); all of available, never below zero, for one that does not (the
    till sells the last unit on the shelf). atp_expression() is the first in SQL."""
    held_back = safety_stock if holds_back_safety_stock else 0
    return max(available - held_back, 0)


def atp_expression():
    """Position.atp as a query expression, for annotating position querysets."""
    return Greatest(F("available") - F("safety_stock"), Value(0))


class CountAnchor(models.Model):
    """The latest cycle count per location x SKU x state.

    Ledger lines that occurred at or before `counted_at` are already inside
    the counted quantity, so they do not move this state of the position.
    """

    location = models.ForeignKey(Location, on_delete=models.CASCADE)
    sku = models.ForeignKey(SKU, on_delete=models.CASCADE)
    state = models.CharField(max_length=20, choices=StateChoices.choices)
    counted_at = models.DateTimeField()
    event = models.ForeignKey(InventoryEvent, on_delete=models.CASCADE)
    counted_quantity = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "sku", "state"], name="uniq_count_anchor"),
        ]
