"""Live notifications: the one way producers (web requests, rq workers) reach the channel layer.

Every process has one publisher: a daemon thread with its own event loop, so a producer never
waits on Redis and a job's code stays synchronous. Messages of one *stream* (a job, say) are
coalesced: a stream may send one message per LIVE_COALESCE_SECONDS (with a burst of two), and
what arrives while it must wait is gathered and sent as one `live.batch` message when it may. A
job that reports progress in a tight loop therefore sends about 1/LIVE_COALESCE_SECONDS messages
a second; within a batch a message whose type is in `latest_only` keeps just its newest copy (the
job's state), the others (log lines) all stay, in order.

Publishing is best effort: what Redis cannot carry is logged and dropped, since the database is
the record and every page reads it again on (re)connect. `flush()` sends what is pending at once;
rq tasks call it before a work-horse exits (see project.tasks.database_task).
"""

import asyncio
import logging
import os
import threading
from dataclasses import dataclass, field

from channels.layers import get_channel_layer
from django.conf import settings

logger = logging.getLogger(__name__)

BATCH_TYPE = "live.batch"
# Beyond this many messages in one window the oldest are dropped (the database keeps them all).
BATCH_MAX_MESSAGES = 200
# How many messages a stream may send back to back before the one-per-window limit applies.
STREAM_BURST = 2


def publish(groups: tuple[str, ...], message: dict, *, stream: str | None = None,
            latest_only: frozenset[str] = frozenset()) -> None:
    """Send `message` (a dict with a "type") to every group in `groups`.

    Without `stream` it goes out as it is, at once; with one, it is coalesced with the stream's
    other messages as the module docstring says.
    """
    _publisher().submit(tuple(groups), message, stream, latest_only)


def flush(timeout: float = 2.0) -> None:
    """Send every pending message now and wait (at most `timeout` s) until it has left."""
    publisher = _PUBLISHER
    if publisher is not None and publisher.pid == os.getpid():
        publisher.flush(timeout)


def notify_user(user_id, notification: dict) -> None:
    """Send `notification` ({"type": …, …}) to every connection of one person."""
    publish((user_group(user_id),), {"type": "user.notification", "notification": notification})


def user_group(user_id) -> str:
    """The group of one person's connections (notifications addressed to a user)."""
    return f"user.{user_id}"


@dataclass
class _Batch:
    groups: tuple[str, ...]
    latest_only: frozenset[str]
    messages: list[dict] = field(default_factory=list)

    def add(self, groups: tuple[str, ...], message: dict) -> None:
        self.groups = tuple(dict.fromkeys(self.groups + groups))
        if message.get("type") in self.latest_only:
            self.messages = [m for m in self.messages if m.get("type") != message["type"]]
        self.messages.append(message)
        del self.messages[:-BATCH_MAX_MESSAGES]


class _Publisher:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.window = settings.LIVE_COALESCE_SECONDS
        self.loop = asyncio.new_event_loop()
        self.layer = get_channel_layer()
        self.pending: dict[str, _Batch] = {}
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.buckets: dict[str, tuple[float, float]] = {}  # stream → (tokens, when counted)
        # One sender, in order: a stream's messages never overtake each other.
        self.outbox: asyncio.Queue = asyncio.Queue()
        self.loop.call_soon(lambda: self.loop.create_task(self._sender()))
        thread = threading.Thread(target=self.loop.run_forever, name="live-publisher", daemon=True)
        thread.start()

    def submit(self, groups, message, stream, latest_only) -> None:
        if self.layer is None:
            return
        self.loop.call_soon_threadsafe(self._add, groups, message, stream, latest_only)

    def flush(self, timeout: float) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self._flush_all(), self.loop).result(timeout)
        except Exception:  # noqa: BLE001 - a notification is never worth failing the caller
            logger.warning("Live notifications still pending after %.1f s", timeout, exc_info=True)

    # --- on the publisher's loop ---------------------------------------------------------------

    def _add(self, groups, message, stream, latest_only) -> None:
        if stream is None:
            self.outbox.put_nowait((groups, message))
            return
        batch = self.pending.setdefault(stream, _Batch(groups, latest_only))
        batch.add(groups, message)
        if stream not in self.timers:
            self.timers[stream] = self.loop.call_later(self._token_wait(stream), self._send_stream, stream)

    def _token_wait(self, stream: str) -> float:
        """Seconds until the stream may send again: a token bucket of STREAM_BURST tokens refilled
        at one per window. A steady stream at the limit rate leaves at once every time (the spare
        token absorbs timing jitter) instead of drifting ever later."""
        tokens = self._tokens(stream)
        return 0.0 if tokens >= 1 else (1 - tokens) * self.window

    def _tokens(self, stream: str) -> float:
        now = self.loop.time()
        tokens, updated = self.buckets.get(stream, (STREAM_BURST, now))
        tokens = min(STREAM_BURST, tokens + (now - updated) / self.window)
        self.buckets[stream] = (tokens, now)
        return tokens

    def _send_stream(self, stream: str) -> None:
        self.timers.pop(stream, None)
        batch = self.pending.pop(stream, None)
        if batch is None:
            return
        self.buckets[stream] = (self._tokens(stream) - 1, self.loop.time())
        self._forget_quiet_streams()
        message = batch.messages[0] if len(batch.messages) == 1 else {"type": BATCH_TYPE, "messages": batch.messages}
        self.outbox.put_nowait((batch.groups, message))

    async def _sender(self) -> None:
        while True:
            groups, message = await self.outbox.get()
            try:
                for group in groups:
                    await self.layer.group_send(group, message)
            except Exception:  # noqa: BLE001 - best effort: the database stays the record
                logger.warning("Could not publish %s to %s", message.get("type"), ", ".join(groups), exc_info=True)
            finally:
                self.outbox.task_done()

    async def _flush_all(self) -> None:
        for stream, timer in list(self.timers.items()):
            timer.cancel()
            self._send_stream(stream)
        await self.outbox.join()

    def _forget_quiet_streams(self) -> None:
        # A stream quiet for STREAM_BURST windows has a full bucket again: nothing to remember.
        if len(self.buckets) < 1000:
            return
        horizon = self.loop.time() - STREAM_BURST * self.window
        self.buckets = {key: bucket for key, bucket in self.buckets.items() if bucket[1] > horizon}


_PUBLISHER: _Publisher | None = None
_PUBLISHER_LOCK = threading.Lock()


def _publisher() -> _Publisher:
    global _PUBLISHER
    with _PUBLISHER_LOCK:
        if _PUBLISHER is None:
            _PUBLISHER = _Publisher()
        return _PUBLISHER


def _forget_parent_publisher() -> None:
    """A forked child (an rq work-horse) has none of its parent's threads: it starts its own."""
    global _PUBLISHER, _PUBLISHER_LOCK
    _PUBLISHER, _PUBLISHER_LOCK = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_parent_publisher)
