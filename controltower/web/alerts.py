"""The Alerts page: a person's channels, the kinds of alert they are told
about and their daily digest choice (its hour, their time zone), the alerts
sent to them with each delivery's state; for whoever administers teams, the
teams' channels and kinds too. The work is in controltower.alerts."""
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from controltower import alert_delivery, alerts
from controltower.answers import add_service_errors
from controltower.models import Alert, AlertKind, Channel, Profile
from controltower.navigation import screen
from controltower.permissions import may_administer_teams
from exceptions.models import Team

from .forms import ChannelForm, DigestForm, KindsForm

# The page lists this many of the latest alerts.
ALERTS_SHOWN = 50


def _digest_form(user, data=None):
    preference, profile = alerts.digest_of(user), Profile.objects.filter(user=user).first()
    return DigestForm(data, tower_zone=settings.TIME_ZONE, has_profile=profile is not None, initial={
        "daily_digest": preference.daily_digest, "digest_hour": preference.digest_hour,
        "time_zone": profile.time_zone if profile else ""})


def _kinds_form(*, user=None, team=None):
    if team is None:
        return KindsForm(kinds=AlertKind, auto_id="id_kinds_%s", initial={"kinds": alerts.kinds_told(user=user)})
    return KindsForm(kinds=alerts.TEAM_KINDS, auto_id=f"id_team{team.pk}_kinds_%s",
                     initial={"kinds": alerts.kinds_told(team=team), "team": team.pk})


def _page(request, *, channel_form=None, failed_team=None, kinds_form=None, digest_form=None, saved="",
          status=200):
    """The page; a form refused is shown with its errors (a team's channel form: `failed_team`'s)."""
    user = request.user
    teams = list(Team.objects.prefetch_related("alert_channels")) if may_administer_teams(user) else []
    sent = (Alert.objects.filter(user=user).select_related("digest")
            .prefetch_related("deliveries__channel")[:ALERTS_SHOWN])
    return render(request, "web/alerts.html", {
        "channels": alerts.channels_of(user=user), "alerts": sent,
        "teams": [(team, _kinds_form(team=team), saved == f"team-{team.pk}") for team in teams],
        "form": channel_form if channel_form is not None and failed_team is None
        else ChannelForm(auto_id="id_own_%s"),
        "failed_form": channel_form, "failed_team": failed_team,
        "kinds_form": kinds_form or _kinds_form(user=user),
        "digest_form": digest_form or _digest_form(user), "digest_zone": alert_delivery.zone_of_person(user),
        "saved": saved,
    }, status=status)


def _saved(request, what):
    """After a choice is saved: the page again for htmx (it swaps in its part, saying so), else a redirect."""
    return _page(request, saved=what) if request.htmx else redirect("alerts")


@screen("alerts")
def alerts_page(request):
    return _page(request)


def _team_or_me(request, team):
    if team is None:
        return {"user": request.user}
    if not may_administer_teams(request.user):
        raise PermissionDenied("Only an administrator edits a team's channels and alerts.")
    return {"team": team}


@screen("alerts")
@require_POST
def channel_add(request):
    """A channel for the person, or for the team the form names (an administrator's)."""
    form = ChannelForm(request.POST, auto_id="id_own_%s")
    if form.is_valid():
        team = form.cleaned_data["team"]
        try:
            alerts.add_channel(form.cleaned_data["url"], **_team_or_me(request, team))
            return redirect("alerts")
        except ValidationError as exc:
            form.add_error("url", exc.message_dict["url"])
    team = form.cleaned_data.get("team")
    return _page(request, channel_form=form, failed_team=team.pk if team else None, status=400)


@screen("alerts")
@require_POST
def channel_remove(request, pk):
    # Another person's channel is not found; a team's is the administrator's.
    channel = get_object_or_404(Channel.objects.filter(Q(user=request.user) | Q(team__isnull=False)), pk=pk)
    if channel.team is not None:
        _team_or_me(request, channel.team)
    channel.delete()
    return redirect("alerts")


@screen("alerts")
@require_POST
def kinds(request):
    """The kinds of alert the person, or the team the form names (an administrator's), is told about."""
    form = KindsForm(request.POST, kinds=AlertKind, auto_id="id_kinds_%s")
    if not form.is_valid():
        return _page(request, kinds_form=form, status=400)
    team = form.cleaned_data["team"]
    alerts.set_kinds_told(form.cleaned_data["kinds"], **_team_or_me(request, team))
    return _saved(request, f"team-{team.pk}" if team else "kinds")


@screen("alerts")
@require_POST
def digest(request):
    form = _digest_form(request.user, request.POST)
    if form.is_valid():
        try:
            alerts.set_digest(request.user, form.cleaned_data["daily_digest"], form.cleaned_data["digest_hour"],
                              form.cleaned_data.get("time_zone"))
            return _saved(request, "digest")
        except ValidationError as error:
            add_service_errors(form, error)
    return _page(request, digest_form=form, status=400)
