"""People, their roles and scope, and API tokens (people's and source systems')."""
import hashlib
import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models


class Role(models.TextChoices):
    STORE_MANAGER = "store_manager", "Store manager"
    REGIONAL_OPS = "regional_ops", "Regional ops lead"
    PLANNER = "planner", "Planner"
    FINANCE = "finance", "Finance"
    INTEGRATION_ADMIN = "integration_admin", "Integration admin"
    PMO = "pmo", "PMO"
    EXECUTIVE = "executive", "Executive"
    ADMIN = "admin", "Admin"


class Profile(models.Model):
    """A person's role and scope. Store managers see their locations, regional
    ops their region; every other role sees the whole estate."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    role = models.CharField(max_length=20, choices=Role.choices)
    locations = models.ManyToManyField("inventory.Location", blank=True, related_name="managers")
    region = models.ForeignKey("inventory.Region", null=True, blank=True, on_delete=models.SET_NULL)
    # The person's own time zone (their daily digest's hour is read in it); blank: the tower's TIME_ZONE.
    time_zone = models.CharField(max_length=64, blank=True)

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"


def hash_token(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token, stored hashed. It belongs to a person or to a source
    system; a source's token may only post as that source."""

    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters, to recognise a token")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    source = models.ForeignKey("inventory.SourceSystem", null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)
    # Set when the token is rotated: it keeps working until then, beside its successor.
    expires_at = models.DateTimeField(null=True, blank=True, help_text="None: until revoked")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | models.Q(source__isnull=False),
                name="token_has_owner",
            )
        ]

    @classmethod
    def issue(cls, *, user=None, source=None):
        """Create a token and return (token, raw key). The raw key is shown once."""
        raw = secrets.token_urlsafe(32)
        while raw.startswith("-"):  # its prefix names it on a command line (--token PREFIX), never as an option
            raw = secrets.token_urlsafe(32)
        token = cls.objects.create(key_hash=hash_token(raw), prefix=raw[:8], user=user, source=source)
        return token, raw

    def __str__(self):
        return f"{self.prefix}… ({self.source or self.user})"

    def usable(self, now):
        return not self.revoked and (self.expires_at is None or self.expires_at > now)


class KpiDay(models.Model):
    """One metric's value for one UTC day and one member of a rollup
    dimension (the estate, a region, a location, a source, a channel, a
    wave), written by controltower.rollups. Dashboards read these rows,
    never the raw records; `records_url` lists the records behind the value."""

    metric = models.CharField(max_length=64)
    day = models.DateField()
    dimension = models.CharField(max_length=20)
    member = models.CharField(max_length=64, blank=True, help_text="The member's code; blank for the estate")
    value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True,
                                help_text="Empty: no data")
    sample = models.IntegerField()
    records_url = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dimension", "member", "metric", "day"], name="kpi_day_unique"),
        ]
        indexes = [models.Index(fields=["dimension", "metric", "day"], name="kpi_day_by_metric"),
                   # rollups.last_day(), which every dashboard asks first (without it a scan of every
                   # row), and the days of a week of many members' values read from the index alone
                   # (rollups.worst ranks a wave's 360 stores on them).
                   models.Index(fields=["day", "dimension", "metric"], name="kpi_day_by_day",
                                include=["member", "value"])]

    def __str__(self):
        return f"{self.metric} {self.dimension}:{self.member or 'estate'} {self.day} = {self.value}"


class RollupState(models.Model):
    """Where the incremental KPI rollup stands: data received from
    `rolled_from` on has not been rolled up yet."""

    name = models.CharField(max_length=32, primary_key=True)
    rolled_from = models.DateTimeField()


class Channel(models.Model):
    """Where a person's or a team's alerts go: one Apprise URL (mailto, msteams,
    slack, json...), sealed at rest as it carries tokens (controltower.sealing);
    only its masked form is ever shown."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="alert_channels")
    team = models.ForeignKey("exceptions.Team", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="alert_channels")
    sealed_url = models.TextField()
    masked = models.CharField(max_length=80)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]
        constraints = [models.CheckConstraint(
            condition=models.Q(user__isnull=True) ^ models.Q(team__isnull=True), name="channel_of_person_or_team")]

    def __str__(self):
        return self.masked


class AlertKind(models.TextChoices):
    """The kinds of alert, declared once: every alert raised is of one, and a
    person or a team is told about each until they turn it off."""

    CASES = "cases", "Cases assigned to me or my team"
    WAITING = "waiting", "Approvals and sign-offs waiting on me"
    ESCALATIONS = "escalations", "Escalations"
    CRITERIA_RED = "criteria_red", "Gate criteria turning red"
    LAPSING_WAIVERS = "lapsing_waivers", "Lapsing waivers"
    STALE_SIGN_OFFS = "stale_sign_offs", "Stale sign-offs"
    STALE_SOURCES = "stale_sources", "Stale sources"


class AlertPreference(models.Model):
    """A person who asked for one daily digest instead of one message per alert,
    at the hour they chose (in their time zone, Profile.time_zone)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_preference")
    daily_digest = models.BooleanField(default=False)
    digest_hour = models.PositiveSmallIntegerField(default=7, validators=[MaxValueValidator(23)])
    # The last day whose digest was made: a day's digest is made once, whoever runs it.
    last_digest_on = models.DateField(null=True, blank=True)


class AlertOptOut(models.Model):
    """A kind of alert a person or a team asked not to be told about."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="alert_opt_outs")
    team = models.ForeignKey("exceptions.Team", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="alert_opt_outs")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(user__isnull=True) ^ models.Q(team__isnull=True),
                                   name="opt_out_of_person_or_team"),
            models.UniqueConstraint(fields=["user", "kind"], name="opt_out_once_per_person"),
            models.UniqueConstraint(fields=["team", "kind"], name="opt_out_once_per_team"),
        ]


class Alert(models.Model):
    """One event told to one person or one team: raised once per `key` (the
    transition it tells), then delivered to each of their channels."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="alerts")
    team = models.ForeignKey("exceptions.Team", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="alerts")
    key = models.CharField(max_length=200)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    link = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    # For a person on the daily digest: the digest alert that carried this one.
    digest = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="carried")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="alert_once_per_person"),
            models.UniqueConstraint(fields=["team", "key"], name="alert_once_per_team"),
        ]

    def __str__(self):
        return self.subject


class Delivery(models.Model):
    """One alert sent to one channel: pending until the channel accepts it;
    failing (with what it answered) while retries run and after they ran out."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILING = "failing", "Failing"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    answer = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["alert", "channel"], name="delivery_once_per_channel")]
