"""Web routes of the inventory screens (the API has its own, in inventory/api/)."""
from django.urls import path

from . import views

urlpatterns = [
    path("integration/", views.integration_health, name="integration-health"),
    path("integration/replay/", views.integration_replay, name="integration-replay"),
]
