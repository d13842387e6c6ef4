"""Production: secrets have no default, so a missing one stops the process at start-up."""

from django.core.exceptions import ImproperlyConfigured

from project.env import env_bool, env_int, env_list, env_str
from project.settings.base import *  # noqa: F403
from project.settings.base import METRICS_ALLOWED_ADDRESSES, METRICS_TOKEN, SILENCED_SYSTEM_CHECKS, SIMPLE_JWT

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

# HTTPS only, terminated by the proxy in front (which sets X-Forwarded-Proto). `manage.py check
# --deploy` is clean with these defaults (tests/test_settings.py).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", True)
# Load-balancer probes and Prometheus scrapes may come over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^metrics$"]
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 365 * 24 * 3600, minimum=0)
# Covers subdomains of the console's own host only (console.example.com, not example.com).
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
# Asking browsers to preload HSTS is a decision about the whole registered domain, for its owner
# to take (DJANGO_HSTS_PRELOAD=1), not a default of this application: hence the silenced check.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "security.W021"]

# /metrics tells anyone who can read it what the console is doing: never open in production.
if not METRICS_TOKEN and not METRICS_ALLOWED_ADDRESSES:
    raise ImproperlyConfigured(
        "Set METRICS_TOKEN (the bearer token Prometheus sends) or METRICS_ALLOWED_ADDRESSES "
        "(the addresses that may scrape /metrics)."
    )
