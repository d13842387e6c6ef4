"""The chatbot's core: intents, the offline replies in Portuguese, the context store, hand-off
and silence, through POST /seller-bot/message and the conversation routes."""

import time

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from jobs.queues import redis_connection
from sellerbot.chatbot import intents, services
from sellerbot.chatbot.models import Conversation, ConversationStatus, HandOff, Intent, Message
from tests.conftest import bearer_client

pytestmark = pytest.mark.django_db

CATALOGUE = [
    {"name": "Fone Bluetooth X", "price": "199.90", "keywords": ["fone", "headphone"],
     "description": "Fone sem fio com 30 horas de bateria e estojo de carga"},
    {"name": "Smartwatch Fit", "price": "349", "keywords": ["relogio", "smartwatch"]},
]
FAQ = [{"question": "Vocês trocam?", "answer": "Sim! A troca é grátis em até 7 dias após o recebimento.",
        "keywords": ["troca", "trocar"]}]
SEED_EXAMPLE = {"contact_id": "whatsapp:5511999999999", "message": "Qual o preço do produto X?", "channel": "whatsapp"}


@pytest.fixture(autouse=True)
def _alice_answers_conversations(alice):
    alice.user_permissions.add(Permission.objects.get(codename="change_conversation"))


@pytest.fixture
def shop():
    config = services.config_get()
    config.catalogue, config.faq = CATALOGUE, FAQ
    config.save()
    return config


def say(api, text, contact="whatsapp:5511999999999", channel="whatsapp", **extra):
    response = api.post("/seller-bot/message", {"contact_id": contact, "message": text, "channel": channel, **extra},
                        format="json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize(("text", "intent"), [
    ("Oi!", Intent.GREETING),
    ("Bom dia", Intent.GREETING),
    ("Qual o preço do fone?", Intent.PRICE),
    ("QUANTO CUSTA", Intent.PRICE),
    ("vocês entregam pra Recife? qual o frete", Intent.SHIPPING),
    ("Onde está meu pedido 4521?", Intent.ORDER_STATUS),
    ("quero comprar dois", Intent.PURCHASE_INTENT),
    ("O produto chegou quebrado, um absurdo", Intent.COMPLAINT),
    ("quero falar com um atendente", Intent.HUMAN_REQUEST),
    ("O fone tem garantia?", Intent.PRODUCT_QUESTION),
    ("asdfgh", Intent.OTHER),
])
def test_it_reads_each_intent(text, intent):
    reading = intents.read(text, catalogue=CATALOGUE)
    assert reading.intent == intent
    assert 0 < reading.confidence <= 1
    if intent == Intent.OTHER:
        assert reading.confidence < 0.45
    else:
        assert reading.confidence >= 0.6


def test_accents_and_case_do_not_matter():
    assert intents.read("PREÇO?").intent == intents.read("preco?").intent == Intent.PRICE


@pytest.mark.parametrize(("text", "expected"), [
    ("Olá", "Como posso ajudar"),
    ("Quanto custa o fone?", "R$ 199,90"),
    ("Qual o preço?", "Fone Bluetooth X (R$ 199,90) e Smartwatch Fit (R$ 349,00)"),
    ("Vocês entregam em Curitiba? Qual o frete?", "CEP"),
    ("Cadê o meu pedido?", "número"),
    ("Quero comprar o relogio", "Smartwatch Fit por R$ 349,00"),
    ("Veio com defeito, quero devolver", "Sinto muito"),
    ("Preciso de um atendente", "pessoa da nossa equipe"),
    ("O fone tem garantia?", "30 horas de bateria"),
    ("Posso trocar se não servir?", "troca é grátis em até 7 dias"),
    ("xyz", "não entendi"),
])
def test_the_offline_backend_answers_every_intent_in_portuguese(alice_api, shop, text, expected):
    answer = say(alice_api, text)
    assert expected in answer["reply"]


def test_the_seed_example_is_answered(alice_api, shop):
    answer = say(alice_api, SEED_EXAMPLE["message"])
    assert answer["intent"] == "price" and answer["confidence"] >= 0.6
    assert answer["reply"].startswith("Temos Fone Bluetooth X")
    assert answer["status"] == "bot" and answer["funnel_stage"] == "price_asked"
    conversation = Conversation.objects.get(pk=answer["conversation_id"])
    assert conversation.contact_id == "whatsapp:5511999999999" and conversation.channel == "whatsapp"
    assert list(conversation.messages.values_list("author_kind", "text")) == [
        ("customer", "Qual o preço do produto X?"), ("bot", answer["reply"])]


def test_the_greeting_uses_the_customers_first_name(alice_api, shop):
    assert say(alice_api, "Oi", contact_name="Maria Souza")["reply"].startswith("Olá, Maria!")


def test_the_product_talked_about_is_remembered_for_the_next_message(alice_api, shop):
    say(alice_api, "Me fala do smartwatch")
    assert "Smartwatch Fit sai por R$ 349,00" in say(alice_api, "e quanto custa?")["reply"]
    context = redis_connection().get("chatbot:context:whatsapp:5511999999999")
    assert b"Smartwatch Fit" in context


def test_the_context_is_forgotten_after_its_ttl(alice_api, shop):
    shop.context_ttl_seconds = 1
    shop.save()
    say(alice_api, "Me fala do smartwatch")
    assert redis_connection().ttl("chatbot:context:whatsapp:5511999999999") in (0, 1)
    time.sleep(1.5)
    assert say(alice_api, "e quanto custa?")["reply"].startswith("Temos Fone Bluetooth X")


def test_the_funnel_only_moves_forward(alice_api, shop):
    say(alice_api, "Quero comprar o fone")
    assert say(alice_api, "e tem garantia?")["funnel_stage"] == "purchase_intent"


def test_asking_for_a_person_hands_off_and_the_bot_goes_silent(alice_api, shop):
    answer = say(alice_api, "quero falar com um atendente")
    assert answer["handed_off"] and answer["status"] == "human"
    assert "pessoa da nossa equipe" in answer["reply"]
    handoff = HandOff.objects.get()
    assert (handoff.to, handoff.actor_kind) == ("human", "customer")
    assert "pediu para falar com uma pessoa" in handoff.reason
    silent = say(alice_api, "alô?")
    assert silent["reply"] is None and silent["silent_because"] == "human"
    assert Message.objects.filter(text="alô?", author_kind="customer").exists()  # recorded all the same


def test_a_handoff_keyword_of_the_configuration_hands_off(alice_api, shop):
    shop.handoff_keywords = ["cancelar assinatura"]
    shop.save()
    assert say(alice_api, "Quero CANCELAR a assinatura")["handed_off"] is False
    assert say(alice_api, "quero cancelar assinatura")["handed_off"] is True


def test_two_low_confidence_messages_in_a_row_hand_off(alice_api, shop):
    assert say(alice_api, "xyz")["handed_off"] is False
    assert say(alice_api, "Oi")["handed_off"] is False  # understood: the count starts again
    assert say(alice_api, "xyz")["handed_off"] is False
    answer = say(alice_api, "hmmm")
    assert answer["handed_off"] is True
    assert HandOff.objects.get().reason == "O bot não entendeu o cliente duas vezes seguidas"


def test_the_bot_resumes_when_the_pause_runs_out(alice_api, shop):
    say(alice_api, "quero falar com um atendente")
    Conversation.objects.update(paused_until="2000-01-01T00:00:00Z")
    answer = say(alice_api, "Oi")
    assert answer["status"] == "bot" and answer["reply"]
    assert HandOff.objects.filter(to="bot", actor_kind="system").exists()


def test_staff_take_over_and_hand_back_through_the_api(alice_api, alice, shop):
    conversation_id = say(alice_api, "Oi")["conversation_id"]
    taken = alice_api.post(f"/seller-bot/conversations/{conversation_id}/handoff", {"reason": "cliente VIP"},
                           format="json")
    assert taken.status_code == 200, taken.content
    assert taken.json()["status"] == "human" and taken.json()["assigned_agent"] == "alice"
    assert say(alice_api, "Quanto custa o fone?")["silent_because"] == "human"
    again = alice_api.post(f"/seller-bot/conversations/{conversation_id}/handoff", {}, format="json")
    assert again.status_code == 409 and "já está com uma pessoa" in again.json()["detail"]
    back = alice_api.post(f"/seller-bot/conversations/{conversation_id}/handoff", {"to": "bot"}, format="json")
    assert back.status_code == 200 and back.json()["status"] == "bot"
    assert "R$ 199,90" in say(alice_api, "Quanto custa o fone?")["reply"]
    assert [(h.to, h.actor_kind, h.actor_id, h.reason) for h in HandOff.objects.order_by("id")] == [
        ("human", "staff", alice.id, "cliente VIP"), ("bot", "staff", alice.id, "Devolvida ao bot pela equipe")]


@pytest.mark.parametrize("raw_id", ["999999", "abc", "-1", "0", "1" * 30])
def test_an_unknown_conversation_is_404(alice_api, raw_id):
    response = alice_api.post(f"/seller-bot/conversations/{raw_id}/handoff", {}, format="json")
    assert response.status_code == 404 and "não encontrada" in response.json()["detail"]


def test_the_active_conversations_are_listed_with_filters(alice_api, shop):
    say(alice_api, "Oi", contact="whatsapp:1")
    say(alice_api, "quero falar com um atendente", contact="ig:2", channel="instagram")
    listed = alice_api.get("/seller-bot/conversations").json()
    assert [(c["contact_id"], c["status"], c["message_count"]) for c in listed] == [
        ("ig:2", "human", 2), ("whatsapp:1", "bot", 2)]
    assert listed[0]["last_message"].startswith("Claro! Vou chamar")
    assert [c["contact_id"] for c in alice_api.get("/seller-bot/conversations?channel=whatsapp").json()] == [
        "whatsapp:1"]
    assert [c["contact_id"] for c in alice_api.get("/seller-bot/conversations?status=human").json()] == ["ig:2"]
    bad = alice_api.get("/seller-bot/conversations?channel=telegram")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "channel"]


def test_closing_all_conversations_keeps_the_history_and_forgets_the_contexts(alice_api, shop):
    say(alice_api, "Me fala do smartwatch")
    response = alice_api.delete("/seller-bot/conversations")
    assert response.status_code == 200 and response.json()["closed"] == 1
    assert alice_api.get("/seller-bot/conversations").json() == []
    assert redis_connection().get("chatbot:context:whatsapp:5511999999999") is None
    assert Message.objects.count() == 2
    answer = say(alice_api, "e quanto custa?")  # a new conversation, with nothing remembered
    assert answer["reply"].startswith("Temos") and Conversation.objects.count() == 2


@pytest.mark.parametrize(("body", "loc", "fragment"), [
    ({"message": "oi"}, ("body", "contact_id"), "required"),
    ({"contact_id": "x"}, ("body", "message"), "required"),
    ({"contact_id": 55, "message": "oi"}, ("body", "contact_id"), "str type expected"),
    ({"contact_id": "x", "message": ""}, ("body", "message"), "at least 1"),
    ({"contact_id": "x", "message": "oi", "channel": "telegram"}, ("body", "channel"), "telegram"),
    ({"contact_id": "x", "message": "a" * 4001}, ("body", "message"), "4000"),
    ({"contact_id": "x", "message": "oi", "admin": True}, ("body", "admin"), "extra fields"),
])
def test_bad_messages_are_refused_naming_the_field_and_change_nothing(alice_api, body, loc, fragment):
    response = alice_api.post("/seller-bot/message", body, format="json")
    assert response.status_code == 422, response.content
    errors = {tuple(item["loc"]): item["msg"] for item in response.json()["detail"]}
    assert fragment in errors[loc]
    assert not Conversation.objects.exists() and not Message.objects.exists()


def test_a_deeply_nested_or_oversized_body_is_refused_and_changes_nothing(alice_api):
    deep = '{"a": ' * 40 + "1" + "}" * 40
    nested = f'{{"contact_id": "x", "message": "oi", "contact_name": {deep}}}'
    response = alice_api.post("/seller-bot/message", nested, content_type="application/json")
    assert response.status_code == 422 and response.json()["detail"][0]["type"] == "value_error.jsondecode"
    huge = {"contact_id": "x", "message": "oi", "contact_name": "x" * 2_000_000}
    assert alice_api.post("/seller-bot/message", huge, format="json").status_code == 413
    assert not Conversation.objects.exists()


ROUTES = [("post", "/seller-bot/message"), ("get", "/seller-bot/conversations"),
          ("delete", "/seller-bot/conversations"), ("post", "/seller-bot/conversations/1/handoff"),
          ("get", "/seller-bot/conversations/1/messages"), ("post", "/seller-bot/conversations/1/messages")]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("authorization", [None, "Bearer forged.token.value", "Basic YWxpY2U6YWxpY2UtcGFzcw=="])
def test_every_route_refuses_missing_and_forged_credentials(method, path, authorization):
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    response = getattr(client, method)(path, SEED_EXAMPLE, format="json")
    assert response.status_code == 401, (response.status_code, response.content)
    assert not Conversation.objects.exists()


def test_people_without_the_permission_cannot_read_or_answer(django_user_model, alice_api, shop):
    say(alice_api, "Oi")
    clerk = django_user_model.objects.create_user("clerk", password="clerk-pass")
    api = bearer_client(clerk)
    assert api.get("/seller-bot/conversations").status_code == 403
    refused = api.post("/seller-bot/message", SEED_EXAMPLE, format="json")
    assert refused.status_code == 403 and "sellerbot.change_conversation" in refused.json()["detail"]
    clerk.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    api = bearer_client(django_user_model.objects.get(pk=clerk.pk))
    assert api.get("/seller-bot/conversations").status_code == 200
    assert api.delete("/seller-bot/conversations").status_code == 403
    assert Conversation.objects.filter(status=ConversationStatus.BOT).count() == 1


def test_a_channel_message_is_recorded_once(shop):
    first = services.message_process(channel="whatsapp", contact_id="whatsapp:1", text="Oi",
                                     channel_message_id="3EB0A1")
    again = services.message_process(channel="whatsapp", contact_id="whatsapp:1", text="Oi",
                                     channel_message_id="3EB0A1")
    assert again.duplicate and again.reply.pk == first.reply.pk
    assert Message.objects.count() == 2


def test_while_redis_is_down_the_context_lives_in_memory(alice_api, shop, settings, tmp_path):
    gone = f"unix://{tmp_path / 'no-redis.sock'}"
    settings.RQ_QUEUES = {name: {**queue, "URL": gone} for name, queue in settings.RQ_QUEUES.items()}
    say(alice_api, "Me fala do smartwatch", contact="whatsapp:offline")
    assert "Smartwatch Fit sai por R$ 349,00" in say(alice_api, "e quanto custa?", contact="whatsapp:offline")["reply"]


def test_the_thread_lists_the_messages_oldest_first_and_pages_back(alice_api, shop):
    conversation_id = say(alice_api, "Oi")["conversation_id"]
    say(alice_api, "Quanto custa o fone?")
    thread = alice_api.get(f"/seller-bot/conversations/{conversation_id}/messages")
    assert thread.status_code == 200
    body = thread.json()
    assert body["conversation"]["id"] == conversation_id and body["conversation"]["status"] == "bot"
    assert [(m["author_kind"], m["text"][:14]) for m in body["messages"]] == [
        ("customer", "Oi"), ("bot", "Olá! Eu sou a "), ("customer", "Quanto custa o"), ("bot", "O Fone Bluetoo")]
    before = body["messages"][2]["id"]
    older = alice_api.get(f"/seller-bot/conversations/{conversation_id}/messages?before={before}").json()
    assert [m["text"] for m in older["messages"]] == [m["text"] for m in body["messages"][:2]]
    bad = alice_api.get(f"/seller-bot/conversations/{conversation_id}/messages?before=abc")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "before"]
    assert alice_api.get("/seller-bot/conversations/999999/messages").status_code == 404


def test_a_person_replying_from_the_console_takes_the_conversation_and_owes_it_to_the_channel(alice_api, alice,
                                                                                              shop):
    from sellerbot.chatbot.models import Channel, ReplyDelivery

    outcome = services.message_process(channel=Channel.WHATSAPP, contact_id="whatsapp:5511987654321", text="Oi")
    conversation = outcome.conversation
    reply = alice_api.post(f"/seller-bot/conversations/{conversation.pk}/messages",
                           {"text": "Oi! Aqui é a Alice, da loja."}, format="json")
    assert reply.status_code == 201, reply.content
    assert reply.json()["author_kind"] == "human" and reply.json()["author"] == "alice"
    assert reply.json()["delivery"] == "PENDING"
    conversation.refresh_from_db()
    assert conversation.status == "human" and conversation.assigned_agent == alice
    assert ReplyDelivery.objects.get().message.text == "Oi! Aqui é a Alice, da loja."
    assert HandOff.objects.get().actor_kind == "staff"
    assert services.message_process(channel=Channel.WHATSAPP, contact_id="whatsapp:5511987654321",
                                    text="Obrigada").reply is None


@pytest.mark.parametrize(("body", "fragment"), [({}, "required"), ({"text": ""}, "at least 1"),
                                                ({"text": 5}, "str type expected"), ({"text": "a" * 4001}, "4000")])
def test_a_bad_staff_reply_is_refused_and_changes_nothing(alice_api, shop, body, fragment):
    conversation_id = say(alice_api, "Oi")["conversation_id"]
    response = alice_api.post(f"/seller-bot/conversations/{conversation_id}/messages", body, format="json")
    assert response.status_code == 422
    assert fragment in response.json()["detail"][0]["msg"]
    assert Message.objects.count() == 2 and not HandOff.objects.exists()


def test_no_reply_to_a_closed_conversation_nor_outside_instagrams_window(alice_api, shop):
    from datetime import timedelta

    from django.utils import timezone

    closed = say(alice_api, "Oi", contact="whatsapp:1")["conversation_id"]
    alice_api.delete("/seller-bot/conversations")
    response = alice_api.post(f"/seller-bot/conversations/{closed}/messages", {"text": "Olá?"}, format="json")
    assert response.status_code == 409 and "encerrada" in response.json()["detail"]
    late = say(alice_api, "Oi", contact="instagram:77", channel="instagram")["conversation_id"]
    Conversation.objects.filter(pk=late).update(last_customer_message_at=timezone.now() - timedelta(hours=25))
    response = alice_api.post(f"/seller-bot/conversations/{late}/messages", {"text": "Olá?"}, format="json")
    assert response.status_code == 409 and "janela de 24 horas" in response.json()["detail"]
    assert Message.objects.filter(author_kind="human").count() == 0


def test_reading_a_thread_needs_the_read_permission_and_replying_the_change_one(django_user_model, alice_api, shop):
    conversation_id = say(alice_api, "Oi")["conversation_id"]
    reader = django_user_model.objects.create_user("reader", password="reader-pass")
    reader.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    api = bearer_client(reader)
    assert api.get(f"/seller-bot/conversations/{conversation_id}/messages").status_code == 200
    refused = api.post(f"/seller-bot/conversations/{conversation_id}/messages", {"text": "oi"}, format="json")
    assert refused.status_code == 403
    assert APIClient().get(f"/seller-bot/conversations/{conversation_id}/messages").status_code == 401


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_refuses_an_expired_token_of_a_permitted_person(alice, method, path):
    from tests.accounts.test_auth import expired_access_token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {expired_access_token(alice)}")
    response = getattr(client, method)(path, SEED_EXAMPLE, format="json")
    assert response.status_code == 401, (response.status_code, response.content)
    assert not Conversation.objects.exists()
