from rest_framework import serializers

from controltower.models import Role

from ..models import (
    BlackoutWindow,
    Criterion,
    Evaluation,
    EvaluationRequest,
    Gate,
    GateChange,
    GateTemplate,
    GoNoGo,
    Program,
    SignOff,
    Waiver,
    Wave,
)

USERNAME = {"slug_field": "username", "read_only": True, "help_text": "Username"}


class CriterionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Criterion
        fields = ["id", "metric", "comparator", "threshold", "scope", "window_hours", "steady_hours", "baseline"]


class GateTemplateSerializer(serializers.ModelSerializer):
    criteria = serializers.SerializerMethodField(help_text="The criteria part of the gate now (not retired)")

    class Meta:
        model = GateTemplate
        fields = ["id", "kind", "order", "required_roles", "sign_off_only", "criteria"]

    def get_criteria(self, template) -> CriterionSerializer(many=True):
        return CriterionSerializer([c for c in template.criteria.all() if c.retired_at is None], many=True).data


class ProgramSerializer(serializers.ModelSerializer):
    gate_templates = GateTemplateSerializer(many=True, read_only=True)

    class Meta:
        model = Program
        fields = ["id", "name", "description", "created_at", "gate_templates"]


class WaveSerializer(serializers.ModelSerializer):
    locations = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True,
                                             help_text="Location codes")

    class Meta:
        model = Wave
        fields = ["id", "program", "name", "kind", "order", "planned_cutover", "actual_cutover", "status",
                  "started_at", "locations"]
        read_only_fields = ["started_at", "locations"]


class WaveChangeSerializer(serializers.ModelSerializer):
    """What the PMO changes on a wave; the planned cutover goes through the blackout check."""

    class Meta:
        model = Wave
        fields = ["name", "kind", "order", "planned_cutover", "actual_cutover", "status"]

    def validate(self, attrs):
        """A name and an order are each one wave's within its program: a 400 naming the field."""
        others = Wave.objects.filter(program=self.instance.program_id).exclude(pk=self.instance.pk)
        errors = {
            name: f"Another wave of this program has {name} {attrs[name]!r}."
            for name in ("name", "order") if name in attrs and others.filter(**{name: attrs[name]}).exists()
        }
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class WaveRowSerializer(serializers.Serializer):
    program = serializers.CharField(help_text="Program name; created when new")
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Wave.Kind.choices)
    order = serializers.IntegerField(min_value=1)
    planned_cutover = serializers.DateField(required=False, allow_null=True)
    locations = serializers.CharField(required=False, help_text="Location codes separated by ';' (the whole list)")


class WaveLoadSerializer(serializers.Serializer):
    waves = WaveRowSerializer(many=True)


class EvaluationSerializer(serializers.ModelSerializer):
    wave = serializers.IntegerField(source="gate.wave_id", read_only=True)

    class Meta:
        model = Evaluation
        fields = ["id", "wave", "gate", "criterion", "at", "value", "baseline_value", "threshold", "sample",
                  "records_url", "passed", "waived", "note"]


class EvaluationRequestSerializer(serializers.ModelSerializer):
    """An "Evaluate now" of a wave: queued until a worker has run it."""

    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    state = serializers.SerializerMethodField(help_text="queued, done or failed")

    class Meta:
        model = EvaluationRequest
        fields = ["id", "wave", "state", "requested_by", "requested_at", "finished_at", "evaluations", "failing",
                  "error"]

    def get_state(self, request) -> str:
        if request.finished_at is None:
            return "queued"
        return "failed" if request.error else "done"


class WaiverSerializer(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(**USERNAME)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                               help_text="Username; null until approved")
    live = serializers.SerializerMethodField()

    class Meta:
        model = Waiver
        fields = ["id", "gate", "criterion", "reason", "expires_at", "requested_by", "requested_at",
                  "approved_by", "approved_at", "live"]

    def get_live(self, waiver) -> bool:
        from django.utils import timezone

        return waiver.is_live(timezone.now())


class WaiverRequestSerializer(serializers.Serializer):
    gate = serializers.IntegerField()
    criterion = serializers.IntegerField()
    reason = serializers.CharField()
    expires_at = serializers.DateTimeField()


class SignOffSerializer(serializers.ModelSerializer):
    person = serializers.SlugRelatedField(**USERNAME)

    class Meta:
        model = SignOff
        fields = ["id", "gate", "role", "person", "comment", "at"]


class SignOffInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
    comment = serializers.CharField(required=False, allow_blank=True)


class GoNoGoSerializer(serializers.ModelSerializer):
    decided_by = serializers.SlugRelatedField(**USERNAME)

    class Meta:
        model = GoNoGo
        fields = ["id", "gate", "decision", "decided_by", "decided_at", "comment", "evidence"]


class GoNoGoInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=GoNoGo.Decision.choices)
    comment = serializers.CharField(required=False, allow_blank=True)


class CriterionStateSerializer(serializers.Serializer):
    criterion = CriterionSerializer()
    value = serializers.DecimalField(max_digits=18, decimal_places=4, allow_null=True, source="latest.value",
                                     help_text="The latest measured value; null: no data or never measured")
    threshold = serializers.DecimalField(max_digits=18, decimal_places=4, allow_null=True,
                                         source="latest.threshold")
    sample = serializers.IntegerField(allow_null=True, source="latest.sample")
    measured_at = serializers.DateTimeField(allow_null=True, source="latest.at")
    records_url = serializers.CharField(allow_null=True, source="latest.records_url",
                                        help_text="The page listing the records behind the value")
    passed = serializers.BooleanField()
    waived = serializers.BooleanField(help_text="Failing, covered by a live waiver: never shown as green")
    waiver_expired = serializers.SerializerMethodField()
    forecast = serializers.SerializerMethodField(
        help_text="For a red criterion: when it turns green at its recent rate, or why not; null when not red")

    def get_waiver_expired(self, state) -> bool:
        return state.expired_waiver is not None and state.waiver is None

    def get_forecast(self, state) -> str | None:
        from ..evaluation import forecast

        if state.latest is None:
            return None
        predicted = forecast(state.latest.gate, state.criterion)
        return predicted.text if predicted else None


class SignOffStateSerializer(serializers.Serializer):
    sign_off = SignOffSerializer()
    stale = serializers.BooleanField(help_text="A criterion turned red after it: it no longer counts")


class GateSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="template.kind", read_only=True)
    order = serializers.IntegerField(source="template.order", read_only=True)
    required_roles = serializers.ListField(source="template.required_roles", read_only=True,
                                           child=serializers.CharField())
    sign_off_only = serializers.BooleanField(source="template.sign_off_only", read_only=True,
                                             help_text="No measured criterion, by the PMO's recorded choice")

    class Meta:
        model = Gate
        fields = ["id", "wave", "kind", "order", "required_roles", "sign_off_only", "status", "opened_at",
                  "passed_at"]


class GateDetailSerializer(GateSerializer):
    criteria = serializers.SerializerMethodField()
    sign_offs = serializers.SerializerMethodField()
    missing_roles = serializers.SerializerMethodField()
    blockers = serializers.SerializerMethodField()

    class Meta(GateSerializer.Meta):
        fields = GateSerializer.Meta.fields + ["criteria", "sign_offs", "missing_roles", "blockers"]

    def _state(self, gate):
        """The gate's state, worked out once per gate for the four fields."""
        from ..gates import gate_state

        states = self.__dict__.setdefault("_states", {})
        if gate.pk not in states:
            states[gate.pk] = gate_state(gate)
        return states[gate.pk]

    def get_criteria(self, gate) -> CriterionStateSerializer(many=True):
        return CriterionStateSerializer(self._state(gate).criteria, many=True).data

    def get_sign_offs(self, gate) -> SignOffStateSerializer(many=True):
        return SignOffStateSerializer(self._state(gate).sign_offs, many=True).data

    def get_missing_roles(self, gate) -> list[str]:
        return self._state(gate).missing_roles

    def get_blockers(self, gate) -> list[str]:
        return self._state(gate).blockers


class BlackoutWindowSerializer(serializers.ModelSerializer):
    class Meta:
        model = BlackoutWindow
        fields = ["id", "name", "program", "region", "starts_on", "ends_on"]

    def validate(self, data):
        if not data.get("program") and not data.get("region"):
            raise serializers.ValidationError({"program": "A blackout window is for a program, a region or both."})
        if data["ends_on"] < data["starts_on"]:
            raise serializers.ValidationError({"ends_on": "Must not be before starts_on."})
        return data


class TrainingRowSerializer(serializers.Serializer):
    person_id = serializers.CharField()
    person_name = serializers.CharField(required=False)
    location = serializers.CharField(help_text="Location code")
    module = serializers.CharField(help_text="Training module code")
    completed_at = serializers.DateTimeField()
    proficiency = serializers.IntegerField(min_value=0, max_value=100)


class TrainingLoadSerializer(serializers.Serializer):
    records = TrainingRowSerializer(many=True)


class TrainingRecordSerializer(serializers.Serializer):
    person_id = serializers.CharField()
    person_name = serializers.CharField()
    location = serializers.CharField(source="location.code")
    module = serializers.CharField(source="module.code")
    completed_at = serializers.DateTimeField()
    proficiency = serializers.IntegerField()


# --------------------------------------------------------------------------
# A gate's criteria and sign-off roles (rollout.criteria)
# --------------------------------------------------------------------------

HOURS = {"min_value": 1, "max_value": 24 * 366}


class CriterionDetailSerializer(serializers.ModelSerializer):
    program = serializers.IntegerField(source="template.program_id", read_only=True)
    gate_kind = serializers.CharField(source="template.kind", read_only=True)
    text = serializers.CharField(source="__str__", read_only=True, help_text="The criterion in words")

    class Meta:
        model = Criterion
        fields = ["id", "template", "program", "gate_kind", "text", "metric", "comparator", "threshold", "scope",
                  "window_hours", "steady_hours", "baseline", "added_at", "retired_at"]


class CriterionInput(serializers.Serializer):
    template = serializers.IntegerField(help_text="The gate template (a program's gate) to add it to")
    metric = serializers.CharField(max_length=64, help_text="A metric key of the registry")
    comparator = serializers.ChoiceField(choices=Criterion.Comparator.choices)
    threshold = serializers.DecimalField(max_digits=14, decimal_places=4)
    scope = serializers.ChoiceField(choices=Criterion.ScopeKind.choices, default=Criterion.ScopeKind.LOCATIONS)
    window_hours = serializers.IntegerField(default=24, **HOURS)
    steady_hours = serializers.IntegerField(required=False, allow_null=True, **HOURS)
    baseline = serializers.ChoiceField(choices=Criterion.Baseline.choices, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=2000, help_text="Why: kept in the gate's history")


class CriterionChangeInput(serializers.Serializer):
    comparator = serializers.ChoiceField(choices=Criterion.Comparator.choices, required=False)
    threshold = serializers.DecimalField(max_digits=14, decimal_places=4, required=False)
    scope = serializers.ChoiceField(choices=Criterion.ScopeKind.choices, required=False)
    window_hours = serializers.IntegerField(required=False, **HOURS)
    steady_hours = serializers.IntegerField(required=False, allow_null=True, **HOURS)
    baseline = serializers.ChoiceField(choices=Criterion.Baseline.choices, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=2000, help_text="Why: kept in the gate's history")


class ChangeReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why: kept in the gate's history")


class RolesInput(serializers.Serializer):
    required_roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices), max_length=20)
    reason = serializers.CharField(max_length=2000, help_text="Why: kept in the gate's history")


class GateChangeSerializer(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(**USERNAME)
    decided_by = serializers.SlugRelatedField(**USERNAME, allow_null=True)
    before = serializers.DictField(help_text="The settings before the change")
    after = serializers.DictField(help_text="The settings it asks for")

    class Meta:
        model = GateChange
        fields = ["id", "template", "criterion", "action", "status", "before", "after", "reason", "requested_by",
                  "requested_at", "decided_by", "decided_at"]


class GateTemplateDetailSerializer(GateTemplateSerializer):
    class Meta(GateTemplateSerializer.Meta):
        fields = ["id", "program", "kind", "order", "required_roles", "sign_off_only", "criteria"]
