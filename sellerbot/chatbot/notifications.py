"""Live updates of the chatbot's conversations for the staff pages: one message per change,
`chatbot.conversation` {conversation: {…}, messages: [{…}]}, to the `chatbot` group, which the
websocket consumer lets staff who may read conversations join (stream "chatbot")."""

from django.db import transaction

from project import live
from project.clock import iso_local
from sellerbot.chatbot.models import Direction

CHATBOT_GROUP = "chatbot"
CONVERSATION = "chatbot.conversation"


def conversation_publish(conversation, *messages) -> None:
    """After commit: `conversation` as it is now, with the messages just added to it."""
    payload = {"type": CONVERSATION, "conversation": conversation_summary(conversation),
               "messages": [message_summary(message) for message in messages]}
    transaction.on_commit(lambda: live.publish((CHATBOT_GROUP,), payload))


def conversation_summary(conversation) -> dict:
    return {
        "id": str(conversation.pk), "channel": conversation.channel, "contact_id": conversation.contact_id,
        "contact_name": conversation.contact_name, "status": conversation.status,
        "funnel_stage": conversation.funnel_stage,
        "assigned_agent": conversation.assigned_agent.get_username() if conversation.assigned_agent else None,
        "paused_until": iso_local(conversation.paused_until) if conversation.paused_until else None,
        "last_message_at": iso_local(conversation.last_message_at),
    }


def message_summary(message) -> dict:
    return {
        "id": str(message.pk), "conversation_id": str(message.conversation_id), "direction": message.direction,
        "author_kind": message.author_kind, "author": message.author.get_username() if message.author else None,
        "text": message.text, "intent": message.intent, "confidence": message.confidence,
        "created_at": iso_local(message.created_at),
        "delivery": _delivery_state(message),
    }


def _delivery_state(message) -> str | None:
    # Only what we send is owed to a channel: a customer's message has no delivery to look up.
    if message.direction != Direction.OUTBOUND or not message.pk:
        return None
    delivery = getattr(message, "delivery", None)
    return delivery.state if delivery is not None else None
