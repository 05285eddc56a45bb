from rest_framework import serializers

from inventory.fields import MAX_QUANTITY, MAX_VALUE

from ..services import reported

from ..models import (
    AdjustmentReason,
    Case,
    CaseComment,
    CaseHistory,
    CaseLink,
    CorrectiveAdjustment,
    ResolutionCode,
    RootCause,
)


# allow_null on the relations a case may lack (a stale feed has no location
# or SKU, a new case no assignee): the schema then says they may be null.
class CaseSerializer(serializers.ModelSerializer):
    location = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    sku = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    source = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    owner = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                            help_text="Username")
    drift_explanation = serializers.SerializerMethodField(
        help_text="Why the snapshot or ERP differs from the ledger, in plain words (empty for other kinds)"
    )

    class Meta:
        model = Case
        fields = [
            "id", "kind", "severity", "status", "waiting_on", "location", "sku", "source", "reference",
            "quantity_at_risk", "value_at_risk", "customer_impact", "summary", "owner", "assignee",
            "escalation_level", "opened_at", "acknowledged_at", "response_due_at", "resolution_due_at",
            "warned_at", "breached_at", "resolved_at", "resolution_code", "root_cause", "auto_resolved",
            "reopen_count", "drift", "drift_explanation",
        ]
        extra_kwargs = {"drift": {"help_text": "Drift class of a snapshot mismatch or financial variance; "
                                               "empty for other kinds"}}

    def get_drift_explanation(self, case) -> str:
        return (case.details or {}).get("drift", {}).get("explanation", "")


class LinkSerializer(serializers.ModelSerializer):
    class Meta:
        model = CaseLink
        fields = ["kind", "object_id"]


class HistorySerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                         help_text="Username; null for the system")

    class Meta:
        model = CaseHistory
        fields = ["at", "actor", "action", "field", "from_value", "to_value", "other_changes", "note"]


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, help_text="Username")

    class Meta:
        model = CaseComment
        fields = ["at", "author", "body"]


class AdjustmentSerializer(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True, help_text="Username")
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                               help_text="Username; null until decided")

    class Meta:
        model = CorrectiveAdjustment
        fields = ["id", "case", "state", "quantity", "reason", "value", "status", "transaction_id",
                  "requested_by", "requested_at", "approved_by", "decided_at", "decision_note", "posted_at"]


class CaseDetailSerializer(CaseSerializer):
    details = serializers.JSONField(read_only=True)
    lineage = LinkSerializer(source="links", many=True, read_only=True)
    history = HistorySerializer(many=True, read_only=True)
    comments = CommentSerializer(many=True, read_only=True)
    adjustments = AdjustmentSerializer(many=True, read_only=True)

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "resolution_note", "sla_paused_seconds", "details",
                  "lineage", "history", "comments", "adjustments"]


# --- Action inputs -------------------------------------------------------------

class AssignInput(serializers.Serializer):
    assignee = serializers.CharField(help_text="Username")


class CommentInput(serializers.Serializer):
    body = serializers.CharField()


class WaitInput(serializers.Serializer):
    waiting_on = serializers.CharField(max_length=200)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField()


class RejectInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="Why finance rejects it: required, kept in the case's history")


class AdjustmentInput(serializers.Serializer):
    state = serializers.CharField()
    quantity = serializers.IntegerField(
        min_value=-MAX_QUANTITY, max_value=MAX_QUANTITY,
        help_text="Signed, base units; negative takes stock out. Its value (|quantity| x unit cost) "
                  f"may be at most {MAX_VALUE:,}.",
    )
    reason = serializers.ChoiceField(choices=AdjustmentReason.choices, help_text="The ledger's reason code")
    confirm = serializers.BooleanField(
        default=False,
        help_text="Required (true) when the adjustment takes a state below zero or makes more stock than the "
                  "latest count of that state found: without it the answer is 400 naming `confirm`.",
    )


class ResolveInput(serializers.Serializer):
    resolution_code = serializers.ChoiceField(choices=ResolutionCode.choices)
    root_cause = serializers.ChoiceField(choices=RootCause.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    adjustment = AdjustmentInput(required=False)


class ReportInput(serializers.Serializer):
    """An issue a person reports (exceptions.services.reported): the one kind created over the API."""

    kind = serializers.ChoiceField(choices=[reported.KIND], error_messages={
        "invalid_choice": "Only reported issues are created here: kind 'reported'; the tower finds the others."})
    location = serializers.CharField(max_length=64, help_text="Location code, in your scope")
    category = serializers.ChoiceField(choices=reported.Category.choices)
    severity = serializers.IntegerField(min_value=1, max_value=4, help_text="1 (trading stopped) to 4")
    description = serializers.CharField(max_length=reported.DESCRIPTION_LIMIT, help_text="What happened")
