"""The inventory event that reaches people (controltower.alerts): a source
gone stale (inventory.sources.is_stale, the integration health screen's rule),
told to the people who watch the feeds, once per silence."""
from django.urls import reverse
from django.utils import timezone

from controltower.alerts import people_with_roles, raise_alert
from controltower.models import AlertKind
from controltower.permissions import FEED_WATCHERS
from controltower.when import when
from inventory.trading import Calendar

from .feeds import feeds
from .sources import is_stale


def stale_sources(now=None):
    """The sweep: each source stale at `now` told once per silence (its last
    event names it). Returns how many were told."""
    now = now or timezone.now()
    calendar, told = Calendar(), 0
    watchers = list(people_with_roles(FEED_WATCHERS))
    for source in feeds():
        if not is_stale(source, source.last_event_at, now, calendar):
            continue
        since = f"since {when(source.last_event_at)}" if source.last_event_at else "it never sent anything"
        heard = source.last_event_at.isoformat() if source.last_event_at else "never"
        told += bool(raise_alert(
            AlertKind.STALE_SOURCES, f"source-stale:{source.pk}:{heard}", f"[Control Tower] Source {source.code} went stale",
            f"{source.name} is silent {since}.", users=watchers, link=reverse("integration-health"), at=now))
    return told
