"""The PMO's changes to a gate's criteria and sign-off roles on the wave
page (htmx forms; without htmx, plain posts). Thin callers of
rollout.criteria: its PermissionDenied is answered 403, its ValidationError
shown under the form (400), and success shows the gate again with what
changed. The criteria belong to the program's gate, so a change applies to
every wave of the program; the history says so."""
from django.contrib import messages
from django.shortcuts import redirect

from controltower.answers import add_service_errors, object_action

from . import criteria as gate_criteria
from .forms import CriterionEditForm, CriterionForm, DecideForm, RetireForm, RolesForm, SignOffOnlyForm
from .setup import prefix
from .views import _gate, _wave_page


def _setup_action(form_class, key):
    """Wrap `do(request, gate, data) -> message` as a POST on one gate's setup
    form `key` ("edit" and "retire" name their criterion, "decide" its change)."""
    def bind(request, gate):
        kwargs = {"template": gate.template} if form_class in (CriterionEditForm, RetireForm, DecideForm) else {}
        return form_class(request.POST, prefix=prefix(gate, _key(request, gate, key)), **kwargs)

    def invalid(request, gate, form, error):
        if error is not None:
            add_service_errors(form, error)
        return _wave_page(request, gate.wave, status=400, setup={(gate.pk, _key(request, gate, key)): form})

    def done(request, gate, message):
        if request.htmx:  # the page again; the gate's card is swapped in, saying what changed
            return _wave_page(request, gate.wave, notes={gate.pk: message})
        messages.success(request, message)
        return redirect("rollout-wave", gate.wave_id)

    return object_action(_gate, bind, invalid=invalid, done=done, target=None)


def _key(request, gate, key):
    """The form's key: "edit12" for criterion 12 (read from the posted hidden field)."""
    if key not in ("edit", "retire", "decide"):
        return key
    field = "change" if key == "decide" else "criterion"
    for name, value in request.POST.items():
        if name.startswith(f"g{gate.pk}-{key}") and name.endswith(f"-{field}"):
            return f"{key}{value}" if str(value).isdigit() else key
    return key


@_setup_action(CriterionForm, "add")
def criterion_add(request, gate, data):
    reason = data.pop("reason", "")
    criterion = gate_criteria.add_criterion(gate.template, data, user=request.user, reason=reason)
    return f"Added: {criterion}."


@_setup_action(CriterionEditForm, "edit")
def criterion_edit(request, gate, data):
    criterion, reason = data.pop("criterion"), data.pop("reason", "")
    change = gate_criteria.edit_criterion(criterion, data, user=request.user, reason=reason)
    if change.status == change.Status.PENDING:
        return f"{criterion}: the change loosens it, so it waits for a second person of the PMO or an admin."
    criterion.refresh_from_db()
    return f"Changed: {criterion}."


@_setup_action(RetireForm, "retire")
def criterion_retire(request, gate, data):
    gate_criteria.retire_criterion(data["criterion"], user=request.user, reason=data.get("reason", ""))
    return f"Retiring {data['criterion']} waits for a second person of the PMO or an admin."


@_setup_action(RolesForm, "roles")
def gate_roles(request, gate, data):
    gate_criteria.set_roles(gate.template, data["required_roles"], user=request.user, reason=data.get("reason", ""))
    return "Sign-off roles changed."


@_setup_action(SignOffOnlyForm, "only")
def gate_sign_off_only(request, gate, data):
    gate_criteria.choose_sign_off_only(gate.template, user=request.user, reason=data.get("reason", ""))
    return "This gate is now on sign-off only: it passes on its sign-offs and never shows green."


@_setup_action(DecideForm, "decide")
def change_decide(request, gate, data):
    change = gate_criteria.decide(data["change"], user=request.user, approve=data["decision"] == "approve")
    return f"{change.get_action_display()}: {'approved and applied' if change.status == 'applied' else 'declined'}."
