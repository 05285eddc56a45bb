"""The audit trail: every privileged action, who did it, when, from where,
and what changed (before and after), kept by django-auditlog.

Each app declares the models whose changes are privileged actions from its
AppConfig.ready() with `track()` (the kernel its own: people's roles and
scopes, API tokens); auditlog then writes a LogEntry on every create, change
and delete of them through the ORM. What is written past the ORM's signals
records itself: a guarded queryset update with `record()`, rows written in
bulk (an import) with a `Load`. Who: the signed-in person (auditlog's
middleware), or the person of an API token (controltower.tokens names
them); from where: the client's address (controltower.addresses: a forged
X-Forwarded-For is not taken). A change made by a command or a worker has
no address and, unless an import is run for a person (--by), no person, and
says so.

The trail is immutable: an entry is never changed or deleted through the
app or the admin (the admin lists them read-only; `refuse_changes` turns any
save of an existing entry or delete into an error). It is read on the
"Audit trail" screen (a record list, below: filters, pages, CSV) and over
`GET /api/v1/audit`, by admins only.
"""
from __future__ import annotations

import functools
import re
from datetime import datetime

import django_filters
from auditlog.cid import get_cid
from auditlog.context import auditlog_disabled
from auditlog.diff import get_field_value
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.signals import pre_delete, pre_save
from django.utils.encoding import smart_str

from . import records
from .db import insert_rows
from .when import day, when
from .filters import UtcDateTimeFilter
from .permissions import may_read_audit

ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(?P<time>[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?")
# What the trail says of a change made by a command or a worker (no request).
NO_PERSON, NO_ADDRESS = "no person", "no request"
ACTIONS = {LogEntry.Action.CREATE: "created", LogEntry.Action.UPDATE: "changed",
           LogEntry.Action.DELETE: "deleted", LogEntry.Action.ACCESS: "read"}


def track(model, *, exclude=(), many=()):
    """Record every change of `model`'s own fields in the audit trail (not the records that
    point at it); `exclude`: fields that change by themselves (a last-used time) and secrets
    (a token's hash: never in the trail); `many`: its many-to-many fields (a person's stores)."""
    own = [field.name for field in model._meta.concrete_fields
           if not field.primary_key and field.name not in exclude]
    auditlog.register(model, include_fields=own, m2m_fields=set(many))


def record(instance, changed, *, actor):
    """Record a change written without a save (a guarded queryset update, which auditlog does not
    see): `changed` is {field: (before, after)}, kept as auditlog keeps them (text, "None" for nothing)."""
    return LogEntry.objects.log_create(
        instance, force_log=True, action=LogEntry.Action.UPDATE, actor=actor,
        changes={field: [_as_text(before), _as_text(after)] for field, (before, after) in changed.items()},
    )


class Load:
    """The entries of rows written in bulk (an import), which auditlog does not see: a load notes
    each row it creates or changes, then writes their entries at once, in the shape auditlog gives
    its own (the fields `track()` chose, before and after as text, as auditlog's get_field_value
    renders them): one per row created or changed, none for a row left as it was. Who and from
    where: the request's (auditlog's middleware, controltower.tokens), the person a command acts
    for (auditlog's `set_actor`), or nobody. What it costs an import: docs/operations.md.

    `fields`: the names (a tuple) of the fields to record of a model `track()` does not follow
    whole (a position's safety stock: its states are the ledger's, written by every event)."""

    def __init__(self, fields=None):
        self.fields = fields
        self.entries = []

    def created(self, row, added=None, label=None):
        """`added`: {name: [records]} the row gained beside its own fields (a SKU's barcodes);
        `label`: what the trail calls the row, when its str() does not say it (ids)."""
        self._note(LogEntry.Action.CREATE, None, row, added, label)

    def changed(self, before, row, added=None, label=None):
        """`before`: a copy of `row` as it was stored (none of its changes written in it)."""
        self._note(LogEntry.Action.UPDATE, before, row, added, label)

    def _note(self, action, before, row, added, label):
        # auditlog's model_instance_diff, with the fields worked out once per model (it costs
        # five times as much, looking them up for every row).
        changes = {}
        for field in _tracked_fields(type(row), self.fields):
            old = NOTHING if before is None else smart_str(get_field_value(before, field))
            new = smart_str(get_field_value(row, field))
            if old != new:
                changes[field.name] = [old, new]
        for name, gained in (added or {}).items():
            if gained:  # as auditlog keeps an addition to a many-to-many field
                changes[name] = {"type": "m2m", "operation": "add", "objects": [str(g) for g in gained]}
        if changes:
            self.entries.append({
                "content_type": ContentType.objects.get_for_model(row).pk, "object_pk": str(row.pk),
                "object_id": row.pk, "object_repr": label or str(row), "action": action, "changes": changes,
                "cid": get_cid()})

    def write(self):
        if auditlog_disabled.get() or not self.entries:
            return
        # A bulk write sends no pre_save, where auditlog's context fills in who and from where:
        # send it for one entry, and every entry of the load takes its other fields (who, from
        # where, when) from it.
        shared = LogEntry()
        pre_save.send(sender=LogEntry, instance=shared, raw=False, using=DEFAULT_DB_ALIAS, update_fields=None)
        db = connections[DEFAULT_DB_ALIAS]
        fields = [field for field in LogEntry._meta.concrete_fields if not field.primary_key]
        shared_values = {field.name: field.get_db_prep_save(getattr(shared, field.attname), db)
                         for field in fields if field.name not in self.entries[0]}
        with db.cursor() as cursor:
            insert_rows(cursor, LogEntry._meta.db_table, [field.column for field in fields], [
                [shared_values[field.name] if field.name in shared_values
                 else field.get_db_prep_save(entry[field.name], db) for field in fields]
                for entry in self.entries])
        self.entries = []


# What auditlog writes for a field of a record just created: its "before".
NOTHING = smart_str(None)


@functools.cache
def _tracked_fields(model, names=None):
    """The fields of `model` an entry records: `names` (a tuple), else those `track()` chose."""
    if names:
        return [model._meta.get_field(name) for name in names]
    chosen = auditlog.get_model_fields(model)
    return [field for field in model._meta.fields
            if field.name in chosen["include_fields"] and field.name not in chosen["exclude_fields"]]


def _as_text(value):
    if value is None:
        return "None"
    if hasattr(value, "pk"):  # a related record: its id, as auditlog keeps a foreign key
        return str(value.pk)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def entries():
    return LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp", "-pk")


def what(entry):
    """The kind of record, in words: "waiver", "SKU"."""
    model = entry.content_type.model_class() if entry.content_type_id else None
    return str(model._meta.verbose_name) if model else entry.content_type.model


def who(entry):
    if entry.actor_id:
        return entry.actor.get_username()
    return entry.actor_email or NO_PERSON


def token(entry):
    """The API token the action came through ("abcd1234…", its first characters); "" for none."""
    return (entry.additional_data or {}).get("token", "")


def where(entry):
    """From where, in words: "10.0.0.7", "10.0.0.7, API token abcd1234…", or no request."""
    if not entry.remote_addr:
        return NO_ADDRESS
    return f"{entry.remote_addr}, API token {token(entry)}" if token(entry) else entry.remote_addr


def changes(entry):
    """{field: [before, after]} as recorded (a created record: [None, value])."""
    return entry.changes or {}


def changes_text(entry):
    """The changes in one line: "threshold: 95 -> 90; locations: added DE001"."""
    return "; ".join(_change_text(field, change) for field, change in changes(entry).items()
                     if isinstance(change, dict) or _shown(change[0]) != _shown(change[1]))


def _change_text(field, change):
    if isinstance(change, dict):  # a many-to-many field: what was added, removed or cleared
        operation = {"add": "added", "delete": "removed", "clear": "cleared"}.get(change.get("operation"), "")
        return f"{field}: {operation} {', '.join(change.get('objects', []))}".rstrip()
    before, after = change
    return f"{field}: {_shown(before)} -> {_shown(after)}"


def _shown(value):
    """A recorded value as the screens say it: its times and days in words (auditlog keeps them
    as ISO text, in UTC, some inside a JSON field's text), nothing as "(none)"."""
    if value in (None, "None", ""):
        return "(none)"
    return ISO_TIME.sub(_time_in_words, value) if isinstance(value, str) else value


def _time_in_words(match):
    text = match.group(0)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return when(moment) if match.group("time") else day(moment)


class AuditFilter(django_filters.FilterSet):
    """The audit trail's search: who, what kind of record, which one, what was done, when."""

    actor = django_filters.CharFilter(field_name="actor__username", label="Who",
                                      help_text="Username of the person who acted")
    kind = django_filters.CharFilter(field_name="content_type__model", label="What",
                                     help_text="Kind of record, as its model is named (waiver, sku, apitoken)")
    record = django_filters.CharFilter(field_name="object_repr", lookup_expr="icontains", label="Record",
                                       help_text="Part of the record's name")
    action = django_filters.ChoiceFilter(choices=[(str(k), v) for k, v in ACTIONS.items()], label="Action",
                                         empty_label="Any action")
    since = UtcDateTimeFilter(field_name="timestamp", lookup_expr="gte", help_text="At or after (ISO 8601)")
    until = UtcDateTimeFilter(field_name="timestamp", lookup_expr="lt", help_text="Before (ISO 8601)")

    class Meta:
        model = LogEntry
        fields = ["actor", "kind", "record", "action", "since", "until"]


def refuse_changes(sender, instance, **kwargs):
    """An entry of the trail is written once: never changed, never deleted."""
    if kwargs.get("signal") is pre_delete or instance.pk is not None:
        raise PermissionDenied("The audit trail is kept as written: an entry is never changed or deleted.")


def register_trail():
    """The kernel's part (its ready()): its own privileged records, the guard, the record list."""
    from django.contrib.auth import get_user_model

    from .models import ApiToken, Channel, Profile

    track(get_user_model(), exclude=("last_login", "password", "date_joined"))
    track(Profile, exclude=("time_zone",), many=("locations",))  # a person's own time zone is no privilege
    track(ApiToken, exclude=("last_used_at", "key_hash"))
    track(Channel, exclude=("sealed_url",))  # where alerts go: the masked address only
    pre_save.connect(refuse_changes, sender=LogEntry, dispatch_uid="audit-immutable-save")
    pre_delete.connect(refuse_changes, sender=LogEntry, dispatch_uid="audit-immutable-delete")
    records.register(
        "audit", "Audit trail",
        description="One privileged action: who did it, when, from where, on which record, and what changed. "
                    "A change made by a command or a worker names no request, and no person unless an import "
                    "was run for one (--by).",
        rows=lambda user: entries(), filterset=AuditFilter, may_see=may_read_audit,
        columns=[
            records.Column("When", lambda e: e.timestamp, kind="time"),
            records.Column("Who", who),
            records.Column("From", where),
            records.Column("What", what),
            records.Column("Record", lambda e: e.object_repr),
            records.Column("Action", lambda e: ACTIONS.get(e.action, "")),
            records.Column("Changes (before -> after)", changes_text),
        ],
    )
