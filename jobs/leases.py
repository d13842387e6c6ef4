"""Redis leases that keep jobs apart: global run slots and one-job-per-portal-account locks.

Both are leases, not plain locks: a running job renews them with its heartbeat, so when its
process is killed they expire by themselves and nothing waits forever on a dead owner.
"""

import time

from django.conf import settings

from jobs.queues import redis_connection

SLOTS_KEY = "console:rpa:slots"
ACCOUNT_KEY = "console:rpa:account:{}"

# Drop expired holders, then take (or renew) a place if there is room.
_ACQUIRE_SLOT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  return 1
end
return 0
"""
_RENEW_IF_OWNER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE_IF_OWNER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def lease_seconds() -> int:
    return settings.JOB_HEARTBEAT_TIMEOUT_SECONDS


def _redis():
    return redis_connection()


def slot_try_acquire(job_id: str) -> bool:
    """Take one of RPA_MAX_CONCURRENCY run slots for `job_id`; False when all are held."""
    now = time.time()
    acquired = _redis().eval(
        _ACQUIRE_SLOT, 1, SLOTS_KEY, now, now + lease_seconds(), job_id, settings.RPA_MAX_CONCURRENCY
    )
    return bool(acquired)


def slot_acquire(job_id: str, poll_seconds: float = 0.2) -> None:
    """Wait for a run slot. Workers take jobs in FIFO order, so waiting keeps the order."""
    while not slot_try_acquire(job_id):
        time.sleep(poll_seconds)


def slot_release(job_id: str) -> None:
    _redis().zrem(SLOTS_KEY, job_id)


def slots_in_use() -> int:
    connection = _redis()
    connection.zremrangebyscore(SLOTS_KEY, "-inf", time.time())
    return connection.zcard(SLOTS_KEY)


def account_try_lock(account_key: str, job_id: str) -> bool:
    if not account_key:
        return True
    return bool(_redis().set(ACCOUNT_KEY.format(account_key), job_id, nx=True, px=lease_seconds() * 1000))


def account_holder(account_key: str) -> str | None:
    value = _redis().get(ACCOUNT_KEY.format(account_key))
    return value.decode() if value else None


def account_unlock(account_key: str, job_id: str) -> None:
    if account_key:
        _redis().eval(_RELEASE_IF_OWNER, 1, ACCOUNT_KEY.format(account_key), job_id)


def leases_renew(job_id: str, account_key: str) -> None:
    """Extend the slot and the account lock held by `job_id` (called by its heartbeat)."""
    connection = _redis()
    connection.zadd(SLOTS_KEY, {job_id: time.time() + lease_seconds()}, xx=True)
    if account_key:
        connection.eval(_RENEW_IF_OWNER, 1, ACCOUNT_KEY.format(account_key), job_id, lease_seconds() * 1000)
