"""Instagram Messaging through Meta's Graph API: the subscription check, the signed `messages`
webhook, and the Send API.

Facts that shape the parser (shared/integrations/README.md): `X-Hub-Signature-256` is over the
raw bytes (Meta escapes non-ASCII, a re-serialised body has another digest); `entry` and
`messaging` may hold several items; timestamps are milliseconds; echoes (`is_echo`) are the
shop's own messages, sender and recipient swapped — ours through the API and people's from the
Instagram app. A reply is possible only within 24 hours of the customer's last message.
"""

import hmac
from datetime import UTC, datetime, timedelta

from django.conf import settings

from sellerbot.channels import Inbound, Kind, Malformed, Refused, SendResult, hmac_sha256_matches, post_json
from sellerbot.chatbot.models import Channel

CHANNEL = Channel.INSTAGRAM
MESSAGING_WINDOW = timedelta(hours=24)
# Meta's error codes that no retry fixes: a dead token, and a message outside the window.
_DEAD_TOKEN = 190
_OUTSIDE_WINDOW = {10, 551}


def configured() -> bool:
    return bool(settings.INSTAGRAM_GRAPH_URL and settings.INSTAGRAM_ACCESS_TOKEN)


def verify_subscription(params) -> str:
    """Meta's GET check: the challenge, when the verify token is ours."""
    token = settings.INSTAGRAM_VERIFY_TOKEN
    given = params.get("hub.verify_token", "")
    if params.get("hub.mode") != "subscribe" or not token or not hmac.compare_digest(given.encode(), token.encode()):
        raise Refused(403, "Verificação do webhook do Instagram recusada: hub.mode ou hub.verify_token incorretos.")
    return params.get("hub.challenge", "")


def verify(request) -> None:
    secret = settings.INSTAGRAM_APP_SECRET
    if not secret:
        return
    signature = request.headers.get("X-Hub-Signature-256", "")
    if not signature:
        raise Refused(401, "Webhook do Instagram sem assinatura (X-Hub-Signature-256).")
    if not signature.startswith("sha256=") or not hmac_sha256_matches(secret, request.body, signature[7:]):
        raise Refused(403, "Assinatura do webhook do Instagram inválida.")


def parse(payload, request=None) -> list[Inbound]:
    if not isinstance(payload, dict):
        raise Malformed("O corpo do webhook do Instagram deve ser um objeto JSON.")
    if payload.get("object") != "instagram":
        return []
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise Malformed("Campo 'entry' ausente: o webhook do Instagram traz uma lista de entradas.")
    messages = []
    for entry in entries:
        events = entry.get("messaging") if isinstance(entry, dict) else None
        for event in events if isinstance(events, list) else []:
            if (message := _message(event)) is not None:
                messages.append(message)
    return messages


def send(address: dict, text: str) -> SendResult:
    if not configured():
        return SendResult(False, None, "Instagram não configurado (INSTAGRAM_ACCESS_TOKEN)")
    result = post_json(f"{settings.INSTAGRAM_GRAPH_URL}/me/messages",
                       {"recipient": {"id": address["recipient_id"]}, "message": {"text": text}},
                       params={"access_token": settings.INSTAGRAM_ACCESS_TOKEN})
    return _explained(result)


def window_closed(last_customer_message_at, now=None) -> bool:
    now = now or datetime.now(tz=UTC)
    return last_customer_message_at is None or now - last_customer_message_at > MESSAGING_WINDOW


def _message(event) -> Inbound | None:
    if not isinstance(event, dict) or not isinstance(event.get("message"), dict):
        return None  # reads, reactions, postbacks
    message = event["message"]
    sender, recipient = event.get("sender"), event.get("recipient")
    if not isinstance(sender, dict) or not isinstance(recipient, dict):
        raise Malformed("Evento do Instagram sem 'sender' ou 'recipient'.")
    echo = message.get("is_echo") is True
    customer = str((recipient if echo else sender).get("id") or "")
    if not customer.isdigit():
        raise Malformed("Evento do Instagram sem o id de quem escreveu (sender.id).")
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        return None  # attachments only
    return Inbound(
        kind=Kind.HUMAN if echo else Kind.CUSTOMER, contact_id=f"instagram:{customer}", text=text.strip(),
        channel_message_id=str(message.get("mid") or "")[:200], channel_conversation_id=customer,
        address={"recipient_id": customer}, sent_at=_milliseconds(event.get("timestamp")),
    )


def _explained(result: SendResult) -> SendResult:
    if result.ok or result.http_status is None:
        return result
    code = result.error_code
    if code == _DEAD_TOKEN:
        return SendResult(False, result.http_status, "token do Instagram inválido ou expirado (código 190)",
                          retryable=False)
    if code in _OUTSIDE_WINDOW:
        return SendResult(False, result.http_status, "fora da janela de 24 horas do Instagram", retryable=False)
    return result


def _milliseconds(value) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
