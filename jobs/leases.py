"""Redis leases that keep jobs apart: global run slots and one-job-per-portal-account locks.

Both are leases, not plain locks: a running job renews them with its heartbeat, so when its
process is killed they expire by themselves and nothing waits forever on a dead owner.

Jobs that find their portal account in use wait in that account's line (a Redis list, first come
first served) instead of holding a worker: releasing the account reserves it for the head of the
line, which stays in the line until it has started, so a hand-over lost to a crash can be redone
(jobs.services.accounts).
"""

import enum
import time

from django.conf import settings

from jobs.queues import redis_connection

SLOTS_KEY = "console:rpa:slots"
ACCOUNT_KEY = "console:rpa:account:{}"
LINE_KEY = "console:rpa:account:{}:line"
LINES_KEY = "console:rpa:account-lines"

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
# KEYS: lock, line, set of accounts with a line. ARGV: job id, lease ms, account key.
# 1: the job holds the account; 0: it waits in the line; -1: it has just joined the line.
_ACCOUNT_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
local head = redis.call('LINDEX', KEYS[2], 0)
if holder == ARGV[1] or (not holder and (not head or head == ARGV[1])) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('LREM', KEYS[2], 0, ARGV[1])
  if redis.call('LLEN', KEYS[2]) == 0 then redis.call('SREM', KEYS[3], ARGV[3]) end
  return 1
end
if redis.call('LPOS', KEYS[2], ARGV[1]) then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[3])
return -1
"""
# The job leaves the line; if it held the account, the account is reserved for the new head,
# whose id is returned. With ARGV[1] empty it only reserves a free account for the head.
_ACCOUNT_RELEASE = """
if ARGV[1] ~= '' then
  redis.call('LREM', KEYS[2], 0, ARGV[1])
  if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
  redis.call('DEL', KEYS[1])
elseif redis.call('EXISTS', KEYS[1]) == 1 then
  return false
end
local head = redis.call('LINDEX', KEYS[2], 0)
if head then
  redis.call('SET', KEYS[1], head, 'PX', ARGV[2])
  return head
end
redis.call('SREM', KEYS[3], ARGV[3])
return false
"""


class Account(enum.IntEnum):
    """What account_acquire() found."""

    HELD = 1
    WAITING = 0
    JOINED_LINE = -1


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


def slot_acquire(job_id: str, poll_seconds: float = 0.2, while_waiting=None) -> None:
    """Wait for a run slot, calling `while_waiting()` at each poll. Workers take jobs in FIFO
    order, so waiting keeps the order."""
    while not slot_try_acquire(job_id):
        if while_waiting is not None:
            while_waiting()
        time.sleep(poll_seconds)


def slot_release(job_id: str) -> None:
    _redis().zrem(SLOTS_KEY, job_id)


def slots_in_use() -> int:
    connection = _redis()
    connection.zremrangebyscore(SLOTS_KEY, "-inf", time.time())
    return connection.zcard(SLOTS_KEY)


def account_acquire(account_key: str, job_id: str) -> Account:
    """Take the portal account for `job_id`, or put the job in the account's line.

    A free account goes to the head of its line first, so waiting jobs run in the order they
    joined the line. A job with no account (no login) never waits."""
    if not account_key:
        return Account.HELD
    return Account(_account_script(_ACCOUNT_ACQUIRE, account_key, job_id))


def account_release(account_key: str, job_id: str) -> str | None:
    """Take `job_id` out of the account: out of its line, and if it held the account, hand it
    to the head of the line. Returns the job the account is now reserved for, if any."""
    if not account_key:
        return None
    return _decoded(_account_script(_ACCOUNT_RELEASE, account_key, job_id))


def account_reserve_for_head(account_key: str) -> str | None:
    """Reserve a free account (its holder's lease expired) for the head of its line."""
    return _decoded(_account_script(_ACCOUNT_RELEASE, account_key, ""))


def account_holder(account_key: str) -> str | None:
    return _decoded(_redis().get(ACCOUNT_KEY.format(account_key)))


def account_line(account_key: str) -> list[str]:
    """Ids of the jobs waiting for the account, first come first."""
    return [job_id.decode() for job_id in _redis().lrange(LINE_KEY.format(account_key), 0, -1)]


def accounts_with_a_line() -> list[str]:
    return sorted(key.decode() for key in _redis().smembers(LINES_KEY))


def _account_script(script: str, account_key: str, job_id: str):
    keys = (ACCOUNT_KEY.format(account_key), LINE_KEY.format(account_key), LINES_KEY)
    return _redis().eval(script, len(keys), *keys, job_id, lease_seconds() * 1000, account_key)


def _decoded(value) -> str | None:
    return value.decode() if value else None


def leases_renew(job_id: str, account_key: str) -> None:
    """Extend the slot and the account lock held by `job_id` (called by its heartbeat)."""
    connection = _redis()
    connection.zadd(SLOTS_KEY, {job_id: time.time() + lease_seconds()}, xx=True)
    if account_key:
        connection.eval(_RENEW_IF_OWNER, 1, ACCOUNT_KEY.format(account_key), job_id, lease_seconds() * 1000)
