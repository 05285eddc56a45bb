"""FilterSets for the inventory API. Locations, SKUs and sources are filtered
by their codes, the words a retailer uses."""
import django_filters
from django.db.models import Q

from inventory.models import SKU, Barcode, EventType, InventoryEvent, Location, Position, RejectedEvent


class PositionFilter(django_filters.FilterSet):
    location = django_filters.CharFilter(field_name="location__code", help_text="Location code")
    sku = django_filters.CharFilter(field_name="sku__code", help_text="SKU code")
    region = django_filters.CharFilter(field_name="location__region__code", help_text="Region code")
    kind = django_filters.ChoiceFilter(field_name="location__kind", choices=Location.Kind.choices)
    negative = django_filters.BooleanFilter(
        method="filter_negative", help_text="true: only positions with negative available stock"
    )

    class Meta:
        model = Position
        fields = ["location", "sku", "region", "kind", "negative"]

    def filter_negative(self, queryset, name, value):
        return queryset.filter(available__lt=0) if value else queryset.filter(available__gte=0)


class EventFilter(django_filters.FilterSet):
    location = django_filters.CharFilter(field_name="location__code", help_text="Location code")
    sku = django_filters.CharFilter(field_name="sku__code", help_text="SKU code")
    type = django_filters.ChoiceFilter(choices=EventType.choices)
    source = django_filters.CharFilter(field_name="source__code", help_text="Source system code")
    since = django_filters.IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", help_text="Occurred at or after (ISO 8601)"
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", help_text="Occurred before (ISO 8601)"
    )

    class Meta:
        model = InventoryEvent
        fields = ["location", "sku", "type", "source", "since", "until"]


class LocationFilter(django_filters.FilterSet):
    region = django_filters.CharFilter(field_name="region__code", help_text="Region code")

    class Meta:
        model = Location
        fields = ["region", "kind", "active"]


class SKUFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search", help_text="Part of the code or description, or a whole barcode"
    )

    class Meta:
        model = SKU
        fields = ["search", "category", "active"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(code__icontains=value)
            | Q(description__icontains=value)
            | Q(id__in=Barcode.objects.filter(code=value).values("sku_id"))
        )


class RejectionFilter(django_filters.FilterSet):
    source = django_filters.CharFilter(field_name="source__code", help_text="Source system code")
    replayed = django_filters.BooleanFilter(
        field_name="replayed_at", lookup_expr="isnull", exclude=True,
        help_text="true: only rejections already replayed into the ledger",
    )

    class Meta:
        model = RejectedEvent
        fields = ["source", "cause", "kind", "replayed"]
