"""Admin screens for master data, and read-only views of the ledger and what
is derived from it (positions, transfers, kept rejections)."""
from django import forms
from django.contrib import admin
from django.db.models import Count

from .models import (
    SKU,
    Barcode,
    BarcodeClash,
    EventType,
    InventoryEvent,
    Location,
    Position,
    Region,
    RejectedEvent,
    Snapshot,
    SourceSystem,
    Transfer,
    UnitConversion,
)


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
    search_fields = ["code", "name"]
    list_select_related = ["region"]
    autocomplete_fields = ["region"]


class SourceSystemForm(forms.ModelForm):
    # The lane's lists as tick boxes; none ticked is no restriction.
    lane_event_types = forms.MultipleChoiceField(
        choices=EventType.choices, required=False, widget=forms.CheckboxSelectMultiple,
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
    list_filter = ["kind", "generation", "active", "loads_master_data"]
    search_fields = ["code", "name"]
    readonly_fields = ["last_event_at"]
    filter_horizontal = ["lane_locations"]
    fieldsets = [
        (None, {"fields": [
            "code", "name", "kind", "generation", "expected_interval_s", "latency_target_s", "last_event_at",
            "active", "loads_master_data",
        ]}),
        ("Lane (what this source may send; empty: no restriction)", {"fields": [
            "lane_locations", "lane_event_types", "lane_snapshot_kinds",
        ]}),
    ]


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


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = [
        "location", "sku", "available", "reserved", "picked", "packed", "staged", "in_transit",
        "damaged", "returned", "pending_inspection", "quarantined", "on_hand", "atp", "safety_stock", "updated_at",
    ]
    list_filter = ["location__region", "location__kind"]
    search_fields = ["location__code", "sku__code"]
    list_select_related = ["location", "sku"]
    show_full_result_count = False


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


@admin.register(BarcodeClash)
class BarcodeClashAdmin(ReadOnlyAdmin):
    list_display = ["refused_at", "barcode", "sku_code", "held_by"]
    search_fields = ["barcode", "sku_code", "held_by"]
    date_hierarchy = "refused_at"
