"""Settings for the test suite: the same wiring as production, with short timers.

PostgreSQL and Redis come from DATABASE_URL / REDIS_URL (CI sets both). Without REDIS_URL a
private redis-server is started for this run, and its URL exported so that the workers the tests
start reach the same server.
"""

import os
from pathlib import Path

if not os.environ.get("REDIS_URL"):
    from project.localredis import start_private_redis

    os.environ["REDIS_URL"] = start_private_redis()

from project.env import env_bool, env_int, env_str  # noqa: E402
from project.settings.base import *  # noqa: E402,F403
from project.settings.base import DATABASES, VAR_DIR  # noqa: E402

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: the rq workers the tests start must see the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

JOB_HEARTBEAT_SECONDS = 1
JOB_HEARTBEAT_TIMEOUT_SECONDS = 4
JOB_ENQUEUE_GRACE_SECONDS = 2
JOB_ACCOUNT_WAIT_SECONDS = 30
PROCESSO_CALLBACK_BACKOFF_SECONDS = 1
PROCESSO_API_TIMEOUT = 2
FIELD_ENCRYPTION_KEYS = ["dGVzdC1vbmx5LWZpZWxkLWtleS0wMDAwMDAwMDAwMDA="]

# The engine's tests run the scripted automation; the carrier tests start workers with
# TEST_CARRIER_AUTOMATIONS=1 so that they run the real browser automations.
if not env_bool("TEST_CARRIER_AUTOMATIONS", False):
    JOB_AUTOMATIONS = {
        **{kind: "tests.automations.scripted" for kind in ("OI", "VIVO", "EMBRATEL", "DIGITALNET", "SAT")},
        # The Seller Bot's runs always drive the TikTok sandbox in a real browser.
        **{kind: path for kind, path in JOB_AUTOMATIONS.items() if kind.startswith("tiktok.")},  # noqa: F405
    }
BOT_WORKER_HEARTBEAT_TTL_SECONDS = env_int("BOT_WORKER_HEARTBEAT_TTL_SECONDS", 3, minimum=2)
BOT_WORKER_TICK_MS = env_int("BOT_WORKER_TICK_MS", 300, minimum=100)
BOT_TASK_RETRY_SECONDS = env_int("BOT_TASK_RETRY_SECONDS", 3600, minimum=1)
BOT_API_RATE_PER_MINUTE = env_int("BOT_API_RATE_PER_MINUTE", 1000, minimum=1)
BOT_SWITCH_RATE_PER_MINUTE = env_int("BOT_SWITCH_RATE_PER_MINUTE", 1000, minimum=1)
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "test-media")))
SANDBOX_PORTALS = True
BROWSER_WAIT_SECONDS = env_int("BROWSER_WAIT_SECONDS", 4, minimum=1)
BROWSER_PAGE_LOAD_TIMEOUT = env_int("BROWSER_PAGE_LOAD_TIMEOUT", 10, minimum=1)
BROWSER_TMP_DIR = VAR_DIR / "test-browsers"
