"""The one FilterSet of the case list, for the queue screen, its CSV export
and the API. Locations and SKUs are named by their codes, people by username.
The queryset it filters is already narrowed with `.restrict(user)`."""
from datetime import timedelta

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone

from controltower.filters import CodesFilter, UtcDateTimeFilter
from controltower.scoping import role_of, visible_locations
from controltower.widgets import LongSelect
from inventory.models import SKU, Location

from .detectors import kind_choices
from .findings import Drift
from .models import TEAM_OF_ROLE, Case
from .services.sla import breached_q

ACTIVE, DONE = "active", "done"
SEARCH_SKUS_AS_VALUES = 1000
RESOLVED_WITHIN_DAYS = (1, 7, 30)
# The queue's resolved/closed counts cover this many days and link to that list.
DONE_COUNT_DAYS = RESOLVED_WITHIN_DAYS[1]
STATUS_CHOICES = [
    (ACTIVE, "Active (open to waiting)"),
    *Case.Status.choices,
    (DONE, "Resolved or closed"),
]


def resolved_within(queryset, days):
    """The cases of `queryset` resolved in the last `days` days."""
    return queryset.filter(resolved_at__gte=timezone.now() - timedelta(days=days))


def _locations(request):
    return visible_locations(request.user) if request else Location.objects.none()


class CaseFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search",
                                  help_text="Part of the SKU code, SKU description or reference")
    kind = django_filters.ChoiceFilter(choices=kind_choices, empty_label="All kinds")
    drift = django_filters.ChoiceFilter(choices=Drift.choices, empty_label="Any drift class",
                                        help_text="Why a snapshot mismatch or financial variance differs")
    status = django_filters.ChoiceFilter(choices=STATUS_CHOICES, method="filter_status", empty_label="All statuses",
                                         help_text="A status, or active / done")
    severity = django_filters.ChoiceFilter(choices=[(n, f"Severity {n}") for n in range(1, 5)],
                                           empty_label="All severities")
    # A dashboard's count of the most severe (1 and 2): "severity at most".
    severity_max = django_filters.ChoiceFilter(field_name="severity", lookup_expr="lte", label="Severity at most",
                                               choices=[(n, f"Severity {n} or more urgent") for n in range(1, 5)],
                                               help_text="1 to 4: this severity or a more urgent one")
    location = django_filters.ModelChoiceFilter(queryset=_locations, to_field_name="code", widget=LongSelect,
                                                empty_label="All my locations", help_text="Location code")
    # Several locations and an opening period: the dashboards' case counts link here.
    locations = CodesFilter(field_name="location__code", help_text="Location codes, comma-separated")
    opened_after = UtcDateTimeFilter(field_name="opened_at", lookup_expr="gte",
                                     help_text="Opened at or after (ISO 8601)")
    opened_before = UtcDateTimeFilter(field_name="opened_at", lookup_expr="lt", help_text="Opened before (ISO 8601)")
    resolved_since = UtcDateTimeFilter(field_name="resolved_at", lookup_expr="gte",
                                       help_text="Resolved at or after (ISO 8601)")
    resolved_until = UtcDateTimeFilter(field_name="resolved_at", lookup_expr="lt",
                                       help_text="Resolved before (ISO 8601)")
    assignee = django_filters.CharFilter(method="filter_assignee",
                                         help_text="A username, me, or none (unassigned)")
    team = django_filters.ChoiceFilter(choices=[("mine", "My team's")], method="filter_team",
                                       empty_label="Any team", help_text="mine: routed to my team")
    resolved_within = django_filters.ChoiceFilter(
        choices=[(str(days), "Last day" if days == 1 else f"Last {days} days") for days in RESOLVED_WITHIN_DAYS],
        method="filter_resolved_within", empty_label="Any time", label="Resolved",
        help_text="Days: only cases resolved that recently",
    )
    breached = django_filters.BooleanFilter(
        method="filter_breached",
        widget=forms.Select(choices=[("", "Breached or not"), ("true", "Breached"), ("false", "Not breached")]),
        help_text="true: only cases past their SLA",
    )

    class Meta:
        model = Case
        fields = ["q", "kind", "drift", "status", "severity", "severity_max", "location", "locations", "opened_after", "opened_before",
                  "resolved_since", "resolved_until", "assignee", "team", "breached", "resolved_within"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        # The matching SKUs first. A short list goes into the query as values,
        # so PostgreSQL sees how few cases match and reads them by index
        # instead of walking the whole queue most urgent first; a long list
        # (a search matching most of the catalogue) stays a subquery.
        skus = SKU.objects.filter(Q(code__icontains=value) | Q(description__icontains=value)).values_list(
            "pk", flat=True)
        ids = list(skus[:SEARCH_SKUS_AS_VALUES + 1])
        matching = ids if len(ids) <= SEARCH_SKUS_AS_VALUES else skus
        return queryset.filter(Q(sku__in=matching) | Q(reference__icontains=value))

    def filter_status(self, queryset, name, value):
        if value == ACTIVE:
            return queryset.filter(status__in=Case.ACTIVE)
        if value == DONE:
            return queryset.filter(status__in=Case.DONE)
        return queryset.filter(status=value)

    def filter_breached(self, queryset, name, value):
        """Breached as read now (exceptions.services.sla.breached_q), as every count of breached cases."""
        if value is None:
            return queryset
        breached = breached_q(timezone.now())
        return queryset.filter(breached) if value else queryset.exclude(breached)

    def filter_resolved_within(self, queryset, name, value):
        return resolved_within(queryset, int(value))

    def filter_team(self, queryset, name, value):
        kind = TEAM_OF_ROLE.get(role_of(self.request.user)) if self.request else None
        return queryset.filter(owner__kind=kind) if kind else queryset.none()

    def filter_assignee(self, queryset, name, value):
        value = value.strip()
        if value == "me":
            return queryset.filter(assignee=self.request.user) if self.request else queryset.none()
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee__username=value) if value else queryset
