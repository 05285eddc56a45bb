"""Serializers of the inventory API.

Positions and ledger lines are read as flat `values()` rows (codes instead of
ids); master data and rejections as model instances.
"""
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inventory.journeys import STEP_NAMES, STEPS
from inventory.models import (
    SKU,
    EventType,
    IngestDay,
    Journey,
    JourneyKind,
    Location,
    RejectedEvent,
    SourceEventTypeChoices,
    StateChoices,
    UnitConversion,
    available_to_promise,
    factor_text,
)


class PositionSerializer(serializers.Serializer):
    location = serializers.CharField(source="location__code")
    sku = serializers.CharField(source="sku__code")
    available = serializers.IntegerField()
    reserved = serializers.IntegerField()
    picked = serializers.IntegerField()
    packed = serializers.IntegerField()
    staged = serializers.IntegerField()
    in_transit = serializers.IntegerField()
    damaged = serializers.IntegerField()
    returned = serializers.IntegerField()
    pending_inspection = serializers.IntegerField()
    quarantined = serializers.IntegerField()
    on_hand = serializers.IntegerField(help_text="Every state but in_transit")
    safety_stock = serializers.IntegerField()
    atp = serializers.IntegerField(help_text="Available to promise: available minus safety stock, never below zero")
    atp_by_channel = serializers.SerializerMethodField(
        help_text="ATP per channel code: available minus safety stock for a channel that holds back "
                  "safety stock (online), all of available for one that does not (the till); never below zero"
    )
    updated_at = serializers.DateTimeField()
    last_counted_at = serializers.DateTimeField(allow_null=True, help_text="The latest cycle count of this position")
    last_count_variance = serializers.IntegerField(
        allow_null=True,
        help_text="That count minus the record as of its time (null: never counted, or nothing on record before it)",
    )

    def get_atp_by_channel(self, row) -> dict[str, int]:
        return {
            code: available_to_promise(row["available"], row["safety_stock"], holds_back)
            for code, holds_back in self.context["channels"]
        }


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.CharField(source="source__code")
    transaction_id = serializers.CharField()
    type = serializers.ChoiceField(choices=EventType.choices)
    location = serializers.CharField(source="location__code")
    sku = serializers.CharField(source="sku__code")
    quantity = serializers.IntegerField(help_text="In the SKU's base unit")
    entered_quantity = serializers.DecimalField(max_digits=18, decimal_places=4)
    entered_unit = serializers.CharField()
    from_state = serializers.CharField(allow_null=True, help_text="The state the quantity left")
    to_state = serializers.CharField(allow_null=True, help_text="The state the quantity entered")
    to_location = serializers.CharField(source="to_location__code", allow_null=True)
    reference = serializers.CharField()
    reason = serializers.CharField()
    cashier = serializers.CharField(help_text="Who rang it up, as the till names them; empty when not sent")
    occurred_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField()
    latency_ms = serializers.IntegerField(help_text="received_at - occurred_at")
    latency_s = serializers.SerializerMethodField()

    def get_latency_s(self, row) -> float:
        return row["latency_ms"] / 1000


class LocationSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Location
        fields = ["code", "name", "kind", "region", "timezone", "banner", "format", "go_live_date", "gln", "active"]


@extend_schema_field({"type": "number", "minimum": 1, "example": 453.59237})
class FactorField(serializers.Field):
    """A conversion factor as a JSON number: 12 for a pack, 453.59237 for a measure."""

    def to_representation(self, value):
        return int(value) if value == value.to_integral_value() else float(factor_text(value))


class UnitConversionSerializer(serializers.ModelSerializer):
    factor = FactorField(help_text="Base units in one unit: a whole number for a pack, a decimal for a measure")

    class Meta:
        model = UnitConversion
        fields = ["unit", "factor"]


class SKUSerializer(serializers.ModelSerializer):
    barcodes = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    conversions = UnitConversionSerializer(many=True, read_only=True)

    class Meta:
        model = SKU
        fields = [
            "code", "description", "category", "unit_cost", "base_unit", "active", "barcodes", "conversions",
        ]


class IngestDaySerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(slug_field="code", read_only=True)
    duplicate_rate = serializers.FloatField(
        read_only=True, help_text="Duplicates over events received that day (acknowledged at ingest)")

    class Meta:
        model = IngestDay
        fields = ["source", "day", "received", "accepted", "duplicates", "conflicts", "rejected",
                  "duplicate_rate", "longest_resend_s"]


class RejectionSerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = RejectedEvent
        fields = [
            "id", "source", "transaction_id", "kind", "feed", "cause", "errors", "payload",
            "received_at", "replayed_at", "replay_status", "dismissed_at", "dismiss_reason",
        ]


# Documentation only: the ledger validates posted events as a batch
# (inventory.ledger.validate_event). These describe the body for OpenAPI.

class IngestEventSerializer(serializers.Serializer):
    transaction_id = serializers.CharField(
        max_length=128, help_text="Unique per source; the idempotency key"
    )
    type = serializers.ChoiceField(choices=SourceEventTypeChoices)
    location = serializers.CharField(
        max_length=64, help_text="Location code, GLN or the source's own id of it (docs/formats.md, identifiers)"
    )
    sku = serializers.CharField(
        max_length=64, required=False,
        help_text="SKU code, the source's own id of it, or a barcode or GTIN; or give a barcode",
    )
    barcode = serializers.CharField(max_length=64, required=False, help_text="Barcode or GTIN, when no SKU")
    quantity = serializers.DecimalField(
        max_digits=18, decimal_places=4,
        help_text="In `unit`; must be a whole number of base units. Signed for an adjustment.",
    )
    unit = serializers.CharField(
        max_length=16, required=False, help_text="A unit of the SKU (e.g. CS12); default its base unit"
    )
    occurred_at = serializers.DateTimeField(help_text="ISO 8601 with a UTC offset")
    from_state = serializers.ChoiceField(
        choices=StateChoices.choices, required=False, help_text="Default depends on the type"
    )
    to_state = serializers.CharField(
        required=False,
        help_text="A state (see from_state); default depends on the type. A disposition may say written_off.",
    )
    reference = serializers.CharField(
        max_length=128, required=False, help_text="PO, order or transfer id; required for transfers"
    )
    to_location = serializers.CharField(
        max_length=64, required=False, help_text="Destination location: code, GLN or the source's own id; transfer_out only"
    )
    reason = serializers.CharField(max_length=64, required=False, help_text="Reason code; required for adjustments")
    cashier = serializers.CharField(
        max_length=64, required=False, help_text="Who rang it up (a till's operator id); kept on the ledger line"
    )


class IngestRequestSerializer(serializers.Serializer):
    events = IngestEventSerializer(many=True, help_text="At most INGEST_MAX_EVENTS (5000) events")


class IngestCountsSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    conflict = serializers.IntegerField()
    rejected = serializers.IntegerField()
    ignored = serializers.IntegerField(
        required=False, help_text="Items with no inventory effect; formats that ignore items only (docs/formats.md)"
    )


class IngestResultSerializer(serializers.Serializer):
    transaction_id = serializers.CharField(help_text="The event's idempotency key; may be empty for an ignored item")
    status = serializers.ChoiceField(choices=["accepted", "duplicate", "conflict", "rejected", "ignored"])
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="Messages per field (every status but ignored)",
    )
    reason = serializers.CharField(required=False, help_text="Why an item was ignored, e.g. 'training mode'")
    detail = serializers.CharField(required=False, help_text="Which item of the document was ignored")


class IngestResponseSerializer(serializers.Serializer):
    counts = IngestCountsSerializer()
    results = IngestResultSerializer(many=True, help_text="One per posted event, in order")


# Documentation only: master data rows are validated by inventory.masterdata,
# with the same columns as the CSV files.

class LocationRowSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=200)
    kind = serializers.CharField(help_text="One of: " + ", ".join(Location.Kind.values))
    region = serializers.CharField(max_length=32, help_text="Region code; created when new")
    timezone = serializers.CharField(max_length=64, help_text="IANA time zone, e.g. Europe/Berlin")
    banner = serializers.CharField(max_length=100, required=False)
    format = serializers.CharField(max_length=100, required=False)
    go_live_date = serializers.DateField(required=False, allow_null=True)
    gln = serializers.CharField(
        max_length=13, required=False, allow_blank=True,
        help_text="GS1 GLN, 13 digits with its check digit; unique; empty clears it",
    )


class LocationImportSerializer(serializers.Serializer):
    locations = LocationRowSerializer(many=True)


class SKURowSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    description = serializers.CharField(max_length=300, required=False)
    category = serializers.CharField(max_length=100)
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=4)
    base_unit = serializers.CharField(max_length=16)
    active = serializers.BooleanField(required=False)
    barcodes = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False,
        help_text="A list, or the CSV form '4000000000017;4000000000024'",
    )
    conversions = UnitConversionSerializer(
        many=True, required=False, help_text="A list, or the CSV form 'CS12=12;PK6=6'"
    )


class SKUImportSerializer(serializers.Serializer):
    skus = SKURowSerializer(many=True)


class SafetyStockLineSerializer(serializers.Serializer):
    location = serializers.CharField(max_length=32, help_text="Location code")
    sku = serializers.CharField(max_length=64, help_text="SKU code")
    safety_stock = serializers.IntegerField(min_value=0, help_text="Base units held back from the online channels")


class SafetyStockRequestSerializer(serializers.Serializer):
    lines = SafetyStockLineSerializer(many=True)


class JourneySerializer(serializers.ModelSerializer):
    location = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    stuck = serializers.SerializerMethodField(help_text="Past its step's SLA now")
    step_times = serializers.DictField(
        child=serializers.DateTimeField(), help_text="The earliest occurrence of each step taken"
    )

    class Meta:
        model = Journey
        fields = [
            "id", "kind", "business_id", "state", "state_at", "location", "channel", "started_at", "due_at",
            "stuck", "step_times", "placed_at", "ready_at", "collected_at", "fallout_at", "fallout_reason",
            "substituted", "short", "goods_received_at", "refunded_at", "settled_at", "updated_at",
        ]

    def get_stuck(self, journey) -> bool:
        return journey.due_at is not None and journey.due_at < self.context["now"]


# Documentation only: inventory.journeys validates posted steps as a batch.

class JourneyStepInSerializer(serializers.Serializer):
    transaction_id = serializers.CharField(max_length=128, help_text="Unique per source; the idempotency key")
    journey = serializers.ChoiceField(choices=JourneyKind.choices)
    business_id = serializers.CharField(max_length=100, help_text="The order, return, promotion or replenishment id")
    step = serializers.ChoiceField(
        choices=[(name, name) for name in STEP_NAMES],
        help_text="; ".join(f"{kind}: {', '.join(steps)}" for kind, steps in STEPS.items()),
    )
    occurred_at = serializers.DateTimeField(help_text="ISO 8601 with a UTC offset")
    location = serializers.CharField(
        max_length=32, required=False,
        help_text="Location code; required for picked, ready_for_pickup, collected, received, price_override, "
                  "promotion_sale",
    )
    channel = serializers.CharField(max_length=32, required=False, help_text="Channel code, e.g. web, bopis")
    reason = serializers.CharField(
        max_length=64, required=False, help_text="Reason code; required for fallout and price_override"
    )
    cashier = serializers.CharField(max_length=64, required=False, help_text="Required for price_override")
    quantity = serializers.IntegerField(min_value=0, max_value=10**9, required=False)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    reference = serializers.CharField(max_length=128, required=False)


class JourneyIngestRequestSerializer(serializers.Serializer):
    steps = JourneyStepInSerializer(many=True, help_text="At most INGEST_MAX_EVENTS (5000) steps")
