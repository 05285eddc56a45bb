"""The rollout events that reach people (controltower.alerts): a gate
criterion that turns red (and the sign-offs it makes stale), a gate opening
for its sign-offs, a waiver about to lapse. Each is raised once: its key names
the transition, so a re-run of an evaluation or of the sweep sends nothing new."""
from datetime import timedelta

from django.urls import reverse

from controltower.alerts import people_with_roles, raise_alert
from controltower.models import Role
from controltower.permissions import ROLLOUT_MANAGERS
from controltower.scoping import people_seeing
from controltower.when import day, when
from inventory.models import Location

from .models import Evaluation, Waiver

# A waiver lapsing within this long is told to the PMO (or one lapsing before its wave's cutover).
LAPSING_WITHIN = timedelta(days=7)


def _wave_link(wave):
    return reverse("rollout-wave", args=[wave.pk])


def turned_red(evaluation):
    """Whether `evaluation` is a measured miss (not waived) after a previous
    evaluation that was not one: the transition to red, never its repeats."""
    if evaluation.counts or evaluation.value is None:
        return False
    previous = (Evaluation.objects.filter(gate=evaluation.gate_id, criterion=evaluation.criterion_id,
                                          at__lte=evaluation.at).exclude(pk=evaluation.pk)
                .order_by("-at", "-pk").first())
    return previous is None or previous.counts or previous.value is None


def criterion_evaluated(evaluation):
    """Tell the PMO when a criterion turns red, and the people whose sign-off it made stale."""
    if not turned_red(evaluation):
        return
    gate, criterion = evaluation.gate, evaluation.criterion
    subject = f"[Control Tower] {gate}: {criterion} turned red"
    body = (f"{criterion} measured {evaluation.value} against {evaluation.threshold} "
            f"at {when(evaluation.at)}." + (f" {evaluation.note}." if evaluation.note else ""))
    link = _wave_link(gate.wave)
    raise_alert(f"criterion-red:{evaluation.pk}", subject, body, users=list(people_with_roles(ROLLOUT_MANAGERS)),
                link=link, at=evaluation.at)
    signers = {sign_off.person for sign_off in gate.sign_offs.filter(at__lt=evaluation.at).select_related("person")}
    raise_alert(f"sign-off-stale:{evaluation.pk}", f"[Control Tower] Your sign-off of {gate} went stale",
                f"{body} Your sign-off no longer counts: look again and sign off anew.",
                users=sorted(signers, key=lambda person: person.pk), link=link, at=evaluation.at)


def gate_opened(gate, at):
    """Tell the people of the gate's sign-off roles who see the wave that their sign-off is awaited."""
    roles = [role for role in gate.template.required_roles if role in Role.values]
    if not roles:
        return
    locations = Location.objects.filter(pk__in=gate.wave.members.values("location"))
    people = people_with_roles(roles).filter(people_seeing(locations)).distinct()
    raise_alert(f"sign-off-waiting:{gate.pk}", f"[Control Tower] {gate} waits for your sign-off",
                f"The gate opened on {day(at)}; it needs the sign-off of your role.",
                users=list(people), link=_wave_link(gate.wave), at=at)


def lapsing_waivers(now):
    """The sweep: approved waivers that lapse within LAPSING_WITHIN or before
    their wave's planned cutover, told to the PMO once each. Returns how many."""
    live = (Waiver.objects.filter(approved_at__isnull=False, expires_at__gt=now)
            .select_related("gate__wave", "gate__template", "criterion"))
    told = 0
    for waiver in live:
        cutover = waiver.gate.wave.planned_cutover
        before_cutover = cutover is not None and waiver.expires_at.date() < cutover
        if waiver.expires_at > now + LAPSING_WITHIN and not before_cutover:
            continue
        why = f"before the cutover on {day(cutover)}" if before_cutover else "within a week"
        told += bool(raise_alert(
            f"waiver-lapsing:{waiver.pk}", f"[Control Tower] A waiver on {waiver.gate} lapses {why}",
            f"The waiver of {waiver.criterion} lapses {when(waiver.expires_at)} ({why}). Reason: {waiver.reason}",
            users=list(people_with_roles(ROLLOUT_MANAGERS)), link=_wave_link(waiver.gate.wave), at=now))
    return told
