"""Report an issue: every signed-in person, from every screen (the header's link)."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from controltower.answers import add_service_errors
from controltower.scoping import visible_locations

from ..forms import ReportIssueForm
from ..services.reported import Category, report_issue


@login_required
@require_http_methods(["GET", "POST"])
def report(request):
    locations = visible_locations(request.user).order_by("code").only("code", "name")
    form = ReportIssueForm(request.POST or None, request.FILES or None, locations=locations,
                           categories=Category.choices,
                           initial={"location": request.GET.get("location", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = report_issue(request.user, location_code=data["location"], category=data["category"],
                                description=data["description"], severity=data["severity"],
                                photo=data.get("photo"))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Thank you: your report is case #{case.pk}, with "
                                      f"{case.owner.name if case.owner else 'the tower'}.")
            return redirect("case-detail", case.pk)
    return render(request, "exceptions/report.html", {"form": form},
                  status=400 if request.method == "POST" else 200)
