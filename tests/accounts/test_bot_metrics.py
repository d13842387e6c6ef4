"""The bots' counters on /metrics: read from the database at each scrape, with bounded labels
(the busiest bots and the priced models by name, the rest as `other`), and a scrape that still
answers while the database does not."""

import logging
import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import OperationalError
from django.utils import timezone
from prometheus_client import CollectorRegistry
from prometheus_client.core import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from accounts import bots, metrics
from accounts.bot_events.services import bot_events_record
from accounts.models import ModelPrice
from accounts.usage.services import usage_record_many

pytestmark = pytest.mark.django_db


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.content.decode()


def samples(text: str) -> dict[tuple, float]:
    """{(sample name, (sorted labels)): value} of the bots' families."""
    found = {}
    for family in text_string_to_metric_families(text):
        if family.name.startswith("console_bot_"):
            for sample in family.samples:
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


def price(model: str, input_price="1", output_price="1") -> ModelPrice:
    return ModelPrice.objects.create(model=model, valid_from=timezone.now() - timedelta(days=30),
                                     input_per_million=Decimal(input_price), output_per_million=Decimal(output_price))


def use(bot, model: str, count: int = 1, prompt=1000, completion=500, cached=100, reasoning=50, key="r"):
    items = [{"model": model, "prompt_tokens": prompt, "completion_tokens": completion, "cached_tokens": cached,
              "reasoning_tokens": reasoning, "request_id": f"{key}-{model}-{n}"} for n in range(count)]
    results = usage_record_many(bot=bot, items=items).results
    assert {result.status for result in results} == {"accepted"}


@pytest.fixture
def sales():
    return bots.bot_create(name="Vendas", scopes="usage:write,events:write").bot


def test_usage_counters_count_records_tokens_cost_and_unpriced_records_per_bot_and_model(client, sales):
    price("gpt-4o", input_price="2", output_price="8")
    use(sales, "gpt-4o", count=3)
    use(sales, "sem-preco", count=2, key="u")

    found = samples(scrape(client))

    bot = sales.bot_id
    assert value(found, "console_bot_usage_records_total", bot=bot, model="gpt-4o") == 3
    assert value(found, "console_bot_usage_tokens_total", bot=bot, model="gpt-4o", kind="prompt") == 3000
    assert value(found, "console_bot_usage_tokens_total", bot=bot, model="gpt-4o", kind="completion") == 1500
    assert value(found, "console_bot_usage_tokens_total", bot=bot, model="gpt-4o", kind="cached") == 300
    assert value(found, "console_bot_usage_tokens_total", bot=bot, model="gpt-4o", kind="reasoning") == 150
    # 3 × (1000 × 2 + 500 × 8) / 1e6
    assert value(found, "console_bot_usage_cost_usd_total", bot=bot, model="gpt-4o") == pytest.approx(0.018)
    assert value(found, "console_bot_usage_unpriced_records_total", bot=bot, model="gpt-4o") == 0
    # A model without a price is never named: bots choose model names, staff choose prices.
    assert value(found, "console_bot_usage_records_total", bot=bot, model="other") == 2
    assert value(found, "console_bot_usage_unpriced_records_total", bot=bot, model="other") == 2
    assert value(found, "console_bot_usage_records_total", bot=bot, model="sem-preco") is None


def test_intake_counters_say_what_became_of_usage_and_events(client, sales):
    use(sales, "gpt-4o", count=2)
    usage_record_many(bot=sales, items=[
        {"model": "gpt-4o", "prompt_tokens": 1000, "completion_tokens": 500, "cached_tokens": 100,
         "reasoning_tokens": 50, "request_id": "r-gpt-4o-0"},  # a retry
        {"model": "gpt-4o", "prompt_tokens": -1, "completion_tokens": 0},  # refused
        {"model": "gpt-4o", "prompt_tokens": 1, "completion_tokens": 1},  # no key
    ])
    bot_events_record(bot=sales, items=[{"event": "new_message", "payload": {}, "id": "e-1"},
                                        {"event": "new_message", "payload": {}, "id": "e-1"},
                                        {"event": "new_message", "payload": {}},
                                        {"payload": {}}])

    found = samples(scrape(client))

    def intake(stream, outcome):
        return value(found, "console_bot_intake_total", bot=sales.bot_id, stream=stream, outcome=outcome)

    assert (intake("usage", "accepted"), intake("usage", "duplicate"), intake("usage", "rejected"),
            intake("usage", "unkeyed")) == (3, 1, 1, 1)
    assert (intake("events", "accepted"), intake("events", "duplicate"), intake("events", "rejected"),
            intake("events", "unkeyed")) == (2, 1, 1, 1)


def test_only_the_busiest_bots_and_priced_models_are_named_and_the_rest_is_other(client, settings):
    settings.BOT_METRICS_MAX_BOTS = 2
    settings.BOT_METRICS_MAX_MODELS = 1
    busy, middle, quiet = (bots.bot_create(name=name, scopes="usage:write,events:write").bot
                           for name in ("Vendas", "Suporte", "Cobrança"))
    price("gpt-4o")
    price("claude")
    use(busy, "gpt-4o", count=4)
    use(busy, "claude", count=1)
    use(middle, "gpt-4o", count=1)
    bot_events_record(bot=middle, items=[{"event": "e", "payload": {}, "id": str(n)} for n in range(2)])
    use(quiet, "gpt-4o", count=2)  # 2 records, fewer than the middle bot's 1 record + 2 events

    text = scrape(client)
    found = samples(text)

    assert value(found, "console_bot_usage_records_total", bot=busy.bot_id, model="gpt-4o") == 4
    assert value(found, "console_bot_usage_records_total", bot=busy.bot_id, model="other") == 1  # claude
    assert value(found, "console_bot_usage_records_total", bot=middle.bot_id, model="gpt-4o") == 1
    assert value(found, "console_bot_usage_records_total", bot="other", model="gpt-4o") == 2
    assert value(found, "console_bot_intake_total", bot="other", stream="usage", outcome="accepted") == 2
    assert quiet.bot_id not in text and "claude" not in text
    bots_named = {dict(labels)["bot"] for _, labels in found}
    models_named = {dict(labels).get("model") for _, labels in found} - {None}
    assert bots_named == {busy.bot_id, middle.bot_id, "other"} and models_named == {"gpt-4o", "other"}


def test_the_counters_follow_the_database_not_the_process(client, sales):
    use(sales, "gpt-4o", count=1)
    first = value(samples(scrape(client)), "console_bot_usage_records_total", bot=sales.bot_id, model="other")

    use(sales, "gpt-4o", count=2, key="more")  # as another process would, through the same database

    assert first == 1
    assert value(samples(scrape(client)), "console_bot_usage_records_total", bot=sales.bot_id, model="other") == 3


def test_a_scrape_while_the_database_is_down_leaves_the_bots_counters_out_and_says_so(client, sales, caplog):
    use(sales, "gpt-4o", count=1)

    with mock.patch("accounts.metrics.UsageDaily.objects.values", side_effect=OperationalError("connection refused")):
        with caplog.at_level(logging.WARNING, logger="accounts.metrics"):
            text = scrape(client)

    assert "console_bot_" not in text
    assert "python_info" in text or "process_" in text or "django_" in text  # the rest of the page is there
    assert "the database did not answer (connection refused)" in caplog.text


def test_the_collector_is_registered_once_and_registering_reads_no_database(django_assert_num_queries):
    ours = [c for c in REGISTRY._collector_to_names if isinstance(c, metrics.BotUsageCollector)]
    assert len(ours) == 1
    metrics.collector_register()
    assert len([c for c in REGISTRY._collector_to_names if isinstance(c, metrics.BotUsageCollector)]) == 1

    registry = CollectorRegistry(auto_describe=True)
    with django_assert_num_queries(0):
        metrics.collector_register(registry)
        metrics.collector_register(registry)


def test_promtool_accepts_the_page(client, sales):
    price("gpt-4o")
    use(sales, "gpt-4o", count=2)
    bot_events_record(bot=sales, items=[{"event": "new_message", "payload": {}, "id": "e-1"}])
    text = scrape(client)
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")

    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)

    # promtool exits 1 for lint remarks too; none may be about the bots' families.
    remarks = [line for line in (result.stdout + result.stderr).splitlines() if "console_bot_" in line]
    assert remarks == []
    assert "error while linting" not in result.stderr and "text format parsing error" not in result.stderr
