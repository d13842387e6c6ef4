"""The seeds' own clients against the real server, through a proxy that loses answers.

Seed 000's BotHttpClient and seed 001's dashboardIntegration run as Node.js scripts
(tests/fakes/seed_clients/, with axios from npm) against daphne on the test database. Between
them, tests/fakes/dropping_proxy.py forwards each POST, lets the server store it and answer, and
closes the client's connection before the answer for the first attempts of each record: the
client retries, as both seeds do, and the totals must still be exact. Without an idempotency key
they are not, and the status route says how many records came without one (`unkeyed`).
"""

import json
import os
import shutil
import subprocess
import warnings
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db.models import Sum
from django.utils import timezone

from accounts import bots
from accounts.models import BotEvent, ModelPrice, TokenUsage, UsageConversationDaily, UsageDaily
from tests.fakes.dropping_proxy import DroppingProxy
from tests.fakes.seed_clients.play import play as play_in_python

CLIENTS = Path(__file__).resolve().parent.parent / "fakes" / "seed_clients"
MODEL = "gpt-4o-mini"
INPUT_PRICE, OUTPUT_PRICE = Decimal("0.150000"), Decimal("0.600000")
FAST = {"maxAttempts": 3, "baseDelayMs": 20, "timeoutMs": 10000}
FAST_DASHBOARD = {"DASHBOARD_RETRIES": "3", "DASHBOARD_RETRY_DELAY_MS": "20", "DASHBOARD_TIMEOUT": "10000"}

pytestmark = pytest.mark.django_db(transaction=True)


class SeedClients:
    """Runs a plan of calls (see play.js) with Node.js, or with the Python twin when npm could
    not install axios."""

    def __init__(self, node_modules: Path | None):
        self.node_modules = node_modules

    @property
    def implementation(self) -> str:
        return "node" if self.node_modules else "python"

    def play(self, plan: dict) -> dict:
        if self.node_modules is None:
            return play_in_python(plan)
        finished = subprocess.run(
            ["node", str(CLIENTS / "play.js")], input=json.dumps(plan), capture_output=True, text=True, timeout=120,
            env={**os.environ, "NODE_PATH": str(self.node_modules)}, cwd=CLIENTS,
        )
        assert finished.returncode == 0, finished.stderr
        outcome = json.loads(finished.stdout)
        assert outcome["implementation"] == "node"
        return outcome


@pytest.fixture(scope="session")
def seed_clients(tmp_path_factory) -> SeedClients:
    """axios installed once per session in a folder of the session's own. SEED_CLIENTS=python
    plays the Python twin instead, to check that it still behaves as the Node clients do."""
    folder = tmp_path_factory.mktemp("seed-clients")
    reason = None
    if os.environ.get("SEED_CLIENTS") == "python":
        reason = "SEED_CLIENTS=python"
    elif not shutil.which("node") or not shutil.which("npm"):
        reason = "node or npm is not installed"
    else:
        try:
            install = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", "axios@1"],
                                     cwd=folder, capture_output=True, text=True, timeout=300)
            if install.returncode:
                reason = f"npm install axios failed: {install.stderr.strip()[-300:]}"
        except subprocess.TimeoutExpired:
            reason = "npm install axios took more than 300 s"
    if reason is None and (folder / "node_modules" / "axios").is_dir():
        return SeedClients(folder / "node_modules")
    warnings.warn(f"{reason or 'axios missing after npm install'}: the seed clients are played by their Python "
                  "twin (tests/fakes/seed_clients/play.py), not by Node.js", stacklevel=1)
    return SeedClients(None)


@pytest.fixture
def issued():
    return bots.bot_create(name="WhatsApp Vendas", scopes="usage:write,events:write,status:read")


@pytest.fixture
def proxies(asgi_server):
    started = []

    def start(drop_first: int = 1) -> DroppingProxy:
        proxy = DroppingProxy(asgi_server.port, drop_first=drop_first).start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


@pytest.fixture
def price():
    return ModelPrice.objects.create(model=MODEL, valid_from=timezone.now() - timedelta(days=1),
                                     input_per_million=INPUT_PRICE, output_per_million=OUTPUT_PRICE)


def bot_plan(proxy, issued, calls, **extra) -> dict:
    return {"bot": {"baseUrl": proxy.url, "botId": issued.bot.bot_id, "token": issued.token, **FAST},
            "calls": calls, "concurrency": 4, **extra}


def dashboard_plan(proxy, issued, calls, **extra) -> dict:
    return {"env": {"DASHBOARD_URL": proxy.url, "DASHBOARD_TOKEN": issued.token, **FAST_DASHBOARD},
            "calls": calls, "concurrency": 4, **extra}


def usage_records(count: int, *, keyed: bool) -> list[dict]:
    records = []
    for number in range(count):
        record = {"model": MODEL, "prompt_tokens": 1000 + number, "completion_tokens": 37 * number,
                  "conversation_id": f"conversa-{number % 3}"}
        if keyed:
            record["request_id"] = f"chatcmpl-{number:04d}"
        records.append(record)
    return records


def expected_cost(records: list[dict]) -> Decimal:
    return sum(((r["prompt_tokens"] * INPUT_PRICE + r["completion_tokens"] * OUTPUT_PRICE) / Decimal(1_000_000))
               .quantize(Decimal("0.0000000001")) for r in records)


def daily_sums(bot) -> dict:
    return UsageDaily.objects.filter(bot=bot).aggregate(
        records=Sum("records"), prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"),
        total=Sum("total_tokens"), cost=Sum("cost"), unpriced=Sum("unpriced_records"))


def status_of(seed_clients, proxy, issued) -> dict:
    result = seed_clients.play(bot_plan(proxy, issued, [{"call": "getStatus"}]))["results"][0]
    assert result["ok"] and result["status"] == 200, result
    return result["data"]


def test_usage_resent_after_a_lost_answer_is_stored_once(seed_clients, proxies, issued, price):
    proxy = proxies(drop_first=1)
    records = usage_records(20, keyed=True)

    outcome = seed_clients.play(bot_plan(proxy, issued, [{"call": "reportTokenUsage", "args": [r]} for r in records]))

    for result in outcome["results"]:
        assert result["ok"] and result["status"] == 201 and result["attempts"] == 2, result
        assert result["data"]["status"] == "accepted" and result["data"]["priced"] is True
    assert proxy.dropped == 20
    stored = TokenUsage.objects.filter(bot=issued.bot)
    assert sorted(stored.values_list("request_id", flat=True)) == [r["request_id"] for r in records]
    prompt = sum(r["prompt_tokens"] for r in records)
    completion = sum(r["completion_tokens"] for r in records)
    assert daily_sums(issued.bot) == {"records": 20, "prompt": prompt, "completion": completion,
                                      "total": prompt + completion, "cost": expected_cost(records), "unpriced": 0}
    assert stored.aggregate(cost=Sum("cost"))["cost"] == expected_cost(records)
    assert UsageConversationDaily.objects.filter(bot=issued.bot).aggregate(n=Sum("records"))["n"] == 20

    status = status_of(seed_clients, proxy, issued)
    assert status["counts"]["usage"] == {"accepted": 20, "duplicate": 20, "rejected": 0, "unkeyed": 0}
    assert status["usage_month"]["records"] == 20 and status["usage_month"]["total_tokens"] == prompt + completion


def test_events_resent_after_a_lost_answer_are_stored_once(seed_clients, proxies, issued):
    proxy = proxies(drop_first=1)
    singles = [{"call": "sendEventToDashboard",
                "args": ["order_update", {"orderId": number, "userId": f"u{number % 5}", "status": "paid"},
                         {"extra": {"id": f"evt-{number:03d}"}}]} for number in range(20)]
    batch = [{"event": "new_message", "payload": {"userId": f"u{number}", "text": "Olá!"}, "id": f"msg-{number:03d}"}
             for number in range(10)]

    outcome = seed_clients.play(dashboard_plan(proxy, issued, [*singles, {"call": "sendBatchEvents", "args": [batch]}]))

    *single_results, batch_result = outcome["results"]
    for result in single_results:
        assert result["ok"] and result["status"] == 201 and result["attempts"] == 2, result
    assert batch_result["ok"] and batch_result["status"] == 200 and batch_result["attempts"] == 2, batch_result
    # The retried batch finds every event stored already: each is answered as a duplicate.
    assert (batch_result["data"]["accepted"], batch_result["data"]["duplicate"]) == (0, 10)
    assert proxy.dropped == 21
    stored = BotEvent.objects.filter(bot=issued.bot)
    assert stored.count() == 30
    assert sorted(stored.values_list("event_id", flat=True)) == sorted(
        [f"evt-{n:03d}" for n in range(20)] + [f"msg-{n:03d}" for n in range(10)])

    reads = seed_clients.play(dashboard_plan(proxy, issued, [{"call": "getDashboardStatus"},
                                                             {"call": "getDashboardMetrics"}]))["results"]
    assert reads[0]["ok"] and reads[0]["data"]["status"] == "online" and reads[0]["attempts"] == 1
    metrics = reads[1]["data"]
    assert metrics["events"]["total"] == 30 and metrics["events"]["last_24h"] == 30
    assert {row["event"]: row["total"] for row in metrics["events"]["by_type"]} == {"order_update": 20,
                                                                                    "new_message": 10}
    assert metrics["orders"] == 20 and metrics["users"] == 10  # u0…u4 in the orders, u0…u9 in the messages
    assert proxy.dropped == 21  # reads are never dropped

    status = status_of(seed_clients, proxy, issued)
    assert status["counts"]["events"] == {"accepted": 30, "duplicate": 30, "rejected": 0, "unkeyed": 0}


def test_without_a_key_a_lost_answer_is_counted_twice_and_shown_as_unkeyed(seed_clients, proxies, issued, price):
    # Not a bug: a record without request_id (an event without id) cannot be told from a new one.
    # The status route's `unkeyed` count is what shows a bot that runs this risk.
    proxy = proxies(drop_first=1)
    records = usage_records(10, keyed=False)
    usage = seed_clients.play(bot_plan(proxy, issued, [{"call": "reportTokenUsage", "args": [r]} for r in records]))
    events = seed_clients.play(dashboard_plan(proxy, issued, [
        {"call": "sendEventToDashboard", "args": ["user_login", {"userId": f"u{number}"}]} for number in range(10)
    ]))

    assert all(r["ok"] and r["attempts"] == 2 for r in usage["results"] + events["results"])
    assert proxy.dropped == 20
    assert TokenUsage.objects.filter(bot=issued.bot).count() == 20
    prompt = sum(r["prompt_tokens"] for r in records)
    sums = daily_sums(issued.bot)
    assert sums["records"] == 20 and sums["prompt"] == 2 * prompt
    assert sums["cost"] == 2 * expected_cost(records)
    assert BotEvent.objects.filter(bot=issued.bot).count() == 20

    counts = status_of(seed_clients, proxy, issued)["counts"]
    assert counts["usage"] == {"accepted": 20, "duplicate": 0, "rejected": 0, "unkeyed": 20}
    assert counts["events"] == {"accepted": 20, "duplicate": 0, "rejected": 0, "unkeyed": 20}


def test_after_its_last_attempt_a_client_gives_up_and_the_record_is_still_stored_once(seed_clients, proxies, issued):
    proxy = proxies(drop_first=99)
    records = usage_records(3, keyed=True)
    usage = seed_clients.play(bot_plan(proxy, issued, [{"call": "reportTokenUsage", "args": [r]} for r in records]))
    for result in usage["results"]:
        assert not result["ok"] and result["attempts"] == 3 and result["status"] is None, result
    assert TokenUsage.objects.filter(bot=issued.bot).count() == 3

    # Seed 001 keeps the events it could not deliver in a queue and a job sends them again later.
    events = seed_clients.play(dashboard_plan(proxy, issued, [
        {"call": "sendEventToDashboard", "args": ["order_created", {"orderId": n}, {"extra": {"id": f"pedido-{n}"}}]}
        for n in range(2)
    ], fallback=True))
    assert [(r["ok"], r.get("queued"), r["attempts"]) for r in events["results"]] == [(False, True, 3)] * 2
    assert len(events["fallback"]) == 2
    assert BotEvent.objects.filter(bot=issued.bot).count() == 2

    clean = proxies(drop_first=0)
    resend = [json.loads(raw) for raw in events["fallback"]]
    replayed = seed_clients.play(dashboard_plan(clean, issued, [
        {"call": "sendEventToDashboard", "args": [item["event"], item["payload"], {"extra": item["extra"]}]}
        for item in resend
    ]))
    assert all(r["ok"] and r["status"] == 201 and r["attempts"] == 1 for r in replayed["results"])
    assert BotEvent.objects.filter(bot=issued.bot).count() == 2

    counts = status_of(seed_clients, clean, issued)["counts"]
    assert counts["usage"] == {"accepted": 3, "duplicate": 6, "rejected": 0, "unkeyed": 0}
    assert counts["events"] == {"accepted": 2, "duplicate": 6, "rejected": 0, "unkeyed": 0}


def test_a_refused_record_is_not_sent_again(seed_clients, proxies, issued):
    proxy = proxies(drop_first=0)
    first = {"model": MODEL, "prompt_tokens": 10, "completion_tokens": 5, "request_id": "chatcmpl-reused"}
    reused = {**first, "prompt_tokens": 11}
    negative = {"model": MODEL, "prompt_tokens": -1, "completion_tokens": 5, "request_id": "chatcmpl-negative"}
    outcome = seed_clients.play({**bot_plan(proxy, issued, [
        {"call": "reportTokenUsage", "args": [record]} for record in (first, reused, negative)
    ]), "concurrency": 1})

    accepted, conflict, invalid = outcome["results"]
    assert accepted["ok"] and accepted["status"] == 201 and accepted["attempts"] == 1
    assert not conflict["ok"] and conflict["status"] == 409 and conflict["attempts"] == 1
    assert conflict["data"]["code"] == "conflict"
    assert not invalid["ok"] and invalid["attempts"] == 0  # the client's own check: nothing sent
    assert proxy.forwarded == 2
    assert list(TokenUsage.objects.filter(bot=issued.bot).values_list("prompt_tokens", flat=True)) == [10]


def test_the_node_clients_are_the_ones_that_ran(seed_clients):
    # On a machine with npm and the registry the seeds' own language plays them; the Python twin
    # is only the fallback of an offline machine (and warns that it ran).
    if seed_clients.implementation != "node":
        pytest.skip("the Python twin played the seed clients (the warning says why)")
    assert (seed_clients.node_modules / "axios" / "package.json").is_file()
