"""The rollout events that reach people (controltower.alerts): a gate
criterion that turns red (told to the people who must act on the gate, and
as a stale sign-off to who signed it off), a gate opening for its sign-offs,
a waiver about to lapse. Each is raised once: its key names
the transition, so a re-run of an evaluation or of the sweep sends nothing new."""
from datetime import timedelta

from django.urls import reverse

from controltower.alerts import people_with_roles, raise_alert
from controltower.models import AlertKind, Role
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


def _sign_off_roles(gate):
    return [role for role in gate.template.required_roles if role in Role.values]


def _seeing_the_wave(people, wave):
    """Those of `people` who see at least one of `wave`'s stores (the estate roles see them all)."""
    return people.filter(people_seeing(Location.objects.filter(pk__in=wave.members.values("location")))).distinct()


def people_to_act(gate):
    """The people who must act on `gate`: the holders of its sign-off roles
    who see the wave's stores, and the PMO (a wave has no PMO of its own:
    every person of the role), each once."""
    return _seeing_the_wave(people_with_roles({*_sign_off_roles(gate), Role.PMO}), gate.wave).order_by("pk")


def criterion_evaluated(evaluation):
    """When a criterion turns red, tell the people who must act on its gate,
    each once: who signed off before it that their sign-off went stale (the
    measure in the message), the others that it turned red."""
    if not turned_red(evaluation):
        return
    gate, criterion = evaluation.gate, evaluation.criterion
    body = (f"{criterion} measured {evaluation.value} against {evaluation.threshold} "
            f"at {when(evaluation.at)}." + (f" {evaluation.note}." if evaluation.note else ""))
    link = _wave_link(gate.wave)
    signers = {sign_off.person for sign_off in gate.sign_offs.filter(at__lt=evaluation.at).select_related("person")}
    told_stale = raise_alert(
        AlertKind.STALE_SIGN_OFFS, f"sign-off-stale:{evaluation.pk}",
        f"[Control Tower] Your sign-off of {gate} went stale: {criterion} turned red",
        f"{body} Your sign-off no longer counts: look again and sign off anew.",
        users=sorted(signers, key=lambda person: person.pk), link=link, at=evaluation.at)
    told = {alert.user_id for alert in told_stale}
    raise_alert(AlertKind.CRITERIA_RED, f"criterion-red:{evaluation.pk}",
                f"[Control Tower] {gate}: {criterion} turned red", body,
                users=[person for person in people_to_act(gate) if person.pk not in told], link=link, at=evaluation.at)


def gate_opened(gate, at):
    """Tell the people of the gate's sign-off roles who see the wave that their sign-off is awaited."""
    roles = _sign_off_roles(gate)
    if not roles:
        return
    raise_alert(AlertKind.WAITING, f"sign-off-waiting:{gate.pk}", f"[Control Tower] {gate} waits for your sign-off",
                f"The gate opened on {day(at)}; it needs the sign-off of your role.",
                users=list(_seeing_the_wave(people_with_roles(roles), gate.wave)), link=_wave_link(gate.wave), at=at)


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
            AlertKind.LAPSING_WAIVERS, f"waiver-lapsing:{waiver.pk}",
            f"[Control Tower] A waiver on {waiver.gate} lapses {why}",
            f"The waiver of {waiver.criterion} lapses {when(waiver.expires_at)} ({why}). Reason: {waiver.reason}",
            users=list(people_with_roles(ROLLOUT_MANAGERS)), link=_wave_link(waiver.gate.wave), at=now))
    return told
