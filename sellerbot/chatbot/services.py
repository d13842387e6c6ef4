"""The chatbot's verbs: take a customer's message, answer it or stay silent, move a conversation
between the bot and people, close conversations. Views, tasks and channel adapters call these."""

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from jobs.queues import queue
from sellerbot.chatbot import context as contexts
from sellerbot.chatbot import intents, notifications, outbox
from sellerbot.chatbot.backends import BackendFailed, ReplyRequest, backend
from sellerbot.chatbot.backends import offline as offline_backend
from sellerbot.chatbot.models import (
    AuthorKind,
    ChatbotConfig,
    ConfigChange,
    Conversation,
    ConversationStatus,
    Direction,
    FunnelStage,
    HandOff,
    HandOffActor,
    HandOffTo,
    Intent,
    Message,
)

logger = logging.getLogger(__name__)

# How far each intent carries a conversation along the funnel (seed 004's stages).
_FUNNEL_STAGE_OF_INTENT = {
    Intent.PRODUCT_QUESTION: FunnelStage.INTEREST,
    Intent.SHIPPING: FunnelStage.INTEREST,
    Intent.PRICE: FunnelStage.PRICE_ASKED,
    Intent.PURCHASE_INTENT: FunnelStage.PURCHASE_INTENT,
    # A customer asking after their order has placed one.
    Intent.ORDER_STATUS: FunnelStage.ORDER,
}


@dataclass(frozen=True)
class Outcome:
    conversation: Conversation
    inbound: Message
    reply: Message | None
    intent: str
    confidence: float
    duplicate: bool = False
    handed_off: bool = False
    silent_because: str = ""  # why the bot did not answer: "human", "paused", "closed"


def config_get() -> ChatbotConfig:
    """The chatbot's configuration (created with its defaults the first time)."""
    config, _ = ChatbotConfig.objects.get_or_create(pk=1)
    return config


def message_process(*, channel: str, contact_id: str, text: str, contact_name: str = "",
                    channel_message_id: str = "", channel_conversation_id: str = "") -> Outcome:
    """A customer's message given to the bot directly (POST /seller-bot/message): recorded once (a
    redelivery gets the first outcome back), read for its intent, and answered at once unless a
    person has the conversation. Nothing is sent to a channel: the caller gets the reply."""
    config = config_get()
    with transaction.atomic():
        conversation = _conversation_for_update(channel, contact_id, contact_name, channel_conversation_id)
        if channel_message_id:
            earlier = Message.objects.filter(channel=channel, channel_message_id=channel_message_id).first()
            if earlier is not None:
                return _earlier_outcome(earlier)
        inbound, reading = _record_customer_message(conversation, text, channel_message_id, config)
        if not conversation.bot_may_answer():
            conversation.save()
            notifications.conversation_publish(conversation, inbound)
            return Outcome(conversation, inbound, None, reading.intent, reading.confidence,
                           silent_because=_silence(conversation))
        answer, handed_off = _answer(conversation, text, reading, config)
        conversation.save()
        notifications.conversation_publish(conversation, inbound, answer)
    return Outcome(conversation, inbound, answer, reading.intent, reading.confidence, handed_off=handed_off)


def channel_message_receive(*, channel: str, inbound) -> str:
    """A message from a channel's webhook (a channels.Inbound), stored before the webhook is
    answered; the reply is produced later by conversation_reply(), in a job, once the customer
    has stopped typing for the configured debounce. Returns "stored", "duplicate" or "own"."""
    from sellerbot.channels import Kind

    if inbound.kind == Kind.OWN:
        return "own"
    config = config_get()
    with transaction.atomic():
        conversation = _conversation_for_update(channel, inbound.contact_id, inbound.contact_name,
                                                inbound.channel_conversation_id)
        if inbound.channel_message_id and Message.objects.filter(
                channel=channel, channel_message_id=inbound.channel_message_id).exists():
            return "duplicate"
        if inbound.address:
            conversation.channel_address = inbound.address
        if inbound.kind == Kind.HUMAN:
            outcome = _record_human_on_channel(conversation, inbound, config)
            conversation.save()
            return outcome
        message, _ = _record_customer_message(conversation, inbound.text, inbound.channel_message_id, config)
        if conversation.bot_may_answer():
            conversation.reply_due_at = timezone.now() + timedelta(seconds=config.debounce_seconds)
            due_in = config.debounce_seconds
            conversation_id = conversation.pk
            transaction.on_commit(lambda: _enqueue_reply_quietly(conversation_id, due_in))
        conversation.save()
        notifications.conversation_publish(conversation, message)
    return "stored"


def conversation_reply(*, conversation_id: int) -> Message | None:
    """Answer the customer's messages since the last answer, together (they often split one
    question over several messages), if the reply is due and a person has not taken over."""
    if not _reply_claimed(conversation_id):
        return None
    config = config_get()
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        unanswered = _unanswered_customer_messages(conversation)
        if not unanswered or not conversation.bot_may_answer():
            return None
        text = "\n".join(message.text for message in unanswered)
        reading = intents.read(text, catalogue=config.catalogue, faq=config.faq,
                               handoff_keywords=config.handoff_keywords)
        answer, handed_off = _answer(conversation, text, reading, config)
        conversation.save()
        outbox.reply_schedule(message=answer)
        notifications.conversation_publish(conversation, answer)
        if handed_off:
            transaction.on_commit(lambda: _tell_channel_of_hand_off(conversation))
    return answer


def replies_overdue_produce(*, grace_seconds: int = 5, limit: int = 100) -> int:
    """The maintenance pass: replies whose job never ran (Redis was down, a worker died)."""
    overdue = Conversation.objects.filter(reply_due_at__lte=timezone.now() - timedelta(seconds=grace_seconds))
    ids = list(overdue.order_by("reply_due_at").values_list("id", flat=True)[:limit])
    return sum(1 for conversation_id in ids if conversation_reply(conversation_id=conversation_id))


def conversation_hand_off(*, conversation: Conversation, actor=None, reason: str = "") -> Conversation:
    """A staff member takes the conversation: the bot stays silent until it is handed back or
    the configured pause runs out."""
    config = config_get()
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        _hand_to_human(conversation, actor_kind=HandOffActor.STAFF, actor=actor,
                       reason=reason or "Assumida pela equipe", config=config)
        conversation.assigned_agent = actor or conversation.assigned_agent
        conversation.save()
        notifications.conversation_publish(conversation)
    return conversation


def conversation_hand_back(*, conversation: Conversation, actor=None, reason: str = "") -> Conversation:
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        _hand_to_bot(conversation, actor_kind=HandOffActor.STAFF, actor=actor,
                     reason=reason or "Devolvida ao bot pela equipe")
        conversation.save()
        notifications.conversation_publish(conversation)
    return conversation


def conversations_close_active() -> int:
    """Close every open conversation and forget their contexts; the history stays."""
    now = timezone.now()
    with transaction.atomic():
        active = Conversation.objects.select_for_update().exclude(status=ConversationStatus.CLOSED)
        contact_ids = list(active.values_list("contact_id", flat=True))
        closed = active.update(status=ConversationStatus.CLOSED, closed_at=now, paused_until=None)
    contexts.context_delete(*contact_ids)
    return closed


# --- helpers -----------------------------------------------------------------------------------

def _conversation_for_update(channel, contact_id, contact_name, channel_conversation_id) -> Conversation:
    open_conversations = Conversation.objects.select_for_update().exclude(status=ConversationStatus.CLOSED)
    conversation = open_conversations.filter(channel=channel, contact_id=contact_id).first()
    if conversation is None:
        try:
            with transaction.atomic():
                conversation = Conversation.objects.create(
                    channel=channel, contact_id=contact_id, contact_name=contact_name,
                    channel_conversation_id=channel_conversation_id,
                )
        except IntegrityError:
            # Another process opened it first (the one-open-conversation constraint): use theirs.
            conversation = open_conversations.get(channel=channel, contact_id=contact_id)
    if contact_name and not conversation.contact_name:
        conversation.contact_name = contact_name
    if channel_conversation_id and conversation.channel_conversation_id != channel_conversation_id:
        conversation.channel_conversation_id = channel_conversation_id
    return conversation


# rq's scheduler counts in whole seconds, so a job may start up to a second before its time: it
# waits that long rather than leave the reply to nobody.
_EARLY_START_TOLERANCE = timedelta(seconds=2)


def _reply_claimed(conversation_id: int) -> bool:
    """The claim: only the job that finds the reply due takes it. A message that arrived since
    moved the time later, and that message's own job answers."""
    due = Conversation.objects.filter(pk=conversation_id).values_list("reply_due_at", flat=True).first()
    if due is None:
        return False
    early = due - timezone.now()
    if early > _EARLY_START_TOLERANCE:
        return False
    if early.total_seconds() > 0:
        time.sleep(early.total_seconds())
    return bool(Conversation.objects.filter(pk=conversation_id, reply_due_at=due).update(reply_due_at=None))


def _record_customer_message(conversation: Conversation, text: str, channel_message_id: str, config):
    reading = intents.read(text, catalogue=config.catalogue, faq=config.faq, handoff_keywords=config.handoff_keywords)
    inbound = Message.objects.create(
        conversation=conversation, direction=Direction.INBOUND, author_kind=AuthorKind.CUSTOMER, text=text,
        channel=conversation.channel, channel_message_id=channel_message_id, intent=reading.intent,
        confidence=reading.confidence,
    )
    _advance_funnel(conversation, reading.intent)
    conversation.last_message_at = conversation.last_customer_message_at = inbound.created_at
    _resume_when_pause_ended(conversation)
    return inbound, reading


def _answer(conversation: Conversation, text: str, reading, config) -> tuple[Message, bool]:
    """The bot's reply to `text` (already read), recorded; hands off when it should."""
    handing_off, reason = _hand_off_reason(conversation, reading, config)
    context = contexts.context_get(conversation.contact_id)
    product = reading.product or _product_remembered(context, config)
    request = ReplyRequest(
        text=text, intent=reading.intent, confidence=reading.confidence, config=config, product=product,
        faq=reading.faq, contact_name=conversation.contact_name or context.get("name", ""),
        history=context.get("turns", []), handing_off=handing_off, conversation_id=str(conversation.pk),
    )
    reply = _generate(request, config)
    answer = Message.objects.create(
        conversation=conversation, direction=Direction.OUTBOUND, author_kind=AuthorKind.BOT, text=reply.text,
        channel=conversation.channel, intent=reading.intent, confidence=reading.confidence, backend=reply.backend,
        prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens,
    )
    if handing_off:
        _hand_to_human(conversation, actor_kind=_actor_of(reading), reason=reason, config=config)
    contexts.context_set(conversation.contact_id, _remembered(context, request, reply.text, product),
                         ttl_seconds=config.context_ttl_seconds)
    return answer, handing_off


def _record_human_on_channel(conversation: Conversation, inbound, config) -> str:
    """A person of the shop wrote on the channel itself: unless it is our own message coming
    back, record it and keep the bot silent (a person is talking)."""
    own = _own_message_echoed(conversation, inbound.text)
    if own is not None:
        if inbound.channel_message_id and not own.channel_message_id:
            own.channel_message_id = inbound.channel_message_id
            own.save(update_fields=["channel_message_id"])
        return "own"
    human = Message.objects.create(
        conversation=conversation, direction=Direction.OUTBOUND, author_kind=AuthorKind.HUMAN, text=inbound.text,
        channel=conversation.channel, channel_message_id=inbound.channel_message_id,
    )
    conversation.last_message_at = timezone.now()
    conversation.reply_due_at = None
    _person_talking(conversation, actor_kind=HandOffActor.CHANNEL,
                    reason="Uma pessoa da loja respondeu pelo próprio canal", config=config)
    notifications.conversation_publish(conversation, human)
    return "stored"


# A channel echoes our messages back (Chatwoot, Instagram) sometimes before our send has returned
# their id: an outgoing message of ours with the same text, this recent, is taken for the echo.
_ECHO_WINDOW = timedelta(minutes=10)


def _own_message_echoed(conversation: Conversation, text: str) -> Message | None:
    recent = timezone.now() - _ECHO_WINDOW
    return (Message.objects.filter(conversation=conversation, direction=Direction.OUTBOUND, text=text,
                                   created_at__gte=recent, delivery__isnull=False)
            .exclude(delivery__state="ABANDONED").order_by("-id").first())


def _unanswered_customer_messages(conversation: Conversation) -> list[Message]:
    last_answer = (Message.objects.filter(conversation=conversation, direction=Direction.OUTBOUND)
                   .order_by("-id").values_list("id", flat=True).first())
    unanswered = Message.objects.filter(conversation=conversation, author_kind=AuthorKind.CUSTOMER)
    if last_answer is not None:
        unanswered = unanswered.filter(id__gt=last_answer)
    return list(unanswered.order_by("id"))


def _silence(conversation: Conversation) -> str:
    return "paused" if conversation.status == ConversationStatus.BOT else conversation.status


def _enqueue_reply_quietly(conversation_id: int, due_in_seconds: int) -> None:
    task = "sellerbot.chatbot.tasks.conversation_reply_task"
    try:
        chatbot = queue(settings.CHATBOT_QUEUE)
        if due_in_seconds > 0:
            chatbot.enqueue_in(timedelta(seconds=due_in_seconds), task, conversation_id, result_ttl=600)
        else:
            chatbot.enqueue(task, conversation_id, result_ttl=600)
    except Exception:  # noqa: BLE001 - the maintenance pass produces it
        logger.warning("could not enqueue the chatbot reply of conversation %s; maintenance will", conversation_id)


def _tell_channel_of_hand_off(conversation: Conversation) -> None:
    """Chatwoot shows a conversation to people when its status is `open`; best effort: the
    conversation is `human` here whatever Chatwoot says."""
    from sellerbot.channels import chatwoot

    if conversation.channel != chatwoot.CHANNEL or not conversation.channel_address:
        return
    result = chatwoot.hand_off(conversation.channel_address)
    if not result.ok:
        logger.warning("Chatwoot conversation %s not opened to agents: %s", conversation.channel_conversation_id,
                       result.error)


def _earlier_outcome(inbound: Message) -> Outcome:
    reply = (Message.objects.filter(conversation=inbound.conversation, direction=Direction.OUTBOUND,
                                    author_kind=AuthorKind.BOT, id__gt=inbound.id).order_by("id").first())
    return Outcome(inbound.conversation, inbound, reply, inbound.intent, inbound.confidence or 0.0, duplicate=True)


def _advance_funnel(conversation: Conversation, intent: str) -> None:
    stage = _FUNNEL_STAGE_OF_INTENT.get(intent)
    if stage and FunnelStage.rank(stage) > FunnelStage.rank(conversation.funnel_stage):
        conversation.funnel_stage = stage


def _resume_when_pause_ended(conversation: Conversation) -> None:
    pause_ended = conversation.paused_until is not None and conversation.paused_until <= timezone.now()
    if conversation.status == ConversationStatus.HUMAN and pause_ended:
        _hand_to_bot(conversation, actor_kind=HandOffActor.SYSTEM, reason="A pausa do bot terminou")


def _hand_off_reason(conversation: Conversation, reading, config) -> tuple[bool, str]:
    if reading.intent == Intent.HUMAN_REQUEST:
        return True, "O cliente pediu para falar com uma pessoa"
    if reading.confidence < config.confidence_threshold:
        conversation.low_confidence_streak += 1
        if conversation.low_confidence_streak >= 2:
            return True, "O bot não entendeu o cliente duas vezes seguidas"
    else:
        conversation.low_confidence_streak = 0
    return False, ""


def _actor_of(reading) -> str:
    return HandOffActor.CUSTOMER if reading.intent == Intent.HUMAN_REQUEST else HandOffActor.BOT


def _person_talking(conversation, *, actor_kind, reason, config, actor=None) -> None:
    """A person of the shop wrote: the conversation is theirs, and the bot's pause starts again."""
    if conversation.status == ConversationStatus.HUMAN:
        conversation.paused_until = _pause_end(config)
    else:
        _hand_to_human(conversation, actor_kind=actor_kind, actor=actor, reason=reason, config=config)


def _pause_end(config):
    pause = config.handoff_pause_minutes
    return timezone.now() + timedelta(minutes=pause) if pause else None


def _hand_to_human(conversation, *, actor_kind, reason, config, actor=None) -> None:
    now = timezone.now()
    conversation.status = ConversationStatus.HUMAN
    conversation.low_confidence_streak = 0
    conversation.paused_until = _pause_end(config)
    HandOff.objects.create(conversation=conversation, to=HandOffTo.HUMAN, actor_kind=actor_kind, actor=actor,
                           reason=reason[:300], created_at=now)


def _hand_to_bot(conversation, *, actor_kind, reason, actor=None) -> None:
    conversation.status = ConversationStatus.BOT
    conversation.paused_until = None
    conversation.low_confidence_streak = 0
    HandOff.objects.create(conversation=conversation, to=HandOffTo.BOT, actor_kind=actor_kind, actor=actor,
                           reason=reason[:300])


def _generate(request: ReplyRequest, config):
    try:
        return backend(config.llm_backend)(request)
    except BackendFailed:
        logger.warning("Chatbot reply from the offline backend: %s failed", config.llm_backend, exc_info=True)
        return offline_backend.reply(request)


def _product_remembered(context: dict, config) -> dict | None:
    name = context.get("product")
    return next((p for p in config.catalogue if name and p.get("name") == name), None)


def _remembered(context: dict, request: ReplyRequest, reply_text: str, product: dict | None) -> dict:
    turns = [*context.get("turns", []), {"author": "customer", "text": request.text[:2000]},
             {"author": "bot", "text": reply_text[:2000]}]
    remembered = {**context, "turns": turns, "last_intent": request.intent}
    if product:
        remembered["product"] = product.get("name")
    if request.contact_name:
        remembered["name"] = request.contact_name
    return remembered


# --- configuration -----------------------------------------------------------------------------


# What PATCH /seller-bot/config may change: every field but the row's id and its bookkeeping.
CONFIG_EDITABLE_FIELDS = (
    "persona", "tone", "business_facts", "faq", "catalogue", "greeting", "fallback_reply", "handoff_keywords",
    "working_hours", "confidence_threshold", "debounce_seconds", "context_ttl_seconds", "handoff_pause_minutes",
    "llm_backend", "llm_model", "llm_temperature", "llm_max_tokens",
)


def config_update(*, user, changes: dict) -> ChatbotConfig:
    """Set the configuration's fields in `changes` (validated by the caller) and record the change:
    one ConfigChange with {field: {old, new}} for the fields whose value really changed, and who
    changed them. When none did, nothing is written."""
    unknown = sorted(set(changes) - set(CONFIG_EDITABLE_FIELDS))
    if unknown:
        raise ValueError(f"not editable configuration fields: {', '.join(unknown)}")
    config_get()  # the row exists before it is locked
    with transaction.atomic():
        config = ChatbotConfig.objects.select_for_update().get(pk=1)
        changed = {name: {"old": getattr(config, name), "new": value}
                   for name, value in changes.items() if getattr(config, name) != value}
        if not changed:
            return config
        for name, change in changed.items():
            setattr(config, name, change["new"])
        config.updated_by, config.updated_at = user, timezone.now()
        config.save()
        ConfigChange.objects.create(changed_by=user, changed_at=config.updated_at, changes=changed)
    logger.info("chatbot configuration changed by %s: %s", getattr(user, "pk", None), ", ".join(changed))
    return config


class ConversationClosed(Exception):
    """The conversation ended; it reopens when the customer writes again."""


class OutsideMessagingWindow(Exception):
    """Instagram delivers a shop's message only within 24 hours of the customer's last one."""


def conversation_staff_reply(*, conversation: Conversation, user, text: str) -> Message:
    """A person of the shop answers from the console: the message is recorded and owed to the
    channel (the outbox sends it), and the bot stays silent from now on — a person is talking."""
    from sellerbot.channels import instagram

    config = config_get()
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if conversation.status == ConversationStatus.CLOSED:
            raise ConversationClosed()
        if conversation.channel == instagram.CHANNEL and instagram.window_closed(conversation.last_customer_message_at):
            raise OutsideMessagingWindow()
        message = Message.objects.create(
            conversation=conversation, direction=Direction.OUTBOUND, author_kind=AuthorKind.HUMAN, author=user,
            text=text, channel=conversation.channel,
        )
        conversation.last_message_at = message.created_at
        conversation.reply_due_at = None
        _person_talking(conversation, actor_kind=HandOffActor.STAFF, actor=user,
                        reason="Respondida por uma pessoa da equipe no console", config=config)
        conversation.assigned_agent = user
        conversation.save()
        outbox.reply_schedule(message=message)
        notifications.conversation_publish(conversation, message)
    return message
