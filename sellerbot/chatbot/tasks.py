"""rq entry points of the chatbot (queue `chatbot`): small functions that call the services."""

from sellerbot.chatbot import outbox, services


def conversation_reply_task(conversation_id: int) -> None:
    services.conversation_reply(conversation_id=conversation_id)


def reply_deliver_task(delivery_id: int) -> None:
    outbox.reply_deliver(delivery_id=delivery_id)


def chatbot_maintenance_task() -> None:
    """Every 30 s (project/cron.py): replies whose job never ran, and messages due to a channel."""
    services.replies_overdue_produce()
    outbox.replies_deliver_due()
