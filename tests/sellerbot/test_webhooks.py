"""The channels' webhooks in the process: proofs of the sender, parsing of the real payloads and
their variants, dedupe, our own echoes, a person on the channel pausing the bot, bad bodies.
(tests/sellerbot/test_chatbot_runs.py answers them through a real worker and fake channels.)"""

import json
import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from jobs.queues import redis_connection
from sellerbot.chatbot import services
from sellerbot.chatbot.models import Conversation, HandOff, Message, ReplyDelivery, WebhookReceipt
from tests.sellerbot import payloads

pytestmark = pytest.mark.django_db

EVOLUTION = "/seller-bot/webhook/evolution"
CHATWOOT = "/seller-bot/webhook/chatwoot"
INSTAGRAM = "/seller-bot/webhook/instagram"
SEED_EXAMPLE = {"instance": "test", "data": {"key": {"remoteJid": "test"}, "message": {"conversation": "Olá"}}}


@pytest.fixture(autouse=True)
def _no_limits_left():
    for key in redis_connection().scan_iter("ratelimit:chatbot-*"):
        redis_connection().delete(key)


def post(client, path, body, **headers):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(path, data=raw, content_type="application/json", **headers)


def nothing_stored():
    return not Message.objects.exists() and not Conversation.objects.exists()


# --- Evolution API (WhatsApp) ---------------------------------------------------------------

def test_the_seed_example_is_stored(client):
    response = post(client, EVOLUTION, SEED_EXAMPLE)
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "received": 1, "stored": 1, "duplicates": 0}
    message = Message.objects.get()
    assert (message.text, message.author_kind, message.conversation.contact_id) == ("Olá", "customer",
                                                                                     "whatsapp:test")
    assert message.conversation.channel_address == {"instance": "test", "number": "test"}


def test_the_real_evolution_payload_names_the_customer_not_the_shop(client):
    assert post(client, EVOLUTION, payloads.evolution()).status_code == 200
    conversation = Conversation.objects.get()
    # The envelope's top-level `sender` is the shop's own number: never the contact.
    assert conversation.contact_id == "whatsapp:5511987654321"
    assert conversation.contact_name == "Maria Silva"
    assert conversation.channel_address == {"instance": "acme-whatsapp", "number": "5511987654321"}
    assert conversation.reply_due_at is not None  # the reply is a job's, after the debounce
    assert Message.objects.get().channel_message_id == "3A5F2B8C1D9E7F604A12"


def test_v1_text_and_lid_addresses_are_read(client):
    post(client, EVOLUTION, payloads.evolution("Quanto custa?", v1=True, message_id="V1"))
    post(client, EVOLUTION, payloads.evolution("Oi", number="5521999990000", lid=True, message_id="LID1"))
    assert set(Message.objects.values_list("text", "conversation__contact_id")) == {
        ("Quanto custa?", "whatsapp:5511987654321"), ("Oi", "whatsapp:5521999990000")}


def test_a_redelivered_message_is_stored_once(client):
    first = post(client, EVOLUTION, payloads.evolution())
    again = post(client, EVOLUTION, payloads.evolution())
    assert first.json()["stored"] == 1
    assert again.status_code == 200 and again.json()["duplicates"] == 1
    assert Message.objects.count() == 1


def test_from_me_is_a_person_on_the_shops_phone_and_pauses_the_bot(client):
    post(client, EVOLUTION, payloads.evolution("Oi, tudo bem?"))
    post(client, EVOLUTION, payloads.evolution("Oi Maria, aqui é a Carla da loja!", from_me=True, message_id="ME1"))
    conversation = Conversation.objects.get()
    assert conversation.status == "human" and conversation.paused_until is not None
    assert conversation.reply_due_at is None  # the customer's message is not answered over her
    human = Message.objects.get(author_kind="human")
    assert human.text == "Oi Maria, aqui é a Carla da loja!" and human.direction == "out"
    handoff = HandOff.objects.get()
    assert (handoff.to, handoff.actor_kind) == ("human", "channel")
    post(client, EVOLUTION, payloads.evolution("Obrigada!", message_id="C2"))
    assert Conversation.objects.get().reply_due_at is None


def test_groups_broadcasts_and_events_other_than_messages_are_acknowledged_and_ignored(client):
    group = payloads.evolution()
    group["data"]["key"]["remoteJid"] = "120363025246125486@g.us"
    status = {"event": "connection.update", "instance": "acme-whatsapp", "data": {"state": "open"}}
    audio = payloads.evolution()
    audio["data"]["message"] = {"audioMessage": {"seconds": 4}}
    for body in (group, status, audio):
        response = post(client, EVOLUTION, body)
        assert response.status_code == 200 and response.json()["received"] == 0
    assert nothing_stored()


@pytest.mark.parametrize(("body", "fragment"), [
    (b"not json", "não é JSON válido"),
    (b"[1, 2]", "objeto JSON"),
    (b'{"data": {"key": {"remoteJid": "x"}}}', "'instance'"),
    (b'{"instance": "i", "data": {"message": {"conversation": "oi"}}}', "'data.key'"),
    (b'{"instance": "i", "data": {"key": {"remoteJid": ""}, "message": {"conversation": "oi"}}}', "remoteJid"),
    (b'{"instance": "i", "data": ' + b"[" * 100 + b"]" * 100 + b"}", "aninhado"),
])
def test_a_malformed_body_is_400_naming_the_problem_and_stores_nothing(client, body, fragment):
    response = post(client, EVOLUTION, body)
    assert response.status_code == 400
    assert fragment in response.json()["detail"]
    assert nothing_stored()


@override_settings(EVOLUTION_WEBHOOK_SECRET="evo-s3cret")
@pytest.mark.parametrize(("path", "headers", "status"), [
    (EVOLUTION, {}, 401),
    (EVOLUTION, {"HTTP_X_WEBHOOK_SECRET": "wrong"}, 403),
    (EVOLUTION + "?secret=wrong", {}, 403),
])
def test_without_the_evolution_secret_nothing_is_stored(client, path, headers, status):
    response = post(client, path, payloads.evolution(), **headers)
    assert response.status_code == status
    assert "segredo" in response.json()["detail"].lower()
    assert nothing_stored()


@override_settings(EVOLUTION_WEBHOOK_SECRET="evo-s3cret")
@pytest.mark.parametrize(("path", "headers"), [
    (EVOLUTION, {"HTTP_X_WEBHOOK_SECRET": "evo-s3cret"}), (EVOLUTION + "?secret=evo-s3cret", {})])
def test_the_evolution_secret_in_a_header_or_the_url_is_accepted(client, path, headers):
    assert post(client, path, payloads.evolution(), **headers).status_code == 200
    assert Message.objects.count() == 1


# --- Chatwoot -------------------------------------------------------------------------------

def test_the_real_chatwoot_payload_is_stored_with_its_reply_address(client):
    response = post(client, CHATWOOT, payloads.chatwoot())
    assert response.status_code == 200 and response.json()["stored"] == 1
    conversation = Conversation.objects.get()
    assert conversation.contact_id == "chatwoot:1:42" and conversation.contact_name == "Maria Silva"
    assert conversation.channel_address == {"account_id": 1, "conversation_id": 7}
    assert conversation.channel_conversation_id == "7"


def test_private_notes_and_our_own_bots_messages_are_ignored(client):
    assert post(client, CHATWOOT, payloads.chatwoot("nota interna", private=True)).json()["received"] == 0
    own = payloads.chatwoot("Olá! Eu sou a Ana", message_type="outgoing", sender_type="agent_bot", message_id=9)
    assert post(client, CHATWOOT, own).json()["stored"] == 0
    other = {"event": "conversation_status_changed", "id": 7, "status": "open", "changed_attributes": None}
    assert post(client, CHATWOOT, other).json()["received"] == 0
    assert nothing_stored()


def test_an_agent_replying_in_chatwoot_pauses_the_bot(client):
    post(client, CHATWOOT, payloads.chatwoot("Oi"))
    post(client, CHATWOOT, payloads.chatwoot("Oi Maria, sou a Carla.", message_type="outgoing", message_id=1235))
    conversation = Conversation.objects.get()
    assert conversation.status == "human"
    assert Message.objects.get(author_kind="human").text == "Oi Maria, sou a Carla."


def test_the_echo_of_a_reply_we_sent_is_not_taken_for_a_person(client):
    post(client, CHATWOOT, payloads.chatwoot("Oi"))
    conversation = Conversation.objects.get()
    ours = Message.objects.create(conversation=conversation, direction="out", author_kind="bot",
                                  text="Olá! Como posso ajudar?", channel="chatwoot")
    ReplyDelivery.objects.create(message=ours, channel="chatwoot")
    # An API token of a person makes our reply come back as sender.type "user".
    echo = payloads.chatwoot("Olá! Como posso ajudar?", message_type="outgoing", sender_type="user", message_id=777)
    assert post(client, CHATWOOT, echo).json()["stored"] == 0
    assert Conversation.objects.get().status == "bot"
    ours.refresh_from_db()
    assert ours.channel_message_id == "777"
    assert post(client, CHATWOOT, echo).json()["duplicates"] == 1  # and its redelivery is known


SECRET = "cw-webhook-s3cret"


@override_settings(CHATWOOT_WEBHOOK_SECRET=SECRET)
def test_a_signed_chatwoot_delivery_is_accepted_once(client):
    raw = json.dumps(payloads.chatwoot()).encode()
    headers = payloads.chatwoot_headers(raw, SECRET, delivery="b7c1e9a0-delivery")
    assert post(client, CHATWOOT, raw, **headers).json()["stored"] == 1
    again = post(client, CHATWOOT, raw, **headers)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert Message.objects.count() == 1 and WebhookReceipt.objects.count() == 1


@override_settings(CHATWOOT_WEBHOOK_SECRET=SECRET)
@pytest.mark.parametrize(("headers_of", "status", "fragment"), [
    (lambda raw: {}, 401, "sem assinatura"),
    (lambda raw: payloads.chatwoot_headers(raw, "another-secret"), 403, "inválida"),
    (lambda raw: payloads.chatwoot_headers(raw + b" ", SECRET), 403, "inválida"),
    (lambda raw: payloads.chatwoot_headers(raw, SECRET, timestamp=1_000_000_000), 403, "expirada"),
    (lambda raw: {**payloads.chatwoot_headers(raw, SECRET), "HTTP_X_CHATWOOT_TIMESTAMP": "ontem"}, 403, "inválido"),
])
def test_a_chatwoot_delivery_without_a_good_signature_is_refused(client, headers_of, status, fragment):
    raw = json.dumps(payloads.chatwoot()).encode()
    response = post(client, CHATWOOT, raw, **headers_of(raw))
    assert response.status_code == status
    assert fragment in response.json()["detail"]
    assert nothing_stored()


# --- Instagram ------------------------------------------------------------------------------

@override_settings(INSTAGRAM_VERIFY_TOKEN="meatyhamhock")
def test_the_instagram_subscription_check_returns_the_challenge_as_plain_text(client):
    response = client.get(INSTAGRAM, {"hub.mode": "subscribe", "hub.challenge": "1158201444",
                                      "hub.verify_token": "meatyhamhock"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain") and response.content == b"1158201444"


@override_settings(INSTAGRAM_VERIFY_TOKEN="meatyhamhock")
@pytest.mark.parametrize("query", [
    {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "wrong"},
    {"hub.mode": "unsubscribe", "hub.challenge": "1", "hub.verify_token": "meatyhamhock"},
    {"hub.challenge": "1"},
])
def test_a_wrong_subscription_check_is_403(client, query):
    response = client.get(INSTAGRAM, query)
    assert response.status_code == 403 and b"1" != response.content


def test_without_a_verify_token_configured_no_subscription_passes(client):
    assert client.get(INSTAGRAM, {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": ""}
                      ).status_code == 403


APP_SECRET = "ig-app-s3cret"


@override_settings(INSTAGRAM_APP_SECRET=APP_SECRET)
def test_the_signature_is_over_the_raw_bytes_as_meta_sends_them(client):
    raw = payloads.meta_bytes(payloads.instagram("Olá, vocês têm o tênis azul?"))
    assert b"\\u00e1" in raw  # Meta's escaping, kept as it came
    response = post(client, INSTAGRAM, raw, HTTP_X_HUB_SIGNATURE_256=payloads.instagram_signature(raw, APP_SECRET))
    assert response.status_code == 200 and response.json()["stored"] == 1
    assert Message.objects.get().text == "Olá, vocês têm o tênis azul?"
    conversation = Conversation.objects.get()
    assert conversation.contact_id == "instagram:6291045828461234"
    assert conversation.channel_address == {"recipient_id": "6291045828461234"}


@override_settings(INSTAGRAM_APP_SECRET=APP_SECRET)
@pytest.mark.parametrize(("signature_of", "status"), [
    (lambda raw: None, 401),
    (lambda raw: payloads.instagram_signature(raw, "wrong"), 403),
    # The same data dumped again (non-ASCII unescaped) has another digest: Meta signs its bytes.
    (lambda raw: payloads.instagram_signature(json.dumps(json.loads(raw), ensure_ascii=False).encode(),
                                              APP_SECRET), 403),
    (lambda raw: "sha1=" + "0" * 40, 403),
])
def test_an_instagram_delivery_without_a_good_signature_is_refused(client, signature_of, status):
    raw = payloads.meta_bytes(payloads.instagram("Olá, vocês têm o tênis azul?"))
    signature = signature_of(raw)
    headers = {"HTTP_X_HUB_SIGNATURE_256": signature} if signature else {}
    assert post(client, INSTAGRAM, raw, **headers).status_code == status
    assert nothing_stored()


def test_several_entries_and_events_are_all_read_and_echoes_of_people_pause(client):
    body = payloads.instagram("Oi", mid="m1")
    second = payloads.instagram("Tem o modelo preto?", sender="700", mid="m2")
    body["entry"] += second["entry"]
    body["entry"][0]["messaging"].append({"sender": {"id": "6291045828461234"}, "recipient": {"id": "1"},
                                          "timestamp": 1, "read": {"mid": "m0"}})
    assert post(client, INSTAGRAM, body).json() == {"status": "ok", "received": 2, "stored": 2, "duplicates": 0}
    echo = payloads.instagram("Oi! Aqui é a Bia, da loja.", mid="m3", echo=True)
    assert post(client, INSTAGRAM, echo).json()["stored"] == 1
    conversation = Conversation.objects.get(contact_id="instagram:6291045828461234")
    assert conversation.status == "human"
    assert conversation.messages.filter(author_kind="human").get().text == "Oi! Aqui é a Bia, da loja."
    assert post(client, INSTAGRAM, echo).json()["duplicates"] == 1


@pytest.mark.parametrize(("body", "fragment"), [
    ({"object": "instagram"}, "'entry'"),
    ({"object": "instagram", "entry": [{"messaging": [{"message": {"mid": "x", "text": "oi"}}]}]}, "sender"),
    ({"object": "instagram", "entry": [{"messaging": [{"sender": {"id": "abc"}, "recipient": {"id": "1"},
                                                       "message": {"mid": "x", "text": "oi"}}]}]}, "sender.id"),
])
def test_a_malformed_instagram_body_is_400(client, body, fragment):
    response = post(client, INSTAGRAM, body)
    assert response.status_code == 400 and fragment in response.json()["detail"]
    assert nothing_stored()


# --- all of them ----------------------------------------------------------------------------

@override_settings(CHATBOT_WEBHOOK_RATE_PER_MINUTE=3)
def test_webhooks_are_limited_per_source_with_retry_after(client):
    for number in range(3):
        assert post(client, EVOLUTION, payloads.evolution(message_id=f"R{number}")).status_code == 200
    refused = post(client, EVOLUTION, payloads.evolution(message_id="R9"))
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    assert Message.objects.count() == 3
    elsewhere = post(client, EVOLUTION, payloads.evolution(message_id="R10"), REMOTE_ADDR="10.1.2.3")
    assert elsewhere.status_code == 200


@pytest.mark.parametrize("path", [EVOLUTION, CHATWOOT, INSTAGRAM])
def test_an_oversized_body_is_413_and_stores_nothing(client, path):
    response = post(client, path, {"instance": "i", "padding": "x" * 100_000})
    assert response.status_code == 413
    assert nothing_stored()


@pytest.mark.parametrize("path", [EVOLUTION, CHATWOOT])
def test_other_methods_are_refused(client, path):
    assert client.get(path).status_code == 405
    assert client.put(path, data=b"{}", content_type="application/json").status_code == 405


def test_the_context_is_remembered_across_webhook_messages_and_forgotten_after_its_ttl(client):
    """The reply job (conversation_reply, which the chatbot worker runs) reads and keeps the context."""
    config = services.config_get()
    config.catalogue = [{"name": "Fone Bluetooth X", "price": "199.90", "keywords": ["fone"]},
                        {"name": "Smartwatch Fit", "price": "349", "keywords": ["smartwatch"]}]
    config.save()

    def answered(text, message_id):
        post(client, EVOLUTION, payloads.evolution(text, message_id=message_id))
        conversation = Conversation.objects.get()
        Conversation.objects.filter(pk=conversation.pk).update(reply_due_at=timezone.now() - timedelta(seconds=1))
        return services.conversation_reply(conversation_id=conversation.pk).text

    answered("Me fala do smartwatch", "CTX1")
    assert "Smartwatch Fit sai por R$ 349,00" in answered("e quanto custa?", "CTX2")
    config.context_ttl_seconds = 1
    config.save()
    answered("Me fala do smartwatch", "CTX3")
    time.sleep(1.5)
    assert answered("e quanto custa?", "CTX4").startswith("Temos Fone Bluetooth X")
