"""A source's own ids of the tower's locations and SKUs over the API: a thin
caller of inventory.external_ids (the same load as `manage.py
import_external_ids`), for admins and integration admins.

- GET /api/v1/sources/{code}/external-ids: the source's mapping (?kind=);
- POST the same: load rows {kind, external_id, code}; all or nothing.
"""
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from controltower.api import ImportReportSerializer, JSONParser, body_list
from controltower.imports import ImportRefused
from controltower.tokens import SourceClient
from inventory.external_ids import import_external_ids
from inventory.models import ExternalId, SourceSystem

from .permissions import MayMapIdentifiers


class ExternalIdSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ExternalId.Kind.choices)
    external_id = serializers.CharField(help_text="As the source sends it")
    code = serializers.SerializerMethodField(help_text="The tower's location or SKU code it means")
    updated_at = serializers.DateTimeField()

    def get_code(self, mapping) -> str:
        return mapping.location.code if mapping.kind == ExternalId.Kind.LOCATION else mapping.sku.code


class ExternalIdRowSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ExternalId.Kind.choices)
    external_id = serializers.CharField(max_length=64, help_text="As the source sends it, e.g. '0042'")
    code = serializers.CharField(max_length=64, help_text="The tower's location or SKU code")


class ExternalIdImportSerializer(serializers.Serializer):
    external_ids = ExternalIdRowSerializer(many=True)


class ExternalIdListView(generics.ListAPIView):
    """GET: a source's own ids of the tower's locations and SKUs, by kind and id.
    POST: load some (upsert by kind and id; a refused row loads nothing)."""

    serializer_class = ExternalIdSerializer
    parser_classes = [JSONParser]
    permission_classes = [IsAuthenticated, MayMapIdentifiers]

    def permission_denied(self, request, message=None, code=None):
        """A person who does not map ids finds no source here (out of sight is not found
        first, as a rejection is); a source's token is refused with the rule."""
        if request.user and request.user.is_authenticated and not isinstance(request.user, SourceClient):
            raise NotFound(f"No source system {self.kwargs['code']!r} in what you see.")
        super().permission_denied(request, message=message, code=code)

    def source(self):
        source = SourceSystem.objects.filter(code=self.kwargs["code"]).first()
        if source is None:
            raise Http404(f"No source system {self.kwargs['code']!r}.")
        return source

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the view, with no source
            return ExternalId.objects.none()
        mappings = ExternalId.objects.filter(source=self.source()).select_related("location", "sku")
        kind = self.request.query_params.get("kind")
        if kind:
            if kind not in ExternalId.Kind.values:
                raise ParseError(f"kind: one of {', '.join(ExternalId.Kind.values)}.")
            mappings = mappings.filter(kind=kind)
        return mappings.order_by("kind", "external_id")

    @extend_schema(
        summary="A source's own ids of locations and SKUs (admins, integration admins)",
        parameters=[OpenApiParameter("kind", str, enum=ExternalId.Kind.values, required=False)],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Load a source's own ids of locations and SKUs (admins, integration admins)",
        description=(
            "Rows of kind (location or sku), the source's external_id and the tower's code. Every row is "
            "checked first; when one is refused (naming its row and field), none loads. Loading the same "
            "rows again changes nothing; an id given another code moves to it. Replay the source's kept "
            "rejections afterwards to let in what the mapping now resolves."
        ),
        request=ExternalIdImportSerializer,
        responses={
            200: ImportReportSerializer,
            400: OpenApiResponse(
                response=ImportReportSerializer,
                description="A row refused (the report lists each by row and field, with a `detail`; nothing "
                            "loaded), or not a JSON object with an 'external_ids' list, or too many rows",
            ),
            403: OpenApiResponse(description="A source system's token: only people map ids"),
            404: OpenApiResponse(description="No such source system, or not an admin or integration admin"),
        },
        examples=[OpenApiExample("A store number and a Shopify item", request_only=True, value={"external_ids": [
            {"kind": "location", "external_id": "0042", "code": "S001"},
            {"kind": "sku", "external_id": "43718229082173", "code": "SKU00017"},
        ]})],
    )
    def post(self, request, code):
        source = self.source()
        try:
            report = import_external_ids(source, body_list(request, "external_ids"))
        except ImportRefused as exc:
            raise ParseError(str(exc))
        if report.refused:
            detail = f"{len(report.refused)} row(s) refused; nothing loaded."
            return Response({"detail": detail, **report.as_dict()}, status=400)
        return Response(report.as_dict())
