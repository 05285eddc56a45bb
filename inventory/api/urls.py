from django.urls import path

from . import epcis_views, external_id_views, views

urlpatterns = [
    path("events", views.EventListView.as_view(), name="api-events"),
    path("epcis/capture", epcis_views.EpcisCaptureView.as_view(), name="api-epcis-capture"),
    path("positions", views.PositionListView.as_view(), name="api-positions"),
    path("locations", views.LocationListView.as_view(), name="api-locations"),
    path("skus", views.SKUListView.as_view(), name="api-skus"),
    path("safety-stock", views.SafetyStockView.as_view(), name="api-safety-stock"),
    path("rejections", views.RejectionListView.as_view(), name="api-rejections"),
    path("ingest-days", views.IngestDayListView.as_view(), name="api-ingest-days"),
    path("sources/<str:code>/external-ids", external_id_views.ExternalIdListView.as_view(),
         name="api-external-ids"),
]
