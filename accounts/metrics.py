"""Prometheus counters of what the bots sent: token usage (records, tokens, cost, records without a
price) and the intake's outcomes, on /metrics.

They are read from the database at each scrape rather than counted in the process: `make run`
serves with several daphne processes on one port and a scrape lands on any one of them, so
in-process counters would jump from one scrape to the next; the database's totals are the same
whichever process answers, exact, and survive restarts.

Labels stay bounded whatever the bots send: `bot` is the bot's public id for the
BOT_METRICS_MAX_BOTS bots with the most records and events, `model` is a model name only when the
model has a price (a list staff control in the admin), at most BOT_METRICS_MAX_MODELS of them with
the most records; everything else is summed under `other`. A bot or model that moves in or out of
the named ones makes `other` step down once, which Prometheus reads as a counter reset.
"""

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Sum
from prometheus_client.core import REGISTRY, CounterMetricFamily
from prometheus_client.registry import CollectorRegistry

from accounts.models import IntakeTally, ModelPrice, UsageDaily

logger = logging.getLogger(__name__)

OTHER = "other"
TOKEN_KINDS = {"prompt": "prompt_tokens", "completion": "completion_tokens", "cached": "cached_tokens",
               "reasoning": "reasoning_tokens"}
USAGE_SUMS = ("records", *TOKEN_KINDS.values(), "cost", "unpriced_records")


class BotUsageCollector:
    """Yields the bots' counters from the daily sums (UsageDaily) and the intake tallies
    (IntakeTally): a few thousand rows at most, whatever the number of records."""

    def describe(self) -> list[CounterMetricFamily]:
        # The names alone, so that registering never reads the database.
        return self._families()

    def collect(self) -> Iterator[CounterMetricFamily]:
        try:
            families = self._read()
        except DatabaseError as error:
            logger.warning("bot usage metrics left out of this scrape: the database did not answer (%s)", error)
            return
        yield from families

    def _families(self) -> list[CounterMetricFamily]:
        return [
            CounterMetricFamily("console_bot_usage_records", "Token-usage records stored, per bot and model.",
                                labels=["bot", "model"]),
            CounterMetricFamily("console_bot_usage_tokens", "Tokens reported, per bot, model and kind "
                                "(cached is part of prompt, reasoning part of completion).",
                                labels=["bot", "model", "kind"]),
            CounterMetricFamily("console_bot_usage_cost_usd", "Cost of the usage in USD at the prices in force "
                                "(lowered or raised by a recomputation after a price correction).",
                                labels=["bot", "model"]),
            CounterMetricFamily("console_bot_usage_unpriced_records", "Usage records whose model had no price.",
                                labels=["bot", "model"]),
            CounterMetricFamily("console_bot_intake", "Items the bots sent, per stream (usage, events) and outcome "
                                "(accepted, duplicate, rejected; unkeyed: accepted without an idempotency key).",
                                labels=["bot", "stream", "outcome"]),
        ]

    def _read(self) -> list[CounterMetricFamily]:
        usage = list(UsageDaily.objects.values("bot__bot_id", "model")
                     .annotate(**{name: Sum(name) for name in USAGE_SUMS}).order_by())
        intake = list(IntakeTally.objects.values("bot__bot_id", "stream", "outcome")
                      .annotate(count=Sum("count")).order_by())
        priced = set(ModelPrice.objects.values_list("model", flat=True).distinct())
        bot_label = _bounded(_bot_weights(usage, intake), settings.BOT_METRICS_MAX_BOTS)
        model_weights: dict[str, int] = defaultdict(int)
        for row in usage:
            if row["model"] in priced:
                model_weights[row["model"]] += row["records"] or 0
        model_label = _bounded(model_weights, settings.BOT_METRICS_MAX_MODELS)

        sums: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for row in usage:
            labels = (bot_label(row["bot__bot_id"]), model_label(row["model"]))
            for name in USAGE_SUMS:
                sums[labels][name] += float(row[name] or 0)
        outcomes: dict[tuple[str, str, str], float] = defaultdict(float)
        for row in intake:
            outcomes[(bot_label(row["bot__bot_id"]), row["stream"], row["outcome"])] += float(row["count"] or 0)

        records, tokens, cost, unpriced, intake_family = families = self._families()
        for (bot, model), values in sorted(sums.items()):
            records.add_metric([bot, model], values["records"])
            for kind, field in TOKEN_KINDS.items():
                tokens.add_metric([bot, model, kind], values[field])
            cost.add_metric([bot, model], values["cost"])
            unpriced.add_metric([bot, model], values["unpriced_records"])
        for labels, count in sorted(outcomes.items()):
            intake_family.add_metric(list(labels), count)
        return families


def _bot_weights(usage: Iterable[dict], intake: Iterable[dict]) -> dict[str, int]:
    """Each bot's usage records plus its stored events: which bots are named."""
    weights: dict[str, int] = defaultdict(int)
    for row in usage:
        weights[row["bot__bot_id"]] += row["records"] or 0
    for row in intake:
        if row["stream"] == IntakeTally.Stream.EVENTS and row["outcome"] == IntakeTally.Outcome.ACCEPTED:
            weights[row["bot__bot_id"]] += row["count"] or 0
    return weights


def _bounded(weights: dict[str, int], limit: int):
    """A labeller naming the `limit` heaviest keys (ties by name, so the choice is stable) and
    folding every other value into `other`."""
    named = {key for key, _ in sorted(weights.items(), key=lambda item: (-item[1], item[0]))[:max(limit, 0)]}
    return lambda key: key if key in named else OTHER


_lock = threading.Lock()


def collector_register(registry: CollectorRegistry = REGISTRY) -> None:
    """Register the bots' collector on `registry` once, however often the app is made ready."""
    with _lock:
        if any(isinstance(collector, BotUsageCollector) for collector in list(registry._collector_to_names)):
            return
        registry.register(BotUsageCollector())
