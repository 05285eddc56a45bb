"""Alerts that reach people: one event told once to a person or a team, and
delivered through Apprise to each of their channels (e-mail, Microsoft Teams,
Slack, a JSON webhook: one Apprise URL each).

The apps raise their own events (`raise_alert`) with a key naming the
transition (a criterion's red evaluation, a case's assignment): a second
raise of one key for one person sends nothing, so a re-run of an evaluation
or a sweep is harmless. Each delivery is recorded first, then sent by a worker
(controltower.alert_tasks.deliver), retried with backoff while the channel
fails; the sweep sends those the broker never took or whose retries ran out, while still news (controltower.alert_delivery). A delivery
that keeps failing stays "failing" with the channel's answer, on the
person's Alerts page.

A person on the daily digest gets no message per alert: the digest task
gathers their alerts of the day into one (alert_delivery.digests).
"""
from urllib.parse import urlsplit

import apprise
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from .alert_delivery import send
from .alert_tasks import deliver
from .models import Alert, AlertPreference, Channel, Delivery
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


def on_digest(user):
    return AlertPreference.objects.filter(user=user, daily_digest=True).exists()


def set_digest(user, daily_digest):
    AlertPreference.objects.update_or_create(user=user, defaults={"daily_digest": daily_digest})


def people_with_roles(roles):
    """The active people of `roles` (a set from controltower.permissions)."""
    return get_user_model().objects.filter(is_active=True, profile__role__in=roles)


def raise_alert(key, subject, body, *, users=(), teams=(), link="", at=None):
    """Tell each of `users` and `teams` about one event, once per `key`: the
    alerts made now (none for those told already)."""
    at = at or timezone.now()
    made = []
    for recipient in [{"user": user} for user in users] + [{"team": team} for team in teams]:
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
