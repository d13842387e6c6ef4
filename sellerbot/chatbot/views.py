"""The chatbot's dashboard page (/painel/seller-bot/chatbot/): the period's figures, the open
conversations and one conversation's thread, drawn by the server as they are when the page opens.

The page only reads. Taking a conversation over, handing it back and replying go through the
/seller-bot/* API from static/js/chatbot.js, which also keeps the page current: it follows the
websocket's "chatbot" stream (static/js/live.js) and refetches the API every 15 s while the socket
is refused. Staff or who holds sellerbot.view_conversation may open it; the controls that change
a conversation are drawn for who holds sellerbot.change_conversation (the API refuses the others).
"""

from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from sellerbot.chatbot import notifications, selectors
from sellerbot.chatbot.api import MAX_CONVERSATIONS_LISTED, may_read_chatbot
from sellerbot.chatbot.models import AuthorKind, Channel, ConversationStatus, FunnelStage, Intent
from sellerbot.chatbot.serializers import ConversationSerializer, ThreadSerializer
from sellerbot.serializers import id_from_path

REPLY_PERMISSION = "sellerbot.change_conversation"
# The periods the figures can be read for (GET ?dias=); the API takes any 1 to 365.
PERIODS = ((1, "Últimas 24 horas"), (7, "Últimos 7 dias"), (30, "Últimos 30 dias"))
DEFAULT_PERIOD = 7
LISTED_STATUSES = ((ConversationStatus.BOT, "Com o bot"), (ConversationStatus.HUMAN, "Com uma pessoa"))
DELIVERY_LABELS = {"PENDING": "enviando…", "DELIVERED": "enviada", "ABANDONED": "não entregue"}


@login_required
@require_GET
def chatbot_page(request):
    user = request.user
    if not may_read_chatbot(user):
        raise PermissionDenied
    days = _choice(request.GET.get("dias"), [days for days, _ in PERIODS], DEFAULT_PERIOD)
    channel = _choice(request.GET.get("canal"), Channel.values, "")
    status = _choice(request.GET.get("situacao"), [value for value, _ in LISTED_STATUSES], "")
    today = timezone.localdate()

    listed = list(selectors.conversations_active(channel=channel, status=status)[:MAX_CONVERSATIONS_LISTED])
    conversations = ConversationSerializer(listed, many=True).data
    for row, conversation in zip(conversations, listed, strict=True):
        row["when"] = _when(conversation.last_message_at, today)

    thread, missing = None, ""
    asked = request.GET.get("conversa", "")
    if asked:
        conversation = selectors.conversation_get(id_from_path(asked))
        if conversation is None:
            missing = asked[:40]
        else:
            thread = _thread(conversation, today)

    # What the links of the list keep of the page's choices besides the conversation.
    kept = {"dias": days if days != DEFAULT_PERIOD else "", "canal": channel, "situacao": status}
    stats = selectors.chatbot_stats(days=days)
    intents = selectors.intent_stats(days=days)
    funnel = selectors.funnel_stats(days=days)
    return render(request, "dashboard/sellerbot_chatbot.html", {
        "nav": "sellerbot-chatbot",
        "can_reply": user.has_perm(REPLY_PERMISSION),
        "days": days,
        "periods": PERIODS,
        "channel": channel,
        "status": status,
        "channels": Channel.choices,
        "statuses": LISTED_STATUSES,
        "kept_query": "".join(f"&{name}={value}" for name, value in kept.items() if value),
        "conversations": conversations,
        "capped": len(listed) >= MAX_CONVERSATIONS_LISTED,
        "thread": thread,
        "missing": missing,
        "stats": stats,
        "figures": _figures(stats),
        "intent_bars": _intent_bars(intents),
        "funnel_bars": _funnel_bars(funnel),
        # The labels the script draws with, the same the server uses.
        "labels": {
            "channel": dict(Channel.choices),
            "status": dict(ConversationStatus.choices),
            "funnel_stage": dict(FunnelStage.choices),
            "intent": dict(Intent.choices),
            "author_kind": dict(AuthorKind.choices),
            "delivery": DELIVERY_LABELS,
        },
        "state": {"conversations": conversations, "thread": thread},
    })


def _choice(raw: str | None, allowed: list, default):
    """`raw` when it is one of `allowed` (numbers compared as text), else `default`."""
    for value in allowed:
        if raw == str(value):
            return value
    return default


def _thread(conversation, today: date) -> dict:
    """The conversation's latest messages as the API's thread view gives them, each with the
    labels and time the template draws."""
    messages = selectors.conversation_thread(conversation)
    data = ThreadSerializer({"conversation": notifications.conversation_summary(conversation),
                             "messages": [notifications.message_summary(message) for message in messages]}).data
    drawn = []
    for row, message in zip(data["messages"], messages, strict=True):
        drawn.append({**row, "when": _when(message.created_at, today), "at": message.created_at,
                      "delivery_label": DELIVERY_LABELS.get(row["delivery"] or "", "")})
    return {"conversation": data["conversation"], "messages": drawn,
            "paused_until": conversation.paused_until, "older": len(messages) >= selectors.THREAD_PAGE}


def _when(moment, today: date) -> str:
    """"14:05" today, "03/02 14:05" another day: in the console's time zone (chatbot.js says the same)."""
    local = timezone.localtime(moment)
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%d/%m %H:%M")


def _percent(share: float | None) -> str:
    if share is None:
        return "—"
    return f"{share * 100:.1f}".replace(".", ",") + "%"


def _figures(stats: dict) -> dict:
    messages = stats["messages"]
    return {
        "messages": messages["from_customers"] + messages["bot_replies"] + messages["human_replies"],
        "not_understood": _percent(stats["not_understood_share"]),
        "confidence": _percent(stats["average_confidence"]),
    }


def _intent_bars(intents: dict) -> dict:
    """One bar per intent, its length against the most frequent one (SVG widths of 0 to 100)."""
    peak = max((row["count"] for row in intents["intents"]), default=0) or 1
    return {"total": intents["total"], "bars": [
        {**row, "width": round(row["count"] / peak * 100, 1), "share_label": _percent(row["share"])}
        for row in intents["intents"]
    ]}


def _funnel_bars(funnel: dict) -> dict:
    """One bar per stage, its length against the conversations of the period (the first stage),
    with the conversion from the stage before."""
    whole = funnel["total"] or 1
    ratios = {conversion["to"]: conversion["ratio"] for conversion in funnel["conversions"]}
    return {"total": funnel["total"], "bars": [
        {**stage, "width": round(stage["conversations"] / whole * 100, 1),
         "conversion_label": _percent(ratios[stage["stage"]]) if stage["stage"] in ratios else ""}
        for stage in funnel["stages"]
    ]}
