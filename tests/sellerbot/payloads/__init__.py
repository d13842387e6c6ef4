"""Real-shaped webhook bodies (copied from shared/integrations/, the channels' own samples) and
variants of them as the channels send them in the wild."""

import copy
import hashlib
import hmac
import json
import time
from pathlib import Path

HERE = Path(__file__).parent


def sample(name: str) -> dict:
    return json.loads((HERE / name).read_text())


def evolution(text="Olá! Qual o horário de funcionamento?", *, number="5511987654321",
              message_id="3A5F2B8C1D9E7F604A12", from_me=False, name="Maria Silva", v1=False, lid=False) -> dict:
    body = sample("messages.upsert.v2.incoming_text.json")
    data = body["data"]
    data["key"].update({"remoteJid": f"{number}@s.whatsapp.net", "id": message_id, "fromMe": from_me})
    if lid:
        data["key"].update({"remoteJid": "201234567890123@lid", "remoteJidAlt": f"{number}@s.whatsapp.net",
                            "addressingMode": "lid"})
    data["pushName"] = name
    data["message"] = {"extendedTextMessage": {"text": text}} if v1 else {"conversation": text}
    return body


def chatwoot(text="Olá! Qual o horário de funcionamento?", *, message_id=1234, conversation_id=7, contact_id=42,
             message_type="incoming", private=False, sender_type=None) -> dict:
    body = copy.deepcopy(sample("message_created.incoming.json"))
    body.update({"content": text, "id": message_id, "message_type": message_type, "private": private})
    body["conversation"]["id"] = conversation_id
    body["conversation"]["meta"]["sender"]["id"] = contact_id
    if message_type == "incoming":
        body["sender"]["id"] = contact_id
    else:
        body["sender"] = {"id": 3, "name": "Carla (atendente)", "type": sender_type or "user"}
    return body


def instagram(text="Oi! Vocês entregam em Campinas?", *, sender="6291045828461234", mid="aWdfMID1", echo=False,
              timestamp_ms=None) -> dict:
    body = sample("instagram.messages.text.json")
    event = body["entry"][0]["messaging"][0]
    shop = body["entry"][0]["id"]
    event["message"].update({"mid": mid, "text": text})
    event["timestamp"] = timestamp_ms or int(time.time() * 1000)
    if echo:
        event["message"]["is_echo"] = True
        event["sender"], event["recipient"] = {"id": shop}, {"id": sender}
    else:
        event["sender"], event["recipient"] = {"id": sender}, {"id": shop}
    return body


def chatwoot_headers(raw: bytes, secret: str, *, timestamp=None, delivery="") -> dict:
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    headers = {"HTTP_X_CHATWOOT_SIGNATURE": f"sha256={digest}", "HTTP_X_CHATWOOT_TIMESTAMP": timestamp}
    if delivery:
        headers["HTTP_X_CHATWOOT_DELIVERY"] = delivery
    return headers


def instagram_signature(raw: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def meta_bytes(body: dict) -> bytes:
    """As Meta sends it: non-ASCII escaped as \\uXXXX (a re-dump with ensure_ascii=False differs)."""
    return json.dumps(body, ensure_ascii=True).encode()
