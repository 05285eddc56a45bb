"""The PMO's screens: the board (waves x gates), a gate's cell as an htmx
fragment, and the wave page with its forms. Thin callers: what a cell says is
rollout.board's, every rule of waivers, sign-offs and go/no-go rollout.gates'.

The board is for whoever follows the rollout (the PMO, the executive, the
leads who sign off), each seeing the waves in their scope; the wave page is
seen by whoever sees the wave, as the people who sign off work there. A form that the
service refuses shows its errors on the wave page (400); a role that may
not act is answered 403, a wave or gate out of scope 404, as the case
screens do."""
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from controltower.answers import NotInScope, add_service_errors, not_found, object_action, refused
from controltower.navigation import allows, refusal, screen
from controltower.permissions import may_decide_go_no_go, may_manage_rollout, may_sign_off
from controltower.scoping import role_of
from controltower.tasks import enqueue
from controltower.when import when

from . import board as readiness
from . import flags, gates, root_causes
from . import setup as gate_setup
from .evaluation import latest_request, request_evaluation
from .forms import CutoverForm, GoNoGoForm, SignOffForm, WaiverForm
from .models import Gate, GateKind, GoNoGo, Program, Waiver, Wave
from .schedule import schedule_cutover
from .tasks import run_evaluation_request


def _wave(request, pk):
    wave = Wave.objects.restrict(request.user).select_related("program").filter(pk=pk).first()
    if wave is None:
        raise NotInScope(f"No wave #{pk} in your scope: it does not exist, or none of its stores is yours.")
    return wave


def _gate(request, pk):
    gate = Gate.objects.restrict(request.user).select_related("template", "wave__program").filter(pk=pk).first()
    if gate is None:
        raise NotInScope(f"No gate #{pk} in your scope: it does not exist, or none of its wave's stores is yours.")
    return gate


@screen("rollout")
@require_GET
def board(request):
    programs = list(Program.objects.restrict(request.user))
    program = next((p for p in programs if str(p.pk) == request.GET.get("program")), programs[0] if programs else None)
    context = {"programs": programs, "program": program, "may_manage": may_manage_rollout(request.user)}
    if program is None:
        return render(request, "rollout/board.html", context)
    # The root causes are read when they come into view (htmx, "revealed"), as hypercare's are, so
    # the board's own time is its gates'; ?part=root-causes without htmx shows the board with them.
    region = request.GET.get("region")
    part = request.GET.get("part") == root_causes.PART
    if part and request.htmx:
        return render(request, "rollout/_board_root_causes.html", {
            **context, **root_causes.program_section(request.user, program,
                                                     readiness.program_waves(program, request.user), region=region)})
    templates, rows = readiness.board(program, request.user)
    blackouts = list(readiness.program_blackouts(program))
    context.update(templates=templates, rows=rows, blackouts=blackouts,
                   flagged=[row for row in rows if row.waiver_flags or row.go_live_flags],
                   timeline=readiness.timeline(rows, blackouts),
                   root_causes_query=urlencode({"program": program.pk, **({"region": region} if region else {}),
                                                "part": root_causes.PART}))
    if part:
        context.update(root_causes.program_section(request.user, program, [row.wave for row in rows], region=region))
    return render(request, "rollout/board.html", context)


@login_required
@require_GET
def gate_cell(request, pk):
    """A board cell opened: the gate's criteria, failing ones first (htmx fragment).
    A gate out of scope is not found (404) before the role is refused (403)."""
    try:
        gate = _gate(request, pk)
    except NotInScope as error:
        return not_found(request, error)
    if not allows("rollout", request.user):
        return refused(request, refusal("rollout"))
    if not request.htmx:  # without htmx the link leads to the gate on its wave page
        return redirect(reverse("rollout-wave", args=[gate.wave_id]) + f"#gate-{gate.pk}")
    now = timezone.now()
    cell, state = readiness.cell_of(gate, now)
    criteria = readiness.criterion_views(state, now, gate.status == Gate.Status.OPEN) if state else []
    criteria.sort(key=lambda c: (c.state.counts, c.state.passed))  # failing first, then waived
    return render(request, "rollout/_gate_detail.html", {
        "gate": gate, "cell": cell, "criteria": criteria,
        "missing": readiness.role_names(state.missing_roles) if state else "",
    })


def _wave_page(request, wave, status=200, setup=None, notes=None, **forms):
    """The wave page; `setup`: a gate setup form refused ({(gate id, key): form}),
    `notes`: what a setup change did ({gate id: words})."""
    now = timezone.now()
    gate_views = readiness.wave_gates(wave, now)
    current = readiness.open_gate(gate_views)
    user = request.user
    role = role_of(user)
    context = {
        "wave": wave,
        "now": now,
        "gate_views": gate_views,
        "current": current,
        "days_left": readiness.days_left(wave, now),
        "blackouts": wave.blackouts(),
        "decisions": GoNoGo.objects.filter(gate__wave=wave).select_related("decided_by", "gate__template"),
        "may_manage": may_manage_rollout(user),
        "may_follow": allows("rollout", user),
        "cutover_form": (forms.get("cutover_form") or CutoverForm(prefix="cutover",
                                                                   initial={"planned_cutover": wave.planned_cutover}))
        if may_manage_rollout(user) and wave.actual_cutover is None else None,
        "stores": [],
        "evaluation_request": latest_request(wave),
        "waiver_flags": flags.waivers_before_cutover([wave], now).get(wave.pk, []),
        "go_live_flags": flags.go_live_disagreements([wave]).get(wave.pk, []),
    }
    if context["may_manage"]:
        gate_setup.attach(gate_views, bound=setup, notes=notes)
    if current is not None:
        readiness.add_records_urls(wave, current, now)
        required = current.gate.template.required_roles
        context.update(
            stores=readiness.store_readiness(wave, current, now),
            store_criteria=readiness.store_criteria(current),
            waiver_form=forms.get("waiver_form") or WaiverForm(gate=current.gate),
            sign_off_form=(forms.get("sign_off_form") or SignOffForm(prefix="sign_off"))
            if role in required and may_sign_off(user, role) else None,
            sign_off_role_label=readiness.role_names([role]) if role else "",
            go_form=(forms.get("go_form") or GoNoGoForm(prefix="go"))
            if current.gate.template.kind == GateKind.CUTOVER and may_decide_go_no_go(user) else None,
        )
    return render(request, "rollout/wave.html", context, status=status)


@login_required
@require_GET
def wave_detail(request, pk):
    try:
        wave = _wave(request, pk)
    except NotInScope as error:
        return not_found(request, error)
    return _wave_page(request, wave)


def _gate_action(form_class, form_name, prefix=None):
    """Wrap `do(request, gate, data) -> message` as a POST on one gate
    (controltower.answers.object_action): the service decides; success goes
    back to the wave page with the message, a refusal shows the wave page
    with the form's errors (400)."""
    def bind(request, gate):
        kwargs = {"gate": gate} if form_class is WaiverForm else {"prefix": prefix}
        return form_class(request.POST, **kwargs)

    def invalid(request, gate, form, error):
        if error is not None:
            add_service_errors(form, error)
        return _wave_page(request, gate.wave, status=400, **{form_name: form})

    def done(request, gate, message):
        messages.success(request, message)
        return redirect("rollout-wave", gate.wave_id)

    return object_action(_gate, bind, invalid=invalid, done=done)


@_gate_action(WaiverForm, "waiver_form")
def waiver_request(request, gate, data):
    waiver = gates.request_waiver(gate, data["criterion"], user=request.user, reason=data.get("reason", ""),
                                  expires_at=data.get("expires_at"))
    return f"Waiver of {waiver.criterion} asked; another person approves it."


@_gate_action(SignOffForm, "sign_off_form", prefix="sign_off")
def gate_sign_off(request, gate, data):
    signed = gates.sign_off(gate, user=request.user, role=role_of(request.user), comment=data.get("comment", ""))
    return f"Signed off {gate.template.get_kind_display()} as {signed.get_role_display()}."


@_gate_action(GoNoGoForm, "go_form", prefix="go")
def gate_go_no_go(request, gate, data):
    decision = gates.record_go_no_go(gate, user=request.user, decision=data["decision"],
                                     comment=data.get("comment", ""))
    return f"Recorded: {decision.get_decision_display()}."


@login_required
@require_POST
def waiver_approve(request, pk):
    waiver = Waiver.objects.restrict(request.user).select_related("gate__wave", "gate__template", "criterion") \
        .filter(pk=pk).first()
    if waiver is None:
        return not_found(request, f"No waiver #{pk} in your scope.")
    try:
        gates.approve_waiver(waiver, user=request.user)
    except PermissionDenied as error:
        return refused(request, error)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Waiver of {waiver.criterion} approved until "
                                  f"{timezone.localtime(waiver.expires_at):%d %b %Y %H:%M}.")
    return redirect("rollout-wave", waiver.gate.wave_id)


@login_required
@require_POST
def wave_schedule(request, pk):
    """Set or move the wave's planned cutover; rollout.schedule refuses a day
    inside a blackout window, naming it."""
    try:
        wave = _wave(request, pk)
    except NotInScope as error:
        return not_found(request, error)
    form = CutoverForm(request.POST, prefix="cutover")
    if form.is_valid():
        try:
            schedule_cutover(wave, form.cleaned_data["planned_cutover"], user=request.user)
        except PermissionDenied as error:
            return refused(request, error)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Cutover of {wave.name} planned for {wave.planned_cutover:%d %b %Y}.")
            return redirect("rollout-wave", wave.pk)
    return _wave_page(request, wave, status=400, cutover_form=form)


@login_required
@require_POST
def wave_evaluate(request, pk):
    """The button: queue an evaluation of the wave's open gate (the hourly
    run's work) for a worker; the wave page says it is queued until it is done."""
    try:
        wave = _wave(request, pk)
    except NotInScope as error:
        return not_found(request, error)
    if not may_manage_rollout(request.user):
        return refused(request, "Only the PMO evaluates a wave on demand.")
    queued, new = request_evaluation(wave, user=request.user)
    if new:
        enqueue(run_evaluation_request, queued.pk)
    else:
        messages.info(request, f"An evaluation is already queued since {when(queued.requested_at)}: it runs once.")
    return redirect("rollout-wave", wave.pk)


@login_required
@require_GET
def wave_evaluation(request, pk):
    """The wave page's "Evaluation queued" line, polled until it is done (htmx fragment)."""
    try:
        wave = _wave(request, pk)
    except NotInScope as error:
        return not_found(request, error)
    return render(request, "rollout/_evaluation_request.html", {
        "wave": wave, "evaluation_request": latest_request(wave), "polled": True,
    })
