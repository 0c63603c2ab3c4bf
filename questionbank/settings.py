"""Django settings for the question bank.

Every value that differs between machines comes from the environment, read here and
nowhere else (README.md, "Configuration", lists them all). A bad value stops start-up
with one sentence (``questionbank.config.SettingsError``).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext_lazy

from questionbank import calllog_keys, encryption
from questionbank.config import (
    SettingsError,
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# --- The environment, all of it -------------------------------------------------------
DEBUG = env_bool("QB_DEBUG", False)
SECRET_KEY = env_str("QB_SECRET_KEY")
ALLOWED_HOSTS = env_list("QB_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("QB_CSRF_TRUSTED_ORIGINS", [])
TIME_ZONE = env_str("QB_TIME_ZONE", "UTC")
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
QB_DB_POOL = env_bool("QB_DB_POOL", False)
QB_HTTPS = env_bool("QB_HTTPS", not DEBUG)
QB_BEHIND_PROXY = env_bool("QB_BEHIND_PROXY", False)
QB_REDIS_URL = env_str("QB_REDIS_URL")
# Fernet key(s) encrypting endpoint passwords and API keys at rest, comma-separated, newest
# first (README.md, "Secrets at rest"). Under QB_DEBUG=1 without it, a key derived from
# SECRET_KEY is used.
_SECRETS_KEYS = env_list("QB_SECRETS_KEY", [])
# The call log's HMAC chain key(s), comma-separated, newest first; without it a key derived
# from SECRET_KEY (questionbank/calllog_keys.py; README.md, "Tamper-evident call log").
_CALL_LOG_KEYS = env_list("QB_CALL_LOG_KEY", [])
# Login throttling (django-axes): failures before a lock-out, and how long it lasts.
QB_LOGIN_FAILURE_LIMIT = env_int("QB_LOGIN_FAILURE_LIMIT", 5, minimum=1)
QB_LOGIN_LOCKOUT_MINUTES = env_int("QB_LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
QB_WEBUI_URL = env_str("QB_WEBUI_URL")
# seed_demo: one known password for the demo admin/teacher/student (default: random ones,
# kept in .demo-logins). Never set this on a production server.
QB_DEMO_PASSWORD = env_str("QB_DEMO_PASSWORD")
# Students and anonymous visitors may browse published explanations without logging in.
QB_PUBLIC_BROWSING = env_bool("QB_PUBLIC_BROWSING", True)
# Anonymous students' pages are served from the cache until a publish or edit changes
# them (questionbank/browse/cache.py); off by default under QB_DEBUG.
QB_BROWSE_PAGE_CACHE = env_bool("QB_BROWSE_PAGE_CACHE", not DEBUG)
# Call-log rows older than this are removed by the purge schedule (issue: audit).
QB_CALL_LOG_RETENTION_DAYS = env_int("QB_CALL_LOG_RETENTION_DAYS", 90, minimum=1)
# Caps on what goes into a prompt, per field, in characters; over-long input is refused.
QB_MAX_TITLE_CHARS = env_int("QB_MAX_TITLE_CHARS", 300, minimum=10)
QB_MAX_STATEMENT_CHARS = env_int("QB_MAX_STATEMENT_CHARS", 20_000, minimum=100)
QB_MAX_PROMPT_CHARS = env_int("QB_MAX_PROMPT_CHARS", 40_000, minimum=100)
# A model reply longer than this is cut (its beginning and end kept, with a note) before it
# becomes a solution; the call log keeps the reply as received (issue 14).
QB_MAX_REPLY_CHARS = env_int("QB_MAX_REPLY_CHARS", 200_000, minimum=1000)
# Uploaded import files larger than this are refused before parsing.
QB_IMPORT_MAX_BYTES = env_int("QB_IMPORT_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
# --- Generation pipeline (services/generation/; numbers explained there and below) ---
# Attempts per job for transient server errors (cannot connect, timeout, 5xx, 429).
QB_JOB_MAX_ATTEMPTS = env_int("QB_JOB_MAX_ATTEMPTS", 4, minimum=1, maximum=20)
# Backoff before retry n: uniform in [0, min(cap, base * 2**(n-1))] seconds (full jitter).
QB_RETRY_BASE_SECONDS = env_int("QB_RETRY_BASE_SECONDS", 10, minimum=0)
QB_RETRY_CAP_SECONDS = env_int("QB_RETRY_CAP_SECONDS", 300, minimum=0)
# Circuit breaker: this many consecutive server failures pause an endpoint for the cool-down.
QB_BREAKER_THRESHOLD = env_int("QB_BREAKER_THRESHOLD", 3, minimum=1)
QB_BREAKER_COOLDOWN_SECONDS = env_int("QB_BREAKER_COOLDOWN_SECONDS", 120, minimum=1)
# A running job's lease; renewed every third of it while the call is in flight. A worker
# killed mid-call delays its job by at most this plus one sweep (1 minute).
QB_JOB_LEASE_SECONDS = env_int("QB_JOB_LEASE_SECONDS", 60, minimum=2)
# Streamed partial text is written to the job at most this often.
QB_PARTIAL_SAVE_SECONDS = env_int("QB_PARTIAL_SAVE_SECONDS", 3, minimum=1)
# Calls one task keeps in flight (threads); a batching server gets many calls per worker.
QB_RUNNER_THREADS = env_int("QB_RUNNER_THREADS", 32, minimum=1, maximum=256)
# Threads per task that write up finished calls (each holds one database connection).
QB_RUNNER_WRITERS = env_int("QB_RUNNER_WRITERS", 4, minimum=1, maximum=32)
# A task stops taking new jobs after this long and hands over to a fresh task.
QB_RUNNER_BUDGET_SECONDS = env_int("QB_RUNNER_BUDGET_SECONDS", 600, minimum=10)
# The longest one model call may take, whatever an endpoint's own deadline says.
QB_CALL_MAX_SECONDS = env_int("QB_CALL_MAX_SECONDS", 2 * 3600, minimum=10)
# --- Code judge (services/judge.py, questionbank/judge/) ---
# Programs judged at once across all workers: each holds one worker while its tests run,
# so judging never takes the workers generation needs.
QB_JUDGE_CONCURRENCY = env_int("QB_JUDGE_CONCURRENCY", 1, minimum=1, maximum=16)
# A judging task takes queued runs for this long, then hands over to a fresh task.
QB_JUDGE_BUDGET_SECONDS = env_int("QB_JUDGE_BUDGET_SECONDS", 300, minimum=10)
# A running judge run's lease, renewed after every test; the sweep requeues lapsed ones.
QB_JUDGE_LEASE_SECONDS = env_int("QB_JUDGE_LEASE_SECONDS", 120, minimum=10)
# Run tasks in-process instead of through the queue (tests, debugging).
QB_TASKS_SYNC = env_bool("QB_TASKS_SYNC", False)
# --- JSON API (/api/v1/, questionbank/api/) ----------------------------------------------
# Requests per minute for one token (or one logged-in user, or one address when anonymous).
QB_API_RATE_PER_MINUTE = env_int("QB_API_RATE_PER_MINUTE", 600, minimum=1)
QB_API_ANON_RATE_PER_MINUTE = env_int("QB_API_ANON_RATE_PER_MINUTE", 120, minimum=1)
# A JSON request body larger than this is refused with 413 (imports: QB_IMPORT_MAX_BYTES).
QB_API_MAX_BODY_BYTES = env_int("QB_API_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
# Rows per page: the default, and the most a client may ask for with page_size.
QB_API_PAGE_SIZE = env_int("QB_API_PAGE_SIZE", 25, minimum=1)
QB_API_MAX_PAGE_SIZE = env_int("QB_API_MAX_PAGE_SIZE", 100, minimum=1)
# A token's "last used" time is written at most this often (not on every request).
QB_API_TOKEN_TOUCH_SECONDS = env_int("QB_API_TOKEN_TOUCH_SECONDS", 300, minimum=1)
# Idempotency-Key answers are replayed for this long.
QB_API_IDEMPOTENCY_HOURS = env_int("QB_API_IDEMPOTENCY_HOURS", 24, minimum=1)

if not SECRET_KEY:
    if not DEBUG:
        raise SettingsError(
            "QB_SECRET_KEY is not set; set it to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set QB_DEBUG=1 on a development machine."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-QB_DEBUG=1"
for _index, _key in enumerate(_SECRETS_KEYS, start=1):
    try:
        encryption.check_key(_key)
    except ValueError as exc:
        raise SettingsError(f"QB_SECRETS_KEY: key {_index} {exc}.") from None
# The keys the app may use: QB_SECRETS_KEY's, else (QB_DEBUG only) one derived from
# SECRET_KEY. Empty in production without QB_SECRETS_KEY: then no secret can be stored,
# and a stored one stops start-up (the system check questionbank.E020).
QB_SECRETS_KEYS = tuple(_SECRETS_KEYS) or (
    (encryption.dev_key(SECRET_KEY),) if DEBUG else ()
)
for _index, _key in enumerate(_CALL_LOG_KEYS, start=1):
    try:
        calllog_keys.check_key(_key)
    except ValueError as exc:
        raise SettingsError(f"QB_CALL_LOG_KEY: key {_index} {exc}.") from None
# Bytes, newest first. QB_CALL_LOG_KEY_SET tells the start-up check whether it was given.
QB_CALL_LOG_KEYS = tuple(k.encode("utf-8") for k in _CALL_LOG_KEYS) or (
    calllog_keys.derived_key(SECRET_KEY),
)
QB_CALL_LOG_KEY_SET = bool(_CALL_LOG_KEYS)
if TIME_ZONE:
    try:
        ZoneInfo(TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"QB_TIME_ZONE {TIME_ZONE!r} is not a known time zone; use a name like Europe/London."
        ) from None

# Pools do not survive the fork that qcluster does (shared/docs/django-q2-notes.md).
_IN_WORKER = "qcluster" in sys.argv
DATABASES = {"default": database_from_url(DATABASE_URL, use_pool=QB_DB_POOL and not _IN_WORKER)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Tests that start a worker or a browser need a file the other processes can open.
    DATABASES["default"]["TEST"] = {
        "NAME": env_str("QB_TEST_SQLITE", str(BASE_DIR / ".test-db.sqlite3"))
    }

# --- Django ---------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_q",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "questionbank.apps.QuestionbankConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page language: the visitor's choice (the language cookie set by the switcher),
    # else the browser's Accept-Language, else LANGUAGE_CODE. After sessions, before common.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # NUL and broken characters in any query string or form field: a 400 page in words
    # (questionbank/validation.py), as is InvalidInput raised by a view.
    "questionbank.validation.InputValidationMiddleware",
    # Last, as django-axes requires: turns a locked-out login into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

# --- Login throttling (django-axes; README.md, "Login throttling") ---------------------
AUTHENTICATION_BACKENDS = [
    "questionbank.throttling.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = QB_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=QB_LOGIN_LOCKOUT_MINUTES)
# Either one locks: too many failures for one account (from anywhere), or from one address
# (whatever the accounts tried).
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "questionbank.throttling.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_CLIENT_IP_CALLABLE = "questionbank.throttling.client_address"

ROOT_URLCONF = "questionbank.urls"
WSGI_APPLICATION = "questionbank.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.template.context_processors.i18n",
                "django.contrib.messages.context_processors.messages",
                "questionbank.context_processors.roles",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Languages (README.md, "Languages") --------------------------------------------------
# British English (the site's own wording, no catalogue) and Simplified Chinese
# (locale/zh_Hans/LC_MESSAGES/django.po, compiled .mo committed beside it). A browser
# asking for any English (en-US, en) gets en-gb; zh, zh-CN, zh-SG get zh-hans.
LANGUAGE_CODE = "en-gb"
LANGUAGES = [("en-gb", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates and numbers follow the page's language (Django's formats, except questionbank/formats).
FORMAT_MODULE_PATH = "questionbank.formats"
# The switcher's choice is remembered in this cookie for a year (Django's default name).
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Without collectstatic (make run, tests) WhiteNoise serves straight from the finders.
WHITENOISE_USE_FINDERS = True
# Files browsers ask for at the site's root (/favicon.ico), served by WhiteNoise.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"

if QB_REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": QB_REDIS_URL}}
else:
    # A file cache is shared by every process on this machine, which the qcluster
    # monitor needs; LocMem would not be.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(BASE_DIR / ".cache"),
                          # Room for every student page of a large bank (the default of
                          # 300 entries would evict detail pages as fast as they are made).
                          "OPTIONS": {"MAX_ENTRIES": 50_000}}}

# --- JSON API: Django REST framework + drf-spectacular (questionbank/api/) ---------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "questionbank.api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["questionbank.api.permissions.IsTeacher"],
    "DEFAULT_THROTTLE_CLASSES": ["questionbank.api.throttling.TokenRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["questionbank.api.parsers.CappedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "questionbank.api.pagination.Pagination",
    "PAGE_SIZE": QB_API_PAGE_SIZE,
    "EXCEPTION_HANDLER": "questionbank.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "questionbank.api.schema.AutoSchema",
    "URL_FORMAT_OVERRIDE": None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Question bank API",
    "DESCRIPTION": (
        "Problems, prompt templates, generation batches, solutions, students' published "
        "explanations and the model call log. Authenticate with a personal token from "
        "your account page: `Authorization: Bearer qb_...`. Every error is JSON with a "
        "machine-readable `code` and a `message` for a person."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "SolutionStatus": "questionbank.models.solutions.Solution.Status",
        "JobStatus": "questionbank.models.jobs.GenerationJob.Status",
        "ProblemStatus": "questionbank.models.problems.Problem.Status",
        "ProblemKind": "questionbank.models.problems.Problem.Kind",
        "TemplateKind": "questionbank.models.templates.PromptTemplate.Kind",
    },
    # The docs page's scripts come from drf-spectacular-sidecar's static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# The API's rate-limit counters: Redis when there is one (shared by every process), else
# this process's memory (a file cache would list its whole directory on every write;
# without Redis a limit is therefore counted per web process).
CACHES["api-throttle"] = (dict(CACHES["default"]) if QB_REDIS_URL else
                          {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                           "LOCATION": "api-throttle"})

# --- Security (manage.py check --deploy is clean with production values) ----------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the live-preview script reads it to post previews
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if QB_HTTPS:
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
if QB_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- django-q2 --------------------------------------------------------------------------
# The job table is the source of truth (services/generation/): a task that runs twice
# does nothing the second time, and the project retries model calls itself. These numbers
# only make sure django-q2 never redelivers a task that is still running:
# - timeout: one task ("runner") takes new jobs for QB_RUNNER_BUDGET_SECONDS, then lets its
#   last calls finish, each capped at QB_CALL_MAX_SECONDS; plus 5 minutes for bookkeeping.
#   Past it django-q2 kills the worker; the jobs' leases lapse and the sweep requeues them.
# - retry: the ORM broker redelivers an unacknowledged task after `retry` seconds. A task
#   may wait in the cluster's memory behind ceil((queue_limit + bulk) / workers) running
#   tasks before its own run, so retry > timeout * (1 + ceil((queue_limit + bulk) /
#   workers)) with a margin (shared/docs/django-q2-notes.md). It only matters for a worker
#   that died, whose task is a harmless no-op by then (the sweep has already acted).
# - max_attempts 1 + ack_failures: a task that raised is not run again by django-q2.
# - poll 0.05: how long the ORM broker's pusher sleeps when the queue is empty, so a
#   batch's first call waits at most 50 ms for its runner (django-q2's 0.2 s default
#   averaged 100 ms); costs one small SELECT on django_q_ormq per 50 ms while idle.
# - queue_limit 2, bulk 1: tasks are few (one per endpoint per batch, plus sweeps) and long,
#   so prefetching more would only let them age towards `retry`.
# - workers: each runner keeps up to QB_RUNNER_THREADS calls in flight, so one worker
#   serves a whole batching server; use at least (endpoints used at once + 1) workers.
_Q_WORKERS = env_int("QB_WORKERS", 2, minimum=1, maximum=64)
_Q_QUEUE_LIMIT, _Q_BULK = 2, 1
_Q_TIMEOUT = QB_RUNNER_BUDGET_SECONDS + QB_CALL_MAX_SECONDS + 300
_Q_RETRY = _Q_TIMEOUT * (1 + -(-(_Q_QUEUE_LIMIT + _Q_BULK) // _Q_WORKERS)) + 600
Q_CLUSTER = {
    "name": "questionbank",
    "workers": _Q_WORKERS,
    "orm": "default",
    "timeout": _Q_TIMEOUT,
    "retry": _Q_RETRY,
    "max_attempts": 1,
    "queue_limit": _Q_QUEUE_LIMIT,
    "bulk": _Q_BULK,
    "save_limit": 250,
    "catch_up": False,
    "ack_failures": True,
    "label": gettext_lazy("Background tasks"),
    "poll": 0.05,
}
if QB_REDIS_URL:
    # django-q2 passes a string `redis` setting to redis.from_url (brokers/redis_broker.py).
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["django_redis"] = None
    Q_CLUSTER["redis"] = QB_REDIS_URL

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "questionbank": {"level": env_str("QB_LOG_LEVEL", "INFO")},
        "django-q": {"level": env_str("QB_LOG_LEVEL", "INFO")},
    },
}
