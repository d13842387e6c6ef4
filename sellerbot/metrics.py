"""The Seller Bot's Prometheus metrics, with seed 004's names and labels, on /metrics.

Counters are added to rows of BotCounter (one INSERT … ON CONFLICT DO UPDATE each, so concurrent
processes never lose a count) and read back at each scrape. The increments happen in several
processes — the web (tasks and profiles created, start/stop), the bot worker's rq jobs (runs
completed or failed), the maintenance pass (runs whose worker died) and the chatbot's replies
(chatbot_llm_fallback_total: the language model gave none) — and a scrape lands on
any daphne process; in-process counters would show each process its own share. The database
sums are the same whichever process answers, and survive restarts.

The histogram is kept the same way: one row per bucket (cumulative, as Prometheus counts them),
plus its sum (the count is the +Inf bucket). The gauges are read at scrape time from the tables and the heartbeat.
"""

import logging
import threading
from collections.abc import Iterator

from django.db import DatabaseError, transaction
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import CollectorRegistry

from project.intake import increment
from sellerbot.models import BotCounter

logger = logging.getLogger(__name__)

# Counter name (without _total) → (help, label names).
COUNTERS = {
    "bot_task_created": ("Tasks created, per task type.", ("task_type",)),
    "bot_task_completed": ("Task runs completed, per task type.", ("task_type",)),
    "bot_task_failed": ("Task runs failed, per task type and error category.", ("task_type", "error")),
    "bot_profile_created": ("TikTok Seller Center profiles created.", ()),
    "bot_profile_verified": ("Profile login checks, per outcome (success, failed).", ("status",)),
    "bot_started": ("Times the bot worker was switched on.", ()),
    "bot_stopped": ("Times the bot worker was switched off.", ()),
    "chatbot_llm_fallback": ("Chatbot replies the offline backend gave because the language model gave none, "
                             "per reason.", ("reason",)),
}
# Label values known in advance start at zero, so a first increment shows as one in rate().
KNOWN_LABELS = {
    "task_type": ("reply_comments", "reply_messages", "sync_orders", "update_stock"),
    "status": ("success", "failed"),
    "reason": ("not_configured", "timeout", "connection", "http_error", "bad_response"),
}
DURATION = "bot_task_duration_seconds"
DURATION_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def count(name: str, **labels: str) -> None:
    """Add one to counter `name` with these labels. Never raises: a lost count must not fail
    the work it counts."""
    if name not in COUNTERS or set(labels) != set(COUNTERS[name][1]):
        raise ValueError(f"unknown counter or labels: {name} {sorted(labels)}")
    _add([{"name": name, "labels": _labels(labels), "value": 1.0}])


def observe_duration(seconds: float) -> None:
    """One task run of `seconds` into bot_task_duration_seconds."""
    seconds = max(0.0, float(seconds))
    rows = [{"name": f"{DURATION}_bucket", "labels": f"le={bound}", "value": 1.0}
            for bound in DURATION_BUCKETS if seconds <= bound]
    rows += [
        {"name": f"{DURATION}_bucket", "labels": "le=+Inf", "value": 1.0},
        {"name": f"{DURATION}_sum", "labels": "", "value": seconds},
    ]
    _add(rows)


def _add(rows: list[dict]) -> None:
    try:
        # A savepoint: counted inside a caller's transaction (a chatbot reply), a failed
        # increment must not leave that transaction unusable.
        with transaction.atomic():
            increment(BotCounter, rows, keys=("name", "labels"), sums=("value",))
    except DatabaseError:
        logger.warning("Seller Bot metric not counted: the database did not answer", exc_info=True)


def _labels(labels: dict[str, str]) -> str:
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))


def _parse(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in text.split(",") if part)


class SellerBotCollector:
    def describe(self) -> list:
        return self._families()

    def collect(self) -> Iterator:
        try:
            families = self._read()
        except DatabaseError as error:
            logger.warning("Seller Bot metrics left out of this scrape: the database did not answer (%s)", error)
            return
        yield from families

    def _families(self) -> list:
        counters = [CounterMetricFamily(name, help_text, labels=list(labels))
                    for name, (help_text, labels) in COUNTERS.items()]
        return [
            *counters,
            HistogramMetricFamily(DURATION, "Duration of the bot's task runs."),
            GaugeMetricFamily("bot_active_tasks", "Tasks queued or running now."),
            GaugeMetricFamily("bot_active_profiles", "Profiles with a task queued or running now."),
            GaugeMetricFamily("bot_worker_status",
                              "The bot worker: 1 running (switched on, heartbeat fresh), 0 stopped."),
        ]

    def _read(self) -> list:
        from sellerbot import selectors

        rows = list(BotCounter.objects.values_list("name", "labels", "value"))
        families = self._families()
        by_name = {family.name: family for family in families}
        for name, (_, label_names) in COUNTERS.items():
            family = by_name[name]
            values = {labels: value for row_name, labels, value in rows if row_name == name}
            if len(label_names) <= 1:
                known = KNOWN_LABELS.get(label_names[0], ()) if label_names else ("",)
                for label_value in known:
                    values.setdefault(_labels({label_names[0]: label_value}) if label_names else "", 0.0)
            for labels, value in sorted(values.items()):
                parsed = _parse(labels)
                family.add_metric([parsed.get(label, "") for label in label_names], value)

        buckets = {_parse(labels)["le"]: value for name, labels, value in rows if name == f"{DURATION}_bucket"}
        total = sum(value for name, _, value in rows if name == f"{DURATION}_sum")
        histogram = by_name[DURATION]
        histogram.add_metric(
            [], [(str(bound), buckets.get(str(bound), 0.0)) for bound in DURATION_BUCKETS]
            + [("+Inf", buckets.get("+Inf", 0.0))],
            total,
        )
        activity = selectors.bot_activity()
        by_name["bot_active_tasks"].add_metric([], activity["active_tasks"])
        by_name["bot_active_profiles"].add_metric([], activity["active_profiles"])
        by_name["bot_worker_status"].add_metric([], 1 if selectors.worker_is_running() else 0)
        return families


_lock = threading.Lock()


def collector_register(registry: CollectorRegistry = REGISTRY) -> None:
    with _lock:
        if any(isinstance(collector, SellerBotCollector) for collector in list(registry._collector_to_names)):
            return
        registry.register(SellerBotCollector())
