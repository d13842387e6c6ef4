"""The chatbot's verbs: take a customer's message, answer it or stay silent, move a conversation
between the bot and people, close conversations. Views, tasks and channel adapters call these."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from sellerbot.chatbot import context as contexts
from sellerbot.chatbot import intents
from sellerbot.chatbot.backends import BackendFailed, ReplyRequest, backend
from sellerbot.chatbot.backends import offline as offline_backend
from sellerbot.chatbot.models import (
    AuthorKind,
    ChatbotConfig,
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
    """A customer's message: recorded once (a channel's redelivery gets the first outcome back),
    read for its intent, and answered unless a person has the conversation."""
    config = config_get()
    with transaction.atomic():
        conversation = _conversation_for_update(channel, contact_id, contact_name, channel_conversation_id)
        if channel_message_id:
            earlier = Message.objects.filter(channel=channel, channel_message_id=channel_message_id).first()
            if earlier is not None:
                return _earlier_outcome(earlier)
        reading = intents.read(text, catalogue=config.catalogue, faq=config.faq,
                               handoff_keywords=config.handoff_keywords)
        inbound = Message.objects.create(
            conversation=conversation, direction=Direction.INBOUND, author_kind=AuthorKind.CUSTOMER, text=text,
            channel=channel, channel_message_id=channel_message_id, intent=reading.intent,
            confidence=reading.confidence,
        )
        _advance_funnel(conversation, reading.intent)
        conversation.last_message_at = inbound.created_at
        _resume_when_pause_ended(conversation)
        if not conversation.bot_may_answer():
            conversation.save()
            silent = "paused" if conversation.status == ConversationStatus.BOT else conversation.status
            return Outcome(conversation, inbound, None, reading.intent, reading.confidence, silent_because=silent)
        handing_off, reason = _hand_off_reason(conversation, reading, config)
        context = contexts.context_get(contact_id)
        product = reading.product or _product_remembered(context, config)
        request = ReplyRequest(
            text=text, intent=reading.intent, confidence=reading.confidence, config=config, product=product,
            faq=reading.faq, contact_name=contact_name or context.get("name", ""),
            history=context.get("turns", []), handing_off=handing_off, conversation_id=str(conversation.pk),
        )
        reply = _generate(request, config)
        answer = Message.objects.create(
            conversation=conversation, direction=Direction.OUTBOUND, author_kind=AuthorKind.BOT, text=reply.text,
            channel=channel, intent=reading.intent, confidence=reading.confidence, backend=reply.backend,
            prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens,
        )
        if handing_off:
            _hand_to_human(conversation, actor_kind=_actor_of(reading), reason=reason, config=config)
        conversation.save()
    contexts.context_set(contact_id, _remembered(context, request, reply.text, product),
                         ttl_seconds=config.context_ttl_seconds)
    return Outcome(conversation, inbound, answer, reading.intent, reading.confidence, handed_off=handing_off)


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
    return conversation


def conversation_hand_back(*, conversation: Conversation, actor=None, reason: str = "") -> Conversation:
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        _hand_to_bot(conversation, actor_kind=HandOffActor.STAFF, actor=actor,
                     reason=reason or "Devolvida ao bot pela equipe")
        conversation.save()
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


def _hand_to_human(conversation, *, actor_kind, reason, config, actor=None) -> None:
    now = timezone.now()
    conversation.status = ConversationStatus.HUMAN
    conversation.low_confidence_streak = 0
    pause = config.handoff_pause_minutes
    conversation.paused_until = now + timedelta(minutes=pause) if pause else None
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
