"""`make bench` (usage part): the bots' token-usage intake through daphne, against its baselines.

    .venv/bin/python -m tests.benchmarks.usage [--duration 5] [--concurrency 8] [--batch 500] [--repeat 15]

What it does (about half a minute):

1. The world of tests.benchmarks.run: SQLite in a temporary VAR_DIR (or the PostgreSQL database of
   DATABASE_URL, created when missing and then dropped at the end, migrated), a private
   redis-server (or REDIS_URL), daphne serving tests.benchmarks.settings. Plus a bot with
   usage:write and a price for the model the records name, so every record is priced.
2. Single records: POST /api/v1/token-usage/ with seed 000's headers (x-bot-id, x-bot-token), one
   new request_id per request, from the same keep-alive load generator and concurrency as the
   baseline, GET bench/trivial on the same daphne. Printed as requests/s and their ratio.
   Target ≥ 0.5× the trivial view. Once with one daphne process, once with --processes.
3. Batches (PostgreSQL only; on SQLite the reason is printed): --batch records (new request_ids
   each time) in one POST /api/v1/token-usage/batch/ on one keep-alive connection, against the
   baseline of raw psycopg `COPY accounts_tokenusage (…) FROM STDIN` of the same rows into the
   same table, committed. --repeat repetitions each, interleaved, after two of warm-up; the
   median is kept. Also shown, for where the time goes: the same batch given in this process
   to accounts.usage.services.usage_record_many (no HTTP, no JSON, no authentication).
   Target ≥ 0.3× COPY's records/s. --profile prints cProfile's view of that in-process call.

Nothing is asserted; the exit code is 0 unless the set-up itself fails. The rows written are
removed at the end (the whole database when this run created it).
"""

import argparse
import cProfile
import http.client
import io
import json
import os
import pstats
import shutil
import signal
import statistics
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

from tests.benchmarks.run import HOST, Bench, _raise_interrupt, run_load

TARGET_SINGLE_RATIO = 0.5
TARGET_BATCH_RATIO = 0.3
MODEL = "gpt-4o-mini"
MAX_BATCH = 1000


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    created = _database_ensure()
    bench = Bench(args)
    world = None
    started = time.monotonic()
    try:
        bench.setup()
        world = World.create()
        singles, batch = {}, None
        for count in sorted({1, args.processes}):
            bench.out(f"… single records with {count} daphne process(es)")
            port, processes = bench.start_daphne(count)
            try:
                singles[count] = single_round(port, world, args)
                if count == 1 and not args.skip_batch:
                    batch = batch_round(port, world, args, bench)
            finally:
                for process in processes:
                    bench.procs.stop(process)
        report_single(bench, singles, args)
        if batch:
            report_batch(bench, batch, args)
        if args.profile and batch is not None:
            profile_service(bench, world, args)
        bench.out()
        bench.out(f"Total {time.monotonic() - started:.0f} s.")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted; stopping everything", file=sys.stderr)
        return 130
    finally:
        bench.procs.stop_all()
        try:
            if world is not None and not created:
                world.remove()
            bench.cleanup_database()
        except Exception as exc:  # noqa: BLE001 - clean-up is best effort
            print(f"clean-up: {exc}", file=sys.stderr)
        if created:
            _database_drop(created)
        if not args.keep_logs:
            shutil.rmtree(bench.tmp, ignore_errors=True)


# --- the world ------------------------------------------------------------------------------

class World:
    def __init__(self, issued, price):
        self.bot = issued.bot
        self.token = issued.token
        self.price = price
        self.run = uuid.uuid4().hex[:8]

    @classmethod
    def create(cls) -> "World":
        from django.utils import timezone

        from accounts import bots
        from accounts.models import ModelPrice

        issued = bots.bot_create(name=f"bench-usage-{uuid.uuid4().hex[:6]}", scopes="usage:write")
        price = ModelPrice.objects.create(model=MODEL, valid_from=timezone.now() - timedelta(days=400),
                                          input_per_million=Decimal("0.15"), output_per_million=Decimal("0.60"),
                                          note="benchmark")
        return cls(issued, price)

    def records(self, count: int, label: str, *, occurred_at: str | None = None) -> list[dict]:
        records = []
        for number in range(count):
            record = {"model": MODEL, "prompt_tokens": 900 + number % 200, "completion_tokens": 40 + number % 90,
                      "cached_tokens": number % 3 * 100, "request_id": f"{self.run}-{label}-{number}",
                      "conversation_id": f"5511999{number % 50:04d}", "metadata": {"canal": "whatsapp"}}
            if occurred_at:
                record["occurred_at"] = occurred_at
            records.append(record)
        return records

    def request(self, path: str, body: bytes) -> bytes:
        head = [f"POST {path} HTTP/1.1", f"Host: {HOST}", "Accept: application/json", "Connection: keep-alive",
                f"x-bot-id: {self.bot.bot_id}", f"x-bot-token: {self.token}", "Content-Type: application/json",
                f"Content-Length: {len(body)}"]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body

    def remove(self) -> None:
        from accounts.models import Bot, IntakeTally, TokenUsage, UsageConversationDaily, UsageDaily

        TokenUsage.objects.filter(bot=self.bot).delete()
        for model in (UsageDaily, UsageConversationDaily, IntakeTally):
            model.objects.filter(bot=self.bot).delete()
        Bot.objects.filter(pk=self.bot.pk).delete()
        self.price.delete()


# --- single records -------------------------------------------------------------------------

def single_round(port: int, world: World, args) -> dict:
    trivial = f"GET /bench/trivial HTTP/1.1\r\nHost: {HOST}\r\nConnection: keep-alive\r\n\r\n".encode()
    results = {"trivial": run_load("GET /bench/trivial", port, lambda: trivial, args)}
    counter = iter(range(10**9))
    label = f"single{port}"

    def one_record() -> bytes:
        number = next(counter)
        body = {"model": MODEL, "prompt_tokens": 900 + number % 200, "completion_tokens": 40 + number % 90,
                "request_id": f"{world.run}-{label}-{number}", "conversation_id": f"5511999{number % 50:04d}"}
        return world.request("/api/v1/token-usage/", json.dumps(body).encode())

    results["usage"] = run_load("POST /api/v1/token-usage/", port, one_record, args)
    return results


def report_single(bench: Bench, rounds: dict, args) -> None:
    bench.report_ratios("Single records", rounds, (("trivial", None), ("usage", TARGET_SINGLE_RATIO)),
                        route_width=28)


# --- batches --------------------------------------------------------------------------------

def batch_round(port: int, world: World, args, bench: Bench) -> dict | None:
    from django.db import connection
    from django.utils import timezone

    if connection.vendor != "postgresql":
        bench.out(f"… batches skipped: COPY is PostgreSQL's, and the database is {connection.vendor}")
        return {"skipped": connection.vendor}
    bench.out(f"… batches of {args.batch} records, {args.repeat} repetitions (+2 warm-up)")
    occurred_at = (timezone.now() - timedelta(minutes=5)).isoformat()
    copy = CopyBaseline(world)
    http_seconds, copy_seconds, service_seconds, statuses = [], [], [], {}
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        for repetition in range(args.repeat + 2):
            records = world.records(args.batch, f"batch{repetition}", occurred_at=occurred_at)
            body = json.dumps(records).encode()
            headers = {"x-bot-id": world.bot.bot_id, "x-bot-token": world.token, "Content-Type": "application/json"}
            started = time.perf_counter()
            conn.request("POST", "/api/v1/token-usage/batch/", body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
            elapsed = time.perf_counter() - started
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if response.status != 200 or json.loads(answer)["accepted"] != args.batch:
                bench.out(f"  note: the batch answered {response.status}: {answer[:300]!r}")

            rows = copy.rows(world.records(args.batch, f"copy{repetition}", occurred_at=occurred_at))
            copy_elapsed = copy.run(rows)

            service_elapsed = service_call(world, world.records(args.batch, f"service{repetition}",
                                                                occurred_at=occurred_at))
            if repetition >= 2:
                http_seconds.append(elapsed)
                copy_seconds.append(copy_elapsed)
                service_seconds.append(service_elapsed)
    finally:
        conn.close()
        copy.close()
    return {"http": http_seconds, "copy": copy_seconds, "service": service_seconds, "statuses": statuses}


class CopyBaseline:
    """psycopg's COPY … FROM STDIN of the rows the service would have stored, on a connection of
    its own, one transaction per batch."""

    def __init__(self, world: World):
        import psycopg
        from django.db import connection

        from accounts.models import TokenUsage

        self.world = world
        self.fields = [f for f in TokenUsage._meta.concrete_fields if not f.primary_key]
        columns = ", ".join(f'"{f.column}"' for f in self.fields)
        self.statement = f'COPY "{TokenUsage._meta.db_table}" ({columns}) FROM STDIN'
        s = connection.settings_dict
        self.conn = psycopg.connect(dbname=s["NAME"], user=s["USER"] or None, password=s["PASSWORD"] or None,
                                    host=s["HOST"] or None, port=s["PORT"] or None)

    def rows(self, records: list[dict]) -> list[tuple]:
        """The same values the intake stores (fingerprint and cost included), prepared untimed."""
        from django.utils import timezone
        from django.utils.dateparse import parse_datetime

        from accounts.usage.prices import usage_cost
        from project.intake import fingerprint

        price = self.world.price
        now = timezone.now()
        rows = []
        for record in records:
            values = {
                "bot_id": self.world.bot.pk, "model": record["model"], "prompt_tokens": record["prompt_tokens"],
                "completion_tokens": record["completion_tokens"],
                "total_tokens": record["prompt_tokens"] + record["completion_tokens"],
                "cached_tokens": record["cached_tokens"], "reasoning_tokens": 0, "request_id": record["request_id"],
                "fingerprint": fingerprint(record), "conversation_id": record["conversation_id"],
                "occurred_at": parse_datetime(record["occurred_at"]), "received_at": now,
                "metadata": json.dumps(record["metadata"]),
                "cost": usage_cost(price, prompt_tokens=record["prompt_tokens"],
                                   completion_tokens=record["completion_tokens"],
                                   cached_tokens=record["cached_tokens"], reasoning_tokens=0),
                "price_id": price.pk,
            }
            rows.append(tuple(values[f.attname] for f in self.fields))
        return rows

    def run(self, rows: list[tuple]) -> float:
        started = time.perf_counter()
        with self.conn.transaction(), self.conn.cursor() as cursor, cursor.copy(self.statement) as copy:
            for row in rows:
                copy.write_row(row)
        return time.perf_counter() - started

    def close(self) -> None:
        self.conn.close()


def service_call(world: World, records: list[dict]) -> float:
    from accounts.usage.services import usage_record_many

    started = time.perf_counter()
    usage_record_many(bot=world.bot, items=records)
    return time.perf_counter() - started


def report_batch(bench: Bench, figures: dict, args) -> None:
    bench.out()
    if "skipped" in figures:
        bench.out(f"Batches: skipped (COPY … FROM STDIN needs PostgreSQL; this run uses {figures['skipped']}).")
        return
    size = args.batch
    bench.out(f"Batches of {size} records, median of {len(figures['http'])} (after 2 warm-up), records/s")
    header = f"{'path':<52}{'median ms':>11}{'min ms':>9}{'records/s':>11}{'× COPY':>9}  target"
    bench.out(header)
    bench.out("-" * len(header))
    copy_rate = size / statistics.median(figures["copy"])
    for key, label, target in (
        ("copy", "psycopg COPY accounts_tokenusage FROM STDIN", None),
        ("http", "POST /api/v1/token-usage/batch/ (daphne)", TARGET_BATCH_RATIO),
        ("service", "usage_record_many in-process (no HTTP, for reference)", None),
    ):
        median = statistics.median(figures[key])
        rate = size / median
        ratio = rate / copy_rate
        mark = "" if target is None else (f"≥{target:g}" + (" ok" if ratio >= target else " MISS"))
        bench.out(f"{label:<52}{median * 1000:11.1f}{min(figures[key]) * 1000:9.1f}{rate:11.0f}{ratio:9.2f}  {mark}")
    odd = {s: n for s, n in figures["statuses"].items() if s != 200}
    if odd:
        bench.out(f"  non-200 answers to the batch: {odd}")
    http_ms = statistics.median(figures["http"]) * 1000
    service_ms = statistics.median(figures["service"]) * 1000
    bench.out(f"  of the HTTP batch's {http_ms:.1f} ms, {service_ms:.1f} ms are the service (validation, prices, "
              f"INSERT, rollups, budget, tally); the rest ({http_ms - service_ms:.1f} ms) is the request around it "
              "(parsing the JSON, authentication, middleware, rendering the results)")


def profile_service(bench: Bench, world: World, args) -> None:
    from accounts.usage.services import usage_record_many

    records = world.records(args.batch, "profile", occurred_at=None)
    profiler = cProfile.Profile()
    profiler.enable()
    usage_record_many(bot=world.bot, items=records)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    bench.out()
    bench.out(f"cProfile of usage_record_many with {args.batch} records, by cumulative time:")
    for line in out.getvalue().splitlines():
        if line.strip():
            bench.out("  " + line)


# --- the database ---------------------------------------------------------------------------

def _database_ensure() -> str | None:
    """Create DATABASE_URL's PostgreSQL database when it does not exist; its name when created."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return None
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_maintenance_url(url), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return None
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _database_drop(name: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(_maintenance_url(os.environ["DATABASE_URL"]), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _maintenance_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per HTTP route (max 60)")
    parser.add_argument("--warmup", type=float, default=1.5, help="seconds of warm-up per HTTP route (max 10)")
    parser.add_argument("--concurrency", type=int, default=8, help="keep-alive connections (max 256)")
    parser.add_argument("--processes", type=int, default=min(os.cpu_count() or 1, 4),
                        help="daphne processes of the second single-record round (SO_REUSEPORT); 1 skips it")
    parser.add_argument("--batch", type=int, default=500, help=f"records per batch (max {MAX_BATCH})")
    parser.add_argument("--repeat", type=int, default=15, help="timed batches of each kind (max 200)")
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument("--profile", action="store_true", help="print cProfile's view of one in-process batch")
    parser.add_argument("--keep-logs", action="store_true", help="keep the temporary directory with the logs")
    args = parser.parse_args(argv)
    args.duration = min(max(args.duration, 0.5), 60)
    args.warmup = min(max(args.warmup, 0), 10)
    args.concurrency = min(max(args.concurrency, 1), 256)
    args.processes = min(max(args.processes, 1), 16)
    args.batch = min(max(args.batch, 1), MAX_BATCH)
    args.repeat = min(max(args.repeat, 1), 200)
    return args


if __name__ == "__main__":
    sys.exit(main())
