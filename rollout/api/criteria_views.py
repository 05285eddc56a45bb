"""The API of a gate's criteria and sign-off roles: thin callers of
rollout.criteria, which the wave page's forms call too.

- /criteria: the criteria of the programs in scope (retired ones with
  ?retired=true); POST adds one to a gate template; PATCH changes one (at
  once when it tightens, else a pending change); POST /criteria/{id}/retire
  asks to retire it (pending).
- /gate-changes: every change in the gates' history; a pending one is
  approved or declined by a second person of the PMO or an admin.
- /gate-templates: a program's gates; POST /gate-templates/{id}/roles sets
  the roles that sign off, /sign-off-only records that deliberate choice.
Every write takes a `reason`, kept with the change.
"""
import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from controltower.api import IsPerson, run_service, validated

from .. import criteria
from ..models import Criterion, GateChange, GateTemplate, Program
from .serializers import (
    CriterionChangeInput,
    CriterionDetailSerializer,
    CriterionInput,
    GateChangeSerializer,
    GateTemplateDetailSerializer,
    ChangeReasonInput,
    RolesInput,
)
from .views import ReadsOrPMO


def _programs(user):
    return Program.objects.restrict(user)


class CriterionFilter(django_filters.FilterSet):
    retired = django_filters.BooleanFilter(field_name="retired_at", lookup_expr="isnull", exclude=True,
                                           help_text="true: only retired criteria; false (the default): current")
    program = django_filters.NumberFilter(field_name="template__program")
    gate_kind = django_filters.CharFilter(field_name="template__kind")

    class Meta:
        model = Criterion
        fields = ["template", "program", "gate_kind", "metric", "retired"]

    def filter_queryset(self, queryset):
        if self.form.cleaned_data.get("retired") is None:
            queryset = queryset.filter(retired_at__isnull=True)
        return super().filter_queryset(queryset)


class CriterionViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The gates' measured criteria. Writes are the PMO's, each with a reason
    kept in the gate's history; one that loosens a criterion waits for a
    second person of the PMO or an admin (see /gate-changes)."""

    serializer_class = CriterionDetailSerializer
    permission_classes = [IsPerson, ReadsOrPMO]
    filterset_class = CriterionFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return Criterion.objects.filter(template__program__in=_programs(self.request.user)).select_related(
            "template").order_by("template__program", "template__order", "id")

    @extend_schema(request=CriterionInput, responses={201: CriterionDetailSerializer})
    def create(self, request, *args, **kwargs):
        data = dict(validated(CriterionInput, request))
        template = GateTemplate.objects.filter(pk=data.pop("template"), program__in=_programs(request.user)).first()
        if template is None:
            raise serializers.ValidationError({"template": "No such gate template in your scope."})
        reason = data.pop("reason")
        criterion = run_service(criteria.add_criterion, template, data, user=request.user, reason=reason)
        return Response(CriterionDetailSerializer(criterion).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CriterionChangeInput, responses=GateChangeSerializer)
    def partial_update(self, request, *args, **kwargs):
        """Change a criterion: the change answered says whether it was applied or waits for approval."""
        criterion = self.get_object()
        data = dict(validated(CriterionChangeInput, request))
        reason = data.pop("reason")
        change = run_service(criteria.edit_criterion, criterion, data, user=request.user, reason=reason)
        return Response(GateChangeSerializer(change).data)

    @extend_schema(request=ChangeReasonInput, responses=GateChangeSerializer)
    @action(detail=True, methods=["post"])
    def retire(self, request, pk=None):
        """Ask to retire the criterion: pending until a second person approves it."""
        criterion = self.get_object()
        reason = validated(ChangeReasonInput, request)["reason"]
        return Response(GateChangeSerializer(
            run_service(criteria.retire_criterion, criterion, user=request.user, reason=reason)).data)


class GateChangeViewSet(viewsets.ReadOnlyModelViewSet):
    """The history of the gates' criteria and sign-off roles, newest first."""

    serializer_class = GateChangeSerializer
    permission_classes = [IsPerson, ReadsOrPMO]
    filterset_fields = ["template", "criterion", "status", "action"]

    def get_queryset(self):
        return GateChange.objects.restrict(self.request.user).select_related(
            "requested_by", "decided_by").order_by("-requested_at", "-pk")

    def _decide(self, request, approve):
        change = self.get_object()
        return Response(GateChangeSerializer(
            run_service(criteria.decide, change, user=request.user, approve=approve)).data)

    @extend_schema(request=None, responses=GateChangeSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve a pending change and apply it (never by who asked for it)."""
        return self._decide(request, True)

    @extend_schema(request=None, responses=GateChangeSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        """Decline a pending change: the criterion stays as it is."""
        return self._decide(request, False)


class GateTemplateViewSet(viewsets.ReadOnlyModelViewSet):
    """The programs' gates with their roles and current criteria."""

    serializer_class = GateTemplateDetailSerializer
    permission_classes = [IsPerson, ReadsOrPMO]
    filterset_fields = ["program", "kind"]

    def get_queryset(self):
        return GateTemplate.objects.filter(program__in=_programs(self.request.user)).prefetch_related(
            "criteria").order_by("program", "order")

    @extend_schema(request=RolesInput, responses=GateChangeSerializer)
    @action(detail=True, methods=["post"])
    def roles(self, request, pk=None):
        """Set the roles that must sign the gate off."""
        template = self.get_object()
        data = validated(RolesInput, request)
        return Response(GateChangeSerializer(run_service(
            criteria.set_roles, template, data["required_roles"], user=request.user, reason=data["reason"])).data)

    @extend_schema(request=ChangeReasonInput, responses=GateChangeSerializer)
    @action(detail=True, methods=["post"], url_path="sign-off-only")
    def sign_off_only(self, request, pk=None):
        """Choose, on the record, that the gate has no measured criterion and passes on its sign-offs."""
        template = self.get_object()
        reason = validated(ChangeReasonInput, request)["reason"]
        return Response(GateChangeSerializer(
            run_service(criteria.choose_sign_off_only, template, user=request.user, reason=reason)).data)
