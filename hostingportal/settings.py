"""Settings, read from the environment (and `.env` at the repo root) with django-environ.

Every variable of the contract's Configuration table is here. Defaults make a
fresh clone run with no services at all (SQLite, a filesystem Celery broker,
simulated payments and provisioning); with DEBUG=False the portal refuses to
start without real secrets instead of quietly running on dev values.
"""

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # runtime files of the embedded defaults; git-ignored

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEV_SECRET_KEY = "dev-insecure-secret-key-do-not-use-in-production"

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY in ("", DEV_SECRET_KEY):
    raise ImproperlyConfigured("SECRET_KEY must be set to a real secret when DEBUG=False.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
PORTAL_NAME = env.str("PORTAL_NAME", default="Hosting Portal")  # names the portal in emails

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served by us: the docs work offline
    "django_htmx",
    "django_celery_beat",
    "anymail",
    "axes",
    "django_otp",
    "security.otp_apps.AuthenticatorAppsConfig",  # django_otp.plugins.otp_totp
    "security.otp_apps.RecoveryCodesConfig",  # django_otp.plugins.otp_static
    "core",
    "accounts",
    "billing",
    "payments",
    "servers",
    "support",
    "alerts",
    "ops",
    "outbox",
    "affiliates",
    "lifecycle",
    "dashboard",
    "backoffice",
    "reports",
    "security",
    "sshkeys",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads the session, the user or the body (core/hygiene.py).
    "core.hygiene.InputHygieneMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified()
    "security.middleware.StaffSecondFactorMiddleware",  # /admin/ needs it (STAFF_2FA_REQUIRED)
    "security.middleware.PrivatePagesNoStoreMiddleware",  # signed-in pages: Cache-Control no-store
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a locked-out sign-in into the lockout page (security.lockout).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hostingportal.urls"
WSGI_APPLICATION = "hostingportal.wsgi.application"

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
                "hostingportal.context_processors.portal",
                "security.context_processors.second_factor",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A health check or a stuck lock must never hold a request for long.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
    # DATABASE_URL points at a transaction-pooling PgBouncer: each transaction may
    # run on another server connection, so nothing may outlive a transaction there
    # (docs/deploy.md, "PgBouncer"): no statements prepared on the server (PgBouncer
    # 1.18 cannot track them; 1.21 can, with max_prepared_statements), no cursor
    # declared for .iterator() (its next FETCH may reach another server connection;
    # rows then come in one result), and no `options` startup parameter, which
    # PgBouncer refuses. A kept client connection to PgBouncer costs nothing on the
    # server between transactions, so CONN_MAX_AGE and the health check stay.
    _transaction_pooling = env.bool("DATABASE_TRANSACTION_POOLING", default=False)
    # Web requests (hostingportal/wsgi.py marks the process) give up on any one
    # statement, a lock wait included, after WEB_STATEMENT_TIMEOUT_MS: a stuck lock
    # answers an error in seconds instead of holding a gunicorn worker until it is
    # killed. Workers, beat and manage.py (migrations) are not limited. Sent as a
    # connection option, so it costs no round trip; behind a transaction pooler the
    # web nodes' database role carries it instead (ALTER ROLE ... SET statement_timeout).
    if env.str("PORTAL_PROCESS", default="") == "web" and not _transaction_pooling:
        _statement_timeout_ms = env.int("WEB_STATEMENT_TIMEOUT_MS", default=5000)
        DATABASES["default"]["OPTIONS"]["options"] = (
            DATABASES["default"]["OPTIONS"].get("options", "") + f" -c statement_timeout={_statement_timeout_ms}"
        ).strip()
    # Parameters sent apart from the SQL, and statements run twice on a connection
    # kept prepared: PostgreSQL then skips parsing and planning, which on the
    # payment path is about a third of the database's CPU (docs/benchmarks.md).
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=not _transaction_pooling):
        if _transaction_pooling:
            raise ImproperlyConfigured(
                "DATABASE_PREPARED_STATEMENTS=true cannot work with DATABASE_TRANSACTION_POOLING=true: "
                "a transaction-pooling PgBouncer runs the next statement on a server connection "
                "that has not prepared it."
            )
        DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 2)
    if _transaction_pooling:
        # Explicit, whatever else asked for them: psycopg on its own prepares a statement run 5 times.
        DATABASES["default"]["OPTIONS"].update(server_side_binding=False, prepare_threshold=None)
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The development portal: web, worker and beat write to one file. A transaction
    # takes the write lock when it begins (IMMEDIATE), so two writers queue for up to
    # `timeout` seconds instead of one failing with "database is locked" halfway
    # through (SQLite has no FOR UPDATE); WAL lets pages read meanwhile.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL;")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# django-axes first: it refuses a locked-out email and address before a password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "billing:plans"

LANGUAGE_CODE = "en-in"
TIME_ZONE = "Asia/Kolkata"
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["hostingportal.formats"]  # readable Indian dates: "1 Dec 2026, 17:39"

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded attachments live outside the web root and are only ever served by a
# permission-checking view; there is deliberately no MEDIA_URL route.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
MEDIA_URL = "/media-not-served/"
STORAGES = {
    "default": {"BACKEND": env.str("DEFAULT_FILE_STORAGE", default="django.core.files.storage.FileSystemStorage")},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Email and alerts ---------------------------------------------------------
# Dev prints mail to the console. Production must name its ESP explicitly
# (e.g. anymail.backends.mailgun.EmailBackend plus ANYMAIL credentials): a
# silent default would mean alerts that never leave the building.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend" if DEBUG else "")
if not EMAIL_BACKEND:
    raise ImproperlyConfigured("EMAIL_BACKEND must be set when DEBUG=False (e.g. anymail.backends.mailgun.EmailBackend).")
ANYMAIL = env.json("ANYMAIL", default={})
# Or the host's own SMTP server, with EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend.
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)  # STARTTLS, usually on port 587
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Hosting Portal <noreply@example.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ALERT_EMAILS = env.list("ALERT_EMAILS", default=[])
# The support queue: who hears of a new ticket, and of customer messages while a ticket
# has no assignee. SUPPORT_EMAILS if set, else the active staff in the SUPPORT_GROUP
# group, else ALERT_EMAILS (so a ticket is never seen by nobody).
SUPPORT_EMAILS = env.list("SUPPORT_EMAILS", default=[])
SUPPORT_GROUP = env.str("SUPPORT_GROUP", default="Support")
# A mail server that accepts and never answers must not hold a worker (or an inline alert) for long.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# The outbox sweep sends batch after batch for at most this long (below its one-minute interval).
OUTBOX_SWEEP_SECONDS = env.float("OUTBOX_SWEEP_SECONDS", default=40)
# This many due, unsent mails are an incident (a mail server refusing or too slow).
OUTBOX_BACKLOG_ALERT_COUNT = env.int("OUTBOX_BACKLOG_ALERT_COUNT", default=500)
ALERT_WEBHOOK_URL = env.str("ALERT_WEBHOOK_URL", default="")

# --- Payments -----------------------------------------------------------------
RAZORPAY_KEY_ID = env.str("RAZORPAY_KEY_ID", default="")
RAZORPAY_KEY_SECRET = env.str("RAZORPAY_KEY_SECRET", default="")
RAZORPAY_WEBHOOK_SECRET = env.str("RAZORPAY_WEBHOOK_SECRET", default="")
RAZORPAY_API_BASE = env.str("RAZORPAY_API_BASE", default="https://api.razorpay.com").rstrip("/")
RAZORPAY_TIMEOUT_SECONDS = env.float("RAZORPAY_TIMEOUT_SECONDS", default=4.0)
PAYMENTS_SIMULATED = not RAZORPAY_KEY_ID
if PAYMENTS_SIMULATED and not DEBUG:
    raise ImproperlyConfigured(
        "RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET and RAZORPAY_WEBHOOK_SECRET must be set when DEBUG=False; "
        "simulated payments are for development only."
    )
if not PAYMENTS_SIMULATED and not (RAZORPAY_KEY_SECRET and RAZORPAY_WEBHOOK_SECRET):
    raise ImproperlyConfigured("RAZORPAY_KEY_SECRET and RAZORPAY_WEBHOOK_SECRET must be set with RAZORPAY_KEY_ID.")
if PAYMENTS_SIMULATED:
    # The simulated gateway signs like Razorpay does, with these dev-only secrets.
    RAZORPAY_KEY_ID = "rzp_simulated"
    RAZORPAY_KEY_SECRET = "simulated-key-secret"
    RAZORPAY_WEBHOOK_SECRET = RAZORPAY_WEBHOOK_SECRET or "simulated-webhook-secret"

# Autopay (CONTRACT: Autopay): the mandate's max_amount and the largest debit asked
# without the customer present (RBI: Rs 15,000 on cards and UPI), in integer paise;
# and how many days before paid_until run_billing asks Razorpay for the debit
# (Razorpay debits 24-36 hours after its pre-debit notice).
AUTOPAY_MAX_PAISE = env.int("AUTOPAY_MAX_PAISE", default=1_500_000)
AUTOPAY_CHARGE_DAYS = env.int("AUTOPAY_CHARGE_DAYS", default=3)
if AUTOPAY_MAX_PAISE < 100 or AUTOPAY_CHARGE_DAYS < 2:
    raise ImproperlyConfigured("Need AUTOPAY_MAX_PAISE >= 100 and AUTOPAY_CHARGE_DAYS >= 2 (the notice takes a day).")

GST_RATE_PERCENT = env.int("GST_RATE_PERCENT", default=18)
# Affiliates: a referred customer's paid order earns the referrer this percent of
# its subtotal (GST excluded), whole or with up to two decimals; approved after the
# hold (the refund window); the /r/<code>/ cookie lasts this many days.
try:
    AFFILIATE_COMMISSION_PERCENT = Decimal(env.str("AFFILIATE_COMMISSION_PERCENT", default="10"))
except InvalidOperation:
    AFFILIATE_COMMISSION_PERCENT = None
if (
    AFFILIATE_COMMISSION_PERCENT is None
    or not AFFILIATE_COMMISSION_PERCENT.is_finite()
    or not 0 <= AFFILIATE_COMMISSION_PERCENT <= 100
    or AFFILIATE_COMMISSION_PERCENT.as_tuple().exponent < -2
):
    raise ImproperlyConfigured("AFFILIATE_COMMISSION_PERCENT must be a number from 0 to 100 with at most 2 decimals.")
AFFILIATE_HOLD_DAYS = env.int("AFFILIATE_HOLD_DAYS", default=30)
AFFILIATE_COOKIE_DAYS = env.int("AFFILIATE_COOKIE_DAYS", default=30)
if AFFILIATE_HOLD_DAYS < 0 or AFFILIATE_COOKIE_DAYS < 1:
    raise ImproperlyConfigured("AFFILIATE_HOLD_DAYS must be 0 or more and AFFILIATE_COOKIE_DAYS 1 or more.")
SELLER_NAME = env.str("SELLER_NAME", default="Demo Hosting Private Limited")
SELLER_ADDRESS = env.str("SELLER_ADDRESS", default="12 Demo Street, Bengaluru 560001")
SELLER_GSTIN = env.str("SELLER_GSTIN", default="29AABCD1234E1Z4")
SELLER_STATE = env.str("SELLER_STATE", default="Karnataka")
# The services accounting code printed on invoices and credit notes and reported in GSTR-1.
GST_SAC = env.str("GST_SAC", default="998315")
if not re.fullmatch(r"99[0-9]{4}", GST_SAC):
    raise ImproperlyConfigured("GST_SAC must be a six-digit services accounting code (99xxxx).")

# --- Provisioning -------------------------------------------------------------
PROVISIONING_BACKEND = env.str("PROVISIONING_BACKEND", default="simulated")
if PROVISIONING_BACKEND not in ("simulated", "libcloud"):
    raise ImproperlyConfigured("PROVISIONING_BACKEND must be 'simulated' or 'libcloud'.")
# Simulated payments are signed with secrets anyone can read in this repository: beside
# a provisioning backend that creates real machines they would hand out free servers.
# Libcloud's offline `dummy` provider creates nothing, so development may use it.
PROVISIONING_CREATES_REAL_SERVERS = (
    PROVISIONING_BACKEND == "libcloud" and env.str("LIBCLOUD_PROVIDER", default="dummy") != "dummy"
)
if PROVISIONING_CREATES_REAL_SERVERS and (DEBUG or PAYMENTS_SIMULATED):
    raise ImproperlyConfigured(
        "PROVISIONING_BACKEND=libcloud with a real provider needs DEBUG=False and real Razorpay keys: "
        "simulated payments (or a DEBUG portal) beside real servers would give machines away."
    )
SIMULATED_PROVISIONING_DELAY_SECONDS = env.float("SIMULATED_PROVISIONING_DELAY_SECONDS", default=0.5)
LIBCLOUD_PROVIDER = env.str("LIBCLOUD_PROVIDER", default="dummy")
LIBCLOUD_KEY = env.str("LIBCLOUD_KEY", default="")
LIBCLOUD_SECRET = env.str("LIBCLOUD_SECRET", default="")
LIBCLOUD_OPTIONS = env.json("LIBCLOUD_OPTIONS", default={})
# A provider API that accepts and never answers holds a worker LIBCLOUD_TIMEOUT_SECONDS per
# request (Libcloud's own default is 60 s), well inside the provisioning lease. Every real
# driver takes `timeout`; the offline dummy driver takes no connection options at all.
if LIBCLOUD_PROVIDER != "dummy":
    LIBCLOUD_OPTIONS.setdefault("timeout", env.int("LIBCLOUD_TIMEOUT_SECONDS", default=30))
LIBCLOUD_LOCATION = env.str("LIBCLOUD_LOCATION", default="")
LIBCLOUD_IMAGE = env.str("LIBCLOUD_IMAGE", default="")
# How long one attempt waits for a new node to run before it counts as a transient failure.
LIBCLOUD_WAIT_SECONDS = env.int("LIBCLOUD_WAIT_SECONDS", default=600)
# The driver's create_node keyword taking a client idempotency token (EC2: "ex_clienttoken"); "" for none.
LIBCLOUD_IDEMPOTENCY_KWARG = env.str("LIBCLOUD_IDEMPOTENCY_KWARG", default="")
# A provisioning attempt's lease is its backend's longest create (its own wait
# included) plus this margin: only a worker that has been silent that long is
# presumed dead and taken over. The task's hard time limit sits inside the lease.
PROVISIONING_LEASE_MARGIN_SECONDS = env.float("PROVISIONING_LEASE_MARGIN_SECONDS", default=300)
# A server operation's lease: short, renewed by a heartbeat while the backend works, so an
# operation whose worker vanished (killed, cancelled on a broker blip) is taken over within
# about this long plus a sweep (every minute). An operation running longer than
# SERVER_OPERATION_EXPECTED_SECONDS is shown to staff as overdue.
SERVER_OPERATION_LEASE_SECONDS = env.float("SERVER_OPERATION_LEASE_SECONDS", default=90)
SERVER_OPERATION_EXPECTED_SECONDS = env.float("SERVER_OPERATION_EXPECTED_SECONDS", default=900)
# A periodic job's lease (core.periodic): renewed by a heartbeat while the job runs, so a
# worker killed mid-job leaves a lease that runs out this long after its last renewal,
# after which the job's next send takes it over.
PERIODIC_JOB_LEASE_SECONDS = env.float("PERIODIC_JOB_LEASE_SECONDS", default=90)
# A periodic run still holding its lease this long after it started is alerted as hung
# (ops.incidents): the billing day over 100,000 servers takes about a minute.
PERIODIC_JOB_RUN_ALERT_SECONDS = env.float("PERIODIC_JOB_RUN_ALERT_SECONDS", default=1800)
# The user the provider installs customers' SSH keys for (Libcloud's NodeAuthSSHKey: root on most images).
SERVER_LOGIN_USER = env.str("SERVER_LOGIN_USER", default="root")
# A customer may ask for this many reboots, stops and starts an hour, over all their servers.
POWER_ACTIONS_PER_HOUR = env.int("POWER_ACTIONS_PER_HOUR", default=10)
# Minutes in pending/provisioning before a server counts as stuck (contract: 15).
STUCK_SERVER_MINUTES = 15

# The subscription (CONTRACT: Renewals): days before paid_until a renewal order is
# issued, and days after it an unpaid server is suspended, then terminated.
RENEWAL_NOTICE_DAYS = env.int("RENEWAL_NOTICE_DAYS", default=7)
SUSPEND_AFTER_DAYS = env.int("SUSPEND_AFTER_DAYS", default=3)
TERMINATE_AFTER_DAYS = env.int("TERMINATE_AFTER_DAYS", default=14)
if not 0 <= SUSPEND_AFTER_DAYS <= TERMINATE_AFTER_DAYS or RENEWAL_NOTICE_DAYS < 1:
    raise ImproperlyConfigured(
        "Need RENEWAL_NOTICE_DAYS >= 1 and 0 <= SUSPEND_AFTER_DAYS <= TERMINATE_AFTER_DAYS."
    )

# --- Celery -------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded broker: a folder of message files shared by web, worker and beat.
    _queue_dir = VAR_DIR / "celery" / "queue"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
    (VAR_DIR / "celery" / "control").mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
# No result backend, so nothing to expire: without this beat adds `celery.backend_cleanup`,
# a daily no-op that every beat would send (it is not a core.periodic job).
CELERY_RESULT_EXPIRES = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Beat keeps its schedule and last-run times in the database (django-celery-beat), so it
# starts on any deploy with no file to create; staff pause entries in the admin.
# The entries of hostingportal/schedule.py are written there each time beat starts (an
# interval changed in the admin lasts until then; core.periodic's gap is the code's).
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
# CELERY_BEAT_SCHEDULE is installed from hostingportal/schedule.py by hostingportal/celery.py.

# How many proxies in front of us append to X-Forwarded-For; with 0 it is ignored
# (a client could write anything there and rotate it past every limit).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")

# --- REST API -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Bodies were checked by core.hygiene before the view; multipart only here.
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "core.hygiene.CheckedMultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["core.throttles.AnonThrottle", "core.throttles.UserThrottle"],
    "EXCEPTION_HANDLER": "core.api_errors.api_exception_handler",
    # DRF's own reading of the client address; our throttles use core.client_address.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
API_THROTTLE_RATES = {
    "anon": env.str("API_THROTTLE_ANON", default="60/min"),
    "user": env.str("API_THROTTLE_USER", default="600/min"),
    "token": env.str("API_THROTTLE_TOKEN", default="10/min"),
}
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
# A stopped or frozen Redis must not hold requests (core/cache.py): each connect, read or
# write waits at most this long, and after a failure a process skips Redis for CACHE_RETRY_AFTER_SECONDS.
CACHE_SOCKET_TIMEOUT = env.float("CACHE_SOCKET_TIMEOUT", default=0.5)
CACHE_RETRY_AFTER_SECONDS = env.float("CACHE_RETRY_AFTER_SECONDS", default=5)
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "core.cache.RedisCache"  # one redis client per pool, not per call
if not DEBUG and CACHES["default"]["BACKEND"].endswith(("LocMemCache", "DummyCache")):
    raise ImproperlyConfigured(
        "CACHE_URL must name a shared cache (redis://…) when DEBUG=False: sign-in lockouts and API "
        "throttles counted per process would let an attacker spread guesses across web workers."
    )

# --- Sign-in lockout (django-axes; security/lockout.py) -----------------------
# Counters in CACHES["default"]; in the database while the cache is unavailable (security/lockout.py).
AXES_HANDLER = "security.lockout.CacheOrDatabaseAxesHandler"
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)  # never a permanent lockout
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # the pair: neighbours are unaffected
AXES_USERNAME_CALLABLE = "security.lockout.lockout_username"
AXES_CLIENT_IP_CALLABLE = "core.client_address.client_address"
AXES_LOCKOUT_CALLABLE = "security.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
# 15 minutes from the fifth failure, not from the latest refused attempt: otherwise an
# attacker could keep a customer locked out for as long as they keep guessing.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_ENABLE_ADMIN = False  # axes' tables are unused (security.SignInAttemptCount counts during an outage)
AXES_VERBOSE = False
LOCKOUT_BURST_THRESHOLD = env.int("LOCKOUT_BURST_THRESHOLD", default=10)  # lockouts in 15 minutes that alert staff
if DEBUG:
    # axes warns that a per-process cache cannot share counters; production refuses one above.
    SILENCED_SYSTEM_CHECKS = ["axes.W001"]

# --- Staff second factor (django-otp; security/second_factor.py) --------------
STAFF_2FA_REQUIRED = env.bool("STAFF_2FA_REQUIRED", default=not DEBUG)
OTP_TOTP_ISSUER = PORTAL_NAME  # the name authenticator apps show

API_TOKEN_DAYS = env.int("API_TOKEN_DAYS", default=90)
if API_TOKEN_DAYS < 1:
    raise ImproperlyConfigured("API_TOKEN_DAYS must be at least 1.")
SPECTACULAR_SETTINGS = {
    "TITLE": "Hosting Portal API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from our own static files, never a CDN: /api/v1/docs/
    # must render on a closed network and cannot change under us with a CDN's @latest.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api_errors.hygiene_responses",
        "core.api_docs.operation_docs",  # the overview and each operation's text and example
    ],
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "support.models.TicketStatus",
        "CommissionStatusEnum": "affiliates.models.CommissionStatus",
    },
}

# --- Security (production) ----------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain http
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Provisioning worker (servers app) ------------------------------------------
# A deployment (or a test with a real worker) can keep its tasks apart on a shared broker.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# The safety-net sweeps run on a queue of their own, consumed by the `sweeper` process
# (Procfile): behind a billing day's thousand operations in the work queue they would
# expire unrun (each expires after its interval), exactly when they are needed.
CELERY_SWEEP_QUEUE = env.str("CELERY_SWEEP_QUEUE", default="sweeps")
SWEEP_TASKS = (
    "servers.tasks.enqueue_pending_servers",
    "servers.tasks.sweep_server_operations",
    "outbox.tasks.sweep_outbox",
    "lifecycle.tasks.sweep_reminders",
    "ops.tasks.retry_webhook_events",
    "ops.tasks.watch_and_recover",
)
CELERY_TASK_ROUTES = {name: {"queue": CELERY_SWEEP_QUEUE} for name in SWEEP_TASKS}
# A send gives up after one failed connect instead of retrying for
# CELERY_BROKER_CONNECTION_TIMEOUT: with retry=False (core.queueing) a
# request never waits on a dead broker; the row is written and a sweeper
# requeues. Worker consumers and beat reconnect through their own retry loops.
# Redis hands a delivered but unacknowledged message (tasks are acks_late) to
# another worker only after this many seconds, so a worker killed whole is
# redelivered that late; the sweeper queues a server whose lease expired within
# a minute of it. It must stay above the longest countdown a worker holds
# unacknowledged (retry backoff up to 750 s, a lease recheck up to the lease),
# or those tasks would be delivered twice (harmless, but wasteful).
CELERY_BROKER_VISIBILITY_TIMEOUT = env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=3600)
# A broker that accepts connections and never answers (a frozen Redis) is bounded
# by the socket timeout: every read and write, a publish included, gives up after
# CELERY_BROKER_SOCKET_TIMEOUT seconds (above the 1 s blocking pop a Redis
# consumer waits for). Redis reads the socket_* keys, RabbitMQ (py-amqp) the
# *_timeout ones; each transport ignores the other's.
CELERY_BROKER_SOCKET_TIMEOUT = env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=3.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "max_retries": 0,
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
    "socket_timeout": CELERY_BROKER_SOCKET_TIMEOUT,
    "retry_on_timeout": False,
    "read_timeout": CELERY_BROKER_SOCKET_TIMEOUT,
    "write_timeout": CELERY_BROKER_SOCKET_TIMEOUT,
}
# A worker that loses the broker abandons its running acks_late tasks, which are
# then delivered again: safe, as provisioning resumes under its lease.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
