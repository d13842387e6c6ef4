"""The chatbot's channels, one module each (chatwoot, evolution, instagram): parse the real
webhook payloads, prove the sender, send a reply. Registered by name like the carriers; adding a
channel is copying a sibling and registering it in CHANNELS.

A module gives:
- `CHANNEL`: the models.Channel value its conversations have;
- `verify(request)`: raises Refused when the request cannot prove it comes from the channel;
- `parse(payload, request)`: the messages in a webhook body (list of Inbound), Malformed when the
  body is not what the channel sends; events that are not messages give an empty list;
- `send(address, text)`: one attempt to deliver `text` (a SendResult);
- `configured()`: whether the settings to send through it are set.
"""

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime

import requests
from django.conf import settings


class Kind:
    CUSTOMER = "customer"  # a customer wrote: the bot may answer
    HUMAN = "human"  # a person of the shop wrote on the channel itself: the bot pauses
    OWN = "own"  # our own reply coming back: ignored


@dataclass(frozen=True)
class Inbound:
    kind: str
    contact_id: str
    text: str
    channel_message_id: str
    contact_name: str = ""
    channel_conversation_id: str = ""
    address: dict = field(default_factory=dict)
    sent_at: datetime | None = None


@dataclass(frozen=True)
class SendResult:
    ok: bool
    http_status: int | None = None
    error: str = ""
    remote_id: str = ""
    # False when no retry can help (a bad request, an unknown recipient, a dead token).
    retryable: bool = True
    error_code: int | None = None  # the peer's own code, from an {"error": {"code": …}} body


class Refused(Exception):
    """The webhook did not prove its sender (401: no proof; 403: a wrong one)."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


class Malformed(Exception):
    """The body is not what the channel sends (400)."""


def channel_module(name: str):
    from sellerbot.channels import chatwoot, evolution, instagram

    return {"chatwoot": chatwoot, "evolution": evolution, "instagram": instagram}[name]


def module_for_channel(channel: str):
    """The module that sends to conversations of `channel` (a models.Channel value)."""
    from sellerbot.channels import chatwoot, evolution, instagram

    return {module.CHANNEL: module for module in (chatwoot, evolution, instagram)}.get(channel)


def hmac_sha256_matches(secret: str, message: bytes, signature_hex: str) -> bool:
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature_hex.strip().lower())


def post_json(url: str, body: dict, *, headers: dict | None = None, params: dict | None = None) -> SendResult:
    """One POST to a channel's API, told as a SendResult (the remote id is the caller's to read)."""
    timeout = settings.CHATBOT_SEND_TIMEOUT_SECONDS
    try:
        response = requests.post(url, json=body, headers=headers or {}, params=params or {}, timeout=timeout)
    except requests.Timeout:
        return SendResult(False, None, f"sem resposta em {timeout} s")
    except requests.RequestException as exc:
        return SendResult(False, None, f"falha de conexão: {type(exc).__name__}")
    if 200 <= response.status_code < 300:
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        return SendResult(True, response.status_code, remote_id=_remote_id(answer))
    # 408 and 429 and 5xx pass with time; any other 4xx is the request itself.
    retryable = response.status_code in (408, 409, 425, 429) or response.status_code >= 500
    text, code = _error_of(response)
    return SendResult(False, response.status_code, f"HTTP {response.status_code}: {text}".rstrip(": "),
                      retryable=retryable, error_code=code)


def _remote_id(answer) -> str:
    if not isinstance(answer, dict):
        return ""
    key = answer.get("key")
    if isinstance(key, dict) and key.get("id"):  # Evolution
        return str(key["id"])[:200]
    for name in ("message_id", "id"):  # Instagram, Chatwoot
        if answer.get(name) not in (None, ""):
            return str(answer[name])[:200]
    return ""


def _error_of(response) -> tuple[str, int | None]:
    try:
        answer = response.json()
    except ValueError:
        return response.text[:120], None
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, dict):
        code = error.get("code")
        return (str(error.get("message") or error.get("type") or "")[:200],
                code if isinstance(code, int) and not isinstance(code, bool) else None)
    if isinstance(answer, dict):
        return str(answer.get("message") or answer.get("error") or answer.get("response") or "")[:200], None
    return "", None
