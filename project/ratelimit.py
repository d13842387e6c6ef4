"""Request limits shared by every process: a fixed one-minute window per key, counted in Redis.

DRF's own throttles count in Django's cache, which is per process here (several daphne
processes serve one port), so a client would get the limit once per process. These count in
the shared Redis. While Redis does not answer, requests are let through and a warning logged:
a limit must not take the console down with it.
"""

import logging
import time

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle

from jobs.queues import redis_connection

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60


class RedisMinuteThrottle(BaseThrottle):
    """`rate_setting` names the setting with the requests allowed per minute; `scope` keeps the
    counts of different limits apart; `ident` says who is counted (per address by default)."""

    scope = "api"
    rate_setting = ""

    def allow_request(self, request, view) -> bool:
        limit = getattr(settings, self.rate_setting)
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        key = f"ratelimit:{self.scope}:{self.ident(request)}:{window}"
        try:
            pipe = redis_connection().pipeline()
            pipe.incr(key)
            pipe.expire(key, WINDOW_SECONDS + 5)
            used, _ = pipe.execute()
        except RedisError:
            logger.warning("rate limit %s not applied: Redis unavailable", self.scope, exc_info=True)
            return True
        self.retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))
        return used <= limit

    def wait(self) -> float:
        return self.retry_after

    def ident(self, request) -> str:
        return f"addr:{self.get_ident(request)}"


class PerUserMinuteThrottle(RedisMinuteThrottle):
    def ident(self, request) -> str:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"user:{user.pk}"
        return super().ident(request)
