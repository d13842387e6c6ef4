"""Chatwoot: the account (or agent-bot / API-inbox) webhook's `message_created`, replies through
`POST /api/v1/accounts/{account}/conversations/{id}/messages` and the hand-off to people with
`toggle_status` → `open`.

Facts that shape the parser (shared/integrations/README.md): the top-level `message_type` is a
string in the webhook; private notes fire `message_created` too; `sender.type` is "user" for a
person of the shop and "agent_bot" for a bot (ours included: our replies come back here); the
contact's `sender` has no `type`; `conversation.id` is the display id the REST paths need.
Chatwoot waits 5 s for the webhook: we store and answer at once, the reply comes from a job.
Signed installs send `X-Chatwoot-Signature: sha256=<hex>` of "<X-Chatwoot-Timestamp>.<raw body>".
"""

import time
from datetime import datetime

from django.conf import settings
from django.utils.dateparse import parse_datetime

from sellerbot.channels import Inbound, Kind, Malformed, Refused, SendResult, hmac_sha256_matches, post_json
from sellerbot.chatbot.models import Channel

CHANNEL = Channel.CHATWOOT
# Signatures older (or further in the future) than this are refused: a replayed request.
SIGNATURE_MAX_AGE_SECONDS = 300
_MESSAGE_TYPES = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}


def configured() -> bool:
    return bool(settings.CHATWOOT_BASE_URL and settings.CHATWOOT_API_TOKEN)


def verify(request) -> None:
    secret = settings.CHATWOOT_WEBHOOK_SECRET
    if not secret:
        return
    signature = request.headers.get("X-Chatwoot-Signature", "")
    timestamp = request.headers.get("X-Chatwoot-Timestamp", "")
    if not signature or not timestamp:
        raise Refused(401, "Webhook do Chatwoot sem assinatura (X-Chatwoot-Signature e X-Chatwoot-Timestamp).")
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        raise Refused(403, "X-Chatwoot-Timestamp inválido: deve ser um horário Unix em segundos.") from None
    if age > SIGNATURE_MAX_AGE_SECONDS:
        raise Refused(403, "Assinatura do Chatwoot expirada: o horário da requisição difere mais de 5 minutos.")
    digest = signature.removeprefix("sha256=")
    if not hmac_sha256_matches(secret, f"{timestamp}.".encode() + request.body, digest):
        raise Refused(403, "Assinatura do webhook do Chatwoot inválida.")


def delivery_id(request) -> str:
    """Chatwoot's id of this delivery, the same on every retry of it."""
    return request.headers.get("X-Chatwoot-Delivery", "")[:200]


def parse(payload, request=None) -> list[Inbound]:
    if not isinstance(payload, dict):
        raise Malformed("O corpo do webhook do Chatwoot deve ser um objeto JSON.")
    if payload.get("event") != "message_created":
        return []
    message_type = payload.get("message_type")
    message_type = _MESSAGE_TYPES.get(message_type, message_type)
    content = payload.get("content")
    if payload.get("private") is True or message_type not in ("incoming", "outgoing"):
        return []  # private notes, activity lines and templates are nobody talking to the customer
    if not isinstance(content, str) or not content.strip():
        return []
    account_id = _id(payload.get("account"), "account.id")
    conversation = payload.get("conversation")
    conversation_id = _id(conversation, "conversation.id")
    contact = _contact(payload, conversation, incoming=message_type == "incoming")
    sender = payload.get("sender") if isinstance(payload.get("sender"), dict) else {}
    if message_type == "incoming":
        kind = Kind.CUSTOMER
    else:
        kind = Kind.OWN if sender.get("type") == "agent_bot" else Kind.HUMAN
    return [Inbound(
        kind=kind, contact_id=f"chatwoot:{account_id}:{contact['id']}", text=content.strip(),
        channel_message_id=str(payload.get("id") or "")[:200], contact_name=str(contact.get("name") or "")[:200],
        channel_conversation_id=str(conversation_id), address={"account_id": account_id,
                                                                "conversation_id": conversation_id},
        sent_at=_when(payload.get("created_at")),
    )]


def send(address: dict, text: str) -> SendResult:
    if not configured():
        return SendResult(False, None, "Chatwoot não configurado (CHATWOOT_BASE_URL e CHATWOOT_API_TOKEN)")
    return post_json(_conversation_url(address) + "/messages",
                     {"content": text, "message_type": "outgoing", "private": False},
                     headers={"api_access_token": settings.CHATWOOT_API_TOKEN})


def hand_off(address: dict) -> SendResult:
    """Show the conversation to the shop's people: status `open` (the bot's is `pending`)."""
    if not configured():
        return SendResult(False, None, "Chatwoot não configurado")
    return post_json(_conversation_url(address) + "/toggle_status", {"status": "open"},
                     headers={"api_access_token": settings.CHATWOOT_API_TOKEN})


def _conversation_url(address: dict) -> str:
    return (f"{settings.CHATWOOT_BASE_URL}/api/v1/accounts/{address['account_id']}"
            f"/conversations/{address['conversation_id']}")


def _id(container, name: str) -> int:
    value = container.get("id") if isinstance(container, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise Malformed(f"Campo '{name}' ausente ou não numérico.")
    return int(value)


def _contact(payload: dict, conversation: dict, *, incoming: bool) -> dict:
    # An incoming message's sender is the contact; an outgoing one's is the agent, so the contact
    # comes from the conversation then.
    sender = payload.get("sender")
    if incoming and isinstance(sender, dict) and sender.get("id") is not None:
        return sender
    meta = conversation.get("meta") if isinstance(conversation.get("meta"), dict) else {}
    contact = meta.get("sender") if isinstance(meta.get("sender"), dict) else None
    if contact and contact.get("id") is not None:
        return contact
    inbox = conversation.get("contact_inbox")
    if isinstance(inbox, dict) and inbox.get("contact_id") is not None:
        return {"id": inbox["contact_id"]}
    raise Malformed("O webhook do Chatwoot não diz quem é o contato (sender.id ou conversation.meta.sender.id).")


def _when(value) -> datetime | None:
    if isinstance(value, str):
        try:
            return parse_datetime(value)
        except ValueError:
            return None
    return None
