"""A circuit breaker per outside system, shared by every process through Redis.

After `failures` failures in a row the circuit opens for `open_seconds`: callers do not even try
the peer then (a reply waits in the outbox without spending an attempt). When that time is over,
the next call is a trial: a success closes the circuit, a failure opens it again at once. While
Redis does not answer, every call is allowed: the breaker must not stop what it protects.
"""

import logging

from redis.exceptions import RedisError

from jobs.queues import redis_connection

logger = logging.getLogger(__name__)


def circuit_wait(name: str) -> float:
    """Seconds until `name` may be tried again; 0 when it may be tried now."""
    try:
        ttl_ms = redis_connection().pttl(_open_key(name))
    except RedisError:
        return 0.0
    return max(0.0, ttl_ms / 1000) if ttl_ms and ttl_ms > 0 else 0.0


def circuit_record(name: str, *, ok: bool, failures: int, open_seconds: int) -> None:
    try:
        redis = redis_connection()
        if ok:
            redis.delete(_failures_key(name), _open_key(name))
            return
        pipe = redis.pipeline()
        pipe.incr(_failures_key(name))
        pipe.expire(_failures_key(name), open_seconds * 10)
        count, _ = pipe.execute()
        if count >= failures:
            redis.set(_open_key(name), count, ex=open_seconds)
            logger.warning("circuit %s open for %s s after %s failures in a row", name, open_seconds, count)
    except RedisError:
        logger.warning("circuit %s not updated: Redis unavailable", name)


def _failures_key(name: str) -> str:
    return f"circuit:{name}:failures"


def _open_key(name: str) -> str:
    return f"circuit:{name}:open"
