"""FilterSets for the inventory API. Locations, SKUs and sources are filtered
by their codes, the words a retailer uses."""
import django_filters
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from controltower.filters import CodesFilter, UtcDateTimeFilter
from inventory.journeys import STEP_NAMES
from inventory.readiness_metrics import order_in_flight, return_unposted
from inventory.models import (
    SKU,
    Barcode,
    EventType,
    IngestDay,
    InventoryEvent,
    Journey,
    JourneyKind,
    JourneyStep,
    Location,
    Position,
    RejectedEvent,
)


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
    since = UtcDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", help_text="Occurred at or after (ISO 8601)"
    )
    until = UtcDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", help_text="Occurred before (ISO 8601)"
    )
    locations = CodesFilter(field_name="location__code", help_text="Location codes, comma-separated")
    sources = CodesFilter(field_name="source__code", help_text="Source system codes, comma-separated")
    received_since = UtcDateTimeFilter(
        field_name="received_at", lookup_expr="gte", help_text="Received at or after (ISO 8601)"
    )
    received_until = UtcDateTimeFilter(
        field_name="received_at", lookup_expr="lt", help_text="Received before (ISO 8601)"
    )

    class Meta:
        model = InventoryEvent
        fields = ["location", "sku", "type", "source", "since", "until", "locations", "sources",
                  "received_since", "received_until"]


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


class IngestDayFilter(django_filters.FilterSet):
    source = django_filters.CharFilter(field_name="source__code", help_text="Source system code")
    since = django_filters.DateFilter(field_name="day", lookup_expr="gte", help_text="First day (UTC), YYYY-MM-DD")
    sources = CodesFilter(field_name="source__code", help_text="Source system codes, comma-separated")
    until = django_filters.DateFilter(field_name="day", lookup_expr="lte", help_text="Last day (UTC), YYYY-MM-DD")

    class Meta:
        model = IngestDay
        fields = ["source", "since", "sources", "until"]


class RejectionFilter(django_filters.FilterSet):
    source = django_filters.CharFilter(field_name="source__code", help_text="Source system code")
    replayed = django_filters.BooleanFilter(
        field_name="replayed_at", lookup_expr="isnull", exclude=True,
        help_text="true: only rejections already replayed into the ledger",
    )
    status = django_filters.ChoiceFilter(
        choices=[("pending", "Waiting for a replay"), ("replayed", "Replayed"), ("dismissed", "Dismissed")],
        method="filter_status", help_text="pending: neither replayed nor dismissed; replayed; dismissed",
    )
    sources = CodesFilter(field_name="source__code", help_text="Source system codes, comma-separated")
    received_since = UtcDateTimeFilter(
        field_name="received_at", lookup_expr="gte", help_text="Received at or after (ISO 8601)"
    )
    received_until = UtcDateTimeFilter(
        field_name="received_at", lookup_expr="lt", help_text="Received before (ISO 8601)"
    )

    class Meta:
        model = RejectedEvent
        fields = ["source", "cause", "kind", "feed", "replayed", "status", "sources", "received_since",
                  "received_until"]

    def filter_status(self, queryset, name, value):
        if value == "pending":
            return queryset.waiting()
        return queryset.filter(**{f"{value}_at__isnull": False})


class JourneyFilter(django_filters.FilterSet):
    """Journeys by kind, state, where, channel, stuck, and when a step was
    first taken (`step` with since/until; without `step`, when the journey
    started): the records behind the journey KPIs."""

    kind = django_filters.ChoiceFilter(choices=JourneyKind.choices)
    state = django_filters.CharFilter(help_text="The derived state, e.g. ready_for_pickup")
    location = django_filters.CharFilter(field_name="location__code", help_text="Location code")
    locations = CodesFilter(field_name="location__code", help_text="Location codes, comma-separated")
    channel = django_filters.CharFilter(help_text="Channel code, e.g. bopis")
    channels = CodesFilter(field_name="channel", help_text="Channel codes, comma-separated")
    stuck = django_filters.BooleanFilter(
        method="filter_stuck", help_text="true: only journeys past their step's SLA; false: only the others"
    )
    step = django_filters.ChoiceFilter(
        choices=[(name, name) for name in STEP_NAMES], method="filter_nothing",
        help_text="With since/until: journeys that first took this step in that period",
    )
    since = UtcDateTimeFilter(method="filter_nothing", help_text="At or after (ISO 8601)")
    until = UtcDateTimeFilter(method="filter_nothing", help_text="Before (ISO 8601)")
    open = django_filters.BooleanFilter(
        method="filter_open", help_text="true: only orders in flight and returns received but not refunded "
                                        "(the work a cutover would strand); false: only the others")

    class Meta:
        model = Journey
        fields = ["kind", "state", "location", "locations", "channel", "channels", "stuck", "step", "since", "until",
                  "open"]

    def filter_open(self, queryset, name, value):
        unfinished = order_in_flight() | return_unposted()
        return queryset.filter(unfinished) if value else queryset.exclude(unfinished)

    def filter_stuck(self, queryset, name, value):
        stuck = Q(due_at__lt=timezone.now())
        return queryset.filter(stuck) if value else queryset.exclude(stuck)

    def filter_nothing(self, queryset, name, value):
        return queryset  # step, since and until are applied together in filter_queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        since, until = self.form.cleaned_data.get("since"), self.form.cleaned_data.get("until")
        if since is None and until is None:
            return queryset
        step = self.form.cleaned_data.get("step")
        if step:
            first = JourneyStep.objects.filter(journey=OuterRef("pk"), step=step).order_by("occurred_at")
            queryset = queryset.annotate(step_at=Subquery(first.values("occurred_at")[:1]))
            field = "step_at"
        else:
            field = "started_at"
        if since is not None:
            queryset = queryset.filter(**{f"{field}__gte": since})
        if until is not None:
            queryset = queryset.filter(**{f"{field}__lt": until})
        return queryset
