"""Web routes of the case screens (the API has its own, in exceptions/api/urls.py)."""
from django.urls import path

from .views import approvals, case, queue, report, variances

urlpatterns = [
    path("cases/", queue.case_list, name="cases"),
    path("report/", report.report, name="report-issue"),
    path("cases/counts/", queue.case_counts, name="case-counts"),
    path("cases/export.csv", queue.case_export, name="case-export"),
    path("cases/bulk/", queue.case_bulk, name="case-bulk"),
    path("cases/<int:pk>/", case.case_detail, name="case-detail"),
    path("cases/<int:pk>/attachments/<int:attachment_id>/", case.case_attachment, name="case-attachment"),
    path("cases/<int:pk>/acknowledge/", case.case_acknowledge, name="case-acknowledge"),
    path("cases/<int:pk>/assign/", case.case_assign, name="case-assign"),
    path("cases/<int:pk>/assign-me/", case.case_assign_me, name="case-assign-me"),
    path("cases/<int:pk>/comment/", case.case_comment, name="case-comment"),
    path("cases/<int:pk>/wait/", case.case_wait, name="case-wait"),
    path("cases/<int:pk>/resume/", case.case_resume, name="case-resume"),
    path("cases/<int:pk>/resolve/", case.case_resolve, name="case-resolve"),
    path("cases/<int:pk>/reopen/", case.case_reopen, name="case-reopen"),
    path("cases/<int:pk>/adjust/", case.case_adjust, name="case-adjust"),
    path("cases/<int:pk>/adjust/preview/", case.case_adjust_preview, name="case-adjust-preview"),
    path("cases/<int:pk>/reverse-duplicate/", case.case_reverse_duplicate, name="case-reverse-duplicate"),
    path("cases/<int:pk>/explain-duplicate/", case.case_explain_duplicate, name="case-explain-duplicate"),
    path("variances/", variances.variance_board, name="variances"),
    # One route per table, so no URL parameter looks like an object to look up.
    path("variances/operational.csv", variances.variance_export, {"table": "operational"},
         name="variances-operational-csv"),
    path("variances/financial.csv", variances.variance_export, {"table": "financial"},
         name="variances-financial-csv"),
    path("variances/counts.csv", variances.variance_export, {"table": "counts"}, name="variances-counts-csv"),
    path("approvals/", approvals.approvals, name="approvals"),
    path("approvals/<int:pk>/approve/", approvals.approval_approve, name="approval-approve"),
    path("approvals/<int:pk>/reject/", approvals.approval_reject, name="approval-reject"),
]
