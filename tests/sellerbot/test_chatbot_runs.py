"""The chatbot answering through the running app: webhooks posted to daphne, replies produced by
a real rq worker of the `chatbot` queue (with its scheduler: the debounce) and received by local
fakes of the channels' APIs (tests/fakes/channels.py)."""

import json
import time

import pytest
import requests

from jobs.queues import redis_connection
from sellerbot.chatbot import services
from sellerbot.chatbot.models import Conversation, Message, ReplyDelivery
from sellerbot.chatbot.tasks import chatbot_maintenance_task
from tests.conftest import AsgiServer, WorkerProcesses
from tests.fakes.channels import FakeChannels
from tests.sellerbot import payloads

pytestmark = pytest.mark.django_db(transaction=True)

FAQ = [{"question": "Qual o horário?", "answer": "Funcionamos de segunda a sexta, das 9h às 18h.",
        "keywords": ["horario", "funcionamento"]}]
CATALOGUE = [{"name": "Fone Bluetooth X", "price": "199.90", "keywords": ["fone"]}]


@pytest.fixture(scope="module")
def channels():
    fake = FakeChannels().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def channel_env(worker_env, channels):
    return {**worker_env, "EVOLUTION_BASE_URL": channels.url, "EVOLUTION_API_KEY": "evo-key",
            "CHATWOOT_BASE_URL": channels.url, "CHATWOOT_API_TOKEN": "cw-token",
            "INSTAGRAM_GRAPH_URL": f"{channels.url}/v21.0", "INSTAGRAM_ACCESS_TOKEN": "ig-token",
            "CHATBOT_SEND_BACKOFF_SECONDS": "1", "CHATBOT_CIRCUIT_FAILURES": "2", "CHATBOT_CIRCUIT_OPEN_SECONDS": "2"}


@pytest.fixture(scope="module")
def app(channel_env, tmp_path_factory):
    server = AsgiServer(channel_env, tmp_path_factory.mktemp("chatbot-daphne"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chatbot_worker(channel_env):
    # A scheduler killed by an earlier test keeps its lock for a minute: this one must take it.
    redis_connection().delete("rq:scheduler-lock:chatbot")
    workers = WorkerProcesses(channel_env)
    workers.start(1, queues=("chatbot",), scheduler=True)
    yield workers
    workers.stop_all()


@pytest.fixture(autouse=True)
def shop(channels, chatbot_worker, settings, channel_env):
    channels.clear()
    redis = redis_connection()
    for pattern in ("ratelimit:chatbot-*", "circuit:*", "chatbot:*"):
        for key in redis.scan_iter(pattern):
            redis.delete(key)
    for name in ("EVOLUTION_BASE_URL", "EVOLUTION_API_KEY", "CHATWOOT_BASE_URL", "CHATWOOT_API_TOKEN",
                 "INSTAGRAM_GRAPH_URL", "INSTAGRAM_ACCESS_TOKEN"):
        setattr(settings, name, channel_env[name])
    settings.CHATBOT_SEND_BACKOFF_SECONDS = 1
    config = services.config_get()
    config.faq, config.catalogue, config.debounce_seconds = FAQ, CATALOGUE, 1
    config.save()
    return config


def webhook(app, path, body, **headers):
    response = requests.post(f"{app.url}/seller-bot/webhook/{path}", data=json.dumps(body).encode(),
                             headers={"Content-Type": "application/json", **headers}, timeout=10)
    assert response.status_code == 200, response.text
    return response


def wait_for(predicate, timeout=20.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def delivered(channels, name):
    return [request for request in channels.sent(name) if request["status"] < 300]


def test_a_whatsapp_message_is_answered_through_the_evolution_api(app, channels):
    started = time.monotonic()
    acknowledged = webhook(app, "evolution", payloads.evolution())
    assert time.monotonic() - started < 2  # stored and acknowledged, not answered in the request
    assert acknowledged.json()["stored"] == 1
    [sent] = wait_for(lambda: delivered(channels, "evolution"), what="the reply at the Evolution API")
    assert sent["path"] == "/message/sendText/acme-whatsapp"
    assert sent["headers"]["apikey"] == "evo-key"
    assert sent["body"] == {"number": "5511987654321", "text": "Funcionamos de segunda a sexta, das 9h às 18h."}
    reply = wait_for(lambda: Message.objects.filter(author_kind="bot").exclude(channel_message_id="").first(),
                     what="the reply's channel id")
    assert reply.delivery.state == "DELIVERED" and reply.delivery.attempts == 1
    assert reply.channel_message_id.startswith("3EB0")


def test_messages_typed_one_after_another_are_answered_once_together(app, channels, shop):
    shop.debounce_seconds = 2
    shop.save()
    webhook(app, "evolution", payloads.evolution("Oi", message_id="D1"))
    webhook(app, "evolution", payloads.evolution("quanto custa o fone?", message_id="D2"))
    [sent] = wait_for(lambda: delivered(channels, "evolution"), what="the reply")
    assert "R$ 199,90" in sent["body"]["text"]
    time.sleep(3)  # the first message's job found the reply moved later and left it to the second's
    assert len(delivered(channels, "evolution")) == 1
    assert Message.objects.filter(author_kind="bot").count() == 1


def test_a_chatwoot_message_is_answered_in_its_conversation(app, channels):
    webhook(app, "chatwoot", payloads.chatwoot())
    [sent] = wait_for(lambda: delivered(channels, "chatwoot"), what="the reply at Chatwoot")
    assert sent["path"] == "/api/v1/accounts/1/conversations/7/messages"
    assert sent["headers"]["api_access_token"] == "cw-token"
    assert sent["body"] == {"content": "Funcionamos de segunda a sexta, das 9h às 18h.", "message_type": "outgoing",
                            "private": False}
    # Chatwoot sends our reply back to the webhook: it is recognised, the bot is not paused.
    reply = wait_for(lambda: Message.objects.filter(author_kind="bot").exclude(channel_message_id="").first())
    echo = payloads.chatwoot(sent["body"]["content"], message_type="outgoing", sender_type="user",
                             message_id=int(reply.channel_message_id))
    assert webhook(app, "chatwoot", echo).json()["duplicates"] == 1
    assert Conversation.objects.get().status == "bot"


def test_asking_for_a_person_hands_the_chatwoot_conversation_to_the_agents(app, channels):
    webhook(app, "chatwoot", payloads.chatwoot("quero falar com um atendente", message_id=2001))
    wait_for(lambda: channels.sent("chatwoot-status"), what="toggle_status")
    assert channels.sent("chatwoot-status")[0]["body"] == {"status": "open"}
    assert channels.sent("chatwoot-status")[0]["path"] == "/api/v1/accounts/1/conversations/7/toggle_status"
    [sent] = delivered(channels, "chatwoot")
    assert "pessoa da nossa equipe" in sent["body"]["content"]
    assert Conversation.objects.get().status == "human"
    # Silent while a person has it.
    webhook(app, "chatwoot", payloads.chatwoot("alô?", message_id=2002))
    time.sleep(2.5)
    assert len(delivered(channels, "chatwoot")) == 1


def test_an_instagram_message_is_answered_through_the_send_api(app, channels):
    webhook(app, "instagram", payloads.instagram("Qual o horário de funcionamento?"))
    [sent] = wait_for(lambda: delivered(channels, "instagram"), what="the reply at the Graph API")
    assert sent["path"] == "/v21.0/me/messages" and sent["query"] == {"access_token": ["ig-token"]}
    assert sent["body"] == {"recipient": {"id": "6291045828461234"},
                            "message": {"text": "Funcionamos de segunda a sexta, das 9h às 18h."}}


def test_a_person_answering_on_the_phone_before_the_bot_keeps_it_silent(app, channels, shop):
    shop.debounce_seconds = 2
    shop.save()
    webhook(app, "evolution", payloads.evolution("Oi, vocês abrem sábado?", message_id="H1"))
    webhook(app, "evolution", payloads.evolution("Abrimos sim, das 9h às 13h!", message_id="H2", from_me=True))
    time.sleep(3.5)
    assert delivered(channels, "evolution") == []
    assert Conversation.objects.get().status == "human"


def test_a_reply_waits_while_the_channel_is_down_and_is_sent_once_when_it_is_back(app, channels):
    channels.down = True
    webhook(app, "evolution", payloads.evolution(message_id="DOWN1"))
    # The attempt is recorded just before its delivery is: wait for the delivery's own count.
    wait_for(lambda: ReplyDelivery.objects.filter(attempts=1).exists(), what="a failed attempt")
    delivery = ReplyDelivery.objects.get()
    assert delivery.state == "PENDING" and "HTTP 503" in delivery.last_error
    # The maintenance pass while it is still down: the second failure opens the circuit, and
    # then nothing more is even tried (no attempt spent) until it closes.
    time.sleep(1.2)
    chatbot_maintenance_task()
    tried = len(channels.sent("evolution"))
    time.sleep(1.2)
    chatbot_maintenance_task()
    assert len(channels.sent("evolution")) == tried == 2
    assert ReplyDelivery.objects.get().attempts == 2
    channels.down = False
    time.sleep(2.5)  # the circuit's open time
    chatbot_maintenance_task()
    chatbot_maintenance_task()
    assert len(delivered(channels, "evolution")) == 1
    delivery = ReplyDelivery.objects.get()
    assert delivery.state == "DELIVERED" and delivery.attempts == 3
    assert list(delivery.attempt_log.values_list("ok", "http_status")) == [(False, 503), (False, 503), (True, 201)]


def test_a_dead_instagram_token_gives_the_reply_up_at_once_saying_why(app, channels):
    channels.refuse_token = True
    webhook(app, "instagram", payloads.instagram("Oi"))
    delivery = wait_for(lambda: ReplyDelivery.objects.filter(state="ABANDONED").first(), what="the reply given up")
    assert delivery.attempts == 1 and "código 190" in delivery.last_error


def test_a_customer_silent_for_more_than_24_hours_gets_no_instagram_message(app, channels):
    webhook(app, "instagram", payloads.instagram("Oi"))
    wait_for(lambda: delivered(channels, "instagram"), what="the first reply")
    conversation = Conversation.objects.get()
    conversation.last_customer_message_at = conversation.last_customer_message_at.replace(year=2020)
    conversation.save()
    late = Message.objects.create(conversation=conversation, direction="out", author_kind="human",
                                  text="Olá, ainda tem interesse?", channel="instagram")
    from sellerbot.chatbot import outbox

    delivery = outbox.reply_schedule(message=late)
    outbox.reply_deliver(delivery_id=delivery.id)
    delivery.refresh_from_db()
    assert delivery.state == "ABANDONED" and "janela de 24 horas" in delivery.last_error
    assert len(delivered(channels, "instagram")) == 1


def test_staff_watching_the_conversations_see_each_message_live(app, channels, django_user_model):
    from tests.sellerbot.conftest import Notifications

    staff = django_user_model.objects.create_user("carla", password="carla-pass", is_staff=True)
    clerk = django_user_model.objects.create_user("clerk", password="clerk-pass")
    watcher, outsider = Notifications(app, staff), Notifications(app, clerk)
    try:
        for listener in (watcher, outsider):
            listener.socket.send(json.dumps({"action": "subscribe", "stream": "chatbot"}))
        wait_for(lambda: watcher.of_type("subscribed"), what="the subscription")
        [refused] = wait_for(lambda: outsider.of_type("error"), what="the refusal")
        assert "sellerbot.view_conversation" in refused["detail"]
        webhook(app, "evolution", payloads.evolution())
        frames = wait_for(lambda: [f for f in watcher.of_type("chatbot_conversation")
                                   if any(m["author_kind"] == "bot" for m in f["messages"])], what="the reply live")
        first = watcher.of_type("chatbot_conversation")[0]
        assert first["conversation"]["contact_id"] == "whatsapp:5511987654321"
        assert first["messages"][0]["text"] == "Olá! Qual o horário de funcionamento?"
        assert frames[0]["messages"][0]["text"] == "Funcionamos de segunda a sexta, das 9h às 18h."
        assert outsider.of_type("chatbot_conversation") == []
    finally:
        watcher.close()
        outsider.close()
