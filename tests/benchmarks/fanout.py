"""`make bench` (third part): live-update fan-out, one job's updates to 100 websocket subscribers.

    .venv/bin/python -m tests.benchmarks.fanout [--clients 100] [--rate 10] [--seconds 10]

daphne (python -m project.web) serves the application (SQLite and a private Redis in a temporary
VAR_DIR unless DATABASE_URL / REDIS_URL are set): once as one process, once as one process per
CPU on the same port, as project.supervisor runs it. A separate process opens `--clients` websockets
to /ws/notifications (JWT in ?token=) and subscribes each to the same job. This process then
publishes `--rate` updates a second for `--seconds` through jobs.events' path (project.live, with
its coalescing) and every client notes when each update arrives: the latency from the publish
call to the client's receive, p50/p99/max.

Baseline, in the same run: the channel layer alone. As many channels as clients join one group
and receive with channels_redis directly (no daphne, no consumer, no websocket); the same
publishing pattern gives the layer's own delivery latency, and a burst gives its delivery rate
(messages a second into the group's channels). Printed: both latency figures, their ratio, and
the layer's rate against what the websocket clients received. Target: websocket p99 ≤ 50 ms.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.benchmarks.run import MANAGE, PYTHON, Processes, wait_http

BASE_DIR = Path(__file__).resolve().parent.parent.parent
END = -1000  # the progress value of the last message: clients stop on it


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="console-bench-fanout-"))
    procs = Processes(tmp)
    socket_figures = {}
    try:
        env = _prepare(tmp)
        print(f"CPUs: {os.cpu_count()}; {args.clients} subscribers, {args.rate} updates/s for {args.seconds} s",
              flush=True)
        layer = _bench_channel_layer(args)
        for count in sorted({1, os.cpu_count() or 1}):
            port, processes = _serve(procs, env, count)
            socket_figures[count] = _bench_websockets(args, port)
            for process in processes:
                procs.stop(process)
    finally:
        procs.stop_all()
    _report(layer, socket_figures, args)
    return 0


# --- the websocket path ---------------------------------------------------------------------


def _bench_websockets(args, port: int) -> dict:
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import RefreshToken

    from jobs.models import Job

    user = get_user_model().objects.create_user(f"bench-{uuid.uuid4().hex[:6]}", is_staff=True)
    job = Job.objects.create(kind="OI", owner=user, status=Job.Status.RUNNING)
    url = f"ws://127.0.0.1:{port}/ws/notifications?token={RefreshToken.for_user(user).access_token}"
    results = multiprocessing.Queue()
    ready = multiprocessing.Event()
    clients = multiprocessing.Process(
        target=_clients_process, args=(url, f"http://127.0.0.1:{port}", str(job.id), args.clients, ready, results),
    )
    clients.start()
    if not ready.wait(60):
        raise RuntimeError("the websocket clients did not all subscribe within 60 s")

    from jobs import events
    from project import live

    sent = _publish_at_rate(args, lambda data: live.publish(
        (events.job_group(job.id), events.ALL_JOBS_GROUP),
        {"type": events.UPDATE, "job_id": str(job.id), "owner_id": user.pk, "data": data},
        stream=f"job:{job.id}", latest_only=frozenset({events.UPDATE}),
    ))
    live.flush()
    latencies, received = [], 0
    for _ in range(args.clients):
        client_latencies = results.get(timeout=60)
        latencies += client_latencies
        received += len(client_latencies)
    clients.join(timeout=30)
    return {"latencies": latencies, "received": received, "expected": sent * args.clients}


def _clients_process(url: str, origin: str, job_id: str, count: int, ready, results) -> None:
    """The subscribers, in one asyncio loop of their own (threads would queue on the GIL)."""
    asyncio.run(_clients(url, origin, job_id, count, ready, results))


async def _clients(url: str, origin: str, job_id: str, count: int, ready, results) -> None:
    from websockets.asyncio.client import connect

    sockets = []
    for _ in range(count):
        ws = await connect(url, origin=origin, open_timeout=30, max_queue=None)
        await ws.recv()  # "connection"
        await ws.send(json.dumps({"action": "subscribe", "job_id": job_id}))
        await ws.recv()  # "subscribed"
        await ws.recv()  # the job's state
        sockets.append(ws)
    ready.set()

    async def listen(ws) -> list[float]:
        latencies = []
        async for frame in ws:
            arrived = time.time()
            message = json.loads(frame)
            data = message.get("data", {})
            if message.get("type") != "job_update" or "sent_at" not in data or data["warmup"]:
                continue
            if data["progress"] == END:
                break
            latencies.append((arrived - data["sent_at"]) * 1000)
        await ws.close()
        return latencies

    for latencies in await asyncio.gather(*(listen(ws) for ws in sockets)):
        results.put(latencies)


# --- the channel layer alone ----------------------------------------------------------------


def _bench_channel_layer(args) -> dict:
    return asyncio.run(_layer_run(args))


async def _layer_run(args) -> dict:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    group = f"bench.{uuid.uuid4().hex[:8]}"
    channels = [await layer.new_channel() for _ in range(args.clients)]
    for channel in channels:
        await layer.group_add(group, channel)
    latencies: list[float] = []

    async def receive(channel):
        while True:
            message = await layer.receive(channel)
            if message["progress"] == END:
                return
            if message["progress"] >= 0:
                latencies.append((time.time() - message["sent_at"]) * 1000)

    receivers = [asyncio.ensure_future(receive(channel)) for channel in channels]
    interval = 1 / args.rate
    for step in range(-args.rate, args.rate * args.seconds):  # a second of warm-up first
        await layer.group_send(group, {"type": "bench", "progress": step, "sent_at": time.time()})
        await asyncio.sleep(interval)
    await layer.group_send(group, {"type": "bench", "progress": END, "sent_at": time.time()})
    await asyncio.gather(*receivers)

    # Delivery rate: a burst into the group (channels_redis default capacity: 100 per channel).
    burst = 50
    began = time.perf_counter()
    counts = await asyncio.gather(*(asyncio.ensure_future(_drain(layer, channel, burst)) for channel in channels),
                                  _send_burst(layer, group, burst))
    rate = sum(counts[:-1]) / (time.perf_counter() - began)
    for channel in channels:
        await layer.group_discard(group, channel)
    return {"latencies": latencies, "rate": rate}


async def _send_burst(layer, group: str, count: int) -> int:
    for step in range(count):
        await layer.group_send(group, {"type": "bench", "progress": step, "sent_at": time.time()})
    return 0


async def _drain(layer, channel: str, count: int) -> int:
    for _ in range(count):
        await layer.receive(channel)
    return count


# --- helpers --------------------------------------------------------------------------------


def _publish_at_rate(args, publish) -> int:
    """`--seconds` of updates at `--rate`, after a second of warm-up updates the clients ignore
    (the first ones also pay for starting the publisher and every connection on the way)."""
    interval = 1 / args.rate
    next_at = time.monotonic()
    count = args.rate * args.seconds
    for step in range(-args.rate, count):
        publish({"status": "RUNNING", "progress": step % 100, "operadora": "OI", "sent_at": time.time(),
                 "warmup": step < 0})
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    publish({"status": "RUNNING", "progress": END, "operadora": "OI", "sent_at": time.time(), "warmup": False})
    return count


def _report(layer: dict, sockets: dict[int, dict], args) -> None:
    def figures(values: list[float]) -> tuple[float, float, float]:
        ordered = sorted(values)
        return statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1], ordered[-1]

    ly50, ly99, lymax = figures(layer["latencies"])
    print(f"\nFan-out: 1 job, {args.clients} subscribers, {args.rate} updates/s, {args.seconds} s", flush=True)
    print(f"{'path':<44}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'p50 ×':>8}{'p99 ×':>8}", flush=True)
    print(f"{'channel layer alone (baseline)':<44}{ly50:>9.2f}{ly99:>9.2f}{lymax:>9.2f}", flush=True)
    for count, run in sockets.items():
        ws50, ws99, wsmax = figures(run["latencies"])
        label = f"publish → websocket client, {count} daphne"
        print(f"{label:<44}{ws50:>9.2f}{ws99:>9.2f}{wsmax:>9.2f}{ws50 / ly50:>8.1f}{ws99 / ly99:>8.1f}"
              f"   p99 ≤ 50 ms: {'met' if ws99 <= 50 else 'NOT met'}; "
              f"delivered {run['received']} of {run['expected']}", flush=True)
    print(f"channel layer delivery rate (burst into {args.clients} channels): {layer['rate']:.0f} msg/s; "
          f"the websocket runs delivered {args.clients * args.rate} msg/s", flush=True)


def _prepare(tmp: Path) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings.base", "DJANGO_DEBUG": "0",
           "VAR_DIR": str(tmp / "var"), "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    if not env.get("REDIS_URL"):
        from project.localredis import start_private_redis

        env["REDIS_URL"] = start_private_redis()
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG", "VAR_DIR", "LOG_LEVEL",
                                          "REDIS_URL")})
    subprocess.run([*MANAGE, "migrate", "--no-input", "-v", "0"], env=env, cwd=BASE_DIR, check=True, timeout=120)

    import django

    django.setup()
    return env


def _serve(procs: Processes, env: dict, count: int) -> tuple[int, list[subprocess.Popen]]:
    """`count` web processes on one port, as project.supervisor runs them (SO_REUSEPORT)."""
    command = [PYTHON, "-m", "project.web", "-v", "0"]
    sockets, port = [], 0
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", port))
        port = sock.getsockname()[1]
        sock.listen(1024)
        sockets.append(sock)
    try:
        processes = [
            procs.start(f"web-{count}-{number}", [*command, "--fd", str(sock.fileno()), "project.asgi:application"],
                        env, pass_fds=(sock.fileno(),))
            for number, sock in enumerate(sockets)
        ]
    finally:
        for sock in sockets:
            sock.close()
    for _ in range(8 * count):
        wait_http(port, "/health", processes)
    return port, processes


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rate", type=int, default=10, help="updates a second")
    parser.add_argument("--seconds", type=int, default=10)
    return parser


if __name__ == "__main__":
    sys.exit(main())
