"""Settings for the customer portal, read from the environment (twelve-factor).

Development defaults are safe; production values that matter fail loudly when missing.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import environ
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# Outside DEBUG the secret key must come from the environment.
SECRET_KEY = env("SECRET_KEY") if not DEBUG else env("SECRET_KEY", default="dev-only-insecure-key-change-me")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Absolute links in emails are built from this, never from the request's Host header. Outside DEBUG there is no
# default: every link emailed would lead to this machine's loopback address.
SITE_URL = (env("SITE_URL") if not DEBUG else env("SITE_URL", default="http://127.0.0.1:8000")).rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "anymail",
    "django_tasks_db",
    "ninja",
    "adminsortable2",
    "portal_core",
    "portal_project",
    "portal_auth",
    "outbox",
    "bookings",
    "tickets",
    "conversations",
    "billing",
    "policies",
    "profiles",
]

MIDDLEWARE = [
    # Outermost, reading nothing of the request: every response carries the policy, the refusals below too.
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "portal_project.middleware.DatabaseUnavailableMiddleware",
    # Every call of the JSON API into the API log, those refused at the edge below too, and every error it answers
    # in JSON; each looks at the path alone, and at nothing for a page of the portal.
    "portal_auth.api_keys.ApiCallLogMiddleware",
    "portal_core.api.ApiErrorsAsJsonMiddleware",
    # Then what must be refused (TRACE, oversized or undecodable requests) is refused before anything reads it.
    "portal_project.middleware.RequestGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal_core.middleware.RateLimitMiddleware",
    # After a sign-in by any door, the browser's cookie that keeps it out of the address's limits (portal_auth).
    "portal_auth.known_browsers.KnownBrowserMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal_project.urls"

_CONTEXT_PROCESSORS = [
    "django.template.context_processors.request",
    "django.template.context_processors.csp",
    "django.contrib.auth.context_processors.auth",
    "django.contrib.messages.context_processors.messages",
    "portal_auth.context_processors.portal",
    "portal_auth.context_processors.portal_sections",
]
# Last: a page rendered for the page cache gets placeholders for the request's own secrets.
_PLACEHOLDERS = "portal_core.context_processors.page_cache_placeholders"
TEMPLATES = [
    {
        # The customer's pages (pages/, and a section app's jinja2/), Jinja2 templates; the staff's admin and the
        # emails are Django templates (templates/).
        "NAME": "pages",
        "BACKEND": "portal_core.jinja.Jinja2",
        "DIRS": [BASE_DIR / "pages"],
        "APP_DIRS": True,
        "OPTIONS": {
            "environment": "portal_core.jinja.environment",
            # Django's Jinja2 `csrf_input`, masked once a page instead of once a form.
            "context_processors": [*_CONTEXT_PROCESSORS, "portal_core.context_processors.csrf_input", _PLACEHOLDERS],
        },
    },
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [*_CONTEXT_PROCESSORS, _PLACEHOLDERS],
            # {% url %} remembering what reverse() answered (a dozen links on every page).
            "builtins": ["portal_core.templatetags.portal_urls"],
        },
    },
    {
        # Plain-text emails (subject.txt, body.txt): nothing to escape, so an apostrophe stays one.
        "NAME": "text",
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"autoescape": False, "builtins": ["portal_core.templatetags.portal_urls"]},
    },
]
# Django's, with the plain <input> and <textarea> written without their templates (same markup, a fraction of the cost).
FORM_RENDERER = "portal_core.form_renderer.PortalFormRenderer"

WSGI_APPLICATION = "portal_project.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with a health check that asks the connection's socket instead of sending `SELECT 1`.
    DATABASES["default"]["ENGINE"] = "portal_project.postgresql"
    # A new PostgreSQL connection costs ~15 ms of CPU: keep them for the process's life.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=600))
    # One the server ended (a restart) is replaced before a request fails on it.
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    # An unreachable server must fail fast (a 503 page, /readyz saying so), not hold a worker thread for minutes.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))
    # Values sent apart from the SQL, and a statement run a few times on a connection prepared there: PostgreSQL
    # then plans it once instead of on every request. The hot pages' SQL is the same text request after request
    # (portal_core/prepared.py), so PostgreSQL spends a third to a half of what it did on a page (0.4-0.8 ms of
    # its CPU instead of 1.4-2.0 ms, at bench/scale.py's scale). Behind a pooler that hands a session's statements
    # to another connection (PgBouncer's transaction mode before 1.21), turn it off: DATABASE_PREPARED_STATEMENTS=false.
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)
    # Every query of the portal reads a few rows through an index: starting parallel workers costs more (6-12 ms
    # at a million tickets) than the query does alone (0.3 ms). Its tables are read from memory (or SSD), where a
    # page fetched out of order costs about what one in order does: at the default 4× PostgreSQL would rather
    # scan 200,000 index entries than fetch 200 rows (bench/scale.py, a status filter: 28 ms instead of 1 ms).
    # Options from DATABASE_URL come after, so they win.
    DATABASES["default"]["OPTIONS"]["options"] = " ".join(
        [
            "-c max_parallel_workers_per_gather=0 -c random_page_cost=1.1",
            DATABASES["default"]["OPTIONS"].get("options", ""),
        ]
    ).strip()
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite serving a web server's threads and the outbox's background ones: readers never wait for the writer
    # (WAL), a writer waits its turn up to 20 s instead of failing at once, and each transaction takes the write
    # lock as it begins, since SQLite cannot upgrade a read lock while another connection writes ("database is
    # locked" at once, whatever the timeout).
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=20),
        "transaction_mode": "IMMEDIATE",
        **DATABASES["default"].get("OPTIONS", {}),
    }
    # The ticket list's covering indexes carry extra columns on PostgreSQL; SQLite builds them without, and works.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Shared by every process (cached_db sessions): the database by default, Redis where configured.
# Rate-limit counters are never kept here: an evicting cache would forget a lockout.
CACHES = {"default": env.cache("CACHE_URL", default="dbcache://portal_cache")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "portal_core.cache.PortalRedisCache"

# Sessions live in the database, shared by every process; with a cache of its own (Redis, Memcached) they are
# read from it first ("cached_db"), so a page kept in the page cache is served without touching the database.
_CACHE_IN_DATABASE = CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
SESSION_ENGINE = env(
    "SESSION_ENGINE",
    default="django.contrib.sessions.backends." + ("db" if _CACHE_IN_DATABASE else "cached_db"),
)

# Signed-in pages kept whole per customer and made stale by every write that changes them
# (portal_core/page_cache.py). The timeout bounds how long a page can outlive a failed invalidation.
# On by default with a cache of its own: kept in the database, a page costs as many queries as it saves.
PAGE_CACHE_ENABLED = env.bool("PORTAL_PAGE_CACHE", default=not _CACHE_IN_DATABASE)
PAGE_CACHE_TIMEOUT = env.int("PAGE_CACHE_TIMEOUT", default=10 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
# Load balancers probe over plain HTTP; a redirect to HTTPS would read as "not ready".
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Pages load only their own static files; the few inline <style> and <script> blocks carry the request's nonce
# ({% csp_nonce_attr %}). Django's admin is built the same way, so it needs nothing more.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
}

# Argon2id at OWASP's minimum (portal_auth/hashers.py): 30+ sign-ins a second on two cores. It also verifies, and
# upgrades on the next sign-in, hashes made with Django's own Argon2 parameters (same `argon2` algorithm name).
PASSWORD_HASHERS = [
    "portal_auth.hashers.PortalArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# Password hashes computed at once per process (0: no bound). gunicorn runs two workers a core, so one each keeps
# a sign-in storm to two hashes a core and leaves the other pages' threads their share (README: Passwords).
PASSWORD_HASHING_CONCURRENCY = env.int("PASSWORD_HASHING_CONCURRENCY", default=1)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# A customer's password is the only factor, so NIST SP 800-63B rev 4 applies:
# at least 15 characters, long ones accepted untruncated, no composition rules.
PORTAL_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "name", "organisation_name")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 15}},
    {"NAME": "portal_auth.passwords.MaximumLengthValidator", "OPTIONS": {"max_length": 256}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    # Long is not enough: "passwordpassword", "qwertyuiopasdfgh" or the email's name and a year are refused too.
    {"NAME": "portal_auth.passwords.GuessabilityValidator", "OPTIONS": {"min_guesses_log10": 10}},
]

# Rate limits as data: "<count>/<period>/<ip|key>", comma separated; periods as 30s, m, 5m, h, d.
PORTAL_RATE_LIMITS = {
    "sign_in_failed": env("RATE_LIMIT_SIGN_IN_FAILED", default="20/5m/ip,5/5m/key"),
    "password_link": env("RATE_LIMIT_PASSWORD_LINK", default="10/h/ip,3/h/key"),
    "access_link_request": env("RATE_LIMIT_ACCESS_LINK_REQUEST", default="10/h/ip,3/h/key"),
    "access_link_guess": env("RATE_LIMIT_ACCESS_LINK_GUESS", default="20/5m/ip"),
    "external_sign_on": env("RATE_LIMIT_EXTERNAL_SIGN_ON", default="30/5m/ip"),
    # Codes asked for: at most 3 per 10 minutes for one email, counted whether or not it is known.
    "sign_in_code_request": env("RATE_LIMIT_SIGN_IN_CODE_REQUEST", default="10/h/ip,3/10m/key"),
    # Wrong codes, counted per organisation and email across every code sent: a new code does not reset it.
    "sign_in_code_failed": env("RATE_LIMIT_SIGN_IN_CODE_FAILED", default="20/5m/ip,10/h/key"),
    # Sign-in URLs from the API opened with a token that matches none.
    "sign_in_redirect_guess": env("RATE_LIMIT_SIGN_IN_REDIRECT_GUESS", default="20/5m/ip"),
    # Calls of one API key; and calls with a key that is unknown or revoked, per address.
    "api_call": env("RATE_LIMIT_API_CALL", default="300/m/key"),
    "api_key_refused": env("RATE_LIMIT_API_KEY_REFUSED", default="60/5m/ip"),
    "booking_document_upload": env("RATE_LIMIT_BOOKING_DOCUMENT_UPLOAD", default="60/h/ip,30/h/key"),
    # Services booked, moved or cancelled by a customer: each holds a place others can't book.
    "service_booking": env("RATE_LIMIT_SERVICE_BOOKING", default="60/h/ip,20/h/key"),
    # Forms posted after a session ended, whose text is kept for after sign-in: anyone can post one.
    "draft_keep": env("RATE_LIMIT_DRAFT_KEEP", default="30/h/ip"),
    # Looks at tickets, conversations, bookings and files that are not the customer's (or don't exist).
    "refused_look": env("RATE_LIMIT_REFUSED_LOOK", default="60/h/ip,30/h/key"),
}

# How many proxies (load balancers) stand in front of the portal and append to X-Forwarded-For.
# Rate limits and the access log then see the visitor's address instead of the proxy's.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

PORTAL_RATE_LIMITS["conversation_reply"] = env("RATE_LIMIT_CONVERSATION_REPLY", default="20/5m/key,100/h/key")
PORTAL_RATE_LIMITS["ticket_write"] = env("RATE_LIMIT_TICKET_WRITE", default="20/5m/key,100/d/key")
# Requests to move an account to another address: each emails an address the customer typed.
PORTAL_RATE_LIMITS["email_change"] = env("RATE_LIMIT_EMAIL_CHANGE", default="10/h/ip,3/h/key")

PASSWORD_LINK_LIFETIME = timedelta(minutes=60)
ACCESS_LINK_LIFETIME = timedelta(days=30)
SIGN_IN_CODE_LIFETIME = timedelta(minutes=10)
# A customer may ask for a new code this long after the last one.
SIGN_IN_CODE_RESEND_AFTER = timedelta(seconds=30)
# A sign-in URL made through the API works once, this long.
SIGN_IN_REDIRECT_LIFETIME = timedelta(seconds=30)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# The largest request body accepted, refused unread (413) when declared larger: a ticket's five 10 MB
# attachments with their text and multipart framing, plus margin.
MAX_REQUEST_BODY = env.int("MAX_REQUEST_BODY", default=55 * 1024 * 1024)
# Uploads larger than this are streamed to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440


# Email: any anymail backend, SMTP, a folder or the console, chosen by configuration alone.
def _mailer(url: str, backend: str | None) -> dict:
    """MAILERS["default"] from EMAIL_URL (consolemail://, smtp://…, smtp+tls://…, smtps://…, filemail:///dir)."""
    parsed = env.email_url_config(url)
    chosen = backend or parsed["EMAIL_BACKEND"]
    options = {}
    if chosen == "django.core.mail.backends.smtp.EmailBackend":
        options = {
            "host": parsed.get("EMAIL_HOST") or "localhost",
            "port": parsed.get("EMAIL_PORT") or 25,
            "username": parsed.get("EMAIL_HOST_USER", ""),
            "password": parsed.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": bool(parsed.get("EMAIL_USE_TLS")),
            "use_ssl": bool(parsed.get("EMAIL_USE_SSL")),
            "timeout": env.int("EMAIL_TIMEOUT", default=10),
        }
    elif chosen == "django.core.mail.backends.filebased.EmailBackend":
        # django-environ drops the leading slash of filemail:///abs/path; read the path ourselves.
        options = {"file_path": urlparse(url).path or parsed.get("EMAIL_FILE_PATH")}
    return {"BACKEND": chosen, "OPTIONS": options}


# Outside DEBUG there is no default: a portal that silently prints its emails would lose them.
# EMAIL_BACKEND alone (an email service's anymail backend, with its ANYMAIL_* settings) needs no EMAIL_URL.
_email_backend = env("EMAIL_BACKEND", default=None)
_email_url = env("EMAIL_URL") if not (DEBUG or _email_backend) else env("EMAIL_URL", default="consolemail://")
MAILERS = {"default": _mailer(_email_url, _email_backend)}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="portal@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ANYMAIL = {key[len("ANYMAIL_") :]: value for key, value in env.ENVIRON.items() if key.startswith("ANYMAIL_")}
# A failing email is retried, backing off to once an hour, until this long after it was written (or after staff
# sent it again); then it is marked failed.
OUTBOX_RETRY_HORIZON = timedelta(seconds=env.int("OUTBOX_RETRY_HORIZON", default=24 * 3600))
OUTBOX_RETRY_INTERVAL_MAX = timedelta(hours=1)
# One send_outbox run (and each delivery task) stops trying new emails after this many seconds.
OUTBOX_SEND_TIME_BUDGET = env.int("OUTBOX_SEND_TIME_BUDGET", default=50)
# An email "sending" for longer was interrupted (process killed, database gone): it is sent again, same Message-ID.
# Keep it well above OUTBOX_SEND_TIME_BUDGET plus a few EMAIL_TIMEOUTs.
OUTBOX_SENDING_STALE_AFTER = timedelta(seconds=env.int("OUTBOX_SENDING_STALE_AFTER", default=15 * 60))

# Work done after the answer (requested sign-in links, email deliveries) waits in the database for
# `python manage.py db_worker`. An immediate backend would do it inside the request: refused outside DEBUG.
TASKS = {"default": {"BACKEND": env("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"), "QUEUES": ["default"]}}
# A task started longer ago than this and still running was interrupted (worker killed): send_outbox makes it
# ready again. Keep it above OUTBOX_SEND_TIME_BUDGET plus a few EMAIL_TIMEOUTs, as OUTBOX_SENDING_STALE_AFTER.
TASKS_RUNNING_STALE_AFTER = timedelta(seconds=env.int("TASKS_RUNNING_STALE_AFTER", default=15 * 60))
# /readyz answers 503 ("tasks: unavailable") once a task due to run has waited longer than this for a worker.
TASKS_READY_MAX_WAIT = timedelta(seconds=env.int("TASKS_READY_MAX_WAIT", default=10 * 60))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Django logs the path of every 4xx/5xx answer: never with a token in it.
    "filters": {"redact_secrets": {"()": "portal_project.log_redaction.RedactSecretsFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO").upper()},
    "loggers": {
        # Django's own handlers (a second, unfiltered console in DEBUG; error emails) give way to the filtered one,
        # and runserver's request lines (`make run`) pass through it too.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}
CSRF_FAILURE_VIEW = "portal_project.views.csrf_failure"
