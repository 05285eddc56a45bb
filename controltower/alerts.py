"""Alerts that reach people: one event told once to a person or a team, and
delivered through Apprise to each of their channels (e-mail, Microsoft Teams,
Slack, a JSON webhook: one Apprise URL each).

The apps raise their own events (`raise_alert`), each of one AlertKind (a
person or a team is told about every kind until they turn it off on the
Alerts page), with a key naming the transition (a criterion's red
evaluation, a case's assignment): a second raise of one key for one person
sends nothing, so a re-run of an evaluation or a sweep is harmless. Each
delivery is recorded first, then sent by a worker
(controltower.alert_tasks.deliver), retried with backoff while the channel
fails; the sweep sends those the broker never took or whose retries ran out,
while still news (controltower.alert_delivery). A delivery that keeps failing
stays "failing" with the channel's answer, on the person's Alerts page.

A person on the daily digest gets no message per alert: the digest task
gathers their alerts into one, at the hour they chose in their time zone
(alert_delivery.digests).
"""
from urllib.parse import urlsplit
from zoneinfo import available_timezones

import apprise
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from .alert_delivery import digest_day, send, zone_of_person
from .alert_tasks import deliver
from .models import Alert, AlertKind, AlertOptOut, AlertPreference, Channel, Delivery, Profile
from .sealing import seal, unseal
from .tasks import enqueue

# The Apprise services a channel may be: e-mail, Microsoft Teams, Slack, JSON webhooks.
SCHEMES = ("mailto", "mailtos", "msteams", "slack", "json", "jsons")
def mask(url):
    """A channel's URL as shown: its service and its last four characters."""
    return f"{urlsplit(url).scheme}://…{url[-4:]}"


def add_channel(url, *, user=None, team=None):
    """A new channel for `user` or `team`; ValidationError naming `url` when
    Apprise does not take the URL or it is not one of SCHEMES."""
    url = (url or "").strip()
    if urlsplit(url).scheme not in SCHEMES or apprise.Apprise.instantiate(url) is None:
        raise ValidationError({"url": f"Must be an Apprise URL of one of: {', '.join(SCHEMES)}."})
    return Channel.objects.create(user=user, team=team, sealed_url=seal(url), masked=mask(url),
                                  created_at=timezone.now())


def channels_of(*, user=None, team=None):
    return Channel.objects.filter(user=user) if user is not None else Channel.objects.filter(team=team)


# The kinds told to teams (to their channels), in a team's words: the others are told to people only.
TEAM_KINDS = {AlertKind.CASES: "Cases routed to the team", AlertKind.ESCALATIONS: "Escalations of the team's cases"}


def kinds_told(*, user=None, team=None):
    """The kinds of alert `user` or `team` is told about: all but those turned off."""
    off = set(AlertOptOut.objects.filter(user=user, team=team).values_list("kind", flat=True))
    return [kind for kind in (AlertKind if team is None else TEAM_KINDS) if kind not in off]


def set_kinds_told(kinds, *, user=None, team=None):
    """Tell `user` or `team` about `kinds` only (of the kinds offered to them)."""
    offered = AlertKind if team is None else TEAM_KINDS
    with transaction.atomic():
        AlertOptOut.objects.filter(user=user, team=team).delete()
        AlertOptOut.objects.bulk_create(AlertOptOut(user=user, team=team, kind=kind)
                                        for kind in offered if kind not in kinds)


def digest_of(user):
    """`user`'s digest choice (the defaults, unsaved, for a person who never made one)."""
    return AlertPreference.objects.filter(user=user).first() or AlertPreference(user=user)


def on_digest(user):
    return digest_of(user).daily_digest


def set_digest(user, daily_digest, hour=7, time_zone=None, *, now=None):
    """Save `user`'s digest choice, and their time zone when given (a zone
    name, "" for the tower's; kept on their profile). A digest turned on, or
    moved to another hour or zone, starts at its next hour: the day due now
    counts as sent (so no day has two). ValidationError naming the field for
    an hour or zone not known."""
    if not 0 <= hour <= 23:
        raise ValidationError({"digest_hour": "An hour from 0 to 23."})
    if time_zone and time_zone not in available_timezones():
        raise ValidationError({"time_zone": f"Unknown time zone {time_zone!r}: a name such as Europe/Paris."})
    zone_before = zone_of_person(user)
    if time_zone is not None:
        Profile.objects.filter(user=user).update(time_zone=time_zone)
    preference = digest_of(user)
    moved = not preference.daily_digest or preference.digest_hour != hour or zone_of_person(user) != zone_before
    preference.daily_digest, preference.digest_hour = daily_digest, hour
    if daily_digest and moved:
        due = digest_day(hour, zone_of_person(user), now or timezone.now())
        preference.last_digest_on = max(due, preference.last_digest_on or due)
    preference.save()


def people_with_roles(roles):
    """The active people of `roles` (a set from controltower.permissions)."""
    return get_user_model().objects.filter(is_active=True, profile__role__in=roles)


def raise_alert(kind, key, subject, body, *, users=(), teams=(), link="", at=None):
    """Tell each of `users` and `teams` who did not turn `kind` off about one
    event, once per `key`: the alerts made now (none for those told already)."""
    at = at or timezone.now()
    off = AlertOptOut.objects.filter(kind=kind)
    users_off = set(off.filter(user__in=users).values_list("user", flat=True)) if users else set()
    teams_off = set(off.filter(team__in=teams).values_list("team", flat=True)) if teams else set()
    made = []
    for recipient in ([{"user": user} for user in users if user.pk not in users_off]
                      + [{"team": team} for team in teams if team.pk not in teams_off]):
        try:
            with transaction.atomic():
                alert = Alert.objects.create(key=key[:200], subject=subject[:200], body=body, link=link[:500],
                                             created_at=at, **recipient)
        except IntegrityError:
            continue
        made.append(alert)
        if "user" in recipient and on_digest(recipient["user"]):
            continue
        _deliver_later(alert, channels_of(**recipient), at)
    return made


def _deliver_later(alert, channels, at):
    for channel in channels:
        delivery = Delivery.objects.create(alert=alert, channel=channel, created_at=at)
        transaction.on_commit(lambda pk=delivery.pk: enqueue(deliver, pk))


def test_channels(user):
    """One test message to each of `user`'s channels, now, without a worker:
    [(masked URL, accepted, answer)]."""
    return [(channel.masked, *send(unseal(channel.sealed_url), "[Control Tower] Test alert",
                                   "A test of this channel: alerts will reach you here."))
            for channel in channels_of(user=user)]
