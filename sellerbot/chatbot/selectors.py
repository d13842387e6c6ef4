"""Reads of the chatbot's data shared by the API, the pages and the admin: the conversations, the
period's figures (GET /seller-bot/stats…) and the health of its parts."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Avg, Count, OuterRef, Q, Subquery
from django.utils import timezone
from redis.exceptions import RedisError

from jobs.queues import redis_connection
from project.outbox import OutboxState
from sellerbot.chatbot.models import (
    AuthorKind,
    Channel,
    ChatbotConfig,
    Conversation,
    ConversationStatus,
    FunnelStage,
    HandOff,
    HandOffActor,
    HandOffTo,
    Intent,
    LlmBackend,
    Message,
    ReplyAttempt,
    ReplyDelivery,
)

logger = logging.getLogger(__name__)


def conversations_active(*, channel: str = "", status: str = ""):
    """Open conversations (with the bot or a person), newest activity first, with their message
    count and last message."""
    last_text = Message.objects.filter(conversation=OuterRef("pk")).order_by("-created_at", "-id").values("text")[:1]
    conversations = (Conversation.objects.exclude(status=ConversationStatus.CLOSED)
                     .select_related("assigned_agent")
                     .annotate(message_count=Count("messages"), last_message=Subquery(last_text))
                     .order_by("-last_message_at", "-id"))
    if channel:
        conversations = conversations.filter(channel=channel)
    if status:
        conversations = conversations.filter(status=status)
    return conversations


def conversation_get(conversation_id: int | None) -> Conversation | None:
    if conversation_id is None:
        return None
    return Conversation.objects.filter(pk=conversation_id).first()


def chatbot_stats(*, days: int) -> dict:
    """GET /seller-bot/stats: the conversations with a message in the last `days` days, the
    period's messages, hand-offs and replies owed to the channels."""
    since = _since(days)
    conversations = _conversations_of_period(since)
    by_status = _counts(conversations, "status", ConversationStatus.values)
    messages = Message.objects.filter(created_at__gte=since)
    figures = messages.aggregate(
        from_customers=Count("id", filter=Q(author_kind=AuthorKind.CUSTOMER)),
        bot_replies=Count("id", filter=Q(author_kind=AuthorKind.BOT)),
        human_replies=Count("id", filter=Q(author_kind=AuthorKind.HUMAN)),
        not_understood=Count("id", filter=Q(author_kind=AuthorKind.CUSTOMER, intent=Intent.OTHER)),
        average_confidence=Avg("confidence", filter=Q(author_kind=AuthorKind.CUSTOMER)),
    )
    handoffs = HandOff.objects.filter(created_at__gte=since)
    to_human = handoffs.filter(to=HandOffTo.HUMAN)
    replies = ReplyDelivery.objects.filter(created_at__gte=since)
    customers = figures["from_customers"]
    return {
        "period_days": days,
        "since": since,
        "conversations": {
            "total": sum(by_status.values()),
            "active": by_status[ConversationStatus.BOT] + by_status[ConversationStatus.HUMAN],
            "by_status": by_status,
            "by_channel": _counts(conversations, "channel", Channel.values),
        },
        "messages": {"from_customers": customers, "bot_replies": figures["bot_replies"],
                     "human_replies": figures["human_replies"]},
        "handoffs": {
            "total": to_human.count(),
            "by_actor": _counts(to_human, "actor_kind", HandOffActor.values),
            "back_to_bot": handoffs.filter(to=HandOffTo.BOT).count(),
        },
        "average_confidence": _rounded(figures["average_confidence"]),
        "not_understood_share": _share(figures["not_understood"], customers),
        "replies": {"pending": replies.filter(state=OutboxState.PENDING).count(),
                    "abandoned": replies.filter(state=OutboxState.ABANDONED).count()},
    }


def intent_stats(*, days: int) -> dict:
    """GET /seller-bot/stats/intents: every intent, in the model's order, with how many of the
    period's customer messages it was read in, their share and their average confidence."""
    since = _since(days)
    rows = {row["intent"]: row for row in (
        Message.objects.filter(created_at__gte=since, author_kind=AuthorKind.CUSTOMER)
        .values("intent").annotate(count=Count("id"), average_confidence=Avg("confidence")).order_by()
    )}
    total = sum(row["count"] for row in rows.values())
    intents = []
    for intent in Intent:
        row = rows.get(intent.value, {"count": 0, "average_confidence": None})
        intents.append({"intent": intent.value, "label": intent.label, "count": row["count"],
                        "share": _share(row["count"], total),
                        "average_confidence": _rounded(row["average_confidence"])})
    return {"period_days": days, "since": since, "total": total, "intents": intents}


def funnel_stats(*, days: int) -> dict:
    """GET /seller-bot/stats/funnel: how many of the period's conversations reached each stage (a
    conversation further along counts for every stage before its own), and each step's conversion."""
    since = _since(days)
    at_stage = _counts(_conversations_of_period(since), "funnel_stage", FunnelStage.values)
    stages, reached = [], sum(at_stage.values())
    for stage in FunnelStage:
        stages.append({"stage": stage.value, "label": stage.label, "conversations": reached,
                       "at_stage": at_stage[stage.value]})
        reached -= at_stage[stage.value]
    conversions = [{"from": before["stage"], "to": after["stage"],
                    "ratio": _share(after["conversations"], before["conversations"])}
                   for before, after in zip(stages, stages[1:], strict=False)]
    return {"period_days": days, "since": since, "total": stages[0]["conversations"], "stages": stages,
            "conversions": conversions}


def chatbot_health() -> dict:
    """GET /seller-bot/health: Redis, the reply generator and each channel's last deliveries.

    Nothing secret: a channel is only said to be configured, and an error text is shown with
    any configured secret blotted out (a URL in an error may carry a token)."""
    config = config_current()
    redis_ok = _redis_answers()
    channels = {name: _channel_health(channel, configured=_configured(settings_names))
                for name, (channel, settings_names) in HEALTH_CHANNELS.items()}
    failing = any(health.pop("failing") for health in channels.values())
    return {
        "status": "ok" if redis_ok and not failing else "degraded",
        "redis": {"ok": redis_ok},
        "llm": {"backend": config.llm_backend, "configured": _llm_configured(config.llm_backend)},
        "channels": channels,
    }


def config_current() -> ChatbotConfig:
    """The chatbot's configuration, or its defaults while nobody has saved it (a read never writes;
    services.config_get creates the row)."""
    return ChatbotConfig.objects.select_related("updated_by").filter(pk=1).first() or ChatbotConfig(pk=1)


# --- helpers -----------------------------------------------------------------------------------

# The health route's channels: the channel of their ReplyAttempt rows, and the settings that must
# all be set for replies to be sent through them.
HEALTH_CHANNELS = {
    "chatwoot": (Channel.CHATWOOT, ("CHATWOOT_BASE_URL", "CHATWOOT_API_TOKEN")),
    "whatsapp": (Channel.WHATSAPP, ("EVOLUTION_BASE_URL", "EVOLUTION_API_KEY")),
    "instagram": (Channel.INSTAGRAM, ("INSTAGRAM_ACCESS_TOKEN",)),
}
# Settings whose values never leave the server, even inside an error text.
SECRET_SETTINGS = ("CHATWOOT_API_TOKEN", "CHATWOOT_WEBHOOK_SECRET", "EVOLUTION_API_KEY", "EVOLUTION_WEBHOOK_SECRET",
                   "INSTAGRAM_ACCESS_TOKEN", "INSTAGRAM_APP_SECRET", "INSTAGRAM_VERIFY_TOKEN", "LLM_API_KEY")
REDACTED = "[oculto]"


def _since(days: int):
    return timezone.now() - timedelta(days=days)


def _conversations_of_period(since):
    return Conversation.objects.filter(last_message_at__gte=since)


def _counts(queryset, field: str, values: list[str]) -> dict[str, int]:
    """How many rows have each of `values` in `field`, zeros included, in `values`' order."""
    found = dict(queryset.values_list(field).annotate(n=Count("id")).order_by())
    return {value: found.get(value, 0) for value in values}


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _rounded(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def _redis_answers() -> bool:
    try:
        return bool(redis_connection().ping())
    except RedisError:
        logger.warning("chatbot health: Redis unreachable", exc_info=True)
        return False


def _configured(names: tuple[str, ...]) -> bool:
    return all(str(getattr(settings, name, "") or "").strip() for name in names)


def _llm_configured(backend: str) -> bool:
    # The offline generator needs nothing; a server compatible with OpenAI needs its address.
    if backend == LlmBackend.OFFLINE:
        return True
    return bool(str(getattr(settings, "LLM_BASE_URL", "") or "").strip())


def _channel_health(channel: str, *, configured: bool) -> dict:
    attempts = ReplyAttempt.objects.filter(channel=channel)
    success = attempts.filter(ok=True).order_by("-attempted_at", "-id").first()
    failure = attempts.filter(ok=False).order_by("-attempted_at", "-id").first()
    last_failed = failure is not None and (success is None or failure.attempted_at > success.attempted_at)
    return {
        "configured": configured,
        "last_success": success.attempted_at if success else None,
        "last_failure": failure.attempted_at if failure else None,
        "last_error": _redacted(_failure_text(failure)) if failure else "",
        # Only a channel in use can make the chatbot degraded.
        "failing": configured and last_failed,
    }


def _failure_text(attempt: ReplyAttempt) -> str:
    if attempt.error:
        return attempt.error
    return f"HTTP {attempt.http_status}" if attempt.http_status else ""


def _redacted(text: str) -> str:
    for name in SECRET_SETTINGS:
        secret = str(getattr(settings, name, "") or "")
        # A value this short would blot out ordinary words; no real token is.
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


# The thread view shows the latest messages; older ones come with ?before=<id>.
THREAD_PAGE = 100


def conversation_thread(conversation, *, before: int | None = None) -> list:
    """The conversation's messages (with their delivery), oldest first, at most THREAD_PAGE of them:
    the latest, or the ones before message `before`."""
    messages = Message.objects.filter(conversation=conversation).select_related("author", "delivery")
    if before is not None:
        messages = messages.filter(id__lt=before)
    return list(reversed(messages.order_by("-id")[:THREAD_PAGE]))
