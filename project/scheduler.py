"""The rq cron scheduler, made to ride out a Redis that stalls or restarts.

rq's CronScheduler lets any Redis error end its loop, and with it the process: a 20 s stall of
Redis stopped the periodic tasks (maintenance, retention) for good. Here a Redis error is logged
once, retried every few seconds, and the schedule picks up where it was when Redis answers again
(a task that fell due meanwhile runs once, not once per missed interval).
"""

import logging
import time

from django_rq.cron import DjangoCronScheduler
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RETRY_SECONDS = 2.0


class ResilientCronScheduler(DjangoCronScheduler):
    unreachable_since: float | None = None

    def register_birth(self) -> None:
        self._while_redis_answers(super().register_birth)

    def enqueue_jobs(self):
        return self._while_redis_answers(super().enqueue_jobs) or []

    def heartbeat(self) -> None:
        self._while_redis_answers(super().heartbeat)

    def save(self, pipeline=None) -> None:
        self._while_redis_answers(lambda: super(ResilientCronScheduler, self).save(pipeline))

    def register_death(self, pipeline=None) -> None:
        try:
            super().register_death(pipeline)
        except RedisError:
            pass  # stopping anyway; the registry forgets a scheduler whose heartbeat stops

    def _while_redis_answers(self, step):
        try:
            result = step()
        except RedisError as exc:
            if self.unreachable_since is None:
                self.unreachable_since = time.monotonic()
                logger.warning("cron scheduler: Redis unreachable (%s); retrying every %g s", exc, RETRY_SECONDS)
            time.sleep(RETRY_SECONDS)
            return None
        if self.unreachable_since is not None:
            logger.warning("cron scheduler: Redis answers again after %.0f s",
                           time.monotonic() - self.unreachable_since)
            self.unreachable_since = None
        return result
