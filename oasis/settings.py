"""Settings for Support Oasis, driven by environment variables (see README "Configuration")."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from oasis.env import envbool, envfloat, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = envbool("OASIS_DEBUG", "false")
TESTING = envbool("OASIS_TESTING", "false")

SECRET_KEY = os.getenv("SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when OASIS_DEBUG is off")
    # Only for a local demo or the test suite; never deployed (DEBUG off requires a real key).
    SECRET_KEY = "insecure-local-development-key-not-for-production"  # noqa: S105

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG or TESTING else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = envstr("OASIS_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "oasis.admin_site.OasisAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "django_q",
    "django_htmx",
    "template_partials",
    "audit",
    "helpdesk",
    "ai",
    "billing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "oasis.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF: the first to read a form or JSON body, so a bad one is a 400 from here.
    "oasis.middleware.InputHygieneMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "oasis.urls"
WSGI_APPLICATION = "oasis.wsgi.application"
ASGI_APPLICATION = "oasis.asgi.application"

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
                "ai.context_processors.agent_controls",
            ],
        },
    },
]


def _database() -> dict[str, object]:
    url = os.getenv("DATABASE_URL", "")
    if url:
        # Stock PostgreSQL plus before-commit work (oasis/dbbackend: the audit chain's appends).
        return dict(dj_database_url.parse(url, conn_max_age=envint("DB_CONN_MAX_AGE", "60"), engine="oasis.dbbackend"))
    # No DATABASE_URL: the embedded server under var/, started on first connection
    # (OASIS_PGDATA picks another folder, which is how `make test` gets a throwaway one).
    from oasis.embedded_pg import DEFAULT_PGDATA

    return {
        "ENGINE": "oasis.pgembedded",
        "NAME": "postgres",
        "USER": "postgres",
        "HOST": "",
        "CONN_MAX_AGE": 0,
        "OPTIONS": {"pgdata": str(Path(os.getenv("OASIS_PGDATA", str(DEFAULT_PGDATA))).resolve())},
    }


def _pooled(database: dict[str, object]) -> dict[str, object]:
    # DB_POOL_MAX_SIZE > 0: a psycopg pool per process instead of a connection per thread. For
    # web processes with many threads (open widgets hold one long-poll each, and give their
    # connection back while they wait); Django's pool needs CONN_MAX_AGE 0.
    size = envint("DB_POOL_MAX_SIZE", "0")
    if size <= 0:
        return database
    options = dict(database.get("OPTIONS") or {})  # type: ignore[call-overload]
    options["pool"] = {"min_size": min(2, size), "max_size": size, "timeout": envint("DB_POOL_TIMEOUT", "10")}
    return {**database, "CONN_MAX_AGE": 0, "OPTIONS": options}


DATABASES = {"default": _pooled(_database())}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/inbox/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "static"

# Request size limits: an oversized payload gets a 413/400 with a message, not a crash.
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("OASIS_MAX_REQUEST_BYTES", str(10 * 1024 * 1024))
# Files in one multipart request (oasis/uploads.py): refused before anything reaches the disk.
OASIS_MAX_UPLOAD_BYTES = envint("OASIS_MAX_UPLOAD_BYTES", str(50 * 1024 * 1024))
FILE_UPLOAD_HANDLERS = [
    "oasis.uploads.CappedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
OASIS_MAX_EMAIL_BYTES = envint("OASIS_MAX_EMAIL_BYTES", str(5 * 1024 * 1024))
OASIS_MAX_MESSAGE_CHARS = envint("OASIS_MAX_MESSAGE_CHARS", "100000")

# Help center by URL (helpdesk/helpcenter_crawl): the crawler's manners and limits.
OASIS_CRAWL_USER_AGENT = envstr("OASIS_CRAWL_USER_AGENT", "SupportOasisBot/1.0 (+help-center import)")
# Seconds between two requests to one host (a robots.txt Crawl-delay that asks for more wins).
OASIS_CRAWL_DELAY = envfloat("OASIS_CRAWL_DELAY", "0.25")
OASIS_CRAWL_TIMEOUT = envfloat("OASIS_CRAWL_TIMEOUT", "10")  # seconds per page, all of it
OASIS_CRAWL_MAX_PAGE_BYTES = envint("OASIS_CRAWL_MAX_PAGE_BYTES", str(5 * 1024 * 1024))
OASIS_CRAWL_MAX_PAGES = envint("OASIS_CRAWL_MAX_PAGES", "500")  # a source's default page cap

# Outbound email. The demo prints mail to the console; production points at an SMTP relay.
EMAIL_BACKEND = envstr(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = envstr("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", "25")
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "false")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", "20")
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "support@oasis.localhost")
OASIS_EMAIL_DOMAIN = envstr("OASIS_EMAIL_DOMAIN", "oasis.localhost")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "helpdesk.api_auth.WorkspaceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "oasis.parsers.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Support Oasis API",
    "DESCRIPTION": "Tickets and messages of one workspace, authenticated by a workspace API token.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# django-q2 reads this once at import: tests set OASIS_Q_SYNC=1 (pytest-env) so tasks run inline.
Q_WORKERS = envint("OASIS_Q_WORKERS", "2")
Q_CLUSTER: dict[str, object] = {
    "name": "oasis",
    "workers": Q_WORKERS,
    "timeout": envint("OASIS_Q_TIMEOUT", "120"),
    "retry": envint("OASIS_Q_RETRY", "180"),
    "max_attempts": envint("OASIS_Q_MAX_ATTEMPTS", "3"),
    # A fresh worker process reloads the embedding model and the triage model (seconds under
    # load): recycle rarely (django-q2's default is every 500 tasks).
    "recycle": envint("OASIS_Q_RECYCLE", "5000"),
    # Successful task results are not kept (the Agent's runs, the audit trail and the outbox
    # record what each task did); failures still are, for the admin. django-q2's default
    # (keep 250) locks and loads every kept result row on each task save, on every worker.
    "save_limit": envint("OASIS_Q_SAVE_LIMIT", "-1"),
    "catch_up": False,
    "sync": envbool("OASIS_Q_SYNC", "false"),
    "orm": "default",
    "poll": 0.2,  # ORM broker: how often an idle cluster looks for work (adds up to this to a reply)
}
if os.getenv("REDIS_URL"):
    # Several worker machines: Redis as the broker (results still go to Postgres). Needs the
    # optional `redis` package (requirements-redis.txt); `make test-redis` runs this path.
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = os.environ["REDIS_URL"]

# Agent runs of one workspace at once, over every worker sharing the database (0: no limit). A
# run over it waits (queued, holding no worker) until one of its workspace's runs finishes, so a
# workspace whose provider hangs holds at most this many workers. The default leaves one of a
# machine's workers to the other workspaces; set it for the fleet when workers span machines.
OASIS_WORKSPACE_RUNS = envint("OASIS_WORKSPACE_RUNS", str(max(1, Q_WORKERS - 1)))
if OASIS_WORKSPACE_RUNS < 0:
    raise ImproperlyConfigured(f"OASIS_WORKSPACE_RUNS must be 0 (no limit) or more, got {OASIS_WORKSPACE_RUNS}")
# A run still "running" this many seconds past its time budget while its worker lives is failed
# by the sweeper ("run timed out") and its ticket handed to a human (ai/agent/sweep.py).
OASIS_RUN_SWEEP_MARGIN = envint("OASIS_RUN_SWEEP_MARGIN", "30")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("OASIS_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "pgserver": {"level": "WARNING"}},
}

# ------------------------------------------------------------------------------ security

# Every response (oasis/middleware.py): scripts, styles and fetches from this origin only (no
# inline script or style anywhere in the templates), and no page of ours inside a frame. The
# chat widget runs on merchant pages under *their* policy; it only needs its script, its
# stylesheet and its CORS API from here.
OASIS_CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

if not DEBUG and not TESTING:
    # Production serves HTTPS only. Behind a proxy that terminates TLS, set
    # SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https -- and only if that proxy always
    # sets (or strips) the header: otherwise a client could claim HTTPS for itself, and without
    # it every request looks like plain HTTP to Django and redirects forever.
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "true")
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", str(365 * 24 * 3600))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "true")
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "false")
    SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", "true")
    CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", "true")
    proxy_header = envlist("SECURE_PROXY_SSL_HEADER", "")
    if proxy_header:
        if len(proxy_header) != 2:
            raise ImproperlyConfigured("SECURE_PROXY_SSL_HEADER must be 'HEADER,value' (HTTP_X_FORWARDED_PROTO,https)")
        SECURE_PROXY_SSL_HEADER = (proxy_header[0], proxy_header[1])
    if not SECURE_HSTS_PRELOAD:
        # Preloading is the operator's own, hard-to-undo choice (submitting the domain to the
        # browsers' list), so it is off by default and its deploy-check reminder is silenced.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
