"""GET /api/v1/audit: the audit trail (controltower.audit) over the API, for admins."""
from auditlog.models import LogEntry
from drf_spectacular.utils import extend_schema_field
from rest_framework import generics, serializers
from rest_framework.permissions import BasePermission, IsAuthenticated

from . import audit
from .api import IsPerson
from .permissions import may_read_audit


class IsAdmin(BasePermission):
    message = "The audit trail is read by admins only."

    def has_permission(self, request, view):
        return may_read_audit(request.user)


class AuditEntrySerializer(serializers.ModelSerializer):
    at = serializers.DateTimeField(source="timestamp")
    actor = serializers.SerializerMethodField(help_text="Username; null for a command or a worker")
    action = serializers.SerializerMethodField(help_text="created, changed, deleted or read")
    record_kind = serializers.SerializerMethodField(help_text="The kind of record, in words")
    model = serializers.SerializerMethodField(help_text="app_label.model")
    record_id = serializers.CharField(source="object_pk")
    record = serializers.CharField(source="object_repr")
    changes = serializers.SerializerMethodField(help_text="{field: [before, after]}")
    token = serializers.SerializerMethodField(help_text="The API token it came through (its first characters); "
                                                        "null for the web, a command or a worker")

    class Meta:
        model = LogEntry
        fields = ["id", "at", "actor", "remote_addr", "token", "action", "record_kind", "model", "record_id", "record",
                  "changes"]

    def get_actor(self, entry) -> str | None:
        return entry.actor.get_username() if entry.actor_id else None

    def get_token(self, entry) -> str | None:
        return audit.token(entry) or None

    def get_action(self, entry) -> str:
        return audit.ACTIONS.get(entry.action, "")

    def get_record_kind(self, entry) -> str:
        return audit.what(entry)

    def get_model(self, entry) -> str:
        return f"{entry.content_type.app_label}.{entry.content_type.model}"

    # {field: [before, after]}; a many-to-many field: {"type": "m2m", "operation": ..., "objects": [...]}
    @extend_schema_field({"type": "object", "additionalProperties": {
        "oneOf": [{"type": "array", "items": {}}, {"type": "object"}]}})
    def get_changes(self, entry):
        return audit.changes(entry)


class AuditList(generics.ListAPIView):
    """Every privileged action, latest first: who, when, from where, on which record, what
    changed (before and after). Filters: actor, kind, record, action, since, until."""

    permission_classes = [IsAuthenticated, IsPerson, IsAdmin]
    serializer_class = AuditEntrySerializer
    filterset_class = audit.AuditFilter

    def get_queryset(self):
        return audit.entries()
