"""Web routes of the rollout screens (the API has its own, in rollout/api/urls.py)."""
from django.urls import path

from . import views

urlpatterns = [
    path("rollout/", views.board, name="rollout"),
    path("rollout/gates/<int:pk>/", views.gate_cell, name="rollout-gate"),
    path("rollout/gates/<int:pk>/waivers/", views.waiver_request, name="rollout-waiver-request"),
    path("rollout/gates/<int:pk>/sign-off/", views.gate_sign_off, name="rollout-sign-off"),
    path("rollout/gates/<int:pk>/go-no-go/", views.gate_go_no_go, name="rollout-go-no-go"),
    path("rollout/waivers/<int:pk>/approve/", views.waiver_approve, name="rollout-waiver-approve"),
    path("rollout/waves/<int:pk>/", views.wave_detail, name="rollout-wave"),
    path("rollout/waves/<int:pk>/cutover/", views.wave_schedule, name="rollout-schedule"),
    path("rollout/waves/<int:pk>/evaluate/", views.wave_evaluate, name="rollout-evaluate"),
]
