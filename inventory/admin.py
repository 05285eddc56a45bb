"""Admin screens for master data, and read-only views of the ledger and what
is derived from it (positions, transfers, kept rejections)."""
from django import forms
from django.contrib import admin
from django.db.models import Count

from .fields import MAX_QUANTITY
from .ingest_counts import observed_replays
from .models import (
    SKU,
    STATES,
    Barcode,
    BarcodeClash,
    Channel,
    ExternalId,
    Holiday,
    InventoryEvent,
    Location,
    ObservedLevel,
    Position,
    ReceivedDocument,
    Region,
    RejectedEvent,
    Snapshot,
    SourceEventTypeChoices,
    SourceSystem,
    TradingHours,
    Transfer,
    UnitConversion,
    WebhookDelivery,
)
from .safety_stock import set_safety_stock


class ReadOnlyAdmin(admin.ModelAdmin):
    """For the immutable ledger and the records ingest derives from it:
    editing them here would make them disagree with the ledger."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "location_count"]
    search_fields = ["code", "name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(location_count=Count("locations"))

    @admin.display(description="Locations", ordering="location_count")
    def location_count(self, obj):
        return obj.location_count


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "region", "banner", "format", "timezone", "go_live_date", "active"]
    list_filter = ["kind", "region", "banner", "format", "active"]
    search_fields = ["code", "name", "gln"]
    list_select_related = ["region"]
    autocomplete_fields = ["region"]


@admin.register(ExternalId)
class ExternalIdAdmin(admin.ModelAdmin):
    """A source's own ids of locations and SKUs (inventory.identifiers)."""

    list_display = ["source", "kind", "external_id", "location", "sku", "updated_at"]
    list_filter = ["source", "kind"]
    search_fields = ["external_id", "location__code", "sku__code"]
    list_select_related = ["source", "location", "sku"]
    autocomplete_fields = ["location", "sku"]


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    """Sales channels: the hold time of their reservations and the ATP they see."""

    list_display = ["code", "name", "hold_minutes", "holds_back_safety_stock"]
    search_fields = ["code", "name"]


class SourceSystemForm(forms.ModelForm):
    # The lane's lists as tick boxes; none ticked is no restriction.
    lane_event_types = forms.MultipleChoiceField(
        choices=SourceEventTypeChoices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=SourceSystem._meta.get_field("lane_event_types").help_text,
    )
    lane_snapshot_kinds = forms.MultipleChoiceField(
        choices=Snapshot.Kind.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=SourceSystem._meta.get_field("lane_snapshot_kinds").help_text,
    )

    class Meta:
        model = SourceSystem
        fields = "__all__"


@admin.register(SourceSystem)
class SourceSystemAdmin(admin.ModelAdmin):
    form = SourceSystemForm
    list_display = [
        "code", "name", "kind", "generation", "expected_interval_s", "latency_target_s", "last_event_at", "active",
        "loads_master_data",
    ]
    list_filter = ["kind", "generation", "active", "loads_master_data", "releases_expired_reservations"]
    search_fields = ["code", "name"]
    readonly_fields = ["last_event_at", "observed_replays", "webhook"]
    filter_horizontal = ["lane_locations"]
    fieldsets = [
        (None, {"fields": [
            "code", "name", "kind", "generation", "expected_interval_s", "latency_target_s", "last_event_at",
            "active", "loads_master_data",
        ]}),
        ("Reservations", {"fields": ["default_channel", "releases_expired_reservations"]}),
        ("Suspected duplicates", {"fields": ["replay_window_s", "observed_replays"]}),
        ("Webhooks", {"fields": ["webhook"]}),
        ("Lane (what this source may send; empty: no restriction)", {"fields": [
            "lane_locations", "lane_event_types", "lane_snapshot_kinds",
        ]}),
    ]

    @admin.display(description="Webhook secret")
    def webhook(self, source):
        """Whether the source's webhooks can be verified; the secret itself is never shown."""
        if source.webhook_secret:
            return "Set (stored encrypted). Change it with manage.py add_source CODE --kind KIND --webhook-secret."
        return "None: its webhooks are refused (manage.py add_source CODE --kind KIND --webhook-secret sets one)."

    @admin.display(description="Observed replays")
    def observed_replays(self, source):
        """What this source's resends of known keys show, beside the window set above."""
        if source.pk is None:
            return "Nothing received yet."
        return observed_replays(source).words


class BarcodeInline(admin.TabularInline):
    model = Barcode
    extra = 0


class UnitConversionInline(admin.TabularInline):
    model = UnitConversion
    extra = 0


@admin.register(SKU)
class SKUAdmin(admin.ModelAdmin):
    list_display = ["code", "description", "category", "unit_cost", "base_unit", "active"]
    list_filter = ["active", "category", "base_unit"]
    search_fields = ["code", "description", "barcodes__code"]
    inlines = [BarcodeInline, UnitConversionInline]


@admin.register(InventoryEvent)
class InventoryEventAdmin(ReadOnlyAdmin):
    list_display = [
        "occurred_at", "source", "transaction_id", "type", "location", "sku", "quantity",
        "from_state", "to_state", "to_location", "reference", "reason", "latency_ms",
    ]
    list_filter = ["type", "source", "from_state", "to_state"]
    search_fields = ["transaction_id", "reference", "location__code", "sku__code"]
    list_select_related = ["source", "location", "sku", "to_location"]
    date_hierarchy = "occurred_at"
    # The ledger grows large: skip the unfiltered COUNT(*) on every page.
    show_full_result_count = False


class PositionForm(forms.ModelForm):
    # The bounds set_safety_stock checks, so the form says what is wrong before saving.
    safety_stock = forms.IntegerField(
        min_value=0, max_value=MAX_QUANTITY, help_text="Base units held back from the online channels' ATP."
    )

    class Meta:
        model = Position
        fields = ["safety_stock"]


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    """The ledger's projection, read-only but for safety stock, which is set
    here (or by import_safety_stock and the API) through set_safety_stock:
    saving a whole position could undo a posting made meanwhile."""

    list_display = [
        "location", "sku", "available", "reserved", "picked", "packed", "staged", "in_transit",
        "damaged", "returned", "pending_inspection", "quarantined", "on_hand", "atp", "safety_stock", "updated_at",
    ]
    list_filter = ["location__region", "location__kind"]
    search_fields = ["location__code", "sku__code"]
    list_select_related = ["location", "sku"]
    show_full_result_count = False
    form = PositionForm
    fields = ["location", "sku", "safety_stock", *STATES, "updated_at"]
    readonly_fields = ["location", "sku", *STATES, "updated_at"]

    def has_change_permission(self, request, obj=None):
        return admin.ModelAdmin.has_change_permission(self, request, obj)

    def save_model(self, request, obj, form, change):
        set_safety_stock([{"location": obj.location.code, "sku": obj.sku.code, "safety_stock": obj.safety_stock}])


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = [
        "reference", "sku", "from_location", "to_location", "quantity_shipped", "quantity_received",
        "outstanding", "shipped_at", "received_at",
    ]
    search_fields = ["reference", "sku__code", "from_location__code", "to_location__code"]
    list_select_related = ["sku", "from_location", "to_location"]
    date_hierarchy = "shipped_at"


@admin.register(RejectedEvent)
class RejectedEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "source", "transaction_id", "kind", "cause", "replay_status", "replayed_at"]
    list_filter = ["kind", "source", "cause", "replay_status"]
    search_fields = ["transaction_id", "cause"]
    list_select_related = ["source"]
    date_hierarchy = "received_at"


@admin.register(ReceivedDocument)
class ReceivedDocumentAdmin(ReadOnlyAdmin):
    """The documents sources sent (a refused one's body: its page on integration health)."""

    list_display = ["received_at", "source", "format", "status", "size", "lines", "accepted", "rejected", "ignored"]
    list_filter = ["status", "format", "source"]
    search_fields = ["sha256", "error"]
    list_select_related = ["source"]
    date_hierarchy = "received_at"
    exclude = ["body"]


@admin.register(BarcodeClash)
class BarcodeClashAdmin(ReadOnlyAdmin):
    list_display = ["refused_at", "barcode", "sku_code", "held_by"]
    search_fields = ["barcode", "sku_code", "held_by"]
    date_hierarchy = "refused_at"


@admin.register(TradingHours)
class TradingHoursAdmin(admin.ModelAdmin):
    list_display = ("location", "region", "location_kind", "weekday", "opens", "closes")
    list_filter = ("location_kind", "region")


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ("date", "name", "location", "region")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "source", "delivery_id", "topic", "status", "reason"]
    list_filter = ["status", "source", "topic"]
    search_fields = ["delivery_id"]
    list_select_related = ["source"]
    date_hierarchy = "received_at"


@admin.register(ObservedLevel)
class ObservedLevelAdmin(ReadOnlyAdmin):
    list_display = ["source", "location_ref", "sku_ref", "state", "quantity", "observed_at", "snapshot"]
    list_filter = ["source", "state"]
    search_fields = ["location_ref", "sku_ref"]
    list_select_related = ["source"]
