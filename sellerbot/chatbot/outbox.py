"""The chatbot's outbox: every message owed to a channel (the bot's replies, a person's replies
from the console) is a ReplyDelivery, sent at least once through the channel's client and never
by two workers at once (project/outbox.py). While a channel is down its circuit opens and the
messages wait; the maintenance pass sends what is due when it is back.

A delivered message's channel id is written on the Message, so the channel's echo of it (Chatwoot
and Instagram send our own messages back to the webhook) is recognised as ours and ignored.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from jobs.queues import queue
from project.circuit import circuit_record, circuit_wait
from project.outbox import exponential_backoff, outbox_claim, outbox_due_ids, outbox_settle
from sellerbot.channels import module_for_channel
from sellerbot.chatbot import notifications
from sellerbot.chatbot.models import Channel, Message, ReplyAttempt, ReplyDelivery

logger = logging.getLogger(__name__)


def reply_schedule(*, message: Message) -> ReplyDelivery | None:
    """Owe the channel `message`; the first attempt right after commit. Messages of the API
    channel (POST /seller-bot/message) have nowhere to go: None."""
    if message.channel == Channel.API:
        return None
    delivery = ReplyDelivery.objects.create(message=message, channel=message.channel)
    transaction.on_commit(lambda: _enqueue_quietly(delivery.id))
    return delivery


def reply_deliver(*, delivery_id: int) -> ReplyDelivery | None:
    """One attempt to send a delivery, if it is due and nobody else is making it."""
    if not outbox_claim(ReplyDelivery, delivery_id, lease_seconds=settings.CHATBOT_SEND_TIMEOUT_SECONDS + 30):
        return None
    delivery = ReplyDelivery.objects.select_related("message__conversation").get(pk=delivery_id)
    conversation = delivery.message.conversation
    channel = module_for_channel(delivery.channel)
    if delivery.channel == Channel.INSTAGRAM and channel.window_closed(conversation.last_customer_message_at):
        return _settled(delivery, ok=False, error="fora da janela de 24 horas do Instagram: o cliente precisa "
                                                   "escrever de novo antes de receber mensagens", give_up=True)
    wait = circuit_wait(delivery.channel)
    if wait:
        delivery.last_error = "canal fora do ar (circuito aberto); nova tentativa quando ele voltar"
        return outbox_settle(delivery, ok=False, counts=False, max_attempts=settings.CHATBOT_SEND_MAX_ATTEMPTS,
                             backoff=timedelta(seconds=wait + 0.5), extra_fields=("last_error",))
    result = channel.send(conversation.channel_address, delivery.message.text)
    # A peer that answered, even with a 4xx, is up: only silence and 5xx count against it.
    circuit_record(delivery.channel, ok=result.ok or not result.retryable,
                   failures=settings.CHATBOT_CIRCUIT_FAILURES, open_seconds=settings.CHATBOT_CIRCUIT_OPEN_SECONDS)
    if result.ok:
        _remember_remote_id(delivery, result.remote_id)
    return _settled(delivery, ok=result.ok, error=result.error, give_up=not result.retryable,
                    http_status=result.http_status)


def replies_deliver_due(*, limit: int = 100) -> int:
    """Attempt every delivery whose time has come; returns how many were attempted."""
    return sum(1 for delivery_id in outbox_due_ids(ReplyDelivery, limit=limit)
               if reply_deliver(delivery_id=delivery_id))


def _settled(delivery: ReplyDelivery, *, ok: bool, error: str, give_up: bool, http_status=None) -> ReplyDelivery:
    attempt = delivery.attempts + 1
    ReplyAttempt.objects.create(delivery=delivery, channel=delivery.channel, attempt=attempt,
                                http_status=http_status, error=error[:300], ok=ok)
    delivery.last_error = "" if ok else error[:300]
    backoff = exponential_backoff(attempt, base_seconds=settings.CHATBOT_SEND_BACKOFF_SECONDS,
                                  max_seconds=settings.CHATBOT_SEND_BACKOFF_MAX_SECONDS)
    outbox_settle(delivery, ok=ok, give_up=give_up, max_attempts=settings.CHATBOT_SEND_MAX_ATTEMPTS,
                  backoff=backoff, extra_fields=("last_error", "remote_id"))
    notifications.conversation_publish(delivery.message.conversation, delivery.message)
    if not ok:
        logger.warning("chatbot reply %s to %s not sent (attempt %s): %s%s", delivery.message_id, delivery.channel,
                       attempt, error, "; given up" if delivery.state == "ABANDONED" else "")
    return delivery


def _remember_remote_id(delivery: ReplyDelivery, remote_id: str) -> None:
    delivery.remote_id = remote_id[:200]
    if not remote_id:
        return
    try:
        with transaction.atomic():
            Message.objects.filter(pk=delivery.message_id, channel_message_id="").update(channel_message_id=remote_id)
    except IntegrityError:
        logger.warning("chatbot reply %s: channel id %s already recorded on another message",
                       delivery.message_id, remote_id)


def _enqueue_quietly(delivery_id: int) -> None:
    try:
        queue(settings.CHATBOT_QUEUE).enqueue("sellerbot.chatbot.tasks.reply_deliver_task", delivery_id,
                                              result_ttl=600, failure_ttl=3600)
    except Exception:  # noqa: BLE001 - the maintenance pass sends it from the outbox
        logger.warning("could not enqueue chatbot delivery %s; the outbox will retry", delivery_id)
