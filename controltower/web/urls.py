from django.urls import path

from . import alerts, views

urlpatterns = [
    path("", views.home, name="home"),
    path("stores/", views.stores, name="stores"),
    path("stores/<str:code>/", views.store, name="store"),
    path("region/", views.region_board, name="region-board"),
    path("region/stores.csv", views.region_stores_csv, name="region-stores-csv"),
    path("region/escalated.csv", views.region_escalated_csv, name="region-escalated-csv"),
    path("alerts/", alerts.alerts_page, name="alerts"),
    path("alerts/channels/", alerts.channel_add, name="alert-channel-add"),
    path("alerts/channels/<int:pk>/remove/", alerts.channel_remove, name="alert-channel-remove"),
    path("alerts/kinds/", alerts.kinds, name="alert-kinds"),
    path("alerts/digest/", alerts.digest, name="alert-digest"),
    path("records/<slug:name>/", views.records_page, name="records"),
    path("audit/", views.audit_trail, name="audit"),
    path("records/<slug:name>.csv", views.records_csv, name="records-csv"),
]
