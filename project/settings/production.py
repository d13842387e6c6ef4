"""Production: secrets have no default, so a missing one stops the process at start-up."""

from django.core.exceptions import ImproperlyConfigured

from project.env import env_bool, env_int, env_list, env_str
from project.settings.base import *  # noqa: F403
from project.settings.base import METRICS_ALLOWED_ADDRESSES, METRICS_TOKEN, SIMPLE_JWT

DEBUG = False
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
SIMPLE_JWT = {**SIMPLE_JWT, "SIGNING_KEY": env_str("JWT_SIGNING_KEY")}
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
REDIS_URL = env_str("REDIS_URL")
DATABASE_URL = env_str("DATABASE_URL")
SERVE_STATIC = env_bool("SERVE_STATIC", False)
# The sandbox portals are for demos and tests only.
SANDBOX_PORTALS = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0, minimum=0)

# /metrics tells anyone who can read it what the console is doing: never open in production.
if not METRICS_TOKEN and not METRICS_ALLOWED_ADDRESSES:
    raise ImproperlyConfigured(
        "Set METRICS_TOKEN (the bearer token Prometheus sends) or METRICS_ALLOWED_ADDRESSES "
        "(the addresses that may scrape /metrics)."
    )
