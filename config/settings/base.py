"""Settings shared by every environment. Every value comes from the environment through one ``env``."""
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("VITRINE_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
env.read_env(str(BASE_DIR / ".env"), overwrite=False) if (BASE_DIR / ".env").exists() else None

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-dev-key-change-me")
# True only in config.settings.production: demo seeding (and its admin/admin superuser) refuses to run.
VITRINE_PRODUCTION = False
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc as our own static files (no CDN)
    "csp",
    "django_celery_beat",
    "users",
    "catalog",
    "recommendations",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Outermost but security: sees every answer, including Django's debug pages and CSRF failures.
    "common.middleware.JsonErrorMiddleware",
    # Views failing because the database/cache is down answer 503 + Retry-After (common/outage.py), logged once.
    "common.middleware.OutageMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # After the CSRF check: a NUL in any client text is a 400, never a PostgreSQL DataError (common/nul.py).
    "common.nul.NulRefusalMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last (django-axes' rule): turns a login refused for a lockout into users.lockout.lockout_response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
# A failed CSRF check answers the one JSON error shape to API and script clients (Django's page otherwise).
CSRF_FAILURE_VIEW = "common.views.csrf_failure"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "catalog.context_processors.navigation",
            ],
        },
    },
]

# Embedded default: a SQLite file under var/. Production: DATABASE_URL=postgres://...
DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'vitrine.sqlite3'}"
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker writes; busy timeout avoids "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "users.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out account or client before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Redis: cache + Celery broker. Without REDIS_URL: local-memory cache and in-process (eager) tasks.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="vitrine"),
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "IGNORE_EXCEPTIONS": True},
        }
    }
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True  # a Redis outage degrades the cache, it does not fail requests
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "vitrine"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or "cache+memory://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="vitrine")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=3600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=3300)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Training pipeline (#6). An unacknowledged task is redelivered by Redis after the visibility timeout (worker
# lost): keep it above the longest task; tests shorten it to see a redelivery.
# How often a worker looks for such messages: every interval x throttle seconds (kombu's defaults: 10 x 10).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 3600),
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
}
VITRINE_TRAINING_SOFT_TIME_LIMIT = env.int("VITRINE_TRAINING_SOFT_TIME_LIMIT", default=3300)
VITRINE_TRAINING_TIME_LIMIT = env.int("VITRINE_TRAINING_TIME_LIMIT", default=3600)
# Per-task limits, applied when the Celery app configures (tasks never read settings at import).
CELERY_TASK_ANNOTATIONS = {
    "recommendations.model_version_train": {
        "soft_time_limit": VITRINE_TRAINING_SOFT_TIME_LIMIT,
        "time_limit": VITRINE_TRAINING_TIME_LIMIT,
    },
}
# The per-model training lock expires this many seconds after the last heartbeat of a dead worker.
VITRINE_TRAINING_LOCK_TTL = env.float("VITRINE_TRAINING_LOCK_TTL", default=120.0)
CELERY_TIMEZONE = TIME_ZONE

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate challenge makes a request without credentials a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "users.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        # Last: an anonymous client with a session cookie passes the CSRF check too (fault 8).
        "common.authentication.AnonymousSessionCsrfAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    # JSON that would fail later (deep nesting, lone surrogates, integers beyond int64) is a 400 at the door.
    "DEFAULT_PARSER_CLASSES": [
        "common.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # One error shape for every API error, and the Error component on every operation's 4xx/5xx in the schema.
    "EXCEPTION_HANDLER": "common.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "common.schema.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "common.throttling.CachedAnonRateThrottle",
        "common.throttling.CachedUserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON_RATE", default="120/min"),
        "user": env.str("THROTTLE_USER_RATE", default="1200/min"),
        # Events (not requests) an anonymous client address may post to /api/v1/events/: the site's script sends
        # at most 20 every 4 s per tab (300/min) and retries a 429 later with the same ids.
        "events_anon": env.str("THROTTLE_EVENTS_ANON_RATE", default="600/min"),
        # Password attempts (token API + site login, one counter) and sign-up attempts per client address.
        "login": env.str("THROTTLE_LOGIN_RATE", default="10/min"),
        "signup": env.str("THROTTLE_SIGNUP_RATE", default="20/hour"),
    },
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 24,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# Reverse proxies in front of Django that append the client's address to X-Forwarded-For (#13). 0: none is
# trusted, the peer address is the client whatever headers it sends. One value for every throttle and for the
# login lockout (common.throttling.client_ip).
VITRINE_TRUSTED_PROXIES = env.int("VITRINE_TRUSTED_PROXIES", default=0)
REST_FRAMEWORK["NUM_PROXIES"] = VITRINE_TRUSTED_PROXIES  # DRF's own throttles, if a view ever uses one

# Login lockout (django-axes, database handler: shared by every process, SQLite or PostgreSQL). An account, and
# separately a client address, is locked after this many failed logins, until this many minutes after the last
# counted failure; attempts while locked are refused unchecked and do not extend it. A success resets nothing:
# otherwise a guesser could clear its address's count by logging into its own account.
AXES_FAILURE_LIMIT = env.int("VITRINE_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("VITRINE_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = False
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "common.throttling.client_ip"
AXES_USERNAME_CALLABLE = "users.lockout.lockout_username"
AXES_LOCKOUT_CALLABLE = "users.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_DISABLE_ACCESS_LOG = True  # a row per successful login, never cleaned up: the lockout does not need it
AXES_VERBOSE = False  # no "AXES: BEGIN" banner in every process and command

# Token -> user is cached this many seconds (saves and deletes invalidate at once); 0: a query per request.
VITRINE_AUTH_CACHE_SECONDS = env.int("VITRINE_AUTH_CACHE_SECONDS", default=300)
# API tokens (django-rest-knox): stored as SHA-512 digests, named, valid this many hours from creation (30 days),
# at most this many live ones per user; a password change revokes them all. Header: "Authorization: Token <token>".
VITRINE_TOKEN_TTL_HOURS = env.int("VITRINE_TOKEN_TTL_HOURS", default=720)
if VITRINE_TOKEN_TTL_HOURS < 1:
    raise ImproperlyConfigured("VITRINE_TOKEN_TTL_HOURS must be at least 1: API tokens always expire.")
VITRINE_TOKEN_LIMIT_PER_USER = env.int("VITRINE_TOKEN_LIMIT_PER_USER", default=50)
KNOX_TOKEN_MODEL = "users.AuthToken"
# knox's own migrations would create its unused knox_authtoken table (a foreign key to users that blocks flushes on
# PostgreSQL): the swapped-in model lives in users' migrations, knox has none.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_MODEL": KNOX_TOKEN_MODEL,
    "TOKEN_TTL": timedelta(hours=VITRINE_TOKEN_TTL_HOURS),
    "TOKEN_LIMIT_PER_USER": VITRINE_TOKEN_LIMIT_PER_USER,
    "AUTH_HEADER_PREFIX": "Token",
}

# Outgoing mail (password reset links): DJANGO_EMAIL_URL such as smtp+tls://user:password@smtp.example.com:587;
# by default the console (the message is written to the web process's log).
EMAIL_URL_CONFIG = env.email_url("DJANGO_EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = EMAIL_URL_CONFIG["EMAIL_BACKEND"]
EMAIL_HOST = EMAIL_URL_CONFIG["EMAIL_HOST"] or "localhost"
EMAIL_PORT = EMAIL_URL_CONFIG["EMAIL_PORT"] or 25
EMAIL_HOST_USER = EMAIL_URL_CONFIG["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = EMAIL_URL_CONFIG["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = EMAIL_URL_CONFIG.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = EMAIL_URL_CONFIG.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="Vitrine <noreply@localhost>")
PASSWORD_RESET_TIMEOUT = env.int("DJANGO_PASSWORD_RESET_TIMEOUT", default=3 * 3600)

SPECTACULAR_SETTINGS = {
    # Swagger UI (/api/docs/) and ReDoc (/api/redoc/) from drf-spectacular-sidecar's static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "TITLE": "Vitrine API",
    "DESCRIPTION": "Events, catalog and recommendations for the Vitrine recommendation platform.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

# Content-Security-Policy on every response (django-csp): scripts, styles, fonts and requests from our own origin
# only, no inline script or style (templates load static/ files); images also from https: (catalog image URLs).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "https:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}

# Hard limits on what clients may send in one request (README "Input limits"): a list or map over its cap is a
# 400 before its items are read, and ids are checked with one query however long the list (common/fields.py).
EVENTS_MAX_BATCH = env.int("EVENTS_MAX_BATCH", default=1000)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=4 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("DATA_UPLOAD_MAX_NUMBER_FIELDS", default=1000)  # query string / form fields
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=100)
# Any list or map in API input without a cap of its own (excluded categories, category weights).
API_MAX_LIST_ITEMS = env.int("API_MAX_LIST_ITEMS", default=1000)
# A user's hidden items (preferences API and "not interested"); a list at the cap validates in ~1 query.
PREFERENCES_MAX_HIDDEN_ITEMS = env.int("PREFERENCES_MAX_HIDDEN_ITEMS", default=5000)

# Retry-After (seconds) of the 503 answered while the database, cache or broker is unreachable.
VITRINE_OUTAGE_RETRY_AFTER = env.int("VITRINE_OUTAGE_RETRY_AFTER", default=5)

# Where trained model artifacts live (a shared path in production).
VITRINE_ARTIFACT_DIR = Path(env.str("VITRINE_ARTIFACT_DIR", default=str(VAR_DIR / "artifacts")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# Serving hot path. Impressions are buffered per process and written by a background thread every this many
# seconds (0: each response writes its own, synchronously); the buffer holds at most this many rows.
VITRINE_IMPRESSIONS_FLUSH_SECONDS = env.float("VITRINE_IMPRESSIONS_FLUSH_SECONDS", default=1.0)
VITRINE_IMPRESSIONS_BUFFER_MAX_ROWS = env.int("VITRINE_IMPRESSIONS_BUFFER_MAX_ROWS", default=100_000)
