"""Master data, the immutable ledger and the position projection.

Every quantity stored here is in the SKU's base unit. The models people see
by location have a ScopedQuerySet manager (`.restrict(user)`,
controltower.scoping) and say where their location is (`scope_fields`).
"""
from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest

from controltower.permissions import may_see_rejections
from controltower.scoping import ScopedQuerySet

# The ten states of the canonical inventory state model, in display order.
STATES = (
    "available",
    "reserved",
    "picked",
    "packed",
    "staged",
    "in_transit",
    "damaged",
    "returned",
    "pending_inspection",
    "quarantined",
)
ON_HAND_STATES = tuple(s for s in STATES if s != "in_transit")
StateChoices = models.TextChoices("StateChoices", [(s.upper(), s) for s in STATES])


class Region(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code


class Location(models.Model):
    class Kind(models.TextChoices):
        STORE = "store"
        DC = "dc", "DC"
        ECOMMERCE = "ecommerce"

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STORE)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="locations")
    timezone = models.CharField(max_length=64, default="UTC")
    banner = models.CharField(max_length=100, blank=True)
    format = models.CharField(max_length=100, blank=True)
    go_live_date = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)

    objects = ScopedQuerySet.as_manager()
    scope_fields = ("",)  # a location is in scope itself

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"


class Channel(models.Model):
    """A sales channel: how long its reservations may be held, and whether it
    sells the safety stock (the ATP it sees).

    Data an admin edits; the migration loads store, web cart, BOPIS and
    ship-from-store. A reserve event names its channel by its `reason` (the
    channel's code, exactly); one that names none is its source's default
    channel's (SourceSystem.default_channel), and without that it is held for
    RECONCILIATION["reservation_hold_minutes"]
    (exceptions.reconciliation.reservations)."""

    code = models.CharField(max_length=32, unique=True, help_text="What a reserve event gives as its reason.")
    name = models.CharField(max_length=200)
    hold_minutes = models.PositiveIntegerField(
        help_text="A reservation older than this that was never picked or released opens a case."
    )
    holds_back_safety_stock = models.BooleanField(
        default=True,
        help_text="Sees available minus safety stock as ATP (online); off: sells all of available (the till).",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code


# The source the tower posts its own lines as (corrective adjustments,
# reversals, reservation releases): not a feed, so the feed metrics of the
# whole estate leave it out.
CONTROL_TOWER_SOURCE = "CONTROL-TOWER"


class SourceSystem(models.Model):
    class Kind(models.TextChoices):
        POS = "pos", "POS"
        ECOM = "ecom", "Ecommerce"
        WMS = "wms", "WMS"
        ERP = "erp", "ERP"
        OMS = "oms", "OMS"

    class Generation(models.TextChoices):
        LEGACY = "legacy"
        TARGET = "target"

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    generation = models.CharField(
        max_length=8, choices=Generation.choices, default=Generation.TARGET,
        help_text="Legacy and target systems may feed the same store during a migration.",
    )
    expected_interval_s = models.PositiveIntegerField(
        default=900, null=True, blank=True,
        help_text="A feed silent longer than this is stale (for tills: counted while their stores trade). "
                  "Empty: the source sends when it has something; never stale.",
    )
    latency_target_s = models.PositiveIntegerField(
        default=300, help_text="Target for received_at - occurred_at."
    )
    last_event_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When the source last sent anything: events, journey steps, snapshots or PO lines.",
    )
    active = models.BooleanField(default=True)
    loads_master_data = models.BooleanField(
        default=False, help_text="May load locations, SKUs and PO lines (an ERP source always may)."
    )
    # Reservations (exceptions.reconciliation.reservations).
    default_channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="sources",
        help_text="The channel of this source's reservations that name none in their reason.",
    )
    releases_expired_reservations = models.BooleanField(
        default=False,
        help_text="The tower releases this source's reservations held past their channel's hold time "
                  "(a release ledger line of its own), so ATP stops hiding sellable stock.",
    )
    # The source's lane (inventory.lanes): what it may send. Empty: no restriction.
    lane_locations = models.ManyToManyField(
        Location, blank=True, related_name="lane_sources",
        help_text="The locations this source feeds; none: every location.",
    )
    lane_event_types = models.JSONField(
        default=list, blank=True, help_text="The event types this source may send; none: every type."
    )
    lane_snapshot_kinds = models.JSONField(
        default=list, blank=True, help_text="The snapshot kinds this source may send; none: every kind."
    )
    # How far apart two receipts of one event by this source may be for the
    # second to be a suspected replay (exceptions.reconciliation.stock).
    replay_window_s = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="Suspected duplicates: at most this many seconds between receiving an event and its "
                  "replay under a new transaction id; empty: the tower's default "
                  "(RECONCILE_DUPLICATE_WINDOW_S).",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code

    def heard_from(self, at):
        """The source sent something (any kind of message) at `at`: its
        liveness (the stale_feed cases). Never moves back in time."""
        SourceSystem.objects.filter(pk=self.pk).exclude(last_event_at__gte=at).update(last_event_at=at)


class SKU(models.Model):
    code = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=300)
    category = models.CharField(max_length=100)
    unit_cost = models.DecimalField(max_digits=12, decimal_places=4)
    base_unit = models.CharField(max_length=16, default="EA")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "SKU"

    def __str__(self):
        return self.code


class Barcode(models.Model):
    code = models.CharField(max_length=64, unique=True)
    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="barcodes")

    def __str__(self):
        return self.code


class BarcodeClash(models.Model):
    """A barcode an item master import tried to give to a second SKU: the row
    was refused (DOMAIN.md, item master validation), and the clash is kept
    here, because a barcode on two SKUs in the source's item master is a
    data-readiness fact (the duplicate_barcodes metric), not only a line in
    one import's report."""

    barcode = models.CharField(max_length=64)
    sku_code = models.CharField(max_length=64, help_text="The SKU the refused row was for")
    held_by = models.CharField(max_length=64, help_text="The SKU that has the barcode (stored, or earlier in the file)")
    refused_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.barcode}: {self.sku_code} (held by {self.held_by})"


class UnitConversion(models.Model):
    """`unit` of this SKU holds `factor` base units (CS12 = 12 EA)."""

    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="conversions")
    unit = models.CharField(max_length=16)
    factor = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sku", "unit"], name="uniq_sku_unit")]

    def __str__(self):
        return f"{self.sku.code} {self.unit}={self.factor}"


class EventType(models.TextChoices):
    RECEIPT = "receipt"
    SALE = "sale"
    RESERVE = "reserve"
    RELEASE = "release"
    PICK = "pick"
    PACK = "pack"
    STAGE = "stage"
    FULFIL = "fulfil"
    RETURN = "return"
    DISPOSITION = "disposition"
    DAMAGE = "damage"
    WRITE_OFF = "write_off"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    ADJUSTMENT = "adjustment"
    CYCLE_COUNT = "cycle_count"
    # The ERP's financial posting of sales the tills already reported: a
    # record to reconcile against (sales_posting_gap), moving no stock.
    SALES_POSTING = "sales_posting"
    # The tower's own undoing of one ledger line (a confirmed duplicate): the
    # same legs with the quantity negated. Only the tower posts it.
    REVERSAL = "reversal"


# What a source system may send: every type but the tower's own reversal.
SOURCE_EVENT_TYPES = tuple(t.value for t in EventType if t != EventType.REVERSAL)
SourceEventTypeChoices = [(value, label) for value, label in EventType.choices if value in SOURCE_EVENT_TYPES]


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


class MasterDataChange(models.Model):
    """A change a person made to the item master on a screen (inventory.fixes):
    who, when, which SKU and what changed ({field: [before, after]}; barcodes
    and conversions: what was added), and the rejection it was made for."""

    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    username = models.CharField(max_length=150, help_text="Kept if the person is deleted")
    sku_code = models.CharField(max_length=64)
    created = models.BooleanField(default=False, help_text="The SKU was new")
    changes = models.JSONField()
    rejection = models.ForeignKey(RejectedEvent, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="fixes")

    class Meta:
        indexes = [models.Index(fields=["sku_code", "changed_at"], name="master_data_change_sku")]

    def __str__(self):
        return f"{self.sku_code} by {self.username} at {self.changed_at:%Y-%m-%d %H:%M}"


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


class Snapshot(models.Model):
    """What a source system says it holds, per location x SKU x state, as of a time."""

    class Status(models.TextChoices):
        LOADED = "loaded"
        PARTIAL = "partial", "Loaded with rejected lines"

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
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.LOADED)

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


class PurchaseOrderLine(models.Model):
    """A PO line as master data: a receipt's reference should name an open one."""

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    po_number = models.CharField(max_length=64)
    line = models.PositiveIntegerField()
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="po_lines")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="po_lines")
    quantity_ordered = models.BigIntegerField()
    quantity_received = models.BigIntegerField(default=0)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    expected_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()
    scope_fields = ("location",)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["po_number", "line"], name="uniq_po_line")]
        indexes = [models.Index(fields=["po_number", "location", "sku"], name="po_line_match")]

    def __str__(self):
        return f"{self.po_number}/{self.line}"


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
