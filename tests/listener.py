"""Listening on channel-layer groups from synchronous tests, as a consumer elsewhere would.

The pub/sub channel layer keeps subscriptions per event loop, so the listener owns one loop, in
a thread of its own, for its whole life: it subscribes there and keeps receiving there.
"""

import asyncio
import queue
import threading

from channels.layers import get_channel_layer

from project import live


class GroupListener:
    def __init__(self, *groups: str):
        self.groups = groups
        self.layer = get_channel_layer()
        self.inbox: queue.Queue = queue.Queue()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="group-listener", daemon=True)
        self.thread.start()
        self.channel = self._call(self._subscribe())
        self.pump = asyncio.run_coroutine_threadsafe(self._pump(), self.loop)

    def __enter__(self) -> "GroupListener":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def receive(self, timeout: float = 5.0) -> dict:
        """The next message (raises queue.Empty after `timeout` seconds)."""
        return self.inbox.get(timeout=timeout)

    def drain(self, quiet: float = 0.3) -> list[dict]:
        """Every message until none has come for `quiet` seconds."""
        received = []
        while True:
            try:
                received.append(self.inbox.get(timeout=quiet))
            except queue.Empty:
                return received

    @staticmethod
    def unpacked(messages: list[dict]) -> list[dict]:
        """The messages with coalesced batches (project.live) opened."""
        return [inner for message in messages
                for inner in (message["messages"] if message["type"] == live.BATCH_TYPE else [message])]

    def close(self) -> None:
        self.pump.cancel()
        self._call(self._unsubscribe())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    async def _subscribe(self) -> str:
        channel = await self.layer.new_channel()
        for group in self.groups:
            await self.layer.group_add(group, channel)
        return channel

    async def _unsubscribe(self) -> None:
        for group in self.groups:
            await self.layer.group_discard(group, self.channel)

    async def _pump(self) -> None:
        while True:
            self.inbox.put(await self.layer.receive(self.channel))
