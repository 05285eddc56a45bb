"""Sources stay in their lane.

Who loads master data: locations, SKUs and PO lines are loaded by an ERP
source, a source allowed to (SourceSystem.loads_master_data), or a person whose role
may (controltower.permissions.may_load_master_data): `master_data_refusal`,
used by the API, is the one place that decides.

What a source may send: its lane is the locations it feeds and the event
types and snapshot kinds it may send. A part left empty is no restriction,
so a source without a lane sends what it always could. Ingest loads the lane
once per batch (`lane_of`, one query) and asks it about each item; an item
outside the lane is rejected with the field named, like any other
validation error. A transfer_out is checked at its `location` only: a store
ships to anywhere.
"""
from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from controltower.permissions import may_load_master_data
from controltower.tokens import SourceClient

from .models import CONTROL_TOWER_SOURCE, SOURCE_EVENT_TYPES, InventoryEvent, Location, Snapshot, SourceSystem

# Lane locations named in one message: a lane of 500 stores should not be
# repeated in full in every rejection.
LOCATIONS_SHOWN = 10


class LaneError(ValueError):
    """A lane that cannot be set: an unknown location code, event type or snapshot kind."""


def master_data_refusal(user) -> str:
    """'' when `user` (request.user: a person, or a source system's client)
    may load locations, SKUs and PO lines; else the reason, for the 403."""
    if isinstance(user, SourceClient):
        source = user.source
        if source.kind == SourceSystem.Kind.ERP or source.loads_master_data:
            return ""
        return (
            f"Source {source.code} may not load master data or PO lines: only an ERP source, "
            "or one allowed to load master data, may."
        )
    if may_load_master_data(user):
        return ""
    return "Only an admin or integration admin may load master data and PO lines."


class Lane:
    """What one source may send, loaded once for a batch."""

    def __init__(self, source_code, locations, event_types, snapshot_kinds):
        self.source_code = source_code
        self.location_ids = frozenset(locations)  # locations: {id: code}
        self.event_types = frozenset(event_types)
        self.snapshot_kinds = frozenset(snapshot_kinds)
        codes = sorted(locations.values())
        more = len(codes) - LOCATIONS_SHOWN
        self._locations_text = ", ".join(codes[:LOCATIONS_SHOWN]) + (f" and {more} more" if more > 0 else "")
        self._types_text = ", ".join(event_types)
        self._kinds_text = ", ".join(snapshot_kinds)

    def errors_for_event(self, event_type, location_id, location_code) -> dict:
        """{} when the source may send this event, else {field: [message]}."""
        errors = {}
        if self.event_types and event_type not in self.event_types:
            errors["type"] = [
                f"Source {self.source_code} may not send {event_type} events (its lane: {self._types_text})."
            ]
        errors.update(self.errors_for_line(location_id, location_code))
        return errors

    def errors_for_line(self, location_id, location_code) -> dict:
        """A snapshot or PO line at this location: {} when the source feeds it."""
        if self.location_ids and location_id not in self.location_ids:
            return {"location": [
                f"Source {self.source_code} does not feed location {location_code} "
                f"(its lane: {self._locations_text})."
            ]}
        return {}

    def summary(self) -> str:
        """The lane in one line, e.g. 'locations: S001, S002; event types: any; snapshot kinds: any'."""
        parts = (
            ("locations", self._locations_text),
            ("event types", self._types_text),
            ("snapshot kinds", self._kinds_text),
        )
        return "; ".join(f"{noun}: {text or 'any'}" for noun, text in parts)

    def snapshot_kind_refusal(self, kind) -> str:
        """'' when the source may send a snapshot of `kind`, else the reason."""
        if self.snapshot_kinds and kind not in self.snapshot_kinds:
            return (
                f"'kind': source {self.source_code} may not send {kind} snapshots "
                f"(its lane: {self._kinds_text})."
            )
        return ""


def lane_of(source: SourceSystem) -> Lane:
    """The lane of `source`: one query, for its locations."""
    locations = dict(source.lane_locations.values_list("id", "code"))
    return Lane(source.code, locations, source.lane_event_types, source.lane_snapshot_kinds)


def set_lane(source: SourceSystem, locations=None, event_types=None, snapshot_kinds=None):
    """Set the parts of `source`'s lane that are given: location codes, event
    types, snapshot kinds. None leaves a part as it is; an empty list lifts
    its restriction. Raises LaneError, naming what is unknown, before
    changing anything."""
    location_ids = None
    if locations is not None:
        found = dict(Location.objects.filter(code__in=locations).values_list("code", "id"))
        unknown = [code for code in locations if code not in found]
        if unknown:
            raise LaneError(f"locations: unknown location code(s) {', '.join(unknown)}.")
        location_ids = list(found.values())
    for given, known, part in (
        (event_types, SOURCE_EVENT_TYPES, "types: unknown event type(s)"),
        (snapshot_kinds, Snapshot.Kind.values, "snapshot kinds: unknown snapshot kind(s)"),
    ):
        unknown = [value for value in given or () if value not in known]
        if unknown:
            raise LaneError(f"{part} {', '.join(unknown)}; known: {', '.join(known)}.")

    with transaction.atomic():
        if location_ids is not None:
            source.lane_locations.set(location_ids)
        fields = []
        if event_types is not None:
            source.lane_event_types = [value for value in SOURCE_EVENT_TYPES if value in event_types]
            fields.append("lane_event_types")
        if snapshot_kinds is not None:
            source.lane_snapshot_kinds = [value for value in Snapshot.Kind.values if value in snapshot_kinds]
            fields.append("lane_snapshot_kinds")
        if fields:
            source.save(update_fields=fields)


def feeds_serving(location, since):
    """The active source systems that serve `location`: those whose lane
    names it, and those without a location lane (they may send anywhere)
    that sent it a ledger line occurred since `since`. Ordered by code."""
    feeds = SourceSystem.objects.filter(active=True).exclude(code=CONTROL_TOWER_SOURCE)
    unrestricted = feeds.filter(lane_locations__isnull=True)
    sent = InventoryEvent.objects.filter(location=location, occurred_at__gte=since,
                                         source__in=unrestricted).values("source")
    return feeds.filter(Q(lane_locations=location) | Q(pk__in=sent)).distinct().order_by("code")
