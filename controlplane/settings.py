"""Settings of the Tessera control plane, read from the environment.

Embedded default (nothing set): SQLite, an in-process channel layer and Celery tasks run
in-process. Production: ``DATABASE_URL`` (PostgreSQL through psycopg 3) and ``REDIS_URL``
(channel layer and Celery broker).
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TESSERA_VAR_DIR", BASE_DIR / "var"))


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and _env_bool("TESSERA_REQUIRE_SECRET_KEY"):
        raise ImproperlyConfigured("SECRET_KEY must be set")
    # The embedded default keeps a generated key in var/ so sessions survive restarts.
    _key_file = VAR_DIR / "secret_key"
    if _key_file.exists():
        SECRET_KEY = _key_file.read_text().strip()
    else:
        from django.core.management.utils import get_random_secret_key

        SECRET_KEY = get_random_secret_key()
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        _key_file.write_text(SECRET_KEY)
        _key_file.chmod(0o600)

ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "controlplane",
    "accounts",
    "clusters",
    "workloads",
    "frontend",
    "usage",
    "sso",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "controlplane.urls"
ASGI_APPLICATION = "controlplane.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'tessera.sqlite3'}",
        conn_max_age=0,
    )
}
DB_POOL_SIZE = int(os.environ.get("TESSERA_DB_POOL_SIZE", "20"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DB_POOL_SIZE > 0:
    # A pool of open connections: every agent message and request would otherwise pay for a new
    # PostgreSQL connection (~18 ms here, against ~3 ms for the update itself).
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": DB_POOL_SIZE, "timeout": 10}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The agent endpoint and the API write concurrently; wait for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-tessera.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # A consumer waits on Redis with a 5 s blocking pop; redis-py's default 5 s read
                # timeout would end it (and the agent's connection) at that very moment.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
                "prefix": os.environ.get("TESSERA_CHANNEL_PREFIX", "tessera"),
            },
        }
    }
    # One cache for every worker process: one-time codes (the CLI's browser sign-in) and the like
    # must hold across processes.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("TESSERA_CHANNEL_PREFIX", "tessera"),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Celery: a real broker in production; without one, tasks run in the caller's process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("TESSERA_CELERY_QUEUE", "tessera")

# An agent that has not been heard from for this long is marked offline, with its nodes.
TESSERA_HEARTBEAT_INTERVAL = float(os.environ.get("TESSERA_HEARTBEAT_INTERVAL", "5"))
TESSERA_HEARTBEAT_TIMEOUT = float(os.environ.get("TESSERA_HEARTBEAT_TIMEOUT", "30"))
# Whether the projects of a department may together deserve more than the department (per pool).
TESSERA_ALLOW_OVERSUBSCRIPTION = os.environ.get("TESSERA_ALLOW_OVERSUBSCRIPTION", "") == "1"
TESSERA_OFFLINE_SWEEP_SECONDS = float(os.environ.get("TESSERA_OFFLINE_SWEEP_SECONDS", "10"))

CELERY_BEAT_SCHEDULE = {
    "mark-silent-clusters-offline": {
        "task": "clusters.tasks.mark_silent_clusters_offline",
        "schedule": TESSERA_OFFLINE_SWEEP_SECONDS,
    },
    "purge-expired-tokens": {"task": "accounts.tasks.purge_expired_tokens", "schedule": 3600.0},
}

# GPU usage (usage app): samples older than TESSERA_METRICS_RETENTION_DAYS, and stored logs and
# workload events older than TESSERA_RETENTION_DAYS, are deleted daily; hourly roll-ups are kept.
TESSERA_RETENTION_DAYS = float(os.environ.get("TESSERA_RETENTION_DAYS", "30"))
TESSERA_METRICS_RETENTION_DAYS = float(os.environ.get("TESSERA_METRICS_RETENTION_DAYS", str(TESSERA_RETENTION_DAYS)))
# The roll-up redoes this many complete hours each hour: an agent's buffered samples arrive late.
TESSERA_USAGE_ROLLUP_HOURS = int(os.environ.get("TESSERA_USAGE_ROLLUP_HOURS", "3"))
# /metrics (Prometheus): a scraper presents this bearer token; without it, only callers who may
# read the dashboards account-wide. Values older than TESSERA_METRICS_FRESH_SECONDS are left out.
TESSERA_METRICS_TOKEN = os.environ.get("TESSERA_METRICS_TOKEN", "")
TESSERA_METRICS_FRESH_SECONDS = float(os.environ.get("TESSERA_METRICS_FRESH_SECONDS", "300"))
CELERY_BEAT_SCHEDULE["roll-up-usage"] = {"task": "usage.tasks.roll_up_usage", "schedule": crontab(minute=5)}
CELERY_BEAT_SCHEDULE["trim-expired"] = {"task": "usage.tasks.trim_expired", "schedule": crontab(hour=3, minute=17)}

REST_FRAMEWORK = {
    # Bearer first: an unauthenticated request is then answered 401 with "WWW-Authenticate: Bearer".
    # Sessions are CSRF-checked by DRF; bearer and basic requests carry no cookie, so need no check.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "controlplane.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "controlplane.schema.ApiSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Every local sign-in passes the lockout check first.
# Users who signed in through an identity provider (sso) are found again through its backend.
AUTHENTICATION_BACKENDS = ["accounts.backends.LockoutModelBackend", "sso.backends.SingleSignOnBackend"]
TESSERA_SIGNIN_MAX_FAILURES = int(os.environ.get("TESSERA_SIGNIN_MAX_FAILURES", "5"))
TESSERA_SIGNIN_LOCKOUT_SECONDS = int(os.environ.get("TESSERA_SIGNIN_LOCKOUT_SECONDS", "900"))
# Keys Tessera keeps in Redis start with this (test runs sharing one Redis each get their own).
TESSERA_REDIS_PREFIX = os.environ.get("TESSERA_CHANNEL_PREFIX", "tessera")

# Where the world reaches Tessera (e.g. https://tessera.example.com), when a proxy changes the
# host: single sign-on builds its redirect URIs and SAML URLs from it. Empty: from each request.
TESSERA_PUBLIC_URL = os.environ.get("TESSERA_PUBLIC_URL", "")

# Bearer tokens: HS256 JWTs signed with this key (by default derived from SECRET_KEY).
TESSERA_TOKEN_KEY = os.environ.get("TESSERA_TOKEN_KEY") or f"tessera-tokens:{SECRET_KEY}"
TESSERA_TOKEN_LIFETIME = int(os.environ.get("TESSERA_TOKEN_LIFETIME", "3600"))

# Behind HTTPS (TESSERA_HTTPS=1): secure cookies, HSTS and redirects. The embedded default
# serves plain http on loopback, where secure cookies would never be sent back.
if _env_bool("TESSERA_HTTPS"):
    SECURE_SSL_REDIRECT = _env_bool("TESSERA_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # a load balancer's health check may speak plain http
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("TESSERA_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if _env_bool("TESSERA_BEHIND_PROXY"):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/workloads/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Serve static files straight from the apps in the embedded default; production collects them.
WHITENOISE_USE_FINDERS = True

SPECTACULAR_SETTINGS = {
    "TITLE": "Tessera API",
    "DESCRIPTION": "Run:ai-compatible REST API of Tessera, an open GPU orchestration platform.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs show no data, so anyone may read them (the API itself still asks).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # The views are plain APIViews answering in Run:ai's shapes; each says what it takes and
    # answers (its app's api/schemas.py). tests/controlplane/test_schema.py fails on any generator
    # warning, so `check --deploy` need not generate the schema too.
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
    # Node pools' GPU and CPU placement share one choice set.
    "ENUM_NAME_OVERRIDES": {"PlacementStrategyEnum": "clusters.models.PlacementStrategy.values"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "controlplane.schema.document_errors",
    ],
}
