from django.urls import path

from . import snapshot_views

urlpatterns = [
    path("snapshots", snapshot_views.SnapshotView.as_view(), name="api-snapshots"),
    path("po-lines", snapshot_views.PurchaseOrderLineView.as_view(), name="api-po-lines"),
]
