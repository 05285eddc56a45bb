"""Web routes of the case screens (the API has its own, in exceptions/api/urls.py)."""
from django.urls import path

from . import views

urlpatterns = [
    path("cases/", views.case_list, name="cases"),
    path("cases/counts/", views.case_counts, name="case-counts"),
    path("cases/export.csv", views.case_export, name="case-export"),
    path("cases/bulk/", views.case_bulk, name="case-bulk"),
    path("cases/<int:pk>/", views.case_detail, name="case-detail"),
    path("cases/<int:pk>/acknowledge/", views.case_acknowledge, name="case-acknowledge"),
    path("cases/<int:pk>/assign/", views.case_assign, name="case-assign"),
    path("cases/<int:pk>/assign-me/", views.case_assign_me, name="case-assign-me"),
    path("cases/<int:pk>/comment/", views.case_comment, name="case-comment"),
    path("cases/<int:pk>/wait/", views.case_wait, name="case-wait"),
    path("cases/<int:pk>/resume/", views.case_resume, name="case-resume"),
    path("cases/<int:pk>/resolve/", views.case_resolve, name="case-resolve"),
    path("cases/<int:pk>/reopen/", views.case_reopen, name="case-reopen"),
    path("cases/<int:pk>/adjust/", views.case_adjust, name="case-adjust"),
    path("cases/<int:pk>/adjust/preview/", views.case_adjust_preview, name="case-adjust-preview"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<int:pk>/approve/", views.approval_approve, name="approval-approve"),
    path("approvals/<int:pk>/reject/", views.approval_reject, name="approval-reject"),
]
