"""WhatsApp through the Evolution API (v2.3.x, and v1's shapes): the `messages.upsert` webhook,
and `POST /message/sendText/{instance}` to reply.

Facts that shape the parser (shared/integrations/README.md): the envelope's top-level `sender`
is the shop's own number, the customer is `data.key.remoteJid` — or `remoteJidAlt` when that is
a `@lid` address; the text is in `message.conversation` (v2.3) or
`message.extendedTextMessage.text` (v1, older v2); `fromMe: true` is a person typing on the
shop's phone (messages we send through the API come back as `send.message`, not here).
Evolution signs nothing: with EVOLUTION_WEBHOOK_SECRET set, the webhook URL carries it as
`?secret=` or the instance's webhook headers as `X-Webhook-Secret`. It retries up to 10 times,
never after a 4xx, so a 4xx is only for what a retry cannot fix.
"""

import hmac
from datetime import UTC, datetime

from django.conf import settings

from sellerbot.channels import Inbound, Kind, Malformed, Refused, SendResult, post_json
from sellerbot.chatbot.models import Channel

CHANNEL = Channel.WHATSAPP
_UPSERT = "messages.upsert"
_NOT_ANSWERED_SUFFIXES = ("@g.us", "@broadcast", "@newsletter")


def configured() -> bool:
    return bool(settings.EVOLUTION_BASE_URL and settings.EVOLUTION_API_KEY)


def verify(request) -> None:
    secret = settings.EVOLUTION_WEBHOOK_SECRET
    if not secret:
        return
    given = request.headers.get("X-Webhook-Secret") or request.GET.get("secret") or ""
    if not given:
        raise Refused(401, "Webhook da Evolution API sem o segredo: envie-o no cabeçalho X-Webhook-Secret "
                           "ou em ?secret= na URL do webhook.")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise Refused(403, "Segredo do webhook da Evolution API incorreto.")


def parse(payload, request=None) -> list[Inbound]:
    if not isinstance(payload, dict):
        raise Malformed("O corpo do webhook da Evolution API deve ser um objeto JSON.")
    # Seed 004's example carries no `event`: a body with `data` is a message.
    event = str(payload.get("event") or _UPSERT).lower().replace("_", ".")
    if event != _UPSERT:
        return []
    instance = payload.get("instance")
    if not isinstance(instance, str) or not instance.strip():
        raise Malformed("Campo 'instance' ausente: a instância da Evolution API que recebeu a mensagem.")
    data = payload.get("data")
    items = data if isinstance(data, list) else [data]
    return [message for item in items if (message := _message(item, instance.strip())) is not None]


def send(address: dict, text: str) -> SendResult:
    if not configured():
        return SendResult(False, None, "Evolution API não configurada (EVOLUTION_BASE_URL e EVOLUTION_API_KEY)")
    url = f"{settings.EVOLUTION_BASE_URL}/message/sendText/{address['instance']}"
    return post_json(url, {"number": address["number"], "text": text},
                     headers={"apikey": settings.EVOLUTION_API_KEY})


def _message(data, instance: str) -> Inbound | None:
    if not isinstance(data, dict) or not isinstance(data.get("key"), dict):
        raise Malformed("Campo 'data.key' ausente: a mensagem não diz de quem é.")
    key = data["key"]
    jid = key.get("remoteJid")
    if not isinstance(jid, str) or not jid.strip():
        raise Malformed("Campo 'data.key.remoteJid' ausente ou vazio.")
    if jid.endswith("@lid") and isinstance(key.get("remoteJidAlt"), str) and key["remoteJidAlt"]:
        jid = key["remoteJidAlt"]
    if jid.endswith(_NOT_ANSWERED_SUFFIXES):
        return None  # groups, broadcasts and channels are not customers talking to the shop
    text = _text(data.get("message"))
    if not text:
        return None  # stickers, audio, reactions: nothing the bot can read
    number = jid.split("@", 1)[0]
    return Inbound(
        kind=Kind.HUMAN if key.get("fromMe") is True else Kind.CUSTOMER,
        contact_id=f"whatsapp:{number}", text=text, channel_message_id=str(key.get("id") or "")[:200],
        contact_name=str(data.get("pushName") or "")[:200] if key.get("fromMe") is not True else "",
        channel_conversation_id=f"{instance}:{number}",
        address={"instance": instance, "number": number if jid.endswith("@s.whatsapp.net") else jid},
        sent_at=_timestamp(data.get("messageTimestamp")),
    )


def _text(message) -> str:
    if not isinstance(message, dict):
        return ""
    extended = message.get("extendedTextMessage")
    candidates = [message.get("conversation"),
                  extended.get("text") if isinstance(extended, dict) else None,
                  *(message.get(kind, {}).get("caption") for kind in ("imageMessage", "videoMessage")
                    if isinstance(message.get(kind), dict))]
    return next((c.strip() for c in candidates if isinstance(c, str) and c.strip()), "")


def _timestamp(value) -> datetime | None:
    if isinstance(value, dict):  # v1 sends protobuf Longs: {"low": …, "high": 0, "unsigned": false}
        value = value.get("low")
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
