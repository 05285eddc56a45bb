"""The inventory records behind the metrics, as lists people read
(controltower.records): ledger lines, rejections, ingest days, SKUs,
barcode clashes and count variances. Each list filters with the API's
FilterSet of the same records, so a metric's link means the same on the
page as in the API."""
import django_filters
from django.db.models import Exists, Q
from django.urls import reverse

from controltower.filters import CodesFilter, UtcDateTimeFilter
from controltower.metrics import seconds_text
from controltower.permissions import may_see_rejections
from controltower.records import Column, register
from controltower.scoping import visible_locations

from .api.count_views import CountVarianceFilter
from .api.filters import EventFilter, IngestDayFilter, RejectionFilter, SKUFilter
from .metrics import bad_conversions, item_master_problem
from .models import (
    SKU,
    BarcodeClash,
    CountVariance,
    IngestDay,
    InventoryEvent,
    Location,
    Position,
    RejectedEvent,
    SourceSystem,
    Transfer,
)


def _code(related):
    return related.code if related is not None else None


def _errors_text(errors):
    """A rejection's {field: [messages]} as one line: "sku: Unknown SKU 'X'."."""
    if not isinstance(errors, dict):
        return str(errors)
    return "; ".join(f"{name}: {' '.join(str(m) for m in messages) if isinstance(messages, list) else messages}"
                     for name, messages in errors.items())


def rejection_status(rejection):
    """Where a kept rejection stands, in words."""
    if rejection.dismissed_at is not None:
        return "Dismissed"
    if rejection.replayed_at is not None:
        if rejection.replay_status == "ignored":  # an observation older than the level kept meanwhile
            return "Replayed: ignored, a newer level was kept"
        return "Replayed: a duplicate" if rejection.replay_status == "duplicate" else "Replayed"
    if rejection.kind == RejectedEvent.Kind.CONFLICT:
        return "A conflict (not replayed)"
    return "Waiting for a fix and a replay"


def carried_at(codes):
    """The SKUs with a stock position at one of the locations `codes`, as a subquery."""
    return Position.objects.filter(location__code__in=codes).values("sku_id")


class SKURecordFilter(SKUFilter):
    complete = django_filters.BooleanFilter(
        method="filter_complete", help_text="false: only SKUs the item master completeness counts as incomplete")
    conversion_refused = django_filters.BooleanFilter(
        method="filter_conversion_refused", help_text="true: only SKUs with a unit conversion the item master refuses")
    locations = CodesFilter(method="filter_locations",
                            help_text="Location codes, comma-separated: the SKUs they carry (have positions for)")

    class Meta(SKUFilter.Meta):
        fields = [*SKUFilter.Meta.fields, "complete", "conversion_refused", "locations"]

    def filter_complete(self, queryset, name, value):
        return queryset.exclude(item_master_problem()) if value else queryset.filter(item_master_problem())

    def filter_conversion_refused(self, queryset, name, value):
        refused = Exists(bad_conversions())
        return queryset.filter(refused) if value else queryset.exclude(refused)

    def filter_locations(self, queryset, name, value):
        return queryset.filter(pk__in=carried_at(value))


class BarcodeClashFilter(django_filters.FilterSet):
    barcode = django_filters.CharFilter()
    since = UtcDateTimeFilter(field_name="refused_at", lookup_expr="gte", help_text="Refused at or after (ISO 8601)")
    until = UtcDateTimeFilter(field_name="refused_at", lookup_expr="lt", help_text="Refused before (ISO 8601)")
    locations = CodesFilter(method="filter_locations",
                            help_text="Location codes, comma-separated: clashes of a SKU they carry")

    class Meta:
        model = BarcodeClash
        fields = ["barcode", "since", "until", "locations"]

    def filter_locations(self, queryset, name, value):
        codes = SKU.objects.filter(pk__in=carried_at(value)).values("code")
        return queryset.filter(Q(sku_code__in=codes) | Q(held_by__in=codes))


class TransferRecordFilter(django_filters.FilterSet):
    locations = CodesFilter(method="filter_locations", help_text="Location codes, comma-separated: either end")
    open_at = UtcDateTimeFilter(method="filter_open_at",
                                help_text="Only transfers shipped before and not received by then (ISO 8601)")

    class Meta:
        model = Transfer
        fields = ["reference", "locations", "open_at"]

    def filter_locations(self, queryset, name, value):
        return queryset.filter(Q(to_location__code__in=value) | Q(from_location__code__in=value))

    def filter_open_at(self, queryset, name, value):
        return queryset.filter(Q(shipped_at__lt=value) & (Q(received_at__isnull=True) | Q(received_at__gte=value)))


class StoreFeedFilter(django_filters.FilterSet):
    locations = CodesFilter(field_name="code", help_text="Location codes, comma-separated")

    class Meta:
        model = Location
        fields = ["locations", "kind"]


def _target_feeds(location):
    return ", ".join(sorted(s.code for s in location.lane_sources.all()
                            if s.active and s.generation == SourceSystem.Generation.TARGET)) or None


class CountRecordFilter(CountVarianceFilter):
    locations = CodesFilter(field_name="location__code", help_text="Location codes, comma-separated")

    class Meta(CountVarianceFilter.Meta):
        fields = [*CountVarianceFilter.Meta.fields, "locations"]


def _sku_problems(sku):
    problems = [words for missing, words in (
        (sku.unit_cost is None or sku.unit_cost <= 0, "no unit cost"), (not sku.category, "no category"),
        (not sku.base_unit, "no base unit"), (sku.bad_conversion, "a conversion the item master refuses"),
    ) if missing]
    return ", ".join(problems) or "complete"


def _skus(user):
    return SKU.objects.annotate(bad_conversion=Exists(bad_conversions())).prefetch_related(
        "barcodes", "conversions").order_by("code")


def register_records():
    register(
        "events", "Ledger lines",
        description="Each event the ledger took, newest first: what it moved, where, and when it occurred "
                    "and arrived. Quantities are in the SKU's base unit.",
        rows=lambda user: InventoryEvent.objects.restrict(user).select_related(
            "source", "location", "sku", "to_location").order_by("-id"),
        filterset=EventFilter,
        columns=[
            Column("Occurred", lambda e: e.occurred_at, "time"),
            Column("Received", lambda e: e.received_at, "time"),
            Column("Latency", lambda e: None if e.latency_ms is None else seconds_text(e.latency_ms / 1000)),
            Column("Source", lambda e: e.source.code),
            Column("Transaction", lambda e: e.transaction_id),
            Column("Type", lambda e: e.get_type_display()),
            Column("Location", lambda e: _code(e.location)),
            Column("SKU", lambda e: _code(e.sku)),
            Column("Quantity", lambda e: e.quantity, "number"),
            Column("States", lambda e: " → ".join(s for s in (e.from_state, e.to_state) if s)),
            Column("To location", lambda e: _code(e.to_location)),
            Column("Reference", lambda e: e.reference),
            Column("Reason", lambda e: e.reason),
        ],
    )
    register(
        "rejections", "Rejected events",
        description="Each event a source sent that the tower refused, newest first, with what was wrong. "
                    "Rejections name no trusted location, so only people who see the whole estate see them.",
        rows=lambda user: RejectedEvent.objects.restrict(user).select_related("source").order_by(
            "-received_at", "-id"),
        filterset=RejectionFilter, may_see=may_see_rejections,
        columns=[
            Column("Received", lambda r: r.received_at, "time",
                   link=lambda r: reverse("rejection", args=[r.pk])),
            Column("Source", lambda r: r.source.code),
            Column("Transaction", lambda r: r.transaction_id),
            Column("Feed", lambda r: r.get_feed_display()),
            Column("Cause", lambda r: r.cause),
            Column("What was wrong", lambda r: _errors_text(r.errors)),
            Column("Status", rejection_status),
        ],
    )
    register(
        "ingest-days", "What each source sent per day",
        description="Per source and UTC day: the events received and how the tower answered them. "
                    "A duplicate is the same transaction sent again with the same content.",
        rows=lambda user: IngestDay.objects.restrict(user).select_related("source").order_by("-day", "source__code"),
        filterset=IngestDayFilter, may_see=may_see_rejections,
        columns=[
            Column("Day (UTC)", lambda d: d.day.strftime("%d %b %Y")),
            Column("Source", lambda d: d.source.code),
            Column("Received", lambda d: d.received, "number"),
            Column("Accepted", lambda d: d.accepted, "number"),
            Column("Duplicates", lambda d: d.duplicates, "number"),
            Column("Conflicts", lambda d: d.conflicts, "number"),
            Column("Rejected", lambda d: d.rejected, "number"),
        ],
    )
    register(
        "skus", "Item master",
        description="Each SKU with its cost, category, base unit, barcodes and unit conversions, and "
                    "what makes it incomplete for the item master completeness.",
        rows=_skus, filterset=SKURecordFilter,
        columns=[
            Column("SKU", lambda s: s.code),
            Column("Description", lambda s: s.description),
            Column("Category", lambda s: s.category),
            Column("Unit cost", lambda s: s.unit_cost, "number"),
            Column("Base unit", lambda s: s.base_unit),
            Column("Barcodes", lambda s: ", ".join(b.code for b in s.barcodes.all())),
            Column("Conversions", lambda s: ", ".join(f"{c.unit} = {c.factor_text} {s.base_unit}"
                                                      for c in s.conversions.all())),
            Column("Active", lambda s: "yes" if s.active else "no"),
            Column("Item master check", _sku_problems),
        ],
    )
    register(
        "barcode-clashes", "Barcodes refused for a second SKU",
        description="Each barcode an item master load tried to give to a SKU while another SKU held it: "
                    "the row was refused.",
        rows=lambda user: BarcodeClash.objects.order_by("-refused_at", "-id"),
        filterset=BarcodeClashFilter,
        columns=[
            Column("Refused", lambda c: c.refused_at, "time"),
            Column("Barcode", lambda c: c.barcode),
            Column("Refused for SKU", lambda c: c.sku_code),
            Column("Held by SKU", lambda c: c.held_by),
        ],
    )
    register(
        "transfers", "Transfers",
        description="Each transfer line (transfer x SKU) between two locations, newest shipment first: "
                    "shipped, received, or still in transit.",
        rows=lambda user: Transfer.objects.select_related("sku", "from_location", "to_location").filter(
            Q(to_location__in=visible_locations(user)) | Q(from_location__in=visible_locations(user))
        ).order_by("-shipped_at", "-id"),
        filterset=TransferRecordFilter,
        columns=[
            Column("Reference", lambda t: t.reference),
            Column("SKU", lambda t: t.sku.code),
            Column("From", lambda t: _code(t.from_location)),
            Column("To", lambda t: t.to_location.code),
            Column("Shipped", lambda t: t.shipped_at, "time"),
            Column("Quantity shipped", lambda t: t.quantity_shipped, "number"),
            Column("Received", lambda t: t.received_at, "time"),
            Column("Quantity received", lambda t: t.quantity_received, "number"),
        ],
    )
    register(
        "store-feeds", "Locations and their target feeds",
        description="Each location with the active target (new) systems whose lanes name it; a source "
                    "without lanes feeds wherever it sends, so its events count too.",
        rows=lambda user: visible_locations(user).prefetch_related("lane_sources").order_by("code"),
        filterset=StoreFeedFilter,
        columns=[
            Column("Location", lambda loc: loc.code),
            Column("Name", lambda loc: loc.name),
            Column("Go-live", lambda loc: loc.go_live_date and loc.go_live_date.strftime("%d %b %Y")),
            Column("Target feeds by lane", _target_feeds),
        ],
    )
    register(
        "count-variances", "Cycle counts and their variances",
        description="Each counted location x SKU x state, newest first: what was counted, what the record "
                    "said as of the count time, and the difference. Inventory record accuracy takes each "
                    "pair's latest count in its period.",
        rows=lambda user: CountVariance.objects.restrict(user).select_related("location", "sku").order_by(
            "-counted_at", "-event_id"),
        filterset=CountRecordFilter,
        columns=[
            Column("Counted at", lambda v: v.counted_at, "time"),
            Column("Location", lambda v: v.location.code),
            Column("SKU", lambda v: v.sku.code),
            Column("State", lambda v: v.get_state_display()),
            Column("Counted", lambda v: v.counted, "number"),
            Column("Record", lambda v: v.record, "number"),
            Column("Variance", lambda v: v.variance, "number"),
            Column("Value at cost", lambda v: None if v.variance is None else v.variance * v.sku.unit_cost,
                   "number"),
            Column("Exact", lambda v: None if v.variance is None else ("yes" if v.variance == 0 else "no")),
            Column("Within tolerance", lambda v: None if v.within_tolerance is None
                   else ("yes" if v.within_tolerance else "no")),
        ],
    )
