"""Shared fixtures: the cast (Alice is staff, Bob and Charlie are not; all three may start jobs,
jobs.add_job), API clients, and the real outside parts the integration tests need: rq workers
and a fake processo API."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from jobs.queues import redis_connection
from project import live
from tests.fakes.processo import FakeProcessoApi
from tests.ports import free_port

BASE_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _clean_redis():
    """Start from an empty Redis database (CI points REDIS_URL at a database of its own)."""
    redis_connection().flushdb()


@pytest.fixture(autouse=True)
def _live_messages_sent_before_the_next_test():
    """A test's coalesced live messages leave before the next test starts listening, so no test
    receives another's (project.live holds them back up to a window)."""
    yield
    live.flush()


@pytest.fixture
def alice(django_user_model):
    return job_starter(django_user_model.objects.create_user("alice", "alice@example.com", "alice-pass",
                                                             is_staff=True))


@pytest.fixture
def bob(django_user_model):
    return job_starter(django_user_model.objects.create_user("bob", "bob@example.com", "bob-pass"))


@pytest.fixture
def charlie(django_user_model):
    return job_starter(django_user_model.objects.create_user("charlie", "charlie@example.com", "charlie-pass"))


def job_starter(user):
    """`user`, allowed to start jobs (jobs.add_job)."""
    user.user_permissions.add(Permission.objects.get(content_type__app_label="jobs", codename="add_job"))
    return user


def bearer_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def alice_api(alice):
    return bearer_client(alice)


@pytest.fixture
def bob_api(bob):
    return bearer_client(bob)


@pytest.fixture
def charlie_api(charlie):
    return bearer_client(charlie)


@pytest.fixture
def latest_schema_afterwards():
    """For a test that migrates an app backwards: every app is migrated forward again after it,
    since the transactional tests that pytest-django runs after it need the later tables."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture(scope="session")
def fake_processo():
    server = FakeProcessoApi()
    server.start()
    yield server
    server.stop()


# --- real rq workers ------------------------------------------------------------------------

class WorkerProcesses:
    """rq worker processes running the test settings against the test database."""

    def __init__(self, env: dict):
        self.env = env
        self.processes: list[subprocess.Popen] = []

    def start(self, count: int = 1, queues: tuple[str, ...] = ("rpa", "default"), *, scheduler: bool = False,
              **env) -> list[subprocess.Popen]:
        from rq import Worker

        started = []
        names = []
        for _ in range(count):
            name = f"test-worker-{uuid.uuid4().hex[:8]}"
            process = subprocess.Popen(
                [sys.executable, str(BASE_DIR / "manage.py"), "rqworker", *queues, "--name", name, "-v", "0",
                 *(["--with-scheduler"] if scheduler else [])],
                env={**self.env, **{k: str(v) for k, v in env.items()}},
                cwd=BASE_DIR,
                start_new_session=True,
            )
            self.processes.append(process)
            started.append(process)
            names.append(name)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            alive = {w.name for w in Worker.all(connection=redis_connection())}
            if set(names) <= alive:
                return started
            for process in started:
                if process.poll() is not None:
                    raise RuntimeError(f"worker exited at start with code {process.returncode}")
            time.sleep(0.1)
        raise RuntimeError("workers did not register within 60 s")

    def stop_all(self) -> None:
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)
        self.processes.clear()


def _database_url() -> str:
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    credentials = quote(s["USER"] or "")
    if s["PASSWORD"]:
        credentials += ":" + quote(s["PASSWORD"])
    return f"postgres://{credentials}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture(scope="session")
def worker_env(django_db_setup, django_db_blocker, fake_processo):
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings.test",
        "DATABASE_URL": _database_url(),
        "PROCESSO_API_URL": fake_processo.url,
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture(scope="module")
def module_workers(worker_env):
    """Three workers shared by a test module (RPA_MAX_CONCURRENCY stays at its default)."""
    workers = WorkerProcesses(worker_env)
    workers.start(3)
    yield workers
    workers.stop_all()


@pytest.fixture
def workers(worker_env):
    """Workers of the test's own, for tests that kill them or change their settings."""
    processes = WorkerProcesses(worker_env)
    yield processes
    processes.stop_all()


class AsgiServer:
    """The application served by daphne (python -m project.web) in a process of its own, as in
    production: HTTP, websockets and SSE, against the test database and Redis."""

    def __init__(self, env: dict, log_dir: Path):
        self.env = env
        self.access_log = log_dir / "access.log"
        self.output = log_dir / "daphne.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.start()

    def start(self) -> None:
        """Serve on the server's port (again, after stop(): the same address, as a restart)."""
        with open(self.output, "ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "project.web", "-b", "127.0.0.1", "-p", str(self.port),
                 "--access-log", str(self.access_log), "project.asgi:application"],
                env=self.env, cwd=BASE_DIR, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited at start: {self.output.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"daphne did not listen within {timeout} s")

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def asgi_server(worker_env, tmp_path_factory):
    """One daphne for the session; tests that use it need committed data (transaction=True)."""
    env = {**worker_env, "SSE_STATUS_SECONDS": "1", "SSE_HEARTBEAT_SECONDS": "2"}
    server = AsgiServer(env, tmp_path_factory.mktemp("daphne"))
    yield server
    server.stop()
