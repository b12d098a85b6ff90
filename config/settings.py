"""Fixpoint settings: everything that differs between deployments comes from the environment.

See the table in README.md for every variable, its default and a production example.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        # A one-line message instead of a traceback: this is the first thing a newcomer may hit.
        raise SystemExit(
            "Fixpoint: SECRET_KEY is not set. Set SECRET_KEY to a long random string "
            "(or DEBUG=true for local development)."
        )
    SECRET_KEY = "django-insecure-local-development-only-never-use-in-production"  # noqa: S105

# Keys of the secrets stored encrypted (config.encryption): the first encrypts, every one decrypts.
FIELD_ENCRYPTION_KEYS = [
    k.strip() for k in env.list("FIELD_ENCRYPTION_KEYS", default=[]) if k.strip()
]
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise SystemExit(
            "Fixpoint: FIELD_ENCRYPTION_KEYS is not set. Set it to a key made with: python -c "
            "'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())' "
            "(or DEBUG=true for local development)."
        )
    # Development only: a key derived from SECRET_KEY, so a checkout works with nothing to set.
    _derived = hashlib.sha256(b"fixpoint field encryption\0" + SECRET_KEY.encode()).digest()
    FIELD_ENCRYPTION_KEYS = [base64.urlsafe_b64encode(_derived).decode()]
for _number, _key in enumerate(FIELD_ENCRYPTION_KEYS, start=1):
    try:  # strict: a stray or mistyped character is refused, not skipped as base64 would
        _raw = base64.urlsafe_b64decode(_key.encode("ascii"))
        _valid = len(_raw) == 32 and base64.urlsafe_b64encode(_raw).decode() == _key
    except (ValueError, UnicodeError):
        _valid = False
    if not _valid:
        raise SystemExit(
            f"Fixpoint: key {_number} of FIELD_ENCRYPTION_KEYS is not a Fernet key "
            "(32 random bytes in URL-safe base64, 44 characters)."
        )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "modeltranslation",  # before the admin, which it extends (translated content: architecture.md)
    "config.apps.FixpointAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "leaflet",
    "allauth",
    "allauth.account",
    "accounts",
    "authorities",
    "reports",
    "gamification",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.params.RefuseNulMiddleware",  # before anything looks a NUL up in the database
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "accounts.middleware.LanguageCookieMiddleware",  # on log-in, the account's saved language
    "django.middleware.common.CommonMiddleware",
    "config.baseurl.RequestBaseUrlMiddleware",  # after CommonMiddleware has checked the host
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Last, so it sees what every view raises: a Redis or broker error is a 503, not a 500.
    "config.unavailable.ServiceUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "django.template.context_processors.i18n",
                "gamification.context_processors.game",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'fixpoint.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The same backend, with a health check that spares the round trip when it can (see there).
    DATABASES["default"]["ENGINE"] = "config.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue instead of failing
    # with "database is locked" half-way through a transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# On PostgreSQL, the few statements of fixed shape sent on hot paths (config.compiled,
# config.inserts) are prepared by the server and then neither parsed nor planned again: planning
# was most of an Open311 lookup's time in PostgreSQL (docs/benchmarks.md). A pooler in
# transaction mode that cannot keep prepared statements (PgBouncer before 1.21) needs this off.
FIXPOINT_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
# A streaming read replica for the reads that may be a second stale (views marked with
# config.replica.replica_reads); writes, and a client's reads for a few seconds after it wrote,
# stay on the primary. See config/replica.py and docs/deployment.md.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **env.db("DATABASE_REPLICA_URL"),
        "CONN_MAX_AGE": env.int("DATABASE_REPLICA_CONN_MAX_AGE", default=60),
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"MIRROR": "default"},  # a test run reads its own test database
    }
    if DATABASES["replica"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["replica"]["ENGINE"] = "config.postgresql"
    DATABASE_ROUTERS = ["config.replica.ReplicaRouter"]
    MIDDLEWARE.insert(0, "config.replica.ReplicaPinMiddleware")  # outermost: sees every write
# How long a client that wrote reads from the primary only (cookie); above the replica's lag.
FIXPOINT_REPLICA_PIN_SECONDS = env.int("DATABASE_REPLICA_PIN_SECONDS", default=5)

# --- Cache, e-mail, Celery ------------------------------------------------------------------
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "config.cache.RedisCache"  # one client per pool: see there
    # django-environ hands a redis:// URL's ?key_prefix=, ?version= and ?timeout= over in lower
    # case (django-redis's spelling), and Django's own backend reads only KEY_PREFIX and VERSION:
    # a prefix given in CACHE_URL was silently ignored.
    for _option in ("KEY_PREFIX", "VERSION", "KEY_FUNCTION", "TIMEOUT"):
        if _option.lower() in CACHES["default"]:
            CACHES["default"][_option] = CACHES["default"].pop(_option.lower())

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Fixpoint <noreply@fixpoint.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# Without a broker, tasks run in-process when called: nothing to install for development.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# ... on a thread of each process, after the request that queued them has answered
# (config.embedded); false: in that request.
EMBEDDED_WORKER = env.bool("EMBEDDED_WORKER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"
CELERY_TASK_ACKS_LATE = True
# A broker that accepts connections but does not answer (the network to it cut) must not hold a
# request for minutes: queueing gives up after a few seconds (config.broker logs it, and the rows
# wait for the re-drive). The worker's own polling (BRPOP, 1 s) stays within the read timeout.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 2}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = env.str("TIME_ZONE", default="Europe/Madrid")
# The re-drives: every minute, whatever a lost wake-up, a killed process or a failed attempt left
# due. Beat runs them with a broker; without one, each process's worker thread does
# (config.embedded).
REDRIVE_TASKS = (
    "reports.tasks.send_due_notifications",
    # Filed reports whose follow-up no worker has done yet (reports.followups).
    "reports.tasks.follow_up_filed_reports",
    # Deliveries to authorities: due retries, and rows stuck in "sending" (reports.delivery).
    "reports.tasks.send_pending_deliveries",
)
REDRIVE_SECONDS = 60.0
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    **{
        name.rsplit(".", 1)[1].replace("_", "-"): {"task": name, "schedule": REDRIVE_SECONDS}
        for name in REDRIVE_TASKS
    },
    # What Open311 councils did with the reports sent to them (reports.delivery.status_sync).
    "sync-open311-status": {"task": "reports.tasks.sync_open311_status", "schedule": 300.0},
    "compose-daily-digests": {
        "task": "reports.tasks.compose_daily_digests",
        "schedule": crontab(hour=7, minute=0),  # in TIME_ZONE: the morning digest
    },
    "expire-unconfirmed-reports": {
        "task": "reports.tasks.expire_unconfirmed_reports",
        "schedule": 3600.0,
    },
    # Answers kept for Idempotency-Key headers live 24 hours (accounts.idempotency).
    "expire-idempotency-keys": {
        "task": "accounts.tasks.expire_idempotency_keys",
        "schedule": 3600.0,
    },
    # "Has this been fixed?" e-mails to reporters of long-open reports (reports.questionnaires).
    "send-questionnaires": {"task": "reports.tasks.send_questionnaires", "schedule": 3600.0},
    # Citizens' accounts unused for ACCOUNT_INACTIVE_DAYS: warned, then erased (reports.privacy).
    "anonymise-inactive-accounts": {
        "task": "reports.tasks.anonymise_inactive_accounts",
        "schedule": crontab(hour=3, minute=30),
    },
    # Challenges whose settling period is over get their bonuses and badges (gamification).
    "settle-challenges": {"task": "gamification.tasks.settle_due_challenges", "schedule": 3600.0},
}

# --- Auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "reports:mine"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Fixpoint] "
ACCOUNT_ADAPTER = "reports.adapters.OutboxAccountAdapter"  # its e-mails go through the outbox
# Failed log-ins, counted by django-allauth per IP address and per account, for the web login and
# the API's token endpoint alike (accounts.api_auth.TokenCredentials): one lock for both doors.
ACCOUNT_RATE_LIMITS = {"login_failed": env.str("LOGIN_FAILED_RATE", default="10/m/ip,5/5m/key")}
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ca", "Català"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]  # compiled .mo files are committed: no gettext needed
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600  # the switcher's choice outlives the browser session
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Madrid")
USE_I18N = True
# Dates and numbers people read follow the page's language (config/formats: day before month in
# English too, the 24-hour clock); thousands are grouped only where a template asks (|intcomma).
FORMAT_MODULE_PATH = ["config.formats"]
# Content people write in the admin (categories, questions, response templates, challenges,
# prizes) has a column per language; an empty translation falls back to English, then to
# whichever language was written.
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_LANGUAGES = ("en", "ca", "es")
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en", "ca", "es")
USE_TZ = True

# --- Static and media files -----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")

MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="local")
_media_backend: dict[str, object] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if MEDIA_STORAGE == "s3":
    # django-storages reads AWS_* variables itself (bucket, endpoint, region, keys).
    _media_backend = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "default_acl": None,
            "file_overwrite": False,
        },
    }
elif MEDIA_STORAGE != "local":
    raise SystemExit(f"Fixpoint: MEDIA_STORAGE must be 'local' or 's3', not {MEDIA_STORAGE!r}.")

STORAGES = {
    "default": _media_backend,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Security (HTTPS on unless DEBUG; a TLS-terminating proxy sets X-Forwarded-Proto) -------
SECURE_HTTPS = env.bool("SECURE_HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = SECURE_HTTPS
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
LANGUAGE_COOKIE_SECURE = SECURE_HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if SECURE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HTTPS
SECURE_HSTS_PRELOAD = SECURE_HTTPS
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Maps ---------------------------------------------------------------------------------------
# An empty MAP_TILE_URL means no base map: boundaries, pins and lists still work.
MAP_TILE_URL = env.str("MAP_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = env.str(
    "MAP_TILE_ATTRIBUTION",
    default='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
    " contributors",
)
MAP_CENTER = (
    env.float("MAP_CENTER_LAT", default=41.3874),
    env.float("MAP_CENTER_LON", default=2.1686),
)
MAP_ZOOM = env.int("MAP_ZOOM", default=12)
LEAFLET_CONFIG = {
    "DEFAULT_CENTER": MAP_CENTER,
    "DEFAULT_ZOOM": MAP_ZOOM,
    "TILES": [("Map", MAP_TILE_URL, {"attribution": MAP_TILE_ATTRIBUTION})] if MAP_TILE_URL else [],
    "RESET_VIEW": False,
    "NO_GLOBALS": False,
}

# --- Content-Security-Policy (django-csp) and Permissions-Policy --------------------------------
# Scripts and styles come from this site only; the few inline scripts (django-leaflet's map
# loader, a page's settings object) carry the request's nonce. Images may also come from the
# tile server and the media host (photos on S3/a CDN), and be data: URIs (Leaflet uses one).


def _source_of(url: str) -> list[str]:
    """The CSP source for the host of an absolute URL (a tile template's {s} becomes *.)."""
    parts = urlsplit(url.replace("{s}.", "*."))
    if not parts.scheme or not parts.netloc or "{" in parts.netloc:
        return []
    return [f"{parts.scheme}://{parts.netloc}"]


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *_source_of(MAP_TILE_URL), *_source_of(MEDIA_URL)],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "upgrade-insecure-requests": SECURE_HTTPS,
    },
}
# Browser features: the map's "Use my location" needs geolocation here; nothing needs the rest.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "geolocation": ["self"],
    **{feature: [] for feature in ("camera", "microphone", "payment", "usb")},
}

# --- API ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "config.api.ApiSchema",  # error responses and examples for every view
    "DEFAULT_RENDERER_CLASSES": [  # DRF's JSON, encoded by orjson (config.renderers)
        "config.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PARSER_CLASSES": [  # config.parsers.JSONParser refuses bodies nested too deep
        "config.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.ApiKeyAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # A read-only API key's writes are refused by its authentication (accounts.api_auth), which
    # no view or @action replaces, unlike permission classes.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_THROTTLE_CLASSES": [
        "accounts.api_auth.RequestRates",  # the three rates below, counted in one round trip
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_RATE_ANON", default="120/min"),
        "user": env.str("API_RATE_USER", default="600/min"),
        "client": env.str("API_RATE_CLIENT", default="1200/min"),
    },
    "EXCEPTION_HANDLER": "config.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fixpoint API",
    "DESCRIPTION": (
        "Report street problems and follow them to a fix. Authenticate with a personal token "
        "(`Authorization: Token <token>`, from POST /api/v1/auth/token/) or an API key "
        '(`X-API-Key: <key>`). Errors are always `{"error": {"code", "message"}}`.'
    ),
    "VERSION": "1.0.0",
    # Served from the drf-spectacular-sidecar package: the docs page needs no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # config/api.py: only /api/v1/ is documented; the introduction, auth schemes and tags.
    "PREPROCESSING_HOOKS": ["config.api.api_operations_only"],
    # Geocoding's kinds of answer, not to be confused with the authorities' kinds.
    "ENUM_NAME_OVERRIDES": {"GeocodeKindEnum": "reports.api.geocode.KINDS"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api.describe_api",
    ],
}

# --- Fixpoint -------------------------------------------------------------------------------
FIXPOINT_SITE_NAME = env.str("FIXPOINT_SITE_NAME", default="Fixpoint Barcelona")
# Where people report an accessibility barrier (the /accessibility/ statement names it): a
# mailbox somebody reads, as the EU Web Accessibility Directive asks of public bodies.
FIXPOINT_ACCESSIBILITY_CONTACT = env.str(
    "ACCESSIBILITY_CONTACT", default="accessibility@fixpoint.localhost"
)
# Where a person who found a vulnerability writes (an e-mail address or an https:// page), served
# in /.well-known/security.txt (RFC 9116; docs/security.md).
FIXPOINT_SECURITY_CONTACT = env.str("SECURITY_CONTACT", default="security@fixpoint.localhost")
# Photos: what a citizen may upload, and the largest side kept after resizing.
FIXPOINT_PHOTO_MAX_BYTES = env.int("PHOTO_MAX_BYTES", default=10 * 1024 * 1024)
FIXPOINT_PHOTO_MAX_SIDE = env.int("PHOTO_MAX_SIDE", default=2048)
FIXPOINT_PHOTOS_PER_REPORT = 3
# Pixels one request may have decoded over all its photos (a JPEG counts at the reduced size it is
# decoded at): 50 MP is one photo at the per-photo limit, or three from any phone camera.
FIXPOINT_PHOTO_MAX_REQUEST_PIXELS = env.int("PHOTO_MAX_PIXELS_PER_REQUEST", default=50_000_000)
# Where links in e-mails point (no trailing slash).
# Unset: the address each request came in on (config.baseurl), else http://127.0.0.1:8000.
FIXPOINT_BASE_URL = env.str("BASE_URL", default="").strip().rstrip("/")
# Where links in the JSON answers (API, Open311, the site's JSON) point: empty, the scheme and
# host each request came in by; set, this address whatever host a proxy passed on.
FIXPOINT_PUBLIC_URL = env.str("FIXPOINT_PUBLIC_URL", default="").strip().rstrip("/")
if FIXPOINT_PUBLIC_URL and not FIXPOINT_PUBLIC_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("FIXPOINT_PUBLIC_URL must start with http:// or https://.")
# An unconfirmed report (and its confirmation link) lives this long, then it is deleted.
FIXPOINT_UNCONFIRMED_TTL_HOURS = env.int("UNCONFIRMED_TTL_HOURS", default=72)
# A reporter may undo withdrawing their report for this long (0: never).
FIXPOINT_WITHDRAW_UNDO_MINUTES = env.int("WITHDRAW_UNDO_MINUTES", default=10)
# At most this many reports per account or address (and per IP address) per window.
FIXPOINT_REPORT_RATE = env.int("REPORT_RATE_LIMIT", default=5)
FIXPOINT_REPORT_RATE_WINDOW_MINUTES = env.int("REPORT_RATE_WINDOW_MINUTES", default=10)
# An API key's filings are counted per key instead of per IP address (reports.ratelimit).
FIXPOINT_REPORT_RATE_PER_KEY = env.int("REPORT_RATE_LIMIT_PER_KEY", default=100)
# Boundaries, categories and their links changed by one process reach the others' routing
# indexes within this many seconds (0: checked at every request, a query each; see
# authorities.routing.request_freshness_check).
FIXPOINT_ROUTING_FRESHNESS_SECONDS = env.float("ROUTING_FRESHNESS_SECONDS", default=1.0)
# Vertices of boundaries each process keeps decoded and prepared for routing (the rest stay as
# compact WKB until a point falls in them): a city's few hundred boundaries all fit.
FIXPOINT_ROUTING_CACHE_VERTICES = env.int("ROUTING_CACHE_VERTICES", default=250_000)
# An API key revoked or changed in one process stops working in the others within this many
# seconds (each keeps the keys it saw that long; 0: every request looks its key up).
FIXPOINT_API_KEY_CACHE_SECONDS = env.float("API_KEY_CACHE_SECONDS", default=1.0)
# "Me too" suggestions: open reports of the same category within this distance.
FIXPOINT_DUPLICATE_RADIUS_M = 50
# Delivery to authorities (reports.delivery): whether staff see the reporter's contact, where
# their replies go ("{ref}" is the report's reference), and the retry limits.
FIXPOINT_DELIVERY_REPORTER_CONTACT = env.bool("DELIVERY_REPORTER_CONTACT", default=True)
FIXPOINT_DELIVERY_REPLY_TO = env.str("DELIVERY_REPLY_TO", default="")
FIXPOINT_DELIVERY_MAX_ATTEMPTS = env.int("DELIVERY_MAX_ATTEMPTS", default=12)
# An unexpected error (a bug, not the remote side) is retried only so many attempts.
FIXPOINT_DELIVERY_MAX_UNEXPECTED_ATTEMPTS = env.int("DELIVERY_MAX_UNEXPECTED_ATTEMPTS", default=3)
FIXPOINT_DELIVERY_TIMEOUT_SECONDS = env.int("DELIVERY_TIMEOUT_SECONDS", default=30)
FIXPOINT_DELIVERY_STUCK_MINUTES = env.int("DELIVERY_STUCK_MINUTES", default=10)
# Citizens' updates sent to the authority (reports.delivery.council_updates): a report's "me
# too" count is sent when it reaches one of these numbers (empty: never).
FIXPOINT_UPDATE_SUPPORT_THRESHOLDS = sorted(
    {
        int(n)
        for n in env.list("UPDATE_SUPPORT_THRESHOLDS", default=["5", "10", "25", "50", "100"])
        if n.strip()
    }
)
# "Has this been fixed?" questionnaires (reports.questionnaires): the first this many weeks
# after a report was confirmed, then again every QUESTIONNAIRE_REPEAT_WEEKS while it stays open,
# at most QUESTIONNAIRE_MAX per report (0: none at all).
FIXPOINT_QUESTIONNAIRE_WEEKS = env.float("QUESTIONNAIRE_WEEKS", default=4.0)
FIXPOINT_QUESTIONNAIRE_REPEAT_WEEKS = env.float("QUESTIONNAIRE_REPEAT_WEEKS", default=8.0)
FIXPOINT_QUESTIONNAIRE_MAX = env.int("QUESTIONNAIRE_MAX", default=3)
# The public performance page of an authority (reports.performance): a category needs this many
# reports received in 12 months before its times, shares and fix rate are shown, and the figures
# are cached this many seconds.
FIXPOINT_PERFORMANCE_MIN_REPORTS = env.int("PERFORMANCE_MIN_REPORTS", default=10)
FIXPOINT_PERFORMANCE_CACHE_SECONDS = env.int("PERFORMANCE_CACHE_SECONDS", default=600)
# Citizens' accounts not used (no log-in, report or update) for this many days are erased,
# after an e-mail warning this many days before (reports.privacy); 0 days: never.
FIXPOINT_ACCOUNT_INACTIVE_DAYS = env.int("ACCOUNT_INACTIVE_DAYS", default=3 * 365)
FIXPOINT_ACCOUNT_INACTIVE_WARNING_DAYS = env.int("ACCOUNT_INACTIVE_WARNING_DAYS", default=30)
# Points, badges, challenges and prizes (gamification); off hides them and awards nothing.
FIXPOINT_GAMIFICATION = env.bool("GAMIFICATION", default=True)
# Changes to a report within this many minutes reach its subscribers as one e-mail. Without a
# broker (development) there is no scheduler to send them later, so they go at once.
FIXPOINT_UPDATE_BATCH_MINUTES = env.float(
    "UPDATE_BATCH_MINUTES", default=0.0 if CELERY_TASK_ALWAYS_EAGER else 5.0
)
# An external geocoder for what the local gazetteer does not know (authorities.geocoding.external):
# off while GEOCODER_URL is empty. Its usage policy: an identifying user agent, at most
# GEOCODER_RATE_LIMIT requests a second from all processes together, answers cached.
FIXPOINT_GEOCODER_URL = env.str("GEOCODER_URL", default="")
FIXPOINT_GEOCODER_PROTOCOL = env.str("GEOCODER_PROTOCOL", default="nominatim")
FIXPOINT_GEOCODER_USER_AGENT = env.str("GEOCODER_USER_AGENT", default="")
FIXPOINT_GEOCODER_RATE_LIMIT = env.float("GEOCODER_RATE_LIMIT", default=1.0)
FIXPOINT_GEOCODER_MAX_WAIT = env.float("GEOCODER_MAX_WAIT", default=2.0)
FIXPOINT_GEOCODER_TIMEOUT = env.float("GEOCODER_TIMEOUT", default=5.0)
FIXPOINT_GEOCODER_CACHE_SECONDS = env.int("GEOCODER_CACHE_SECONDS", default=7 * 24 * 3600)
if FIXPOINT_GEOCODER_PROTOCOL not in ("nominatim", "photon"):
    raise SystemExit("Fixpoint: GEOCODER_PROTOCOL must be nominatim or photon.")
if FIXPOINT_GEOCODER_RATE_LIMIT <= 0:
    raise SystemExit("Fixpoint: GEOCODER_RATE_LIMIT must be a number of requests a second above 0.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"level": env.str("DJANGO_LOG_LEVEL", default="INFO"), "propagate": True},
        # One line per task run is noise (workers log their own); failures still show.
        "celery.app.trace": {"level": env.str("CELERY_TASK_LOG_LEVEL", default="WARNING")},
        # Without a broker, tasks run in-process and kombu warns about the unused default host.
        "kombu.connection": {"level": "ERROR"},
    },
}
