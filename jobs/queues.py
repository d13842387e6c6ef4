"""The rq queues and the Redis connection the job engine uses, one client per process.

django_rq builds a new client (and connection pool) on every call; the hot paths (creating a
job, renewing leases) reuse one per URL instead. redis-py resets a pool after fork, so rq's
work-horses get their own connections.
"""

from functools import lru_cache

import django_rq
from django.conf import settings
from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError
from redis.retry import Retry
from rq import Queue

RPA_QUEUE = "rpa"
DEFAULT_QUEUE = "default"


def redis_connection(queue_name: str = RPA_QUEUE) -> Redis:
    return _connection_for(settings.RQ_QUEUES[queue_name]["URL"])


def queue(name: str) -> Queue:
    return django_rq.get_queue(name, connection=redis_connection(name))


@lru_cache(maxsize=8)
def _connection_for(url: str) -> Redis:
    # A stalled Redis fails a request within seconds (503), not after redis-py's four tries of a
    # command that may have gone through already: only a broken connection is retried, once.
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=1, supported_errors=(ConnectionError,))
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30, retry=retry)
