"""Sending alerts (controltower.alerts records them): one delivery to one
channel through Apprise, never twice; the sweep of those left unsent; the
daily digests, each person's at their hour. The Celery tasks
(controltower.alert_tasks) call these."""
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

import apprise
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .locks import try_hold
from .models import Alert, AlertPreference, Channel, Delivery, Profile
from .sealing import unseal
from .when import day

log = logging.getLogger(__name__)

# The sweep leaves a younger delivery to its task and its retries.
LEFT_UNSENT_AFTER = timedelta(minutes=15)
# An alert older than this is no longer news: the sweep gives it up (it stays failing).
NEWS_FOR = timedelta(days=1)


class Undelivered(Exception):
    """A channel did not accept an alert (the task retries it)."""


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


def zone_of_person(user):
    """The time zone `user` reads their day in: their profile's, else the tower's TIME_ZONE."""
    profile = Profile.objects.filter(user=user).first()
    return ZoneInfo((profile and profile.time_zone) or settings.TIME_ZONE)


def digest_day(hour, zone, now):
    """The day whose digest is due at `now` for a digest at `hour` in `zone`:
    today once that hour has begun there, else yesterday. Read on the local
    clock, so a day of 23 or 25 hours (a DST change) still has one."""
    local = now.astimezone(zone)
    return local.date() if local.hour >= hour else local.date() - timedelta(days=1)


def digests(now=None):
    """The digests due at `now`: for each person on the daily digest whose
    day's digest was not made yet (a day missed while no worker ran is made
    now), one digest alert of the alerts not yet carried, a delivery per
    channel. A day's digest is made once, whatever runs at the same time or
    again. Returns the new deliveries' ids, for the caller to send."""
    now = now or timezone.now()
    made = []
    for preference in AlertPreference.objects.filter(daily_digest=True).select_related("user"):
        user = preference.user
        due = digest_day(preference.digest_hour, zone_of_person(user), now)
        with transaction.atomic():
            # The claim: of two workers, or a run and its rerun, one moves the day on; the other finds it moved.
            claimed = (AlertPreference.objects.filter(pk=preference.pk)
                       .filter(Q(last_digest_on__isnull=True) | Q(last_digest_on__lt=due))
                       .update(last_digest_on=due))
            if not claimed:
                continue
            waiting = list(Alert.objects.filter(user=user, digest__isnull=True, deliveries__isnull=True,
                                                created_at__lte=now)
                           .exclude(key__startswith="digest:").order_by("created_at"))
            if not waiting:
                continue
            lines = [f"- {alert.subject}" + (f" ({alert.link})" if alert.link else "") for alert in waiting]
            digest = Alert.objects.create(
                user=user, key=f"digest:{due.isoformat()}", created_at=now,
                subject=f"[Control Tower] Your daily digest of {day(due)}: "
                        f"{len(waiting)} alert{'s' if len(waiting) > 1 else ''}",
                body="\n".join(lines))
            Alert.objects.filter(pk__in=[alert.pk for alert in waiting]).update(digest=digest)
            made += [Delivery.objects.create(alert=digest, channel=channel, created_at=now).pk
                     for channel in Channel.objects.filter(user=user)]
    return made
