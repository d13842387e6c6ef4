"""`make bench`: HTTP throughput of the job routes and rq dispatch latency, on this machine.

    .venv/bin/python -m tests.benchmarks.run [--duration 5] [--concurrency 8] [--jobs 200]

What it does, in one run (about a minute and a half):

1. Sets up a throw-away world: SQLite in a temporary VAR_DIR (or the PostgreSQL database of
   DATABASE_URL, migrated), a private redis-server (or REDIS_URL), a user and a JWT for it.
2. rq dispatch latency: one real `manage.py rqworker rpa` process per worker class
   (rq.worker.Worker, which forks a work-horse per job; jobs.worker.RpaWorker, the same with the
   job code imported before the fork; rq.worker.SimpleWorker, the default, which does not fork),
   fed one no-op job at a time (tests.automations.scripted; filtro "noop" is no step, so
   it returns at once; the API refuses an empty filtro). For each job:
   enqueue call → rq started_at (horse running) → Job.started_at (RUNNING) → COMPLETED. Then a
   burst of jobs enqueued at once, for jobs/s of one worker.
3. HTTP: daphne serving project.asgi with tests.benchmarks.settings (the app's routes plus
   `bench/trivial`), driven by a small keep-alive asyncio load generator on 127.0.0.1:
   GET bench/trivial, POST /executar/OI, GET /status/{id} (ids of the finished jobs of step 2,
   which have logs). Once with one daphne process, and once with one per CPU sharing the port
   through SO_REUSEPORT (daphne --fd). No rq worker runs meanwhile; the jobs created are removed.

Ratios are printed against the trivial view of the same server configuration; nothing is
asserted and the exit code is 0 unless the set-up itself fails. Every process started here is
in its own process group and is stopped on exit, Ctrl-C or SIGTERM.

Other worker classes can be timed with --worker-class (repeatable), another settings module
(e.g. to try a middleware order) with BENCH_SETTINGS=dotted.path; --keep-logs keeps the
temporary directory with the logs of daphne and the workers. See --help for the bounds.
"""

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PYTHON = sys.executable
MANAGE = [PYTHON, str(BASE_DIR / "manage.py")]
SETTINGS = os.environ.get("BENCH_SETTINGS", "tests.benchmarks.settings")
HOST = "127.0.0.1"
WORKER_CLASSES = ("rq.worker.Worker", "jobs.worker.RpaWorker", "rq.worker.SimpleWorker")
CNPJ = "12.345.678/0001-95"
# Targets the team asked to report against.
TARGET_CREATE_RATIO = 0.4
TARGET_STATUS_RATIO = 0.7
TARGET_DISPATCH_P50_MS = 10.0
# Hard bounds, whatever the arguments say.
MAX_REQUESTS_PER_RUN = 500_000
REQUEST_TIMEOUT = 10.0
JOB_TIMEOUT = 15.0


# --- processes ------------------------------------------------------------------------------

class Processes:
    """Children started in their own process group; stop_all() ends the groups."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.children: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], env: dict, pass_fds: tuple[int, ...] = ()) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - kept open while the child runs
        try:
            process = subprocess.Popen(
                command, env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, pass_fds=pass_fds,
            )
        finally:
            log.close()
        self.children.append((name, process))
        return process

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, process: subprocess.Popen, grace: float = 5.0) -> None:
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(process, signal.SIGKILL)  # whatever is left of the group (rq horses)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.children = [(n, p) for n, p in self.children if p is not process]

    def stop_all(self) -> None:
        for _, process in list(self.children):
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for _, process in list(self.children):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process, signal.SIGKILL)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.children.clear()


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# --- statistics -----------------------------------------------------------------------------

def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


# --- HTTP load generator --------------------------------------------------------------------

@dataclass
class LoadResult:
    name: str
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    bodies: list[bytes] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(chunks)
    else:
        body = await reader.read()
        return status, body, True
    return status, body, headers.get("connection", "").lower() == "close"


def _request_bytes(method: str, path: str, token: str | None, body: bytes | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", "Accept: application/json", "Connection: keep-alive"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def _drive(port: int, make_request, concurrency: int, warmup: float, duration: float,
                 result: LoadResult, keep_bodies: bool) -> None:
    start = time.monotonic()
    measure_from = start + warmup
    end = measure_from + duration
    budget = [MAX_REQUESTS_PER_RUN]

    async def connection_loop() -> None:
        reader = writer = None
        try:
            while time.monotonic() < end and budget[0] > 0:
                budget[0] -= 1
                if writer is None:
                    reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), REQUEST_TIMEOUT)
                sent = time.monotonic()
                try:
                    writer.write(make_request())
                    status, body, close = await asyncio.wait_for(_read_response(reader), REQUEST_TIMEOUT)
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
                    writer.close()
                    reader = writer = None
                    if sent >= measure_from:
                        result.errors += 1
                    continue
                done = time.monotonic()
                if keep_bodies and 200 <= status < 300:
                    result.bodies.append(body)
                if sent >= measure_from and done <= end:
                    result.requests += 1
                    result.latencies.append(done - sent)
                    result.statuses[status] = result.statuses.get(status, 0) + 1
                    if not 200 <= status < 300:
                        result.errors += 1
                if close:
                    writer.close()
                    reader = writer = None
        finally:
            if writer is not None:
                writer.close()

    await asyncio.gather(*(connection_loop() for _ in range(concurrency)))
    result.seconds = duration


def run_load(name: str, port: int, make_request, args, keep_bodies: bool = False) -> LoadResult:
    result = LoadResult(name)
    asyncio.run(_drive(port, make_request, args.concurrency, args.warmup, args.duration, result, keep_bodies))
    return result


def wait_http(port: int, path: str, processes: list[subprocess.Popen], timeout: float = 60.0) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"daphne exited with code {process.returncode} at start")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"daphne did not answer on port {port} within {timeout} s")


# --- the benchmark --------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="console-bench-"))
        self.procs = Processes(self.tmp)
        self.env: dict[str, str] = {}
        self.external_db = bool(os.environ.get("DATABASE_URL"))
        self.external_redis = bool(os.environ.get("REDIS_URL"))
        self.user = None
        self.token = ""
        self.created_rq_ids: list[str] = []
        self.lines: list[str] = []

    # -- set-up --

    def setup(self) -> None:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, "PYTHONUNBUFFERED": "1",
               "VAR_DIR": str(self.tmp / "var"), "LOG_LEVEL": "WARNING"}
        if not self.external_redis:
            from project.localredis import start_private_redis

            env["REDIS_URL"] = start_private_redis()  # stopped (and its directory removed) at exit
        self.env = env
        os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "VAR_DIR", "REDIS_URL", "LOG_LEVEL")})
        migrate = subprocess.run([*MANAGE, "migrate", "--no-input", "-v", "0"], env=env, cwd=BASE_DIR,
                                 capture_output=True, text=True, timeout=120)
        if migrate.returncode:
            raise RuntimeError(f"migrate failed:\n{migrate.stdout}\n{migrate.stderr}")

        import django

        django.setup()
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Permission
        from rest_framework_simplejwt.tokens import RefreshToken

        from jobs.queues import RPA_QUEUE, redis_connection

        self.user = get_user_model().objects.create_user(f"bench-{uuid.uuid4().hex[:8]}", password=None)
        self.user.user_permissions.add(Permission.objects.get(content_type__app_label="jobs", codename="add_job"))
        self.token = str(RefreshToken.for_user(self.user).access_token)
        db = settings.DATABASES["default"]
        self.out(f"Database: {db['ENGINE'].rsplit('.', 1)[-1]} {db['NAME']}  (CONN_MAX_AGE={db['CONN_MAX_AGE']})")
        self.out(f"Redis:    {'REDIS_URL (external)' if self.external_redis else 'private redis-server'} "
                 f"{env['REDIS_URL']}")
        self.out(f"CPUs: {os.cpu_count()}  Python {sys.version.split()[0]}  DEBUG={settings.DEBUG}  "
                 f"settings={SETTINGS}")
        from rq import Worker

        busy = [w.name for w in Worker.all(connection=redis_connection()) if RPA_QUEUE in w.queue_names()]
        if busy:
            self.out(f"WARNING: other rq workers already listen on '{RPA_QUEUE}': {busy}; figures are unreliable.")

    def out(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)

    # -- rq dispatch --

    def start_worker(self, worker_class: str) -> tuple[subprocess.Popen, str]:
        from rq import Worker

        from jobs.queues import redis_connection

        name = f"bench-{worker_class.rsplit('.', 1)[-1].lower()}-{uuid.uuid4().hex[:6]}"
        process = self.procs.start(name, [*MANAGE, "rqworker", "rpa", "--worker-class", worker_class,
                                          "--name", name], self.env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"worker exited with {process.returncode}:\n{self.procs.log_tail(name)}")
            if any(w.name == name for w in Worker.all(connection=redis_connection())):
                return process, name
            time.sleep(0.05)
        raise RuntimeError(f"worker {name} did not register within 60 s")

    def new_job(self, number: int):
        from jobs.models import Job
        from jobs.services.lifecycle import account_key_for

        login = f"bench{number}@example.com"
        return Job.objects.create(
            kind="OI", params={"filtro": "noop", "cnpj": CNPJ}, secrets={"login": login, "senha": "bench"},
            account_key=account_key_for(kind="OI", login=login), owner=self.user,
        )

    def wait_finished(self, job_ids: list, timeout: float) -> dict:
        from jobs.models import Job, JobStatus

        pending = set(job_ids)
        rows = {}
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for row in Job.objects.filter(pk__in=pending, status__in=Job.FINISHED).values(
                "id", "status", "created_at", "started_at", "completed_at"
            ):
                rows[row["id"]] = row
                pending.discard(row["id"])
            if pending:
                time.sleep(0.003 if len(job_ids) == 1 else 0.05)
        failed = [r for r in rows.values() if r["status"] != JobStatus.COMPLETED]
        if failed:
            self.out(f"  note: {len(failed)} job(s) ended {failed[0]['status']}")
        return rows

    def wait_worker_idle(self, name: str, timeout: float = 5.0) -> None:
        from rq import Worker

        from jobs.queues import redis_connection

        key = Worker.redis_worker_namespace_prefix + name
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = redis_connection().hget(key, "state")
            if state == b"idle":
                break
            time.sleep(0.002)
        time.sleep(0.02)  # let the worker get back into its blocking pop

    def dispatch(self, worker_class: str) -> dict:
        from rq.job import Job as RqJob

        from jobs.queues import redis_connection
        from jobs.services.lifecycle import job_enqueue

        args = self.args
        process, name = self.start_worker(worker_class)
        try:
            # Warm-up: imports, first connections.
            for number in range(5):
                job = self.new_job(number)
                job_enqueue(job=job)
                self.wait_finished([job.id], JOB_TIMEOUT)
                self.wait_worker_idle(name)

            samples = []
            phase_deadline = time.monotonic() + args.dispatch_seconds
            for number in range(args.jobs):
                if time.monotonic() > phase_deadline:
                    self.out(f"  note: stopped after {number} jobs (time bound {args.dispatch_seconds} s)")
                    break
                job = self.new_job(number)
                enqueued = time.time()
                job_enqueue(job=job)
                row = self.wait_finished([job.id], JOB_TIMEOUT).get(job.id)
                if row is None or row["started_at"] is None:
                    self.out(f"  note: job {job.id} did not finish within {JOB_TIMEOUT} s")
                    continue
                rq_job = RqJob.fetch(str(job.id), connection=redis_connection())
                rq_started = _aware(rq_job.started_at).timestamp() if rq_job.started_at else float("nan")
                samples.append({
                    "id": job.id,
                    "pickup": rq_started - enqueued,
                    "running": row["started_at"].timestamp() - enqueued,
                    "created_running": (row["started_at"] - row["created_at"]).total_seconds(),
                    "completed": row["completed_at"].timestamp() - enqueued,
                })
                self.wait_worker_idle(name)

            # Burst: jobs enqueued back to back, one worker, how many per second.
            burst_jobs = [self.new_job(number) for number in range(args.burst)]
            started = time.monotonic()
            for job in burst_jobs:
                job_enqueue(job=job)
            rows = self.wait_finished([j.id for j in burst_jobs], args.dispatch_seconds)
            burst_seconds = time.monotonic() - started
            return {"samples": samples, "burst_done": len(rows), "burst_seconds": burst_seconds}
        finally:
            self.procs.stop(process)

    # -- HTTP --

    def start_daphne(self, count: int) -> tuple[int, list[subprocess.Popen]]:
        command = [PYTHON, "-m", "daphne", "--access-log", str(self.tmp / "access.log")]
        if count == 1:
            port = _free_port()
            processes = [self.procs.start("daphne", [*command, "-b", HOST, "-p", str(port),
                                                     "project.asgi:application"], self.env)]
        else:
            # One listening socket per process on the same port: the kernel spreads connections.
            sockets = []
            port = 0
            for _ in range(count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                sock.bind((HOST, port))
                port = sock.getsockname()[1]
                sock.listen(1024)
                sockets.append(sock)
            processes = []
            try:
                for number, sock in enumerate(sockets):
                    processes.append(self.procs.start(
                        f"daphne-{number}", [*command, "--fd", str(sock.fileno()), "project.asgi:application"],
                        self.env, pass_fds=(sock.fileno(),),
                    ))
            finally:
                for sock in sockets:
                    sock.close()
        # Fresh connections land on the processes at random (SO_REUSEPORT): probe a few times so
        # that every process has most likely answered once before the warm-up starts.
        for _ in range(1 if count == 1 else 8 * count):
            wait_http(port, "/bench/trivial", processes)
        return port, processes

    def http_round(self, count: int, status_ids: list[str]) -> dict[str, LoadResult]:
        port, processes = self.start_daphne(count)
        try:
            trivial = _request_bytes("GET", "/bench/trivial", None, None)
            results = {"trivial": run_load("GET /bench/trivial", port, lambda: trivial, self.args)}

            body = json.dumps({"login": "bench@example.com", "senha": "bench", "filtro": "noop", "cnpj": CNPJ}).encode()
            create = _request_bytes("POST", "/executar/OI", self.token, body)
            results["create"] = run_load("POST /executar/OI", port, lambda: create, self.args, keep_bodies=True)
            for raw in results["create"].bodies:
                try:
                    self.created_rq_ids.append(json.loads(raw)["job_id"])
                except (ValueError, KeyError):
                    pass
            results["create"].bodies.clear()

            status_requests = [_request_bytes("GET", f"/status/{i}", self.token, None) for i in status_ids]
            position = [0]

            def next_status() -> bytes:
                position[0] = (position[0] + 1) % len(status_requests)
                return status_requests[position[0]]

            results["status"] = run_load("GET /status/{id}", port, next_status, self.args)
            return results
        finally:
            for process in processes:
                self.procs.stop(process)
            self.remove_created_jobs()

    def remove_created_jobs(self) -> None:
        """Take the jobs the POST round created off the rpa queue (no worker ran them)."""
        from rq import Queue

        from jobs.queues import RPA_QUEUE, redis_connection

        connection = redis_connection()
        rq_queue = Queue(RPA_QUEUE, connection=connection)
        ids, self.created_rq_ids = self.created_rq_ids, []
        for start in range(0, len(ids), 500):
            with connection.pipeline() as pipe:
                for job_id in ids[start: start + 500]:
                    rq_queue.remove(job_id, pipeline=pipe)
                    pipe.delete(rq_queue.job_class.key_for(job_id))
                pipe.execute()

    def cleanup_database(self) -> None:
        """On an external database, remove what the benchmark stored (its user and jobs)."""
        if not self.external_db or self.user is None:
            return
        from jobs.models import Job

        Job.objects.filter(owner=self.user).delete()
        self.user.delete()

    # -- report --

    def report_dispatch(self, figures: dict[str, dict]) -> None:
        self.out()
        self.out(f"rq dispatch latency: one idle worker, one no-op job at a time ({self.args.jobs} jobs), ms")
        header = f"{'worker class':<24}{'':>4}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}"
        self.out(header)
        self.out("-" * len(header))
        for worker_class, data in figures.items():
            samples = data["samples"]
            short = worker_class.rsplit(".", 1)[-1]
            for key, label in (("pickup", "enqueue → rq started (horse runs)"),
                               ("running", "enqueue → Job RUNNING (started_at)"),
                               ("created_running", "created_at → started_at"),
                               ("completed", "enqueue → Job COMPLETED")):
                values = [s[key] for s in samples]
                self.out(f"{short:<24}{'':>4}{fmt_ms(percentile(values, .5))} {fmt_ms(percentile(values, .9))}"
                         f" {fmt_ms(percentile(values, .99))} {fmt_ms(max(values) if values else float('nan'))}"
                         f"   {label}")
        self.out()
        for worker_class, data in figures.items():
            short = worker_class.rsplit(".", 1)[-1]
            p50 = percentile([s["running"] for s in data["samples"]], .5) * 1000
            verdict = "meets" if p50 <= TARGET_DISPATCH_P50_MS else "MISSES"
            rate = data["burst_done"] / data["burst_seconds"] if data["burst_seconds"] else 0
            self.out(f"{short:<14} dispatch p50 {p50:6.1f} ms (target ≤ {TARGET_DISPATCH_P50_MS:.0f} ms: {verdict});"
                     f"  burst of {self.args.burst}: {data['burst_done']} done in {data['burst_seconds']:.2f} s"
                     f" = {rate:.0f} jobs/s on one worker")

    def report_http(self, rounds: dict[int, dict[str, LoadResult]]) -> None:
        self.report_ratios("HTTP", rounds, (("trivial", None), ("create", TARGET_CREATE_RATIO),
                                            ("status", TARGET_STATUS_RATIO)), route_width=22)

    def report_ratios(self, title: str, rounds: dict[int, dict[str, LoadResult]],
                      routes: tuple[tuple[str, float | None], ...], *, route_width: int) -> None:
        """A table of each route's requests/s as a ratio to the first route's (the trivial
        view), per number of daphne processes, with its target where it has one."""
        self.out()
        self.out(f"{title}: daphne, {self.args.concurrency} keep-alive connections, "
                 f"{self.args.warmup:g} s warm-up + {self.args.duration:g} s per route")
        header = (f"{'daphne':<8}{'route':<{route_width}}{'req/s':>9}{'× trivial':>11}  {'target':<9}"
                  f"{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        self.out(header)
        self.out("-" * len(header))
        for count, results in rounds.items():
            base = results[routes[0][0]].rps
            for key, target in routes:
                r = results[key]
                ratio = r.rps / base if base else float("nan")
                mark = "" if target is None else (f"≥{target:g}" + (" ok" if ratio >= target else " MISS"))
                self.out(f"{count:<8}{r.name:<{route_width}}{r.rps:9.0f}{ratio:11.2f}  {mark:<9}"
                         f"{fmt_ms(percentile(r.latencies, .5)):>9}{fmt_ms(percentile(r.latencies, .99)):>9}"
                         f"{r.errors:8d}")
                odd = {s: n for s, n in r.statuses.items() if not 200 <= s < 300}
                if odd:
                    self.out(f"{'':<8}  non-2xx answers: {odd}")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per HTTP route (max 60)")
    parser.add_argument("--warmup", type=float, default=1.5, help="seconds of warm-up per HTTP route (max 10)")
    parser.add_argument("--concurrency", type=int, default=8, help="keep-alive connections (max 256)")
    parser.add_argument("--jobs", type=int, default=200, help="jobs timed one at a time per worker class")
    parser.add_argument("--burst", type=int, default=100, help="jobs enqueued at once per worker class")
    parser.add_argument("--dispatch-seconds", type=float, default=45.0,
                        help="time bound of each worker class's timed and burst phases")
    parser.add_argument("--processes", type=int, default=min(os.cpu_count() or 1, 4),
                        help="daphne processes of the second HTTP round (SO_REUSEPORT); 1 skips it")
    parser.add_argument("--worker-class", dest="worker_classes", action="append", metavar="DOTTED_PATH",
                        help=f"rq worker class to time (repeatable); default: {', '.join(WORKER_CLASSES)}")
    parser.add_argument("--keep-logs", action="store_true", help="keep the temporary directory with the logs")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-rq", action="store_true")
    args = parser.parse_args(argv)
    args.duration = min(max(args.duration, 0.5), 60)
    args.warmup = min(max(args.warmup, 0), 10)
    args.concurrency = min(max(args.concurrency, 1), 256)
    args.jobs = min(max(args.jobs, 1), 5000)
    args.burst = min(max(args.burst, 0), 5000)
    args.dispatch_seconds = min(max(args.dispatch_seconds, 1), 300)
    args.processes = min(max(args.processes, 1), 16)
    args.worker_classes = args.worker_classes or list(WORKER_CLASSES)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    bench = Bench(args)
    started = time.monotonic()
    try:
        bench.setup()
        dispatch = {}
        status_ids: list[str] = []
        if not args.skip_rq:
            for worker_class in args.worker_classes:
                bench.out(f"… rq dispatch with {worker_class}")
                dispatch[worker_class] = bench.dispatch(worker_class)
                status_ids += [str(s["id"]) for s in dispatch[worker_class]["samples"]]
        if not status_ids:  # --skip-rq: status of jobs nobody ran
            status_ids = [str(bench.new_job(n).id) for n in range(50)]
        rounds = {}
        if not args.skip_http:
            for count in sorted({1, args.processes}):
                bench.out(f"… HTTP with {count} daphne process(es)")
                rounds[count] = bench.http_round(count, status_ids)
        if dispatch:
            bench.report_dispatch(dispatch)
        if rounds:
            bench.report_http(rounds)
        bench.out()
        bench.out(f"Total {time.monotonic() - started:.0f} s."
                  + (f" Logs of the processes: {bench.tmp}" if args.keep_logs else ""))
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted; stopping everything", file=sys.stderr)
        return 130
    finally:
        bench.procs.stop_all()
        try:
            if bench.user is not None:
                bench.remove_created_jobs()
                bench.cleanup_database()
        except Exception as exc:  # noqa: BLE001 - clean-up is best effort
            print(f"clean-up: {exc}", file=sys.stderr)
        if not args.keep_logs:
            shutil.rmtree(bench.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
