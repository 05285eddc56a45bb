from django.urls import path

from . import count_views

urlpatterns = [
    path("count-variances", count_views.CountVarianceListView.as_view(), name="api-count-variances"),
    path("accuracy", count_views.AccuracyView.as_view(), name="api-accuracy"),
]
