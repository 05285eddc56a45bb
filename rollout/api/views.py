"""Rollout API: thin callers of rollout.gates, rollout.evaluation,
rollout.schedule, rollout.waves and rollout.training.

Reads are scoped like everything else: a wave (and its gates, evidence,
waivers, sign-offs, decisions) is seen by who sees one of its locations
(controltower.scoping; the estate roles see every wave). Changes follow
controltower.permissions: the PMO manages programs, waves, blackout windows
and waivers; each sign-off role signs for its own area; the executive (or
the PMO) records go/no-go.
"""
from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.reverse import reverse

from controltower.api import ImportReportSerializer, IsPerson, body_list, run_service, validated
from controltower.locks import hold_until_commit
from controltower.tasks import enqueue
from controltower.permissions import may_manage_rollout

from .. import gates, schedule
from ..evaluation import latest_request, request_evaluation
from ..playbook import apply_playbook
from ..tasks import run_evaluation_request
from ..models import (
    BlackoutWindow,
    Criterion,
    Evaluation,
    Gate,
    GoNoGo,
    Program,
    SignOff,
    TrainingRecord,
    Waiver,
    Wave,
)
from ..training import record_training
from ..waves import import_waves
from .serializers import (
    BlackoutWindowSerializer,
    EvaluationRequestSerializer,
    EvaluationSerializer,
    GateDetailSerializer,
    GateSerializer,
    GoNoGoInput,
    GoNoGoSerializer,
    ProgramSerializer,
    SignOffInput,
    SignOffSerializer,
    TrainingLoadSerializer,
    TrainingRecordSerializer,
    WaiverRequestSerializer,
    WaiverSerializer,
    WaveChangeSerializer,
    WaveLoadSerializer,
    WaveSerializer,
)


class ReadsOrPMO(BasePermission):
    """Anyone (in scope) reads; the PMO changes. On one object the check waits
    for the object: one out of scope is not found (404) before it is forbidden."""

    message = "Only the PMO changes programs, waves, blackout windows and waivers."

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or getattr(view, "detail", False) or may_manage_rollout(request.user)

    def has_object_permission(self, request, view, obj):
        return request.method in SAFE_METHODS or may_manage_rollout(request.user)


class ProgramViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Rollout programs with their ordered gate templates and criteria. A new
    program starts with the default playbook's gates and criteria."""

    serializer_class = ProgramSerializer
    permission_classes = [IsPerson, ReadsOrPMO]

    def perform_create(self, serializer):
        with transaction.atomic():
            apply_playbook(serializer.save())

    def get_queryset(self):
        return Program.objects.restrict(self.request.user).prefetch_related(
            Prefetch("gate_templates__criteria", queryset=Criterion.objects.order_by("id")))


# Waves are written one request at a time, so that the checks that a name
# and an order are one wave's in its program hold until the write commits
# (two PMOs giving two waves the same order at once: one 400, not a 500).
WAVE_WRITES = "rollout:wave-writes"


class WaveViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Waves with their locations. A planned cutover inside a blackout window is refused (400, naming it)."""

    permission_classes = [IsPerson, ReadsOrPMO]
    filterset_fields = ["program", "status", "kind"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return Wave.objects.restrict(self.request.user).select_related("program").prefetch_related("locations")

    def get_serializer_class(self):
        return WaveChangeSerializer if self.action == "partial_update" else WaveSerializer

    def create(self, request, *args, **kwargs):
        with transaction.atomic():
            hold_until_commit(WAVE_WRITES)
            return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        wave = Wave(**serializer.validated_data)
        if wave.planned_cutover:
            run_service(wave.refuse_blackout, wave.planned_cutover)
        serializer.instance = wave
        wave.save()
        gates.ensure_gates(wave)

    @extend_schema(request=WaveChangeSerializer, responses=WaveSerializer)
    def partial_update(self, request, *args, **kwargs):
        with transaction.atomic():  # a refused cutover leaves the wave as it was
            hold_until_commit(WAVE_WRITES)
            wave = self.get_object()  # read after the lock: a write at the same moment is not undone
            data = _input_partial(WaveChangeSerializer, wave, request)
            planned = data.pop("planned_cutover", wave.planned_cutover)
            for name, value in data.items():
                setattr(wave, name, value)
            wave.save()
            if planned != wave.planned_cutover:
                run_service(schedule.schedule_cutover, wave, planned, user=request.user)
        return Response(WaveSerializer(self.get_queryset().get(pk=wave.pk)).data)

    @extend_schema(request=WaveLoadSerializer, responses=ImportReportSerializer)
    @action(detail=False, methods=["post"])
    def load(self, request):
        """Load waves and their stores (upsert by program and wave name), with per-row errors."""
        return Response(import_waves(body_list(request, "waves")).as_dict())

    @extend_schema(request=None, responses={202: EvaluationRequestSerializer})
    @action(detail=True, methods=["post"], pagination_class=None, filter_backends=[])
    def evaluate(self, request, pk=None):
        """Queue an evaluation of the wave's open gate (the hourly run, on demand) for a worker:
        202 with the request, "queued" until `GET .../evaluation` says "done" (or "failed"). While
        one is queued, asking again answers that one."""
        wave = self.get_object()
        queued, new = request_evaluation(wave, user=request.user)
        if new:
            enqueue(run_evaluation_request, queued.pk)
        queued.refresh_from_db()  # a worker may have run it already (tasks run inline in the embedded default)
        return Response(EvaluationRequestSerializer(queued).data, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": reverse("wave-evaluation", args=[wave.pk], request=request)})

    @extend_schema(responses=EvaluationRequestSerializer)
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def evaluation(self, request, pk=None):
        """The wave's latest "Evaluate now": queued, done or failed, and what it found (404: none yet)."""
        latest = latest_request(self.get_object())
        if latest is None:
            raise NotFound("No evaluation of this wave has been asked for yet.")
        return Response(EvaluationRequestSerializer(latest).data)


def _input_partial(serializer_class, instance, request):
    serializer = serializer_class(instance, data=request.data, partial=True)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class GateViewSet(viewsets.ReadOnlyModelViewSet):
    """A wave's gates in order; one gate in detail: its criteria (latest evidence, waivers),
    sign-offs (stale or not), the roles still to sign and what holds it back."""

    permission_classes = [IsPerson]
    filterset_fields = ["wave", "status"]

    def get_queryset(self):
        return Gate.objects.restrict(self.request.user).select_related("template", "wave").order_by(
            "wave", "template__order")

    def get_serializer_class(self):
        return GateSerializer if self.action == "list" else GateDetailSerializer

    def _done(self, gate):
        return Response(GateDetailSerializer(self.get_queryset().get(pk=gate.pk)).data)

    @extend_schema(request=SignOffInput, responses=GateDetailSerializer)
    @action(detail=True, methods=["post"], url_path="sign-off")
    def sign_off(self, request, pk=None):
        gate = self.get_object()
        data = validated(SignOffInput, request)
        run_service(gates.sign_off, gate, user=request.user, role=data["role"], comment=data.get("comment", ""))
        return self._done(gate)

    @extend_schema(request=GoNoGoInput, responses=GateDetailSerializer)
    @action(detail=True, methods=["post"], url_path="go-no-go")
    def go_no_go(self, request, pk=None):
        gate = self.get_object()
        data = validated(GoNoGoInput, request)
        run_service(gates.record_go_no_go, gate, user=request.user, decision=data["decision"],
             comment=data.get("comment", ""))
        return self._done(gate)


class EvaluationViewSet(viewsets.ReadOnlyModelViewSet):
    """The evidence: every measurement of every criterion, newest first."""

    serializer_class = EvaluationSerializer
    permission_classes = [IsPerson]
    filterset_fields = ["gate", "criterion", "gate__wave", "passed"]

    def get_queryset(self):
        return Evaluation.objects.restrict(self.request.user).select_related("gate").order_by("-at", "-pk")


class WaiverViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Waivers: POST asks for one (the PMO); another person of the PMO approves it."""

    serializer_class = WaiverSerializer
    permission_classes = [IsPerson, ReadsOrPMO]
    filterset_fields = ["gate", "criterion"]

    def get_queryset(self):
        return Waiver.objects.restrict(self.request.user).select_related("requested_by", "approved_by")

    @extend_schema(request=WaiverRequestSerializer, responses={201: WaiverSerializer})
    def create(self, request, *args, **kwargs):
        data = validated(WaiverRequestSerializer, request)
        gate = Gate.objects.restrict(request.user).select_related("template").filter(pk=data["gate"]).first()
        if gate is None:
            raise serializers.ValidationError({"gate": f"No gate {data['gate']}."})
        criterion = Criterion.objects.filter(pk=data["criterion"]).first()
        if criterion is None:
            raise serializers.ValidationError({"criterion": f"No criterion {data['criterion']}."})
        waiver = run_service(gates.request_waiver, gate, criterion, user=request.user, reason=data["reason"],
                      expires_at=data["expires_at"])
        return Response(WaiverSerializer(waiver).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=WaiverSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        waiver = self.get_object()
        run_service(gates.approve_waiver, waiver, user=request.user)
        return Response(WaiverSerializer(self.get_queryset().get(pk=waiver.pk)).data)


class SignOffViewSet(viewsets.ReadOnlyModelViewSet):
    """Sign-offs (POST /gates/{id}/sign-off records one)."""

    serializer_class = SignOffSerializer
    permission_classes = [IsPerson]
    filterset_fields = ["gate", "role"]

    def get_queryset(self):
        return SignOff.objects.restrict(self.request.user).select_related("person")


class GoNoGoViewSet(viewsets.ReadOnlyModelViewSet):
    """Go/no-go decisions with their evidence (POST /gates/{id}/go-no-go records one)."""

    serializer_class = GoNoGoSerializer
    permission_classes = [IsPerson]
    filterset_fields = ["gate"]

    def get_queryset(self):
        return GoNoGo.objects.restrict(self.request.user).select_related("decided_by")


class BlackoutWindowViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Blackout windows (peak trading): no cutover is scheduled inside one."""

    serializer_class = BlackoutWindowSerializer
    permission_classes = [IsPerson, ReadsOrPMO]
    filterset_fields = ["program", "region"]

    def get_queryset(self):
        return BlackoutWindow.objects.restrict(self.request.user).select_related("program", "region")


class TrainingView(generics.ListAPIView):
    """GET: training records in scope (?location_id=1,2 narrows). POST: a batch of
    records (PMO), one per person and module: resending updates, per-item errors."""

    serializer_class = TrainingRecordSerializer
    permission_classes = [IsPerson, ReadsOrPMO]

    def get_queryset(self):
        records = TrainingRecord.objects.restrict(self.request.user).select_related("location", "module")
        wanted = self.request.query_params.get("location_id")
        if wanted:
            try:
                records = records.filter(location_id__in=[int(pk) for pk in wanted.split(",")])
            except ValueError:
                raise ParseError("location_id: location ids separated by commas.") from None
        return records.order_by("person_id", "module__code")

    @extend_schema(
        parameters=[OpenApiParameter("location_id", str, description="Location ids separated by commas")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=TrainingLoadSerializer, responses=ImportReportSerializer)
    def post(self, request):
        return Response(record_training(body_list(request, "records"), user=request.user).as_dict())
