"""Real bot workers (`manage.py sellerbot_worker`) driving the TikTok sandbox in real Chromium.

The sandbox is served by pytest-django's live server; its data lives in the shared Redis, so
the test reads which comments got which answer. Notifications are read from a real websocket
of the session's daphne (asgi_server).
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
import websocket
from rest_framework_simplejwt.tokens import RefreshToken

from jobs.queues import redis_connection
from tests.conftest import BASE_DIR


class BotWorkers:
    """`manage.py sellerbot_worker` processes against the test database and Redis."""

    def __init__(self, env: dict):
        self.env = env
        self.processes: list[subprocess.Popen] = []

    def start(self, count: int = 1) -> list[subprocess.Popen]:
        from rq import Worker

        started, names = [], []
        for _ in range(count):
            name = f"test-bot-{uuid.uuid4().hex[:8]}"
            started.append(subprocess.Popen(
                [sys.executable, str(BASE_DIR / "manage.py"), "sellerbot_worker", "--name", name, "-v", "0"],
                env=self.env, cwd=BASE_DIR, start_new_session=True,
            ))
            names.append(name)
        self.processes += started
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if set(names) <= {w.name for w in Worker.all(connection=redis_connection())}:
                return started
            if any(process.poll() is not None for process in started):
                raise RuntimeError("a bot worker exited at start")
            time.sleep(0.1)
        raise RuntimeError("bot workers did not register within 60 s")

    def kill(self, process: subprocess.Popen) -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            self.kill(process)
        self.processes.clear()


@pytest.fixture(scope="module")
def bot_env(worker_env, live_server):
    return {**worker_env, "SANDBOX_BASE_URL": live_server.url, "BROWSER_WAIT_SECONDS": "4"}


@pytest.fixture
def bot_workers(bot_env):
    workers = BotWorkers(bot_env)
    yield workers
    workers.stop_all()


@pytest.fixture(autouse=True)
def _fresh_bot_state():
    """A fresh sandbox and no heartbeat, switch or limits left by an earlier test."""
    from sellerbot.sandbox import store

    store.reset()
    redis = redis_connection()
    for pattern in ("bot:*", "chatbot:*", "ratelimit:bot-*"):
        for key in redis.scan_iter(pattern):
            redis.delete(key)
    yield


class Notifications:
    """A real websocket to daphne's /ws/notifications, collecting every frame in a thread."""

    def __init__(self, server, user):
        token = str(RefreshToken.for_user(user).access_token)
        self.socket = websocket.create_connection(
            f"ws://127.0.0.1:{server.port}/ws/notifications?token={token}",
            origin=server.url, timeout=30,
        )
        self.frames: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                self.frames.append(json.loads(self.socket.recv()))
            except Exception:  # noqa: BLE001 - the socket closed
                return

    def of_type(self, kind: str) -> list[dict]:
        return [frame for frame in list(self.frames) if frame.get("type") == kind]

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def notifications(asgi_server):
    opened = []

    def connect(user) -> Notifications:
        listener = Notifications(asgi_server, user)
        opened.append(listener)
        return listener

    yield connect
    for listener in opened:
        listener.close()
