"""The Alerts page: a person's channels and daily digest choice, the alerts
sent to them with each delivery's state; for whoever administers teams, the
teams' channels too. The work is in controltower.alerts."""
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from controltower import alerts
from controltower.models import Alert, Channel
from controltower.navigation import screen
from controltower.permissions import may_administer_teams
from exceptions.models import Team

from .forms import ChannelForm, DigestForm

# The page lists this many of the latest alerts.
ALERTS_SHOWN = 50


def _page(request, failed=None, failed_team=None):
    """The page; `failed` is a channel form refused (for `failed_team`, or the person's own)."""
    user = request.user
    teams = list(Team.objects.prefetch_related("alert_channels")) if may_administer_teams(user) else []
    sent = (Alert.objects.filter(user=user).select_related("digest")
            .prefetch_related("deliveries__channel")[:ALERTS_SHOWN])
    return render(request, "web/alerts.html", {
        "channels": alerts.channels_of(user=user), "teams": teams, "alerts": sent,
        "form": failed if failed is not None and failed_team is None else ChannelForm(auto_id="id_own_%s"),
        "failed_form": failed, "failed_team": failed_team,
        "digest_form": DigestForm(initial={"daily_digest": alerts.on_digest(user)}),
    }, status=400 if failed is not None else 200)


@screen("alerts")
def alerts_page(request):
    return _page(request)


def _team_or_me(request, team):
    if team is None:
        return {"user": request.user}
    if not may_administer_teams(request.user):
        raise PermissionDenied("Only an administrator edits a team's channels.")
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
    return _page(request, form, team.pk if team else None)


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
def digest(request):
    form = DigestForm(request.POST)
    form.is_valid()
    alerts.set_digest(request.user, form.cleaned_data.get("daily_digest", False))
    return redirect("alerts")
