"""Reads of bot events shared by the dashboard routes, the events page and the admin."""

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Bot, BotEvent

ACTIVE_WINDOW = timedelta(hours=24)


def dashboard_metrics_get() -> dict:
    """Seed 001's getDashboardMetrics: events by type (last 24 h and in all), the bots active in
    the last 24 h, and the users and orders the events' payloads name (userId, orderId)."""
    since = timezone.now() - ACTIVE_WINDOW
    counts = {"total": Count("id"), "last_24h": Count("id", filter=Q(received_at__gte=since))}
    by_type = list(BotEvent.objects.values("event").annotate(**counts).order_by("-total", "event")[:100])
    totals = BotEvent.objects.aggregate(**counts)
    return {
        "events": {"total": totals["total"], "last_24h": totals["last_24h"], "by_type": by_type},
        "active_bots": Bot.objects.filter(is_active=True, last_seen_at__gte=since).count(),
        "users": BotEvent.objects.exclude(user_ref="").values("user_ref").distinct().count(),
        "orders": BotEvent.objects.exclude(order_ref="").values("order_ref").distinct().count(),
        "time": timezone.now(),
    }


def bot_event_list(*, bot_id: str | None = None, event: str | None = None):
    """Events newest first, of one bot (its public bot_id) and/or one type."""
    events = BotEvent.objects.select_related("bot").order_by("-received_at", "-id")
    if bot_id:
        events = events.filter(bot__bot_id=bot_id)
    if event:
        events = events.filter(event=event)
    return events


def bot_event_types_recent(*, sample: int = 500) -> list[str]:
    """The event types among the latest `sample` events, for the events page's suggestions (a
    DISTINCT over every event would read the whole table)."""
    latest = BotEvent.objects.order_by("-received_at").values_list("event", flat=True)[:sample]
    return sorted(set(latest))
