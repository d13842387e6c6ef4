"""`make run` keeps running through faults, and stops in order.

Each test drives the real supervisor (python -m project.supervisor) with its own var/, port and
private Redis; the faults are done to the processes it started: kill -9 a worker, SIGSTOP Redis,
kill Redis.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

from jobs.services import maintenance
from jobs.services.runner import CONSOLE_STOPPED
from tests.supervised import ADMIN, BASE_DIR, SupervisedConsole

pytestmark = [pytest.mark.worker]


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    console = SupervisedConsole(tmp_path_factory.mktemp("console"))
    try:
        yield console.start()
    finally:
        console.kill()


class Availability(threading.Thread):
    """Asks GET /health twice a second while a fault is on; records each answer's status."""

    def __init__(self, console: SupervisedConsole):
        super().__init__(daemon=True)
        self.console = console
        self.answers: list[int | str] = []
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            try:
                self.answers.append(self.console.get("/health", auth=False, timeout=20).status_code)
            except requests.RequestException as exc:
                self.answers.append(type(exc).__name__)
            self._done.wait(0.5)

    def __enter__(self) -> "Availability":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self.join(timeout=30)


def test_a_worker_killed_with_sigkill_comes_back_and_its_job_ends_failed(console, tmp_path):
    pidfile = tmp_path / "worker.pid"
    job_id = console.job_start(f"pidfile:{pidfile};sleep:60")
    console.wait_for(lambda: pidfile.exists() and pidfile.read_text(), 30, "the job to start")
    victim = int(pidfile.read_text())
    name = next(p["name"] for p in console.processes() if p["pid"] == victim)

    with Availability(console) as availability:
        os.kill(victim, signal.SIGKILL)
        started = time.monotonic()
        console.wait_for(lambda: console.pid_of(name) not in (None, victim), 30, f"{name} to be restarted")
        job = console.wait_until_finished(job_id, timeout=45)
        took = time.monotonic() - started
        assert console.job_start("progress:50") and True

    assert job["status"] == "FAILED"
    assert job["error"] == maintenance.WORKER_DIED
    assert console.get(f"/api/v1/jobs/{job_id}/").json()["error_category"] == "worker"
    assert took < 45
    # The console went on answering throughout, every answer a 200.
    assert availability.answers and set(availability.answers) == {200}, availability.answers
    assert f"{name} was killed by SIGKILL; restarting it in" in console.log
    # Every other process was left alone.
    assert all(p["restarts"] == 0 for p in console.processes() if p["name"] != name)
    # The overview counts the workers that are up: two rpa workers, the default one, the chatbot's
    # and the Seller Bot's, not the killed worker as well (rq keeps its record for minutes).
    figures = console.staff_session().get(f"{console.url}/painel/?parte=numeros", timeout=30).text
    assert re.search(r'data-stat="workers">(\d+)<', figures).group(1) == "5"
    assert "de 5 iniciados" in figures


def test_a_35_second_redis_stall_gives_503s_then_the_console_recovers_by_itself_and_loses_no_job(console):
    redis_pid = console.pid_of("redis")
    total_before = console.get("/jobs").json()["total_jobs"]
    # Two jobs running across the stall, and one waiting in the queue behind them.
    accepted = [console.job_start("sleep:6", login=f"longo{n}@empresa.com.br") for n in range(2)]
    console.wait_for(lambda: all(console.job(j)["status"] == "RUNNING" for j in accepted), 30, "both to run")
    accepted.append(console.job_start("progress:50", login="fila@empresa.com.br"))

    with Availability(console) as availability:
        os.kill(redis_pid, signal.SIGSTOP)
        try:
            stalled_at = time.monotonic()
            health = console.get("/health", auth=False)
            assert health.status_code == 503
            assert health.json()["status"] == "unhealthy" and "Redis" in health.json()["message"]
            refused = console.post("/executar/OI", {"login": "durante@empresa.com.br", "senha": "sandbox123",
                                                    "cnpj": "12.345.678/0001-95", "filtro": "progress:50"})
            assert refused.status_code == 503, refused.text
            assert refused.headers["Retry-After"] == "5"
            assert "Fila de execução indisponível" in refused.json()["detail"]
            # Reads that need only the database go on.
            assert console.get("/jobs").status_code == 200
            time.sleep(max(0.0, 35 - (time.monotonic() - stalled_at)))
        finally:
            os.kill(redis_pid, signal.SIGCONT)
        console.wait_for(lambda: console.get("/health", auth=False).status_code == 200, 30, "/health to recover")

    finished = [console.wait_until_finished(job_id, timeout=60) for job_id in accepted]
    assert [job["status"] for job in finished] == ["COMPLETED"] * 3, finished
    # The refused job left nothing behind; nothing answered with a server error.
    assert console.get("/jobs").json()["total_jobs"] == total_before + 3
    assert {200, 503} >= set(availability.answers), availability.answers
    assert console.pid_of("redis") == redis_pid


def test_when_redis_dies_it_is_restarted_with_its_queue_and_every_job_still_runs(console):
    redis_pid = console.pid_of("redis")
    accepted = [console.job_start("sleep:3", login=f"antes{n}@empresa.com.br") for n in range(2)]
    accepted.append(console.job_start("progress:50", login="na-fila@empresa.com.br"))

    with Availability(console) as availability:
        os.kill(redis_pid, signal.SIGKILL)
        console.wait_for(lambda: console.pid_of("redis") not in (None, redis_pid), 30, "Redis to be restarted")
        console.wait_for(lambda: console.get("/health", auth=False).status_code == 200, 30, "/health to recover")
        after = console.job_start("progress:50", login="depois@empresa.com.br")

    finished = [console.wait_until_finished(job_id, timeout=60) for job_id in [*accepted, after]]
    assert [job["status"] for job in finished] == ["COMPLETED"] * 4, finished
    assert {200, 503} >= set(availability.answers), availability.answers
    assert "redis was killed by SIGKILL; restarting it in" in console.log


def test_manage_py_in_the_same_checkout_issues_tokens_the_running_console_accepts(console):
    """The README's issue_integration_token, run as an operator would: only VAR_DIR in common."""
    env = {k: v for k, v in console.env.items() if k not in ("DJANGO_SECRET_KEY", "JWT_SIGNING_KEY")}
    result = subprocess.run([sys.executable, "manage.py", "issue_integration_token", ADMIN[0]], env=env,
                            cwd=BASE_DIR, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    token = max(result.stdout.split(), key=len)
    response = requests.get(f"{console.url}/jobs", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200, response.text


def test_an_orderly_stop_lets_jobs_finish_within_the_grace_then_stops_the_rest_and_redis_last(console):
    """Last in this module: it stops the console."""
    quick = console.job_start("sleep:2;artifact:recibo.pdf", login="rapido@empresa.com.br")
    slow = console.job_start("sleep:60", login="lento@empresa.com.br")
    console.wait_for(lambda: all(console.job(j)["status"] == "RUNNING" for j in (quick, slow)), 30, "both to run")
    # A live stream open across the stop, as a dashboard's would be.
    stream = requests.get(f"{console.url}/events/logs?token={console.token()}", stream=True, timeout=30)
    assert stream.status_code == 200
    log_before = len(console.log)

    assert console.stop() == 0
    stream.close()
    stop_log = console.log[log_before:]

    jobs = _jobs_in_database(console, quick, slow)
    assert jobs[quick] == ("COMPLETED", None, None)
    assert jobs[slow] == ("FAILED", CONSOLE_STOPPED, "stopped")
    assert "Traceback" not in stop_log and "Erro inesperado" not in stop_log
    lines = stop_log.strip().splitlines()
    assert lines[-1].endswith("supervisor: Console stopped: every process it started has ended.")
    # Web first, the grace for the workers, Redis last.
    order = ["stopping: the web processes first", "waiting up to 5 s", "grace over: interrupting",
             "stopping Redis last", "Redis is now ready to exit"]
    assert [stop_log.index(step) for step in order] == sorted(stop_log.index(step) for step in order)
    assert not (console.var_dir / "processes.json").exists()


def test_everything_the_console_wrote_under_var_is_private_to_its_user(console):
    """After the stop above: the database, Redis' files, the keys, the stored artifact."""
    written = list(console.var_dir.rglob("*"))
    names = {path.name for path in written}
    assert {"db.sqlite3", "appendonly.aof", "secrets.env", "recibo.pdf"} <= names, names
    assert console.var_dir.stat().st_mode & 0o777 == 0o700
    loose = [f"{path} {path.stat().st_mode & 0o777:o}" for path in written
             if not path.is_socket() and path.stat().st_mode & 0o077]
    assert loose == []


def _jobs_in_database(console, *job_ids) -> dict:
    import sqlite3
    from uuid import UUID

    with sqlite3.connect(console.var_dir / "db.sqlite3") as database:
        rows = database.execute(
            f"SELECT id, status, error, error_category FROM jobs_job WHERE id IN ({','.join('?' * len(job_ids))})",
            [UUID(job_id).hex for job_id in job_ids],
        ).fetchall()
    return {str(UUID(row[0])): (row[1], row[2], row[3] or None) for row in rows}


def test_a_process_that_keeps_crashing_is_reported_while_the_rest_keeps_serving(tmp_path):
    # Workers that cannot start: every one of them exits at once, again and again.
    console = SupervisedConsole(tmp_path, RPA_MAX_CONCURRENCY="1", RQ_WORKER_CLASS="jobs.worker.NoSuchWorker")
    try:
        console.start(wait=False)

        def reported():
            try:
                health = console.get("/health", auth=False, timeout=10)
            except requests.RequestException:
                return None
            failing = health.status_code == 503 and all(
                name in health.json()["message"] for name in ("rpa-worker-1", "default-worker"))
            return failing and health.json()

        health = console.wait_for(reported, 60, "/health to report the crashing workers")
        assert health["status"] == "unhealthy"
        assert "Processos falhando repetidamente:" in health["message"]
        assert "Redis" not in health["message"] and "banco de dados" not in health["message"]
        overview = console.staff_session().get(f"{console.url}/painel/", timeout=30)
        assert overview.status_code == 200
        assert "Reiniciando sem parar: rpa-worker-1, default-worker" in re.sub(r"<[^>]+>", "", overview.text)
        # rpa-worker-1, default-worker, chatbot-worker, tiktok-worker-1
        assert "de 4 iniciados" in overview.text
        # The web kept serving; the failing ones are still being restarted, with a growing pause.
        assert console.get("/jobs").status_code == 200
        assert "rpa-worker-1 keeps crashing (3 times in a row)" in console.log
        assert "rpa-worker-1 exited with code 1; restarting it in 2 s" in console.log
        assert console.stop() == 0
    finally:
        console.kill()


def test_with_forking_workers_a_stop_also_ends_the_running_job_as_stopped(tmp_path):
    console = SupervisedConsole(tmp_path, RPA_MAX_CONCURRENCY="1", RQ_WORKER_CLASS="jobs.worker.RpaWorker",
                                SHUTDOWN_GRACE_SECONDS="2")
    try:
        console.start()
        slow = console.job_start("sleep:60")
        console.wait_for(lambda: console.job(slow)["status"] == "RUNNING", 30, "the job to run")
        log_before = len(console.log)

        assert console.stop() == 0

        assert _jobs_in_database(console, slow)[slow] == ("FAILED", CONSOLE_STOPPED, "stopped")
        assert "Traceback" not in console.log[log_before:]
    finally:
        console.kill()
