"""Alerts that reach people: one event told once to a person or a team, and
delivered through Apprise to each of their channels (e-mail, Microsoft Teams,
Slack, a JSON webhook: one Apprise URL each).

The apps raise their own events (`raise_alert`) with a key naming the
transition (a criterion's red evaluation, a case's assignment): a second
raise of one key for one person sends nothing, so a re-run of an evaluation
or a sweep is harmless. Each delivery is recorded first, then sent by a worker
(controltower.alert_tasks.deliver), retried with backoff while the channel
fails; `send_unsent` is the sweep's for those the broker never took or whose
retries ran out, while still news. A delivery that keeps failing stays
"failing" with the channel's answer, on the person's Alerts page.

A person on the daily digest gets no message per alert: `send_digests`
gathers their alerts of the day into one.
"""
import logging
from datetime import timedelta
from urllib.parse import urlsplit

import apprise
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from .locks import try_hold
from .models import Alert, AlertPreference, Channel, Delivery
from .sealing import seal, unseal
from .tasks import enqueue

log = logging.getLogger(__name__)

# The Apprise services a channel may be: e-mail, Microsoft Teams, Slack, JSON webhooks.
SCHEMES = ("mailto", "mailtos", "msteams", "slack", "json", "jsons")
# The sweep leaves a younger delivery to its task and its retries.
LEFT_UNSENT_AFTER = timedelta(minutes=15)
# An alert older than this is no longer news: the sweep gives it up (it stays failing).
NEWS_FOR = timedelta(days=1)


class Undelivered(Exception):
    """A channel did not accept an alert (the task retries it)."""


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
    from .alert_tasks import deliver

    for channel in channels:
        delivery = Delivery.objects.create(alert=alert, channel=channel, created_at=at)
        transaction.on_commit(lambda pk=delivery.pk: enqueue(deliver, pk))


def send(url, subject, body):
    """Send one message to one Apprise URL now: (whether it was accepted, what the channel answered)."""
    sender = apprise.Apprise()
    if not sender.add(url):
        return False, "Apprise does not take this URL."
    with apprise.LogCapture(level=apprise.logging.WARNING, fmt="%(message)s") as captured:
        accepted = sender.notify(title=subject, body=body)
    answer = " ".join(captured.getvalue().split())[-300:]
    return accepted, answer or ("accepted" if accepted else "refused")


def deliver(delivery_id):
    """Send one delivery unless it was sent already (or is being sent): whether
    this call sent it. A channel that refuses raises Undelivered, leaving the
    delivery failing with its answer."""
    with try_hold(f"alert-delivery:{delivery_id}") as held:
        delivery = (Delivery.objects.filter(pk=delivery_id).exclude(state=Delivery.State.SENT)
                    .select_related("alert", "channel").first() if held else None)
        if delivery is None:
            return False
        alert = delivery.alert
        body = f"{alert.body}\n\n{settings.ALERT_SITE_URL}{alert.link}" if alert.link else alert.body
        accepted, answer = send(unseal(delivery.channel.sealed_url), alert.subject, body)
        Delivery.objects.filter(pk=delivery.pk).update(
            state=Delivery.State.SENT if accepted else Delivery.State.FAILING, attempts=delivery.attempts + 1,
            answer=answer, sent_at=timezone.now() if accepted else None)
    if not accepted:
        raise Undelivered(f"{delivery.channel.masked}: {answer}")
    return True


def send_unsent(now=None):
    """The sweep: the deliveries left unsent a while, still news. One that
    fails again is logged and left for the next sweep. Returns how many went."""
    now = now or timezone.now()
    left = (Delivery.objects.exclude(state=Delivery.State.SENT)
            .filter(created_at__lte=now - LEFT_UNSENT_AFTER, created_at__gt=now - NEWS_FOR).order_by("created_at"))
    sent = 0
    for delivery_id in left.values_list("pk", flat=True):
        try:
            sent += deliver(delivery_id)
        except Undelivered:
            log.warning("alert delivery %s not sent; the next sweep tries again", delivery_id, exc_info=True)
    return sent


def send_digests(now=None):
    """One digest per person on the daily digest with alerts not yet carried:
    the day's alerts in one message to each channel. Returns how many digests."""
    now = now or timezone.now()
    made = 0
    for preference in AlertPreference.objects.filter(daily_digest=True).select_related("user"):
        user = preference.user
        waiting = list(Alert.objects.filter(user=user, digest__isnull=True, deliveries__isnull=True)
                       .exclude(key__startswith="digest:").order_by("created_at"))
        if not waiting:
            continue
        lines = [f"- {alert.subject}" + (f" ({alert.link})" if alert.link else "") for alert in waiting]
        with transaction.atomic():
            digest = Alert.objects.create(
                user=user, key=f"digest:{now:%Y-%m-%dT%H:%M}", created_at=now,
                subject=f"[Control Tower] Your daily digest: {len(waiting)} alert{'s' if len(waiting) > 1 else ''}",
                body="\n".join(lines))
            Alert.objects.filter(pk__in=[alert.pk for alert in waiting]).update(digest=digest)
            _deliver_later(digest, channels_of(user=user), now)
        made += 1
    return made


def test_channels(user):
    """One test message to each of `user`'s channels, now, without a worker:
    [(masked URL, accepted, answer)]."""
    return [(channel.masked, *send(unseal(channel.sealed_url), "[Control Tower] Test alert",
                                   "A test of this channel: alerts will reach you here."))
            for channel in channels_of(user=user)]
