"""Web routes of the rollout screens (the API has its own, in rollout/api/urls.py)."""
from django.urls import path

from . import hypercare_views, setup_views, views

urlpatterns = [
    path("rollout/", views.board, name="rollout"),
    path("rollout/gates/<int:pk>/", views.gate_cell, name="rollout-gate"),
    path("rollout/gates/<int:pk>/waivers/", views.waiver_request, name="rollout-waiver-request"),
    path("rollout/gates/<int:pk>/sign-off/", views.gate_sign_off, name="rollout-sign-off"),
    path("rollout/gates/<int:pk>/go-no-go/", views.gate_go_no_go, name="rollout-go-no-go"),
    path("rollout/gates/<int:pk>/criteria/add/", setup_views.criterion_add, name="rollout-criterion-add"),
    path("rollout/gates/<int:pk>/criteria/edit/", setup_views.criterion_edit, name="rollout-criterion-edit"),
    path("rollout/gates/<int:pk>/criteria/retire/", setup_views.criterion_retire, name="rollout-criterion-retire"),
    path("rollout/gates/<int:pk>/roles/", setup_views.gate_roles, name="rollout-gate-roles"),
    path("rollout/gates/<int:pk>/sign-off-only/", setup_views.gate_sign_off_only, name="rollout-sign-off-only"),
    path("rollout/gates/<int:pk>/changes/decide/", setup_views.change_decide, name="rollout-change-decide"),
    path("rollout/waivers/<int:pk>/approve/", views.waiver_approve, name="rollout-waiver-approve"),
    path("rollout/waves/<int:pk>/", views.wave_detail, name="rollout-wave"),
    path("rollout/waves/<int:pk>/cutover/", views.wave_schedule, name="rollout-schedule"),
    path("rollout/waves/<int:pk>/evaluate/", views.wave_evaluate, name="rollout-evaluate"),
    path("rollout/waves/<int:pk>/evaluation/", views.wave_evaluation, name="rollout-evaluation"),
    path("hypercare/", hypercare_views.dashboard, name="hypercare"),
    path("hypercare/waves/<int:pk>/", hypercare_views.wave_view, name="hypercare-wave"),
    path("hypercare/waves/<int:pk>/regions/<str:region>/", hypercare_views.region_view, name="hypercare-region"),
    path("hypercare/waves/<int:pk>/stores/<str:code>/", hypercare_views.location_view, name="hypercare-location"),
    path("hypercare/waves/<int:pk>/stores/<str:code>/skus/", hypercare_views.skus_view, name="hypercare-skus"),
    path("hypercare/waves/<int:pk>/stores/<str:code>/channels/", hypercare_views.channels_view,
         name="hypercare-channels"),
]
