"""What the bot remembers of a conversation for a while (seed 004: `chatbot:context:{contact_id}`
in Redis, 30 min by default): the last turns, the product being talked about, the customer's name.

The durable history is the Message table; this is the short memory the replies use. While Redis
does not answer, contexts live in this process's memory (with the same expiry) so the bot keeps
answering; they are not shared between processes then, and Redis' copy wins when it is back.
"""

import json
import logging
import threading
import time

from redis.exceptions import RedisError

from jobs.queues import redis_connection

logger = logging.getLogger(__name__)

KEY_PREFIX = "chatbot:context:"
# The turns kept: enough for a reply to follow the thread, small enough for a prompt.
MAX_TURNS = 12

_memory: dict[str, tuple[float, dict]] = {}
_memory_lock = threading.Lock()


def context_get(contact_id: str) -> dict:
    """The contact's context, or an empty one when there is none (or it expired)."""
    try:
        raw = redis_connection().get(_key(contact_id))
    except RedisError:
        logger.warning("Chatbot context read from memory: Redis unavailable")
        return _memory_get(contact_id)
    if raw is None:
        return {}
    try:
        context = json.loads(raw)
    except ValueError:
        return {}
    return context if isinstance(context, dict) else {}


def context_set(contact_id: str, context: dict, *, ttl_seconds: int) -> None:
    context = {**context, "turns": context.get("turns", [])[-MAX_TURNS:]}
    try:
        redis_connection().set(_key(contact_id), json.dumps(context, ensure_ascii=False), ex=max(1, ttl_seconds))
    except RedisError:
        logger.warning("Chatbot context kept in memory: Redis unavailable")
        with _memory_lock:
            _memory[contact_id] = (time.monotonic() + ttl_seconds, context)
        return
    with _memory_lock:
        _memory.pop(contact_id, None)


def context_delete(*contact_ids: str) -> None:
    if not contact_ids:
        return
    with _memory_lock:
        for contact_id in contact_ids:
            _memory.pop(contact_id, None)
    try:
        redis_connection().delete(*(_key(contact_id) for contact_id in contact_ids))
    except RedisError:
        logger.warning("Chatbot contexts not deleted from Redis: unavailable (they expire on their own)")


def _key(contact_id: str) -> str:
    return f"{KEY_PREFIX}{contact_id}"


def _memory_get(contact_id: str) -> dict:
    with _memory_lock:
        expires, context = _memory.get(contact_id, (0.0, {}))
        if expires <= time.monotonic():
            _memory.pop(contact_id, None)
            return {}
        return dict(context)
