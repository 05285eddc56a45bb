"""What the exceptions app shows on inventory's screens (controltower.panels):
the reconciliation runs on the integration screen, a journey's stuck cases."""
from ..findings import CaseKind
from ..models import Case
from ..reconciliation.runs import TROUBLE_WINDOW, latest_runs


def reconciliation_runs(request):
    return {"runs": latest_runs(), "trouble_hours": int(TROUBLE_WINDOW.total_seconds() // 3600)}


def journey_cases(request, journey):
    cases = Case.objects.restrict(request.user).filter(kind=CaseKind.JOURNEY_STUCK, details__journey_id=journey.pk)
    return {"cases": cases.order_by("-opened_at")[:10]}
