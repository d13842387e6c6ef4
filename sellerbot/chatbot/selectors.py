"""Reads of the chatbot's data shared by the API, the pages and the admin."""

from django.db.models import Count, OuterRef, Subquery

from sellerbot.chatbot.models import Conversation, ConversationStatus, Message


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
