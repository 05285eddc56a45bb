from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from .audit_api import AuditList

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("inventory.api.urls")),
    path("api/v1/", include("inventory.api.snapshot_urls")),
    path("api/v1/", include("inventory.api.count_urls")),
    path("api/v1/", include("inventory.api.journey_urls")),
    path("api/v1/", include("inventory.api.poslog_urls")),
    path("api/v1/", include("inventory.api.webhook_urls")),
    path("api/v1/", include("exceptions.api.urls")),
    path("api/v1/", include("rollout.api.urls")),
    path("api/v1/audit", AuditList.as_view(), name="audit-api"),
    path("", include("controltower.web_urls")),
    path("", include("controltower.web.urls")),
    path("", include("exceptions.urls")),
    path("", include("inventory.urls")),
    path("", include("rollout.urls")),
]
