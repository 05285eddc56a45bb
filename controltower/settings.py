"""Settings for Control Tower, read from the environment.

With nothing set this is the *embedded default*: SQLite (WAL) under var/ and a
Celery that needs no server (kombu's filesystem transport). DATABASE_URL and
CELERY_BROKER_URL switch to PostgreSQL and Redis for production.
"""
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CONTROLTOWER_VAR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DATABASE_URL = env_str("DATABASE_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
EMBEDDED = not DATABASE_URL and not CELERY_BROKER_URL

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not EMBEDDED:
        raise ImproperlyConfigured("SECRET_KEY must be set outside the embedded default")
    # Embedded default only: a per-checkout key kept under var/.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        from django.utils.crypto import get_random_string

        key_file.write_text(get_random_string(50))
    SECRET_KEY = key_file.read_text().strip()
elif not EMBEDDED and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-")):
    # Django's own rule (check --deploy, security.W009): it signs sessions,
    # password reset links and CSRF tokens, so a guessable key is refused here.
    raise ImproperlyConfigured(
        f"SECRET_KEY is too weak ({len(SECRET_KEY)} characters, {len(set(SECRET_KEY))} different): outside "
        "the embedded default it needs at least 50 characters with at least 5 different ones, not starting "
        "with 'django-insecure-'. Make one with: "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )

# Older keys still accepted while a new SECRET_KEY rolls out: Django checks
# sessions and signatures with them, controltower.sealing opens webhook secrets.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from static/ (no CDN)
    "django_htmx",
    "django_celery_beat",
    "axes",  # login throttling (AXES_* below)
    "auditlog",  # the audit trail of privileged actions (controltower.audit)
    "controltower",
    "inventory",
    "exceptions",
    "rollout",
    "controltower.web",
    "controltower.demo",  # the demo retailer (load_demo): composes the apps above, after them
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "controltower.headers.SecurityHeadersMiddleware",  # CSP and Permissions-Policy (below)
    "controltower.limits.ApiBodyLimitMiddleware",  # 413 for an API body over API_MAX_BODY_BYTES
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who and from where, for the audit trail (an API token's person: controltower.tokens)
    "controltower.addresses.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into the lockout page
]

ROOT_URLCONF = "controltower.urls"
WSGI_APPLICATION = "controltower.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "controltower.context_processors.navigation",
                "controltower.web.context_processors.my_work",
            ],
        },
    },
]

if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "controltower.sqlite3",
            "OPTIONS": {
                # WAL lets the web server read while the worker writes;
                # IMMEDIATE takes the write lock up front so two writers queue
                # instead of failing with "database is locked" mid-transaction.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Login throttling (django-axes) -------------------------------------------------
# After AXES_FAILURE_LIMIT failed logins for one username from one IP address,
# that combination is locked out for AXES_COOLOFF_MINUTES (429, the lockout
# page); a successful login resets the count. Keyed by username *and* IP so
# that a store whose tills share one address does not lock everyone out, and
# nobody can lock a colleague out from elsewhere. Attempts are kept in the
# database (admin: Axes); `manage.py axes_reset` clears them.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))

# Files people attach (a reported issue's photo): private, under MEDIA_ROOT, served only
# through the permission-checked view of the case they belong to (no MEDIA_URL).
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
REPORT_PHOTO_MAX_BYTES = env_int("REPORT_PHOTO_MAX_BYTES", 5 * 1024 * 1024)

# A rotated API token keeps working this long beside its successor (controltower.tokens.rotate).
TOKEN_ROTATION_GRACE_HOURS = env_int("TOKEN_ROTATION_GRACE_HOURS", 24)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# The client's address, for the login throttle and the audit trail (controltower.addresses):
# behind N reverse proxies (AXES_PROXY_COUNT=1 for one TLS-terminating proxy) the Nth from the
# right of X-Forwarded-For; with none, REMOTE_ADDR only (the header is then the client's word).
PROXY_COUNT = env_int("AXES_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "controltower.addresses.client_address"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the finders in the embedded default so `make demo` needs
# no collectstatic; production runs collectstatic once per release.
WHITENOISE_USE_FINDERS = EMBEDDED or DEBUG

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "controltower.tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # Bounded JSON (controltower.api.JSONParser, 413 beyond API_MAX_BODY_BYTES);
    # forms for the browsable API stay under DATA_UPLOAD_MAX_MEMORY_SIZE.
    "DEFAULT_PARSER_CLASSES": [
        "controltower.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # ?limit= (default 100) capped at API_MAX_PAGE_SIZE, ?offset= bounded (controltower.pagination).
    "DEFAULT_PAGINATION_CLASS": "controltower.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Per token (per user for a session), rates in API_THROTTLE_RATES below.
    "DEFAULT_THROTTLE_CLASSES": [
        "controltower.throttles.SourceTokenThrottle",
        "controltower.throttles.PersonThrottle",
    ],
    "EXCEPTION_HANDLER": "controltower.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Control Tower API",
    "DESCRIPTION": (
        "Inventory events, snapshots, positions and exception cases.\n\n"
        "Limits: a request body is at most API_MAX_BODY_BYTES (64 MiB by default; 413 beyond, before "
        "parsing); an ingest batch holds up to 5,000 events, a snapshot 100,000 lines, a PO line load "
        "50,000 lines. Lists take ?limit= (default 100, capped at API_MAX_PAGE_SIZE, 1,000) and "
        "?offset= (0 to 10^9). Each token has a rate (API_THROTTLE_RATES: 600/min for a source "
        "system, 300/min for a person); beyond it the answer is 429 with Retry-After."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/docs/ works offline: Swagger UI comes from drf-spectacular-sidecar's
    # static files, and no online validator badge is fetched.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Every operation documents its 429 (throttled) and, with a body, its 413.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "controltower.api.document_limits",
    ],
    "ENUM_NAME_OVERRIDES": {
        "CaseKindEnum": "exceptions.detectors.kind_choices",
        "CaseStatusEnum": "exceptions.models.Case.Status",
        "AdjustmentStatusEnum": "exceptions.models.CorrectiveAdjustment.Status",
        "LocationKindEnum": "inventory.models.Location.Kind",
        "RejectionKindEnum": "inventory.models.RejectedEvent.Kind",
        "RejectionFeedEnum": "inventory.models.RejectedEvent.Feed",
        "JourneyKindEnum": "inventory.models.JourneyKind",
        "ExternalIdKindEnum": "inventory.models.ExternalId.Kind",
        "WaveKindEnum": "rollout.models.Wave.Kind",
        "WaveStatusEnum": "rollout.models.Wave.Status",
        "GateStatusEnum": "rollout.models.Gate.Status",
        "GateKindEnum": "rollout.models.GateKind",
        "CriterionScopeEnum": "rollout.models.Criterion.ScopeKind",
        "RoleEnum": "controltower.models.Role",
    },
}

# --- Cache (API throttle counts) -------------------------------------------------
# CACHE_URL, else a redis:// CELERY_BROKER_URL: Redis, shared by every web
# process (production). Otherwise local memory: per process, which is right
# for the embedded default's one web process (runserver); a production setup
# without Redis and several gunicorn workers should set CACHE_URL.
CACHE_URL = env_str("CACHE_URL") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else ""
)
# A Redis that is away costs a request at most a second before the throttle
# lets it through (controltower.throttles fails open).
if CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL,
                          "KEY_PREFIX": "ct",
                          "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -----------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL:
    # How long Redis waits before handing an unacknowledged task (its worker
    # died) to another worker, and how often workers sweep for such tasks
    # (every interval x throttle seconds). Tests that kill a worker set them short.
    # Unless CELERY_VISIBILITY_TIMEOUT is set, the visibility timeout is the
    # longest task's hard time limit plus CELERY_VISIBILITY_MARGIN seconds
    # (controltower.celery, once the tasks are known): a running task is never
    # handed out twice, and a dead worker's task waits no longer than that.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10),
        "unacked_restore_throttle": env_int("CELERY_UNACKED_RESTORE_THROTTLE", 10),
    }
    if env_int("CELERY_VISIBILITY_TIMEOUT", 0):
        CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = env_int("CELERY_VISIBILITY_TIMEOUT", 0)
else:
    CELERY_BROKER_URL = "filesystem://"
    for sub in ("queue", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.2,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 900)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 1000)
CELERY_VISIBILITY_MARGIN = env_int("CELERY_VISIBILITY_MARGIN", 60)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "exceptions-escalation-sweep": {
        "task": "exceptions.escalation_sweep",
        "schedule": env_int("ESCALATION_SWEEP_SECONDS", 300),
        "options": {"expires": env_int("ESCALATION_SWEEP_SECONDS", 300) - 30},
    },
    # The daily KPI rollups of the days that received data (controltower.rollups).
    "controltower-roll-up-kpis": {
        "task": "controltower.roll_up_kpis",
        "schedule": env_int("KPI_ROLLUP_SECONDS", 900),
        "options": {"expires": env_int("KPI_ROLLUP_SECONDS", 900) - 30},
    },
    # Every wave's open gates measured and kept as evidence (rollout.evaluation).
    "rollout-evaluate-gates": {
        "task": "rollout.evaluate",
        "schedule": env_int("ROLLOUT_EVALUATION_SECONDS", 3600),
        "options": {"expires": env_int("ROLLOUT_EVALUATION_SECONDS", 3600) - 60},
    },
    # Work recorded but never taken by the broker (it was away): "Evaluate
    # now" requests (rollout.evaluation) and case mail (exceptions.services.mail).
    "rollout-run-left-queued-evaluations": {
        "task": "rollout.run_left_queued_evaluations",
        "schedule": env_int("QUEUED_EVALUATION_SWEEP_SECONDS", 60),
        "options": {"expires": env_int("QUEUED_EVALUATION_SWEEP_SECONDS", 60) - 10},
    },
    "exceptions-send-unsent-mail": {
        "task": "exceptions.send_unsent_mail",
        "schedule": env_int("UNSENT_MAIL_SWEEP_SECONDS", 600),
        "options": {"expires": env_int("UNSENT_MAIL_SWEEP_SECONDS", 600) - 30},
    },
    # Alert deliveries never taken or out of retries (controltower.alerts).
    "controltower-send-unsent-alerts": {
        "task": "controltower.send_unsent_alerts",
        "schedule": env_int("UNSENT_ALERT_SWEEP_SECONDS", 600),
        "options": {"expires": env_int("UNSENT_ALERT_SWEEP_SECONDS", 600) - 30},
    },
    # Sources gone stale and waivers about to lapse, told to their people once (inventory.alerts, rollout.alerts).
    "inventory-alert-stale-sources": {
        "task": "inventory.alert_stale_sources",
        "schedule": env_int("ALERT_SWEEP_SECONDS", 900),
        "options": {"expires": env_int("ALERT_SWEEP_SECONDS", 900) - 30},
    },
    "rollout-alert-lapsing-waivers": {
        "task": "rollout.alert_lapsing_waivers",
        "schedule": env_int("ALERT_SWEEP_SECONDS", 900),
        "options": {"expires": env_int("ALERT_SWEEP_SECONDS", 900) - 30},
    },
    # The daily digests due, on every hour: each person's at the hour they chose, in their time zone.
    "controltower-send-alert-digests": {
        "task": "controltower.send_alert_digests",
        "schedule": crontab(minute=0),
        "options": {"expires": 3600 - 60},
    },
}

# The reconciliation tasks' entries join these when the exceptions app is
# ready, one per detector (exceptions.detectors): every N seconds, each
# overridable with RECONCILE_<KIND>_EVERY_S.

# --- Exception cases ----------------------------------------------------------
# A corrective adjustment worth more than this (currency) waits for finance.
CASE_ADJUSTMENT_APPROVAL_THRESHOLD = env_str("CASE_ADJUSTMENT_APPROVAL_THRESHOLD", "500.00")

# --- Mail (escalation notices) ------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "control-tower@localhost")
# A worker sends each mail (exceptions.mail_tasks.send_case_mail): an SMTP server
# that does not answer within EMAIL_TIMEOUT seconds, or refuses, is tried
# again with exponential backoff MAIL_MAX_RETRIES times.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
MAIL_MAX_RETRIES = env_int("MAIL_MAX_RETRIES", 8)

# --- Alerts (controltower.alerts, through Apprise) ---------------------------
# A channel that refuses an alert is tried again with exponential backoff
# ALERT_MAX_RETRIES times, then shown as failing (the sweep keeps trying while it is news).
ALERT_MAX_RETRIES = env_int("ALERT_MAX_RETRIES", 6)
# The tower's address, put before the link in each alert ("" = links stay relative).
ALERT_SITE_URL = env_str("ALERT_SITE_URL", "")

# --- Production hardening ------------------------------------------------------
# Production (DATABASE_URL or CELERY_BROKER_URL set, DEBUG off) is HTTPS only
# and passes `manage.py check --deploy`: plain http is redirected to https,
# browsers are told to keep to https for a year (HSTS), cookies are secure.
# The embedded default stays on plain http://127.0.0.1:8000.
# Behind a proxy that terminates TLS: SECURE_PROXY_SSL_HEADER=true when it
# sends X-Forwarded-Proto (and strips it from clients), so https requests are
# known as such; or SECURE_SSL_REDIRECT=false when the proxy redirects itself.
if not EMBEDDED and not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # a load balancer's health check over http
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    # Preloading asks browsers to hard-code https for the whole domain, all
    # subdomains, beyond recall: the domain owner's decision, so opt-in.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
    if not SECURE_SSL_REDIRECT:
        # Turned off on purpose (the proxy redirects): not a finding.
        SILENCED_SYSTEM_CHECKS.append("security.W008")
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# On every response (controltower.headers). Everything comes from our own
# origin (no CDN); scripts only from files: no inline script, no eval.
# Styles may be inline: Plotly and htmx set them as they draw. Images may be
# data: URLs (Swagger UI's icons).
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
# The browser features no page of the tower uses, turned off for every page.
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in [
    "accelerometer", "camera", "geolocation", "gyroscope", "magnetometer", "microphone", "payment", "usb",
])

# --- Ingest -------------------------------------------------------------------
INGEST_MAX_EVENTS = 5000
# The unit of a POSLog line sold by weight that does not name its unit
# (UN/ECE Recommendation 20 code: LBR pound, KGM kilogram). The SKU needs a
# conversion for it (e.g. LBR=453.59237 for a SKU counted in G).
POSLOG_WEIGHT_UNIT = env_str("POSLOG_WEIGHT_UNIT", "LBR")
# The largest API request body (bytes): a 100,000-line snapshot fits with room
# to spare (a 5,000-event batch or 50,000 PO lines are far smaller). Larger
# bodies are refused with 413 before they are parsed (controltower.limits).
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 64 * 1024 * 1024)
# The most results one page of an API list gives (?limit= beyond it is capped).
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 1000)
# Requests per token (controltower.throttles), as N/s, N/min, N/hour or N/day;
# `none` turns a scope off. Beyond it: 429 with Retry-After. "source" leaves
# room for ingest at 10,000 events/s in 5,000-event batches (2 requests/s).
API_THROTTLE_RATES = {
    "source": env_str("API_THROTTLE_SOURCE", "600/min"),
    "person": env_str("API_THROTTLE_PERSON", "300/min"),
    # A webhook has no token: its deliveries are counted by the client's address
    # (controltower.addresses), signed or not. Shopify retries a 429 later.
    "webhook": env_str("API_THROTTLE_WEBHOOK", "600/min"),
}
for _scope, _rate in API_THROTTLE_RATES.items():
    if _rate.strip().lower() in ("", "none", "off"):
        API_THROTTLE_RATES[_scope] = None
    elif not re.fullmatch(r"[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)", _rate.strip()):
        raise ImproperlyConfigured(f"API_THROTTLE_{_scope.upper()}={_rate!r}: give a rate such as 600/min, or none.")
    else:
        API_THROTTLE_RATES[_scope] = _rate.strip()
# Events, snapshots and PO dates before this are refused as absurd (a till
# clock reset to 1970, a year typed as 0026).
INGEST_EARLIEST_TIME = env_str("INGEST_EARLIEST_TIME", "2000-01-01T00:00:00+00:00")

# --- Reconciliation (exceptions.reconciliation) ----------------------------------
RECONCILIATION = {
    # A snapshot line differs from the ledger only when the difference is
    # beyond all three: units, percent of the ledger quantity, value at cost.
    "snapshot_tolerance": {
        "store": {"units": 1, "percent": "2", "value": "10.00"},
        "dc": {"units": 5, "percent": "0.5", "value": "100.00"},
        "ecommerce": {"units": 2, "percent": "1", "value": "25.00"},
    },
    # A cycle count's variance (inventory.counts) is within tolerance when it
    # is at most `units` off or at most `percent` of the record off. Stores
    # hold a few units a SKU on the shelf: one unit off is a miscount, not a
    # record problem (one of 4 is 25%); the DC counts hundreds in cases, so
    # half a percent; the ecommerce node's bins are counted by scanner. Stored
    # with each variance: `manage.py rebuild_positions` recomputes them after a change.
    "count_tolerance": {
        "store": {"units": 1, "percent": "5"},
        "dc": {"units": 0, "percent": "0.5"},
        "ecommerce": {"units": 0, "percent": "1"},
    },
    # ERP value vs ledger quantity x unit cost: beyond both; or, on the same
    # quantity, beyond cost_percent (the ERP's unit cost differs), whatever the value.
    "financial_tolerance": {"percent": "1", "value": "50.00",
                            "cost_percent": env_str("RECONCILE_FINANCIAL_COST_PERCENT", "5")},
    "transfer_sla_hours": env_int("RECONCILE_TRANSFER_SLA_HOURS", 72),
    "return_sla_hours": env_int("RECONCILE_RETURN_SLA_HOURS", 48),
    # Suspected duplicates: how far apart (by receipt) a replay under a new
    # transaction id may come, for a source without its own replay_window_s.
    "duplicate_window_s": env_int("RECONCILE_DUPLICATE_WINDOW_S", 3600),
    "duplicate_lookback_hours": 24,
    # The hold of a reservation with no channel (its reason names none and its
    # source has no default channel); the channels' own are inventory.Channel.
    "reservation_hold_minutes": env_int("RECONCILE_RESERVATION_HOLD_MINUTES", 72 * 60),
    "sales_gap_days": 7,
    # Releases, picks and fulfils that occurred in the last N whole days (UTC)
    # are checked against what was reserved / staged; older ones keep their cases.
    "movement_lookback_days": env_int("RECONCILE_MOVEMENT_LOOKBACK_DAYS", 7),
    # How long after a transfer_in its transfer_out may still come in from the sender's feed.
    "transfer_out_grace_hours": env_int("RECONCILE_TRANSFER_OUT_GRACE_HOURS", 6),
    # Value at risk at or above each figure gives that severity; below all, 4.
    "severity_by_value": [("5000", 1), ("1000", 2), ("100", 3)],
    # The anomaly cases (docs/domain.md, "Anomalies"). Phantom inventory: a
    # position with stock that stopped selling, judged on the sales of the
    # last N days, only when it sold steadily (on at least M of them, its
    # first and last sale at least S days apart: two weeks hold every
    # weekday twice, and a seller four weeks old whose shelf emptied a week
    # ago passes; 12 days of sales, as 8 can be a slow seller's lucky
    # fortnight, its rate overstated twice over), and flagged at a false
    # discovery rate over every position tested (Benjamini-Hochberg).
    "phantom_lookback_days": env_int("RECONCILE_PHANTOM_LOOKBACK_DAYS", 56),
    "phantom_min_sale_days": max(2, env_int("RECONCILE_PHANTOM_MIN_SALE_DAYS", 12)),
    "phantom_min_span_days": env_int("RECONCILE_PHANTOM_MIN_SPAN_DAYS", 14),
    "phantom_false_discovery_rate": float(env_str("RECONCILE_PHANTOM_FDR", "0.01")),
    # Adjustments per store and refunds per cashier: the last N weeks against
    # the chain's stores or cashiers, the last 7 days against the M weeks
    # before, flagged past a modified z-score, from a minimum count in the
    # window compared (a handful is never an outlier). The own weeks count
    # only from W of them: the median of three thin first weeks is luck.
    "outlier_score": float(env_str("RECONCILE_OUTLIER_SCORE", "3.5")),
    "outlier_chain_weeks": env_int("RECONCILE_OUTLIER_CHAIN_WEEKS", 4),
    "outlier_weeks": env_int("RECONCILE_OUTLIER_WEEKS", 8),
    "outlier_min_own_weeks": max(2, env_int("RECONCILE_OUTLIER_MIN_OWN_WEEKS", 6)),
    "outlier_min_count": env_int("RECONCILE_OUTLIER_MIN_COUNT", 5),
    # A source's rejection rate today against its last N days (a p-chart),
    # flagged beyond k standard errors, from a minimum of events received today.
    "spike_baseline_days": env_int("RECONCILE_SPIKE_BASELINE_DAYS", 28),
    "spike_sigmas": float(env_str("RECONCILE_SPIKE_SIGMAS", "3")),
    "spike_min_events": env_int("RECONCILE_SPIKE_MIN_EVENTS", 20),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
