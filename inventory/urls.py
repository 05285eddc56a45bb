"""Web routes of the inventory screens (the API has its own, in inventory/api/)."""
from django.urls import path

from . import journey_views, till_views, views

urlpatterns = [
    path("integration/store-days/", till_views.store_day_sales_page, name="store-day-sales"),
    path("journeys/", journey_views.journey_list, name="journeys"),
    path("journeys.csv", journey_views.journey_csv, name="journeys-csv"),
    path("journeys/<int:pk>/", journey_views.journey_detail, name="journey"),
    path("integration/", views.integration_health, name="integration-health"),
    path("integration/replay/", views.integration_replay, name="integration-replay"),
    path("integration/rejections/<int:pk>/", views.rejection_detail, name="rejection"),
    path("integration/documents/<int:pk>/", views.refused_document, name="refused-document"),
    path("integration/documents/<int:pk>/body/", views.refused_document_body, name="refused-document-body"),
    path("integration/rejections/<int:pk>/replay/", views.rejection_replay, name="rejection-replay"),
    path("integration/rejections/<int:pk>/dismiss/", views.rejection_dismiss, name="rejection-dismiss"),
    path("integration/master-data/sku/", views.master_data_sku, name="master-data-sku"),
]
