"""`make bench` (seventh part): the Seller Bot chatbot's webhook intake, and a message's way to its reply.

    .venv/bin/python -m tests.benchmarks.chatbot [--duration 5] [--concurrency 8] [--replies 100]

What it does (about two minutes):

1. The world of tests.benchmarks.run: SQLite in a temporary VAR_DIR (or the PostgreSQL database of
   DATABASE_URL, created when missing and then dropped at the end, migrated), a private
   redis-server (or REDIS_URL), daphne serving tests.benchmarks.settings. Plus a local fake of the
   Evolution API (tests/fakes/channels.py) that EVOLUTION_BASE_URL points at, in the environment
   of daphne, of the worker and of this process; the chatbot's configuration gets a FAQ entry and
   a product so that every message read is answered (none hands the conversation to a person),
   the offline backend, and CHATBOT_WEBHOOK_RATE_PER_MINUTE is raised out of the load's way.
   One real `manage.py rqworker chatbot --with-scheduler` process runs throughout.
2. Webhook intake: POST /seller-bot/webhook/evolution with real-shaped bodies (tests/sellerbot/
   payloads; a new message id each, customer numbers taken in turn from --numbers), from the
   keep-alive load generator of tests.benchmarks.run, against GET bench/trivial on the same
   daphne just before. Once with one daphne process, once with --processes. Meanwhile the worker
   answers (debounce --intake-debounce, 0 by default, so that it works during the load): the
   replies it had sent to the fake when the load stopped are counted, and again once it has
   caught up (queue, scheduled jobs and replies due all empty; bounded by --drain-seconds).
3. Webhook → reply sent, one message at a time (each waits for its reply at the fake, and for
   the worker to be idle, before the next), from a new customer number each: the time from the
   POST to the fake receiving the sendText call, p50/p90/p99/max, --replies messages with
   ChatbotConfig.debounce_seconds = 0 and --debounced-replies with the field's default (the
   scheduler's path). Baseline, interleaved with the first: services.conversation_reply +
   outbox.reply_deliver called in this process for a message already stored (the reply's own
   cost, the same HTTP call to the fake, without the webhook, the queue and the worker).
4. For where the time goes: the webhook and the trivial view through Django's test client in
   this process (no daphne), the reply not enqueued; --profile adds cProfile's view of both.

Ratios are printed against the baselines of the same run; nothing is asserted and the exit code
is 0 unless the set-up itself fails. Every process started here is stopped at the end, and what
was stored is removed (the whole database when this run created it; the configuration put back).
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
import sys
import threading
import time
import uuid
from unittest import mock

from tests.benchmarks.run import (
    HOST,
    MANAGE,
    Bench,
    _raise_interrupt,
    _request_bytes,
    fmt_ms,
    percentile,
    run_load,
)
from tests.benchmarks.usage import _database_drop, _database_ensure
from tests.fakes.channels import FakeChannels
from tests.sellerbot import payloads

WEBHOOK = "/seller-bot/webhook/evolution"
API_KEY = "bench-evolution-key"
# Brazil has no area code 00: these numbers are nobody's, and the clean-up finds them by it.
NUMBER_PREFIX = "5500"
FAQ = [{"question": "Qual o horário?", "answer": "Funcionamos de segunda a sexta, das 9h às 18h.",
        "keywords": ["horario", "funcionamento"]}]
CATALOGUE = [{"name": "Fone Bluetooth X", "price": "199.90", "keywords": ["fone"]}]
# Each read with a confidence above the threshold (also when several are answered together), and
# none asks for a person: the bot keeps every conversation and answers each time.
TEXTS = ("Olá! Qual o horário de funcionamento?", "quanto custa o fone?", "vocês entregam em Campinas? qual o frete?",
         "tem o fone na cor preta?", "quero comprar o fone, aceita pix?", "onde está meu pedido?")
REPLY_TIMEOUT = 30.0
WARMUP_REPLIES = 3


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    fake = TimedChannels().start()
    # Read by Bench.setup() into the environment of daphne and the worker, and by this process's
    # settings (the baseline sends through the same client).
    os.environ.update({"EVOLUTION_BASE_URL": fake.url, "EVOLUTION_API_KEY": API_KEY, "EVOLUTION_WEBHOOK_SECRET": "",
                       "CHATBOT_WEBHOOK_RATE_PER_MINUTE": str(10**9)})
    created = _database_ensure()
    bench = Bench(args)
    world = None
    started = time.monotonic()
    try:
        bench.setup()
        world = World.create()
        worker = ChatbotWorker.start(bench)
        bench.out(f"Fake Evolution API {fake.url}; worker {worker.name} (rqworker chatbot --with-scheduler)")
        intake, backlog = {}, {}
        for count in sorted({1, args.processes}):
            bench.out(f"… webhook intake with {count} daphne process(es), debounce {args.intake_debounce} s")
            intake[count], backlog[count] = intake_round(bench, world, fake, worker, count, args)
        bench.out(f"… webhook → reply, {args.replies} one at a time (debounce 0), with the in-process baseline")
        replies = replies_round(bench, world, fake, worker, args)
        bench.out("… in-process webhook and trivial view (test client, reply not enqueued)")
        in_process = in_process_round(world, args)
        bench.report_ratios("Webhook intake", intake, (("trivial", None), ("webhook", None)), route_width=38)
        report_backlog(bench, backlog, args)
        report_replies(bench, replies, args)
        report_in_process(bench, in_process, intake, args)
        if args.profile:
            profile_in_process(bench, world)
        bench.out()
        bench.out(f"Total {time.monotonic() - started:.0f} s."
                  + (f" Logs of the processes: {bench.tmp}" if args.keep_logs else ""))
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted; stopping everything", file=sys.stderr)
        return 130
    finally:
        bench.procs.stop_all()
        fake.stop()
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
    """The chatbot's configuration for the run (the original kept to put back) and the customers'
    numbers, all under NUMBER_PREFIX."""

    CONFIG_FIELDS = ("faq", "catalogue", "debounce_seconds", "llm_backend", "confidence_threshold")

    def __init__(self, original: dict):
        self.original = original
        self.run = uuid.uuid4().hex[:6].upper()
        self.serial = 0

    @classmethod
    def create(cls) -> "World":
        from sellerbot.chatbot import services
        from sellerbot.chatbot.models import ChatbotConfig, LlmBackend

        config = services.config_get()
        world = cls({name: getattr(config, name) for name in cls.CONFIG_FIELDS})
        world.configure(faq=FAQ, catalogue=CATALOGUE, llm_backend=LlmBackend.OFFLINE,
                        confidence_threshold=ChatbotConfig._meta.get_field("confidence_threshold").default)
        return world

    @staticmethod
    def default_debounce() -> int:
        from sellerbot.chatbot.models import ChatbotConfig

        return ChatbotConfig._meta.get_field("debounce_seconds").default

    def configure(self, **fields) -> None:
        # services.config_get() reads the row on every message and reply: a change applies to the
        # web processes and the worker at once.
        from sellerbot.chatbot.models import ChatbotConfig

        ChatbotConfig.objects.filter(pk=1).update(**fields)

    def number(self, block: int, n: int) -> str:
        """Blocks 1 and 2: the customers of the intake rounds; 3 (through the worker), 4 (the
        baseline), 5 and 6 (in-process): one new customer per message."""
        return f"{NUMBER_PREFIX}{block}{n:08d}"

    def new_number(self, block: int) -> str:
        self.serial += 1
        return self.number(block, self.serial)

    def body(self, number: str, text: str) -> bytes:
        self.serial += 1
        message_id = f"3EB0BENCH{self.run}{self.serial:010d}"
        return json.dumps(payloads.evolution(text, number=number, message_id=message_id)).encode()

    def conversations(self):
        from sellerbot.chatbot.models import Conversation

        return Conversation.objects.filter(contact_id__startswith=f"whatsapp:{NUMBER_PREFIX}")

    def remove(self) -> None:
        from sellerbot.chatbot import context

        contact_ids = list(self.conversations().values_list("contact_id", flat=True))
        self.conversations().delete()  # their messages, deliveries, attempts and hand-offs with them
        context.context_delete(*contact_ids)
        self.configure(**self.original)


class TimedChannels(FakeChannels):
    """The fake channels, noting when each call arrived (this process's monotonic clock, as the
    sender's) and waking whoever waits for a number's reply."""

    def __init__(self):
        super().__init__()
        self.arrived = threading.Condition()
        self.evolution_sent = 0
        self.by_number: dict[str, float] = {}

    def _record(self, request: dict) -> None:
        request["at"] = time.monotonic()
        super()._record(request)
        with self.arrived:
            if request["channel"] == "evolution" and request["status"] < 300:
                self.evolution_sent += 1
                self.by_number[str(request["body"].get("number"))] = request["at"]
            self.arrived.notify_all()

    def wait_reply(self, number: str, timeout: float = REPLY_TIMEOUT) -> float | None:
        """When the first reply to `number` arrived, or None after `timeout`."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while number not in self.by_number:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.arrived.wait(remaining)
            return self.by_number[number]

    def answered(self, prefix: str) -> int:
        with self.arrived:
            return sum(1 for number in self.by_number if number.startswith(prefix))


class ChatbotWorker:
    def __init__(self, bench: Bench, name: str):
        self.bench = bench
        self.name = name

    @classmethod
    def start(cls, bench: Bench) -> "ChatbotWorker":
        from django.conf import settings
        from rq import Worker

        from jobs.queues import redis_connection

        connection = redis_connection()
        others = [w.name for w in Worker.all(connection=connection) if settings.CHATBOT_QUEUE in w.queue_names()]
        if others or connection.exists(f"rq:scheduler-lock:{settings.CHATBOT_QUEUE}"):
            bench.out(f"WARNING: other rq workers or a scheduler already serve '{settings.CHATBOT_QUEUE}' "
                      f"({others}); figures are unreliable.")
        name = f"bench-chatbot-{uuid.uuid4().hex[:6]}"
        process = bench.procs.start(name, [*MANAGE, "rqworker", settings.CHATBOT_QUEUE, "--with-scheduler",
                                           "--name", name, "-v", "0"], bench.env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"worker exited with {process.returncode}:\n{bench.procs.log_tail(name)}")
            if any(w.name == name for w in Worker.all(connection=connection)):
                return cls(bench, name)
            time.sleep(0.05)
        raise RuntimeError(f"worker {name} did not register within 60 s")

    def wait_idle(self) -> None:
        self.bench.wait_worker_idle(self.name)

    def wait_drained(self, world: World, timeout: float) -> bool:
        """Until nothing is left for the worker: no job queued, scheduled or running, no reply due,
        no delivery pending — twice in a row, 0.2 s apart (a job may be between two states)."""
        from django.conf import settings

        from jobs.queues import queue
        from project.outbox import OutboxState
        from sellerbot.chatbot.models import ReplyDelivery

        chatbot = queue(settings.CHATBOT_QUEUE)
        deliveries = ReplyDelivery.objects.filter(message__conversation__in=world.conversations(),
                                                  state=OutboxState.PENDING)
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            busy = (len(chatbot) or len(chatbot.scheduled_job_registry) or len(chatbot.started_job_registry)
                    or world.conversations().filter(reply_due_at__isnull=False).exists() or deliveries.exists())
            quiet = 0 if busy else quiet + 1
            if quiet >= 2:
                return True
            time.sleep(0.2)
        return False


# --- 1. webhook intake ----------------------------------------------------------------------

def intake_round(bench: Bench, world: World, fake: TimedChannels, worker: "ChatbotWorker", count: int,
                 args) -> tuple[dict, dict]:
    from django.conf import settings

    from jobs.queues import queue

    world.configure(debounce_seconds=args.intake_debounce)
    block = 1 if count == 1 else 2
    numbers = [world.number(block, n) for n in range(args.numbers)]
    posted = [0]

    def next_webhook() -> bytes:
        # Customers in turn, so that each one writes again only after all the others: with a few
        # hundred of them every conversation gets its replies.
        number = numbers[posted[0] % len(numbers)]
        text = TEXTS[posted[0] // len(numbers) % len(TEXTS)]
        posted[0] += 1
        return _request_bytes("POST", WEBHOOK, None, world.body(number, text))

    port, processes = bench.start_daphne(count)
    try:
        trivial = _request_bytes("GET", "/bench/trivial", None, None)
        results = {"trivial": run_load("GET /bench/trivial", port, lambda: trivial, args)}
        sent_before = fake.evolution_sent
        results["webhook"] = run_load(f"POST {WEBHOOK}", port, next_webhook, args)
        chatbot = queue(settings.CHATBOT_QUEUE)
        backlog = {"posted": posted[0], "sent_at_end": fake.evolution_sent - sent_before,
                   "queued_at_end": len(chatbot) + len(chatbot.scheduled_job_registry)}
        load_stopped = time.monotonic()
        backlog["drained"] = worker.wait_drained(world, args.drain_seconds)
        backlog["drain_seconds"] = time.monotonic() - load_stopped
        backlog["sent_after"] = fake.evolution_sent - sent_before
        backlog["stored"] = _inbound_count(world, block)
        backlog["answered"] = fake.answered(f"{NUMBER_PREFIX}{block}")
        return results, backlog
    finally:
        for process in processes:
            bench.procs.stop(process)


def report_backlog(bench: Bench, backlog: dict, args) -> None:
    bench.out()
    bench.out(f"The worker meanwhile (one rqworker chatbot --with-scheduler, debounce {args.intake_debounce} s, "
              f"{args.numbers} customers in turn)")
    header = (f"{'daphne':<8}{'posted':>8}{'stored':>8}{'sent by end':>13}{'queued at end':>15}"
              f"{'sent after':>12}{'caught up in':>14}{'customers answered':>20}")
    bench.out(header)
    bench.out("-" * len(header))
    for count, b in backlog.items():
        caught_up = f"{b['drain_seconds']:.1f} s" if b["drained"] else f">{args.drain_seconds:g} s"
        bench.out(f"{count:<8}{b['posted']:>8}{b['stored']:>8}{b['sent_at_end']:>13}{b['queued_at_end']:>15}"
                  f"{b['sent_after']:>12}{caught_up:>14}{b['answered']:>20}")
    bench.out("  posted: webhooks sent in the round, warm-up included; sent: replies the fake Evolution API got "
              "(several messages of a customer are answered together when they wait for the same reply)")


# --- 2. webhook → reply sent ----------------------------------------------------------------

def replies_round(bench: Bench, world: World, fake: TimedChannels, worker: "ChatbotWorker", args) -> dict:
    port, processes = bench.start_daphne(1)
    conn = http.client.HTTPConnection(HOST, port, timeout=REPLY_TIMEOUT)
    figures = {"baseline": [], "ack": [], "after_ack": [], "reply": [], "debounced": [], "debounced_ack": [],
               "missing": 0}
    try:
        world.configure(debounce_seconds=0)
        for n in range(WARMUP_REPLIES + args.replies):
            measured = n >= WARMUP_REPLIES
            text = TEXTS[n % len(TEXTS)]
            through = _through_worker(conn, world, fake, worker, text)
            direct = _direct_reply(world, fake, text)
            if not measured:
                continue
            if through is None:
                figures["missing"] += 1
            else:
                figures["ack"].append(through[0])
                figures["after_ack"].append(through[1] - through[0])
                figures["reply"].append(through[1])
            figures["baseline"].append(direct)

        debounce = world.default_debounce()
        world.configure(debounce_seconds=debounce)
        bench.out(f"… webhook → reply, {args.debounced_replies} one at a time with the default debounce "
                  f"({debounce} s)")
        for n in range(args.debounced_replies):
            through = _through_worker(conn, world, fake, worker, TEXTS[n % len(TEXTS)])
            if through is None:
                figures["missing"] += 1
            else:
                figures["debounced_ack"].append(through[0])
                figures["debounced"].append(through[1])
        figures["debounce"] = debounce
        return figures
    finally:
        conn.close()
        for process in processes:
            bench.procs.stop(process)


def report_replies(bench: Bench, figures: dict, args) -> None:
    bench.out()
    bench.out("Webhook → reply at the fake Evolution API, one message at a time (a new customer each), ms")
    header = f"{'path':<58}{'n':>5}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}{'× baseline':>12}"
    bench.out(header)
    bench.out("-" * len(header))
    base = percentile(figures["baseline"], .5)
    rows = (
        ("baseline", "conversation_reply + reply_deliver in-process (baseline)"),
        ("ack", "POST → 200 (the webhook's ack), debounce 0"),
        ("after_ack", "200 → sendText at the fake, debounce 0 (after the ack)"),
        ("reply", "POST → sendText at the fake, debounce 0 (queue, worker)"),
        ("debounced_ack", f"POST → 200, debounce {figures['debounce']} s (the worker idle meanwhile)"),
        ("debounced", f"POST → sendText at the fake, debounce {figures['debounce']} s (+ scheduler)"),
    )
    for key, label in rows:
        values = figures[key]
        if not values:
            continue
        ratio = percentile(values, .5) / base if base else float("nan")
        bench.out(f"{label:<58}{len(values):>5}{fmt_ms(percentile(values, .5)):>9}{fmt_ms(percentile(values, .9)):>9}"
                  f"{fmt_ms(percentile(values, .99)):>9}{fmt_ms(max(values)):>9}{ratio:12.2f}")
    if figures["missing"]:
        bench.out(f"  note: {figures['missing']} replies did not reach the fake within {REPLY_TIMEOUT:g} s")
    reply, ack = percentile(figures["reply"], .5), percentile(figures["ack"], .5)
    if figures["reply"]:
        after = percentile(figures["after_ack"], .5)
        bench.out(f"  debounce 0, p50 {reply * 1000:.1f} ms: the ack {ack * 1000:.1f} ms ({ack / reply:.2f}), then "
                  f"{after * 1000:.1f} ms until the fake has the reply, against {base * 1000:.1f} ms for the "
                  f"reply's own work in-process: the queue and the worker's two jobs (the reply, then its "
                  f"delivery) add {(after - base) * 1000:+.1f} ms (the job is enqueued at the commit, before the ack "
                  "leaves daphne)")
    if figures["debounced"] and figures["reply"]:
        debounced = percentile(figures["debounced"], .5)
        bench.out(f"  debounce {figures['debounce']} s, p50 {debounced:.2f} s: the wait is "
                  f"{(debounced - reply) / debounced:.2f} of it; {(debounced - figures['debounce']) * 1000:.0f} ms "
                  f"beyond the {figures['debounce']} s asked (the scheduler enqueues in whole seconds, and a job "
                  "started early waits for its time)")


def _through_worker(conn: http.client.HTTPConnection, world: World, fake: TimedChannels,
                    worker: "ChatbotWorker", text: str) -> tuple[float, float] | None:
    """(POST → 200, POST → sendText at the fake) for one message from a new customer."""
    number = world.new_number(3)
    body = world.body(number, text)
    sent = time.monotonic()
    conn.request("POST", WEBHOOK, body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    acked = time.monotonic()
    if response.status != 200:
        raise RuntimeError(f"the webhook answered {response.status}")
    arrived = fake.wait_reply(number)
    # The worker settles the delivery (attempt, state, live update) after the fake answered: the
    # next message starts once it is done, so that it never waits behind that.
    worker.wait_idle()
    return None if arrived is None else (acked - sent, arrived - sent)


def _direct_reply(world: World, fake: TimedChannels, text: str) -> float:
    """services.conversation_reply + outbox.reply_deliver in this process for a message stored
    without its job (nothing enqueued, so the worker never sees it)."""
    from sellerbot.channels import evolution
    from sellerbot.chatbot import outbox, services

    number = world.new_number(4)
    inbound = evolution.parse(json.loads(world.body(number, text)))[0]
    with mock.patch.object(services, "_enqueue_reply_quietly"), mock.patch.object(outbox, "_enqueue_quietly"):
        services.channel_message_receive(channel=evolution.CHANNEL, inbound=inbound)
        conversation_id = world.conversations().get(contact_id=inbound.contact_id).pk
        started = time.monotonic()
        answer = services.conversation_reply(conversation_id=conversation_id)
        outbox.reply_deliver(delivery_id=answer.delivery.id)
        elapsed = time.monotonic() - started
    if fake.wait_reply(number, timeout=0) is None:
        raise RuntimeError("the direct reply did not reach the fake")
    return elapsed


# --- 3. where the time goes -----------------------------------------------------------------

def in_process_round(world: World, args) -> dict:
    """Per-request time of the webhook and of the trivial view without daphne (Django's test
    client, the same middleware), the reply not enqueued: the view's own cost."""
    from django.test import Client

    from sellerbot.chatbot import services

    client = Client(HTTP_HOST=HOST)
    numbers = [world.number(5, n) for n in range(args.numbers)]
    times = {"trivial": [], "webhook": []}
    with mock.patch.object(services, "_enqueue_reply_quietly"):
        for n in range(args.in_process + 20):
            started = time.perf_counter()
            client.get("/bench/trivial")
            trivial = time.perf_counter() - started
            body = world.body(numbers[n % len(numbers)], TEXTS[n // len(numbers) % len(TEXTS)])
            started = time.perf_counter()
            response = client.post(WEBHOOK, data=body, content_type="application/json")
            webhook = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"the in-process webhook answered {response.status_code}")
            if n >= 20:  # after a warm-up
                times["trivial"].append(trivial)
                times["webhook"].append(webhook)
    # Their replies were never enqueued: nobody is to take them later either.
    world.conversations().filter(contact_id__startswith=f"whatsapp:{NUMBER_PREFIX}5").update(reply_due_at=None)
    return times


def report_in_process(bench: Bench, times: dict, intake: dict, args) -> None:
    bench.out()
    bench.out(f"In this process, no daphne (Django's test client, {args.in_process} requests each), ms")
    trivial, webhook = percentile(times["trivial"], .5), percentile(times["webhook"], .5)
    bench.out(f"  GET /bench/trivial p50 {trivial * 1000:.2f}; POST {WEBHOOK} p50 {webhook * 1000:.2f} "
              f"(p99 {percentile(times['webhook'], .99) * 1000:.2f})")
    one = intake.get(1)
    if one and one["trivial"].rps and one["webhook"].rps:
        served_trivial = 1 / one["trivial"].rps
        served_webhook = 1 / one["webhook"].rps
        bench.out(f"  one daphne spent {served_trivial * 1000:.2f} ms per trivial request and "
                  f"{served_webhook * 1000:.2f} ms per webhook (1 ÷ req/s, the worker sharing the CPUs): the view "
                  f"itself is {webhook * 1000:.2f} ms of it, daphne and the ASGI handler about "
                  f"{(served_trivial - trivial) * 1000:.2f} ms")


def profile_in_process(bench: Bench, world: World) -> None:
    from django.test import Client

    from sellerbot.chatbot import services

    client = Client(HTTP_HOST=HOST)
    profiler = cProfile.Profile()
    with mock.patch.object(services, "_enqueue_reply_quietly"):
        profiler.enable()
        for n in range(200):
            client.post(WEBHOOK, data=world.body(world.number(6, n % 50), TEXTS[n % len(TEXTS)]),
                        content_type="application/json")
        profiler.disable()
    world.conversations().filter(contact_id__startswith=f"whatsapp:{NUMBER_PREFIX}6").update(reply_due_at=None)
    _print_profile(bench, profiler, f"cProfile of 200 POST {WEBHOOK} in-process, by cumulative time:")


def _print_profile(bench: Bench, profiler: cProfile.Profile, title: str) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(15)  # the leaves: SQL execution, commits, Redis, JSON
    bench.out()
    bench.out(title.replace("by cumulative time", "by cumulative time, then by own time"))
    for line in out.getvalue().splitlines():
        if line.strip():
            bench.out("  " + line)


def _inbound_count(world: World, block: int) -> int:
    from sellerbot.chatbot.models import Direction, Message

    return Message.objects.filter(direction=Direction.INBOUND,
                                  conversation__contact_id__startswith=f"whatsapp:{NUMBER_PREFIX}{block}").count()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per HTTP route (max 60)")
    parser.add_argument("--warmup", type=float, default=1.5, help="seconds of warm-up per HTTP route (max 10)")
    parser.add_argument("--concurrency", type=int, default=8, help="keep-alive connections (max 256)")
    parser.add_argument("--processes", type=int, default=min(os.cpu_count() or 1, 4),
                        help="daphne processes of the second intake round (SO_REUSEPORT); 1 skips it")
    parser.add_argument("--numbers", type=int, default=300, help="customers writing in the intake rounds (max 5000)")
    parser.add_argument("--intake-debounce", type=int, default=0,
                        help="ChatbotConfig.debounce_seconds during the intake rounds (max 30)")
    parser.add_argument("--drain-seconds", type=float, default=120.0,
                        help="how long the worker may take to catch up after an intake round (max 600)")
    parser.add_argument("--replies", type=int, default=100, help="messages timed one at a time, debounce 0 (max 2000)")
    parser.add_argument("--debounced-replies", type=int, default=10,
                        help="messages timed one at a time with the default debounce (max 200; 0 skips them)")
    parser.add_argument("--in-process", type=int, default=200, help="test-client requests of each kind (max 5000)")
    parser.add_argument("--profile", action="store_true", help="print cProfile's view of in-process webhooks")
    parser.add_argument("--keep-logs", action="store_true", help="keep the temporary directory with the logs")
    args = parser.parse_args(argv)
    args.duration = min(max(args.duration, 0.5), 60)
    args.warmup = min(max(args.warmup, 0), 10)
    args.concurrency = min(max(args.concurrency, 1), 256)
    args.processes = min(max(args.processes, 1), 16)
    args.numbers = min(max(args.numbers, 1), 5000)
    args.intake_debounce = min(max(args.intake_debounce, 0), 30)
    args.drain_seconds = min(max(args.drain_seconds, 1), 600)
    args.replies = min(max(args.replies, 1), 2000)
    args.debounced_replies = min(max(args.debounced_replies, 0), 200)
    args.in_process = min(max(args.in_process, 1), 5000)
    return args


if __name__ == "__main__":
    sys.exit(main())
