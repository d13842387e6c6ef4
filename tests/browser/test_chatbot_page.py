"""The chatbot page in a real browser, against the app served by daphne with a real worker of the
`chatbot` queue and local fakes of the channels (tests/fakes/channels.py): a customer's message
posted to the Evolution webhook appears in the open thread and the list without a reload, a person
takes a conversation over and their reply reaches the channel, a refused reply says why in words,
and with the websocket refused the page refetches every 15 s — all without one Content-Security-
Policy violation."""

import json
import time

import pytest
import requests
from django.contrib.auth.models import Permission
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from jobs.queues import redis_connection
from sellerbot.chatbot import services
from sellerbot.chatbot.models import Conversation, Message
from tests.browser.conftest import Dashboard
from tests.browser.test_content_security_policy import RECORD_VIOLATIONS, violations
from tests.conftest import AsgiServer, WorkerProcesses
from tests.fakes.channels import FakeChannels
from tests.sellerbot import payloads

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/painel/seller-bot/chatbot/"


@pytest.fixture(scope="module")
def channels():
    fake = FakeChannels().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def channel_env(worker_env, channels):
    return {**worker_env, "EVOLUTION_BASE_URL": channels.url, "EVOLUTION_API_KEY": "evo-key",
            "CHATBOT_SEND_BACKOFF_SECONDS": "1"}


@pytest.fixture(scope="module")
def app(channel_env, tmp_path_factory):
    """Daphne with the channels' addresses (the session's asgi_server has none)."""
    server = AsgiServer(channel_env, tmp_path_factory.mktemp("chatbot-page-daphne"))
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


@pytest.fixture
def shop(channels, chatbot_worker):
    channels.clear()
    redis = redis_connection()
    for pattern in ("ratelimit:chatbot-*", "ratelimit:bot-api:*", "circuit:*", "chatbot:*"):
        for key in redis.scan_iter(pattern):
            redis.delete(key)
    config = services.config_get()
    config.debounce_seconds = 1
    config.save()
    return config


@pytest.fixture
def page(chromium, app, shop):
    chromium.delete_all_cookies()
    chromium.execute_cdp_cmd("Network.clearBrowserCache", {})
    script = chromium.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
    yield Dashboard(chromium, app)
    chromium.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})


@pytest.fixture
def agent(alice):
    """Alice, staff, allowed to take conversations over and reply."""
    alice.user_permissions.add(Permission.objects.get(content_type__app_label="sellerbot",
                                                      codename="change_conversation"))
    return alice


def webhook(app, body) -> None:
    response = requests.post(f"{app.url}/seller-bot/webhook/evolution", data=json.dumps(body).encode(),
                             headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 200, response.text


def wait_for(predicate, timeout=20.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def delivered(channels, text=None) -> list[dict]:
    return [request for request in channels.sent("evolution")
            if request["status"] < 300 and (text is None or request["body"]["text"] == text)]


def customer_message(channel_message_id: str) -> Message:
    return wait_for(lambda: Message.objects.filter(channel_message_id=channel_message_id).first(),
                    what=f"message {channel_message_id} stored")


def click(dashboard, css: str) -> None:
    element = dashboard.find(css)
    dashboard.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()


def delivery_of(dashboard, css: str) -> str | None:
    """The delivery state drawn on a message (read in one call: the bubble is redrawn when it changes)."""
    return dashboard.driver.execute_script(
        "var node = document.querySelector(arguments[0]); return node && node.dataset.delivery;", css)


def text_of(dashboard, css: str) -> str:
    """The text drawn in an element (read in one call: list items are redrawn when they change)."""
    return dashboard.driver.execute_script(
        "var node = document.querySelector(arguments[0]); return node ? node.innerText : '';", css)


def shown(dashboard, css: str) -> bool:
    found = dashboard.driver.find_elements(By.CSS_SELECTOR, css)
    return bool(found) and found[0].is_displayed()


def test_a_webhook_message_appears_live_in_the_open_thread_and_the_list(page, agent, app, channels):
    webhook(app, payloads.evolution("Oi, tudo bem?", message_id="LIVE1"))
    conversation = customer_message("LIVE1").conversation
    wait_for(lambda: delivered(channels), what="the bot's first answer")
    page.sign_in(agent).open(f"{PAGE}?conversa={conversation.pk}")
    page.wait_live()
    page.mark_document()
    assert "Maria Silva" in page.find("#cb-thread-title").text

    # Well within the 15 s of a refetch: it came on the websocket.
    live = WebDriverWait(page.driver, 6, poll_frequency=0.1)
    webhook(app, payloads.evolution("Vocês têm o fone Bluetooth X?", message_id="LIVE2"))
    message = customer_message("LIVE2")
    bubble = live.until(lambda d: d.find_element(By.CSS_SELECTOR, f'#cb-messages [data-message-id="{message.pk}"]'))
    assert "Vocês têm o fone Bluetooth X?" in bubble.text and "cb-msg-customer" in bubble.get_attribute("class")
    page.wait_text(f'#cb-conversation-list [data-conversation-id="{conversation.pk}"] .cb-conv-last',
                   "Vocês têm o fone Bluetooth X?")

    # The bot's answer follows, and its delivery changes in place: sending, then sent.
    answer = wait_for(lambda: Message.objects.filter(conversation=conversation, author_kind="bot",
                                                     id__gt=message.pk).first(), what="the bot's answer")
    page.wait.until(lambda d: delivery_of(page, f'#cb-messages [data-message-id="{answer.pk}"]') == "DELIVERED")
    reply = page.find(f'#cb-messages [data-message-id="{answer.pk}"]')
    assert "Bot" in reply.text and "enviada" in reply.text and "cb-msg-bot" in reply.get_attribute("class")
    assert len(page.driver.find_elements(By.CSS_SELECTOR, f'#cb-messages [data-message-id="{answer.pk}"]')) == 1

    # A new customer's conversation appears at the top of the list.
    webhook(app, payloads.evolution("Boa tarde!", number="5521999990000", name="Pedro Alves", message_id="LIVE3"))
    first = "#cb-conversation-list > li:first-child"
    live.until(lambda d: "Pedro Alves" in text_of(page, first))
    assert "WhatsApp" in text_of(page, first) and "Com o bot" in text_of(page, first)
    page.wait_text("#cb-count", "2")
    assert page.same_document()
    assert violations(page) == []


def test_a_person_takes_over_and_the_reply_reaches_the_channel(page, agent, app, channels):
    webhook(app, payloads.evolution("Quero saber do meu pedido 1234", message_id="TAKE1"))
    conversation = customer_message("TAKE1").conversation
    wait_for(lambda: delivered(channels), what="the bot's answer")
    page.sign_in(agent).open(PAGE)
    page.wait_live()
    page.mark_document()
    assert page.find("#cb-thread-empty").is_displayed()

    click(page, f'#cb-conversation-list [data-conversation-id="{conversation.pk}"] a')
    page.wait_text("#cb-thread-title", "Maria Silva")
    page.wait.until(lambda d: shown(page, "#cb-take"))
    assert not shown(page, "#cb-give-back")
    click(page, "#cb-take")
    page.wait.until(lambda d: shown(page, "#cb-give-back"))
    assert not shown(page, "#cb-take")
    assert page.find("#cb-thread-status").text == "Com uma pessoa"
    assert "atendida por alice" in page.find("#cb-thread-tags").text
    page.wait_text(f'#cb-conversation-list [data-conversation-id="{conversation.pk}"] .badge', "Com uma pessoa")
    conversation.refresh_from_db()
    assert conversation.status == "human" and conversation.assigned_agent == agent

    text = "Oi Maria, aqui é a Alice. Seu pedido 1234 sai hoje!"
    box = page.find("#cb-reply-text")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)
    sent = page.wait_for("#cb-messages .cb-msg-human")
    assert text in sent.text and "alice · equipe" in sent.text
    [request] = wait_for(lambda: delivered(channels, text), what="the reply at the Evolution API")
    assert request["path"] == "/message/sendText/acme-whatsapp"
    assert request["body"] == {"number": "5511987654321", "text": text}
    page.wait.until(lambda d: delivery_of(page, "#cb-messages .cb-msg-human") == "DELIVERED")
    assert "enviada" in page.find("#cb-messages .cb-msg-human").text
    assert page.find("#cb-reply-text").get_attribute("value") == ""
    assert page.find("#cb-reply-text").is_enabled()
    page.wait_text(f'#cb-conversation-list [data-conversation-id="{conversation.pk}"] .cb-conv-last', text)
    assert Message.objects.get(conversation=conversation, author_kind="human").author == agent

    # Handed back, the bot answers again.
    click(page, "#cb-give-back")
    page.wait.until(lambda d: shown(page, "#cb-take"))
    assert page.find("#cb-thread-status").text == "Com o bot"
    assert "devolvida ao bot" in page.find("#cb-thread-message").text
    assert page.same_document()
    assert violations(page) == []


def test_a_refused_reply_says_why_in_words(page, agent, app, channels):
    webhook(app, payloads.evolution("Oi", message_id="SHUT1"))
    conversation = customer_message("SHUT1").conversation
    page.sign_in(agent).open(f"{PAGE}?conversa={conversation.pk}")
    page.wait_live()
    services.conversations_close_active()  # e.g. from another console, with the page open
    page.find("#cb-reply-text").send_keys("Ainda está aí?", Keys.ENTER)
    page.wait_text("#cb-thread-message", "A conversa está encerrada")
    assert page.find("#cb-reply-text").get_attribute("value") == "Ainda está aí?"  # kept to send later
    assert page.find("#cb-reply-send").is_enabled()
    assert not Message.objects.filter(author_kind="human").exists()
    assert violations(page) == []


def test_a_reader_without_the_permission_sees_no_controls(page, django_user_model, app):
    eve = django_user_model.objects.create_user("eve", "eve@example.com", "eve-pass", is_staff=True)
    webhook(app, payloads.evolution("Oi", message_id="READ1"))
    conversation = customer_message("READ1").conversation
    page.sign_in(eve).open(f"{PAGE}?conversa={conversation.pk}")
    page.wait_live()
    assert "não assumi-las nem responder" in page.find("#cb-read-only").text
    for control in ("#cb-take", "#cb-give-back", "#cb-reply-form"):
        assert page.driver.find_elements(By.CSS_SELECTOR, control) == []
    assert violations(page) == []


def test_when_the_websocket_is_refused_the_page_polls_every_15_seconds(page, agent, app):
    webhook(app, payloads.evolution("Oi", message_id="POLL1"))
    conversation = customer_message("POLL1").conversation
    refuse = page.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
        "source": "window.WebSocket = function () { throw new Error('refused'); };"})
    try:
        page.sign_in(agent).open(f"{PAGE}?conversa={conversation.pk}")
        page.wait.until(lambda d: page.find("#live-status").get_attribute("data-state") == "polling")
        assert page.find("#live-status").text == "Atualização a cada 15 s"
        assert page.find("#cb-refresh").text == "Atualização a cada 15 s."
        page.mark_document()
        webhook(app, payloads.evolution("Ainda tem o fone?", message_id="POLL2"))
        webhook(app, payloads.evolution("Olá", number="5531988887777", name="Ana Souza", message_id="POLL3"))
        message = customer_message("POLL2")
        started = time.monotonic()
        WebDriverWait(page.driver, 25, poll_frequency=0.2).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, f'#cb-messages [data-message-id="{message.pk}"]'))
        WebDriverWait(page.driver, 25, poll_frequency=0.2).until(
            lambda d: "Ana Souza" in d.find_element(By.CSS_SELECTOR, "#cb-conversation-list").text)
        assert time.monotonic() - started < 20
        assert page.same_document()
    finally:
        page.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", refuse)
    assert Conversation.objects.count() == 2
