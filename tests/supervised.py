"""`make run` as a test sees it: the real supervisor (python -m project.supervisor) in a process
of its own, with its own var/ folder, port, private Redis and SQLite database, spoken to over
HTTP only. The test settings give it the scripted automation and short timers."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.ports import free_port

BASE_DIR = Path(__file__).resolve().parent.parent
ADMIN = ("admin", "senha-do-admin-de-teste")
# Variables of the test run that must not leak into the console under test.
NOT_INHERITED = ("REDIS_URL", "DATABASE_URL", "DJANGO_SUPERUSER_USERNAME", "DJANGO_SUPERUSER_PASSWORD",
                 "DJANGO_SECRET_KEY", "JWT_SIGNING_KEY", "FIELD_ENCRYPTION_KEYS")


class SupervisedConsole:
    def __init__(self, directory: Path, **env: str):
        self.directory = directory
        self.var_dir = directory / "var"
        self.log_path = directory / "console.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in NOT_INHERITED},
            "DJANGO_SETTINGS_MODULE": "project.settings.test",
            "VAR_DIR": str(self.var_dir),
            "PORT": str(self.port),
            "WEB_CONCURRENCY": "1",
            "RPA_MAX_CONCURRENCY": "2",
            "SUPERVISOR_BACKOFF_SECONDS": "0.5",
            "JOB_MAINTENANCE_SECONDS": "2",
            "SHUTDOWN_GRACE_SECONDS": "5",
            "DJANGO_SUPERUSER_USERNAME": ADMIN[0],
            "DJANGO_SUPERUSER_PASSWORD": ADMIN[1],
            "LOG_LEVEL": "WARNING",
            **env,
        }
        self.process: subprocess.Popen | None = None
        self._token: str | None = None

    # --- life -------------------------------------------------------------------------------

    def start(self, timeout: float = 90.0, wait: bool = True) -> "SupervisedConsole":
        """Start the supervisor and (with `wait`) wait until every process is up and /health is 200."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "project.supervisor"], env=self.env, cwd=BASE_DIR,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        if wait:
            self.wait_for(self._serving, timeout, "the console to serve with every process up")
        return self

    def stop(self, timeout: float = 90.0) -> int:
        """SIGTERM, as Ctrl-C would be; the supervisor's exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        """Leave nothing behind: the supervisor, and every process a failed test left running with
        this console's var/ (found by their environment or working folder, so even a supervisor's
        orphans)."""
        reported = [p["pid"] for p in self.processes() if p.get("pid")]
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in {*reported, *self._processes_of_this_console()}:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.process is not None:
            self.process.wait(timeout=10)

    def _processes_of_this_console(self) -> list[int]:
        marker = f"VAR_DIR={self.var_dir}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                # redis-server writes its title over its environment: it is known by its folder.
                if (marker in (entry / "environ").read_bytes().split(b"\0")
                        or os.readlink(entry / "cwd") == str(self.var_dir)):
                    found.append(int(entry.name))
            except OSError:
                continue
        return found

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def processes(self) -> list[dict]:
        try:
            return json.loads((self.var_dir / "processes.json").read_text())["processes"]
        except (OSError, ValueError, KeyError):
            return []

    def pid_of(self, name: str) -> int | None:
        return next((p["pid"] for p in self.processes() if p["name"] == name), None)

    def wait_for(self, predicate, timeout: float, message: str, interval: float = 0.2):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the supervisor exited ({self.process.returncode}):\n{self.log[-3000:]}")
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout} s waiting for {message}:\n{self.log[-3000:]}")

    def _serving(self) -> bool:
        if any(p["state"] != "running" for p in self.processes()):
            return False
        try:
            return self.get("/health", auth=False).status_code == 200
        except requests.RequestException:
            return False

    # --- HTTP -------------------------------------------------------------------------------

    def staff_session(self) -> requests.Session:
        """A browser-like session logged in through the staff login page."""
        session = requests.Session()
        session.get(f"{self.url}/accounts/login/", timeout=30)
        response = session.post(f"{self.url}/accounts/login/", timeout=30, data={
            "username": ADMIN[0], "password": ADMIN[1], "csrfmiddlewaretoken": session.cookies["csrftoken"],
        }, headers={"Referer": f"{self.url}/accounts/login/"})
        response.raise_for_status()
        return session

    def token(self) -> str:
        if self._token is None:
            response = requests.post(f"{self.url}/auth/login", json=dict(zip(("username", "password"), ADMIN,
                                                                           strict=True)), timeout=30)
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return self._token

    def get(self, path: str, *, auth: bool = True, timeout: float = 30) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token()}"} if auth else {}
        return requests.get(f"{self.url}{path}", headers=headers, timeout=timeout)

    def post(self, path: str, body: dict, timeout: float = 30) -> requests.Response:
        return requests.post(f"{self.url}{path}", json=body, timeout=timeout,
                             headers={"Authorization": f"Bearer {self.token()}"})

    def job_start(self, script: str, login: str = "cliente@empresa.com.br") -> str:
        response = self.post("/executar/OI", {"login": login, "senha": "sandbox123",
                                              "cnpj": "12.345.678/0001-95", "filtro": script})
        assert response.status_code == 200, response.text
        return response.json()["job_id"]

    def job(self, job_id: str) -> dict:
        response = self.get(f"/status/{job_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def wait_until_finished(self, job_id: str, timeout: float) -> dict:
        return self.wait_for(lambda: (job := self.job(job_id))["status"] in ("COMPLETED", "FAILED") and job,
                             timeout, f"job {job_id} to finish", interval=0.5)
