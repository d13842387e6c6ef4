"""Every test of bots starts with no failed authentication counted against any bot or address."""

import pytest

from jobs.queues import redis_connection


@pytest.fixture(autouse=True)
def _clean_bot_auth_throttle():
    redis = redis_connection()
    for key in redis.scan_iter("bot-auth-failures:*"):
        redis.delete(key)
