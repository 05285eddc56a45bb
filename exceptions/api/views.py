"""Cases API. Every queryset goes through `.restrict(user)`: a case outside
the user's scope does not exist for them (404, for reads and actions alike,
as on the screens); a case in scope that their role may not change gives 403."""
from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from controltower.api import IsPerson, run_service, validated

from ..models import Case, CorrectiveAdjustment
from ..services import actions, adjustments, duplicates, reported
from ..services.sla import urgency
from .filters import CaseApiFilter
from .serializers import (
    AdjustmentInput,
    AdjustmentSerializer,
    AssignInput,
    CaseDetailSerializer,
    CaseSerializer,
    CommentInput,
    ReasonInput,
    RejectInput,
    ReportInput,
    ResolveInput,
    WaitInput,
)


class CaseViewSet(viewsets.ReadOnlyModelViewSet):
    """Exception cases, most urgent first: breached, then severity, then due time."""

    filterset_class = CaseApiFilter

    def get_queryset(self):
        cases = Case.objects.restrict(self.request.user).select_related(
            "location", "sku", "source", "owner", "assignee", "sla_policy"
        )
        if self.action == "retrieve":
            cases = cases.prefetch_related(
                "links", "history__actor", "comments__author", "adjustments__requested_by",
                "adjustments__approved_by",
            )
        return cases.order_by(*urgency(timezone.now()))

    def get_serializer_class(self):
        return CaseSerializer if self.action == "list" else CaseDetailSerializer

    def _done(self, case, status=200):
        return Response(CaseDetailSerializer(self.get_queryset().get(pk=case.pk)).data, status=status)

    @extend_schema(request=ReportInput, responses={201: CaseDetailSerializer})
    def create(self, request):
        """Report an issue (kind `reported`, the only kind created here): a case at a location in
        your scope, routed and timed like every case."""
        if not IsPerson().has_permission(request, self):
            raise PermissionDenied(IsPerson.message)
        data = validated(ReportInput, request)
        case = run_service(reported.report_issue, request.user, location_code=data["location"],
                           category=data["category"], description=data["description"], severity=data["severity"])
        return self._done(case, status=201)

    @extend_schema(request=None, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        case = self.get_object()
        run_service(actions.acknowledge, case, request.user)
        return self._done(case)

    @extend_schema(request=AssignInput, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        case = self.get_object()
        username = validated(AssignInput, request)["assignee"]
        assignee = get_user_model().objects.filter(username=username).first()
        if assignee is None:
            raise serializers.ValidationError({"assignee": f"No user '{username}'."})
        run_service(actions.assign, case, request.user, assignee)
        return self._done(case)

    @extend_schema(request=CommentInput, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def comment(self, request, pk=None):
        case = self.get_object()
        run_service(actions.comment, case, request.user, validated(CommentInput, request)["body"])
        return self._done(case)

    @extend_schema(request=WaitInput, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def wait(self, request, pk=None):
        case = self.get_object()
        run_service(actions.set_waiting, case, request.user, validated(WaitInput, request)["waiting_on"])
        return self._done(case)

    @extend_schema(request=None, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        case = self.get_object()
        run_service(actions.resume, case, request.user)
        return self._done(case)

    @extend_schema(request=ResolveInput, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        case = self.get_object()
        data = validated(ResolveInput, request)
        run_service(actions.resolve, case, request.user, data["resolution_code"], data["root_cause"], data["note"],
             adjustment=data.get("adjustment"))
        return self._done(case)

    @extend_schema(request=AdjustmentInput, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def adjust(self, request, pk=None):
        """A corrective adjustment on the case's store and SKU, with its reason code: posted at once, or held
        for finance above the approval threshold. `confirm` is needed when it takes a state below zero or makes
        more than the latest count found."""
        case = self.get_object()
        data = validated(AdjustmentInput, request)
        run_service(adjustments.request_adjustment, case, request.user, data["state"], data["quantity"],
                    data["reason"], data["confirm"])
        return self._done(case)

    @extend_schema(request=ReasonInput, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        case = self.get_object()
        run_service(actions.reopen, case, request.user, validated(ReasonInput, request)["reason"])
        return self._done(case)


    @extend_schema(request=None, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"], url_path="reverse-duplicate")
    def reverse_duplicate(self, request, pk=None):
        """A suspected duplicate confirmed: post one reversal of the later line (once, however often asked)."""
        case = self.get_object()
        run_service(duplicates.reverse_duplicate, case, request.user)
        return self._done(case)

    @extend_schema(request=ReasonInput, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"], url_path="explain-duplicate")
    def explain_duplicate(self, request, pk=None):
        """A suspected duplicate that is not one: `reason` says why; the pair is never raised again."""
        case = self.get_object()
        run_service(duplicates.explain_duplicate, case, request.user, validated(ReasonInput, request)["reason"])
        return self._done(case)


class AdjustmentViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Corrective adjustments; finance approves or rejects the large ones."""

    serializer_class = AdjustmentSerializer

    def get_queryset(self):
        return CorrectiveAdjustment.objects.restrict(self.request.user).select_related(
            "case", "requested_by", "approved_by")

    @extend_schema(request=None, responses=AdjustmentSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        adjustment = self.get_object()
        run_service(adjustments.approve_adjustment, adjustment, request.user)
        return Response(AdjustmentSerializer(self.get_queryset().get(pk=adjustment.pk)).data)

    @extend_schema(request=RejectInput, responses=AdjustmentSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        adjustment = self.get_object()
        run_service(adjustments.reject_adjustment, adjustment, request.user, validated(RejectInput, request)["reason"])
        return Response(AdjustmentSerializer(self.get_queryset().get(pk=adjustment.pk)).data)
