from django.urls import path

from . import poslog_views

urlpatterns = [
    path("poslog", poslog_views.PosLogView.as_view(), name="api-poslog"),
    path("poslog/store-days", poslog_views.StoreDaySalesView.as_view(), name="api-poslog-store-days"),
]
