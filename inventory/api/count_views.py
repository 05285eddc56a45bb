"""Cycle count API: thin callers of inventory.counts, for people (a source
system's token gets 403), narrowed by controltower.scoping.

- GET /api/v1/count-variances: the variance of every count, newest first.
- GET /api/v1/accuracy: inventory record accuracy per location over a period.
"""
import django_filters
from django.db.models import DecimalField, ExpressionWrapper, F
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated

from controltower.api import IsPerson
from controltower.filters import CodesFilter, UtcDateTimeFilter
from controltower.scoping import visible_locations
from inventory.counts import accuracy
from inventory.models import CountVariance, Location, StateChoices



class CountVarianceFilter(django_filters.FilterSet):
    location = django_filters.CharFilter(field_name="location__code", help_text="Location code")
    sku = django_filters.CharFilter(field_name="sku__code", help_text="SKU code")
    state = django_filters.ChoiceFilter(choices=StateChoices.choices)
    since = UtcDateTimeFilter(field_name="counted_at", lookup_expr="gte", help_text="Counted at or after (ISO 8601)")
    until = UtcDateTimeFilter(field_name="counted_at", lookup_expr="lt", help_text="Counted before (ISO 8601)")
    beyond_tolerance = django_filters.BooleanFilter(
        field_name="within_tolerance", exclude=True,
        help_text="true: only counts beyond their location kind's tolerance; false: only those within it",
    )

    class Meta:
        model = CountVariance
        fields = ["location", "sku", "state", "since", "until", "beyond_tolerance"]


class CountVarianceSerializer(serializers.Serializer):
    count_event = serializers.IntegerField(source="event_id", help_text="The cycle_count ledger line")
    source = serializers.CharField(source="event__source__code")
    transaction_id = serializers.CharField(source="event__transaction_id")
    location = serializers.CharField(source="location__code")
    sku = serializers.CharField(source="sku__code")
    state = serializers.CharField()
    counted_at = serializers.DateTimeField()
    counted = serializers.IntegerField()
    record = serializers.IntegerField(
        allow_null=True,
        help_text="The ledger as of the count time without the count, with the lines that arrived late; "
                  "null when nothing was on record before the count (an opening balance)",
    )
    variance = serializers.IntegerField(allow_null=True, help_text="counted - record, in base units")
    value = serializers.DecimalField(
        max_digits=20, decimal_places=2, allow_null=True, help_text="The variance at the SKU's unit cost"
    )
    within_tolerance = serializers.BooleanField(allow_null=True)
    computed_at = serializers.DateTimeField(help_text="When the variance was last computed (a late line recomputes it)")


class CountVarianceListView(generics.ListAPIView):
    """The variance of each cycle count in your scope, newest count first."""

    serializer_class = CountVarianceSerializer
    filterset_class = CountVarianceFilter
    permission_classes = [IsAuthenticated, IsPerson]

    def get_queryset(self):
        value = ExpressionWrapper(F("variance") * F("sku__unit_cost"), output_field=DecimalField())
        return (
            CountVariance.objects.restrict(self.request.user)
            .annotate(value=value)
            .order_by("-counted_at", "-event_id")
            .values(
                "event_id", "event__source__code", "event__transaction_id", "location__code", "sku__code",
                "state", "counted_at", "counted", "record", "variance", "value", "within_tolerance", "computed_at",
            )
        )


class AccuracyFilter(django_filters.FilterSet):
    location = django_filters.CharFilter(field_name="code", help_text="Location code")
    locations = CodesFilter(field_name="code", help_text="Location codes, comma-separated")
    region = django_filters.CharFilter(field_name="region__code", help_text="Region code")
    kind = django_filters.ChoiceFilter(choices=Location.Kind.choices)
    since = UtcDateTimeFilter(method="period", help_text="Counts at or after (ISO 8601); default: every count")
    until = UtcDateTimeFilter(method="period", help_text="Counts before (ISO 8601); default: up to now")

    class Meta:
        model = Location
        fields = ["location", "locations", "region", "kind", "since", "until"]

    def period(self, queryset, name, value):
        return queryset  # the period of the counts, not a filter on locations


class AccuracySerializer(serializers.Serializer):
    location = serializers.CharField()
    kind = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True)
    until = serializers.DateTimeField(allow_null=True)
    counted_pairs = serializers.IntegerField(help_text="SKUs counted here in the period (with a record to compare)")
    exact = serializers.IntegerField(help_text="Their latest count in the period equals the record")
    within_tolerance = serializers.IntegerField(help_text="Their latest count is within the location kind's tolerance")
    accuracy = serializers.DecimalField(
        max_digits=5, decimal_places=2, allow_null=True,
        help_text="exact / counted_pairs in percent; null when nothing was counted (no data)",
    )
    accuracy_within_tolerance = serializers.DecimalField(
        max_digits=5, decimal_places=2, allow_null=True,
        help_text="within_tolerance / counted_pairs in percent; null when nothing was counted",
    )


class AccuracyView(generics.ListAPIView):
    """Inventory record accuracy of each location in your scope: of the SKUs
    counted in the period, the share whose latest count equalled the record
    as of the count time (ECR's exact match: an over and an under never net),
    and the share within the location kind's tolerance."""

    serializer_class = AccuracySerializer
    filterset_class = AccuracyFilter
    permission_classes = [IsAuthenticated, IsPerson]

    def get_queryset(self):
        return visible_locations(self.request.user).order_by("code")

    def list(self, request, *args, **kwargs):
        filterset = AccuracyFilter(request.query_params, queryset=self.get_queryset(), request=request)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        since, until = filterset.form.cleaned_data.get("since"), filterset.form.cleaned_data.get("until")
        if since is not None and until is not None and until <= since:
            raise ValidationError({"until": ["'until' must be later than 'since'."]})
        page = self.paginate_queryset(filterset.qs)
        figures = accuracy([location.pk for location in page], since, until)
        rows = []
        for location in page:
            figure = figures[location.pk]
            rows.append({
                "location": location.code, "kind": location.kind, "since": since, "until": until,
                "counted_pairs": figure.counted, "exact": figure.exact,
                "within_tolerance": figure.within_tolerance, "accuracy": figure.share_exact,
                "accuracy_within_tolerance": figure.share_within_tolerance,
            })
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)
