from django.urls import path

from . import journey_views

urlpatterns = [
    path("journeys", journey_views.JourneyListView.as_view(), name="api-journeys"),
]
