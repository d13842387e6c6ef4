"""PostgreSQL restarts while the console is under load: 503s while it is down, recovery by itself
after, and nothing half-written.

The database is a private PostgreSQL cluster this test creates in a temporary folder (never the
shared server), on a free port; the console is the real supervisor (make run) pointed at it.
"""

import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.ports import free_port
from tests.supervised import SupervisedConsole

pytestmark = [pytest.mark.worker]

POSTGRES_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


class PrivatePostgres:
    """initdb + pg_ctl in a folder of its own, run as the `postgres` user when we are root
    (initdb refuses root), as CI is."""

    def __init__(self):
        self.bin = Path(POSTGRES_BIN[-1])
        self.directory = Path(tempfile.mkdtemp(prefix="console-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/console"
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
            self.directory.chmod(0o700)

    def run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def create(self) -> "PrivatePostgres":
        self.run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()
        self.run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "console")
        return self

    def start(self) -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "server.log"), "-w",
                 "-o", f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1", "start")

    def stop(self) -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.directory, ignore_errors=True)


class Load(threading.Thread):
    """Creates jobs and reads the API and the dashboard, over and over; keeps every answer."""

    def __init__(self, console: SupervisedConsole):
        super().__init__(daemon=True)
        self.console = console
        self.token = console.token()
        self.session = console.staff_session()
        self.answers: list[tuple[str, int | str]] = []
        self.accepted: list[str] = []
        self.refused_creations = 0
        self._done = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        number = 0
        while not self._done.is_set():
            number += 1
            body = {"login": f"carga{number % 4}@empresa.com.br", "senha": "sandbox123",
                    "cnpj": "12.345.678/0001-95", "filtro": "progress:50;sleep:0.3"}
            self._ask("create", lambda body=body: requests.post(f"{self.console.url}/executar/OI", json=body,
                                                                headers=headers, timeout=30))
            self._ask("list", lambda: requests.get(f"{self.console.url}/jobs", headers=headers, timeout=30))
            self._ask("health", lambda: requests.get(f"{self.console.url}/health", timeout=30))
            self._ask("page", lambda: self.session.get(f"{self.console.url}/painel/jobs/", timeout=30))
            self._done.wait(0.2)

    def _ask(self, what: str, request) -> None:
        try:
            response = request()
        except requests.RequestException as exc:
            self.answers.append((what, type(exc).__name__))
            return
        self.answers.append((what, response.status_code))
        if what == "create":
            if response.status_code == 200:
                self.accepted.append(response.json()["job_id"])
            else:
                self.refused_creations += 1
        if response.status_code == 503:
            assert response.headers.get("Retry-After"), (what, response.text)

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=60)


@pytest.mark.skipif(not POSTGRES_BIN or not shutil.which("runuser"),
                    reason="needs PostgreSQL's server binaries (/usr/lib/postgresql/*/bin) and runuser")
def test_a_database_restart_under_load_gives_503s_then_recovers_with_nothing_half_written(tmp_path):
    database = PrivatePostgres().create()
    console = SupervisedConsole(tmp_path, DATABASE_URL=database.url)
    try:
        console.start(timeout=120)
        load = Load(console)
        load.start()
        try:
            console.wait_for(lambda: len(load.accepted) >= 5, 60, "some jobs before the restart")
            database.stop()
            down_from = len(load.answers)
            time.sleep(8)
            down_answers = load.answers[down_from:]
            database.start()
            console.wait_for(lambda: console.get("/health", auth=False).status_code == 200, 60,
                             "/health to recover")
            back_from = len(load.answers)
            console.wait_for(lambda: len(load.answers) >= back_from + 20, 60, "requests after the restart")
        finally:
            load.stop()

        statuses = {status for _, status in load.answers}
        assert statuses <= {200, 503}, [a for a in load.answers if a[1] not in (200, 503)]
        assert any(status == 503 for _, status in down_answers), down_answers
        assert {status for _, status in load.answers[back_from:]} == {200}, load.answers[back_from:]

        # Every accepted job exists and ends; a refused one left nothing behind.
        finished = [console.wait_until_finished(job_id, timeout=90) for job_id in load.accepted]
        assert console.get("/jobs").json()["total_jobs"] == len(load.accepted)
        for job in finished:
            if job["status"] == "COMPLETED":
                assert job["result"] and job["completed_at"] and job["progress"] == 100, job
            else:
                assert job["error"] and job["completed_at"], job
        assert sum(job["status"] == "COMPLETED" for job in finished) >= len(finished) - 4
        assert "Traceback" not in console.log.split("Console running")[0]
        assert console.stop() == 0
    finally:
        console.kill()
        database.remove()
