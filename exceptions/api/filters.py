import django_filters

from inventory.api.filters import UtcDateTimeFilter

from ..filters import CaseFilter


class CaseApiFilter(CaseFilter):
    """The screens' case filter, plus what the API offers: the region code
    and a period of resolution (the records behind a metric)."""

    region = django_filters.CharFilter(field_name="location__region__code", help_text="Region code")
    resolved_since = UtcDateTimeFilter(
        field_name="resolved_at", lookup_expr="gte", help_text="Resolved at or after (ISO 8601)"
    )
    resolved_until = UtcDateTimeFilter(
        field_name="resolved_at", lookup_expr="lt", help_text="Resolved before (ISO 8601)"
    )

    class Meta(CaseFilter.Meta):
        fields = [*CaseFilter.Meta.fields, "region", "resolved_since", "resolved_until"]
