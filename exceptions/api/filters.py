import django_filters

from ..filters import CaseFilter


class CaseApiFilter(CaseFilter):
    """The screens' case filter, plus the region code."""

    region = django_filters.CharFilter(field_name="location__region__code", help_text="Region code")

    class Meta(CaseFilter.Meta):
        fields = [*CaseFilter.Meta.fields, "region"]
