"""What sources say they hold (snapshots and their lines) and the variance
of each cycle count against the record."""
from django.db import models

from controltower.scoping import ScopedQuerySet

from .ledger import InventoryEvent
from .master import SKU, Location
from .sources import SourceSystem
from .vocabulary import StateChoices

class Snapshot(models.Model):
    """What a source system says it holds, per location x SKU x state, as of a time."""

    class Status(models.TextChoices):
        LOADED = "loaded"
        PARTIAL = "partial", "Loaded with rejected lines"
        # An observation (inventory.observations) a newer one of the same
        # source, item and location replaced: it speaks for nothing any more,
        # and reconciliation leaves it out without looking at its line.
        SUPERSEDED = "superseded", "Replaced by a newer observation"

    class Kind(models.TextChoices):
        ON_HAND = "on_hand", "On hand"  # operational quantities
        VALUATION = "valuation"  # the ERP's financial valuation: lines carry a value

    class Scope(models.TextChoices):
        # What the snapshot speaks for (exceptions.reconciliation.snapshots):
        # `lines`, the default, only the location x SKU x state lines it
        # lists; `full` every SKU in every state but in_transit at each
        # location it names (a line it does not give means zero there).
        LINES = "lines", "The listed lines only"
        FULL = "full", "Every SKU of the locations it names"

    source = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="snapshots")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ON_HAND)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.LINES)
    as_of = models.DateTimeField()
    received_at = models.DateTimeField()
    line_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.LOADED)

    class Meta:
        indexes = [models.Index(fields=["source", "as_of"], name="snapshot_source_as_of")]

    def __str__(self):
        return f"{self.source_id} as of {self.as_of:%Y-%m-%d %H:%M}"


class SnapshotLine(models.Model):
    """One quantity of a snapshot, in base units. A lean table (millions of
    rows): location and SKU are ids without database constraints or indexes of
    their own, so a COPY does not check each row against the master data it
    was just validated with; the one index serves the reconciliation join."""

    # The key index below starts with snapshot: no separate index.
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, db_index=False, related_name="lines")
    location = models.ForeignKey(
        Location, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    sku = models.ForeignKey(
        SKU, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    state = models.CharField(max_length=20, choices=StateChoices.choices, default=StateChoices.AVAILABLE)
    quantity = models.BigIntegerField()
    value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_fields = ("location",)

    class Meta:
        indexes = [models.Index(fields=["snapshot", "location", "sku"], name="snapshotline_key")]


class CountVariance(models.Model):
    """The variance of one cycle count: what was counted minus the record,
    the ledger as of the count time without the count itself (inventory.counts).

    Kept right at posting: a late line that occurred before a count changes
    its record and variance here, never the position. `record` is None when
    the ledger had nothing for the location x SKU x state before the count
    (an opening balance: nothing to compare with)."""

    event = models.OneToOneField(InventoryEvent, on_delete=models.CASCADE, related_name="count_variance")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, db_index=False, related_name="+")
    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=20, choices=StateChoices.choices)
    counted_at = models.DateTimeField()
    counted = models.BigIntegerField()
    record = models.BigIntegerField(null=True, blank=True)
    variance = models.BigIntegerField(null=True, blank=True, help_text="counted - record")
    within_tolerance = models.BooleanField(
        null=True, blank=True, help_text="Within the location kind's count tolerance when computed"
    )
    computed_at = models.DateTimeField()

    objects = ScopedQuerySet.as_manager()
    scope_fields = ("location",)

    class Meta:
        indexes = [
            models.Index(fields=["location", "sku", "state", "counted_at"], name="count_variance_key"),
            models.Index(fields=["counted_at"], name="count_variance_time"),
        ]

    def __str__(self):
        return f"count {self.event_id}: {self.variance}"
