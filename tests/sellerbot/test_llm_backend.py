"""The chatbot's `openai_compatible` backend against a local chat-completions server: what it
asks, what it makes of the answer, the usage it meters, and the offline reply (counted on
/metrics) whenever the model gives none."""

import logging
import shutil
import socket
import subprocess
import time

import pytest
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import Bot, TokenUsage, UsageDaily
from sellerbot.chatbot import services
from sellerbot.chatbot.backends import BackendFailed, ReplyRequest, backend, openai_compatible
from sellerbot.chatbot.models import AuthorKind, Intent, Message
from tests.fakes.llm import DETAILED, FakeLlm, completion

pytestmark = pytest.mark.django_db

API_KEY = "sk-test-0123456789abcdefSECRET"
CATALOGUE = [
    {"name": "Fone Bluetooth X", "price": "199.90", "keywords": ["fone", "headphone"],
     "description": "Fone sem fio com 30 horas de bateria e estojo de carga"},
    {"name": "Smartwatch Fit", "price": "349", "keywords": ["relogio", "smartwatch"]},
]
FAQ = [{"question": "Vocês trocam?", "answer": "Sim! A troca é grátis em até 7 dias após o recebimento.",
        "keywords": ["troca", "trocar"]}]
PRICE_QUESTION = "Quanto custa o fone?"
OFFLINE_PRICE_ANSWER = "O Fone Bluetooth X sai por R$ 199,90. Quer que eu separe um para você?"
REASONS = ("not_configured", "timeout", "connection", "http_error", "bad_response")


@pytest.fixture
def llm(settings):
    fake = FakeLlm()
    fake.start()
    settings.LLM_BASE_URL = fake.url
    settings.LLM_API_KEY = API_KEY
    settings.LLM_MODEL = "gpt-4o-mini"
    yield fake
    fake.stop()


@pytest.fixture
def shop():
    config = services.config_get()
    config.catalogue, config.faq = CATALOGUE, FAQ
    config.persona = "Ana, consultora de vendas da Loja Exemplo"
    config.business_facts = "Enviamos para todo o Brasil. Pagamento por Pix ou cartão em até 3x."
    config.llm_backend = "openai_compatible"
    config.llm_temperature, config.llm_max_tokens = 0.3, 250
    config.save()
    return config


def ask(config, text=PRICE_QUESTION, **extra) -> ReplyRequest:
    fields = {"intent": Intent.PRICE, "confidence": 0.9, "config": config, "product": CATALOGUE[0],
              "conversation_id": "42", **extra}
    return ReplyRequest(text=text, **fields)


def say(text=PRICE_QUESTION, contact="whatsapp:5511999999999"):
    return services.message_process(channel="whatsapp", contact_id=contact, text=text)


def fallbacks(client) -> dict[str, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {sample.labels["reason"]: sample.value
            for family in text_string_to_metric_families(response.content.decode())
            for sample in family.samples if sample.name == "chatbot_llm_fallback_total"}


def meter_bot() -> Bot:
    return Bot.objects.get(name="seller-bot-chatbot")


# --- the request -------------------------------------------------------------------------------

def test_it_is_registered_under_the_name_the_configuration_uses():
    assert backend("openai_compatible") is openai_compatible.reply


def test_it_sends_the_key_the_model_and_the_conversation(llm, shop):
    history = [{"author": "customer", "text": "Oi, tudo bem?"},
               {"author": "bot", "text": "Olá! Como posso ajudar você hoje?"},
               {"author": "human", "text": "Oi, aqui é a Carla da equipe."}]

    openai_compatible.reply(ask(shop, history=history, contact_name="Maria Souza"))

    [sent] = llm.requests
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["Authorization"] == f"Bearer {API_KEY}"
    body = sent["json"]
    assert body["model"] == "gpt-4o-mini"  # the configuration names none: LLM_MODEL
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 250
    roles = [(message["role"], message["content"]) for message in body["messages"][1:]]
    assert roles == [("user", "Oi, tudo bem?"), ("assistant", "Olá! Como posso ajudar você hoje?"),
                     ("assistant", "Oi, aqui é a Carla da equipe."), ("user", PRICE_QUESTION)]


def test_the_system_prompt_carries_the_shop_and_the_reading(llm, shop):
    openai_compatible.reply(ask(shop, contact_name="Maria Souza"))

    system = llm.requests[0]["json"]["messages"][0]
    assert system["role"] == "system"
    prompt = system["content"]
    assert "Ana, consultora de vendas da Loja Exemplo" in prompt
    assert "cordial, direto e prestativo" in prompt  # the default tone
    assert "Pagamento por Pix ou cartão em até 3x." in prompt
    assert "Fone Bluetooth X — R$ 199,90: Fone sem fio com 30 horas de bateria" in prompt
    assert "Smartwatch Fit — R$ 349,00" in prompt
    assert "A troca é grátis em até 7 dias" in prompt
    assert '"Preço"' in prompt and "Produto provável: Fone Bluetooth X." in prompt
    assert "Maria Souza" in prompt
    assert "uma pessoa vai continuar" not in prompt


def test_when_handing_off_the_model_is_told_to_say_a_person_will_continue(llm, shop):
    openai_compatible.reply(ask(shop, text="quero falar com um atendente", intent=Intent.HUMAN_REQUEST,
                                product=None, handing_off=True))

    assert "uma pessoa vai continuar o atendimento" in llm.requests[0]["json"]["messages"][0]["content"]


def test_the_configurations_model_wins_over_the_setting(llm, shop):
    shop.llm_model = "gpt-4.1-mini"
    shop.save()

    openai_compatible.reply(ask(shop))

    assert llm.requests[0]["json"]["model"] == "gpt-4.1-mini"


# --- the answer and its usage ------------------------------------------------------------------

def test_it_returns_the_models_text_and_tokens(llm, shop):
    reply = openai_compatible.reply(ask(shop))

    assert reply.text == "Hello! How can I assist you today?"
    assert reply.backend == "openai_compatible"
    assert reply.model == "gpt-5.4"  # the model that answered, as the server names it
    assert reply.request_id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    assert (reply.prompt_tokens, reply.completion_tokens, reply.cached_tokens, reply.reasoning_tokens) == (19, 10, 0, 0)


def test_usage_details_may_be_absent(llm, shop):
    llm.serve_json(completion("Temos sim!", prompt_tokens=50, completion_tokens=7))

    reply = openai_compatible.reply(ask(shop))

    assert (reply.text, reply.prompt_tokens, reply.completion_tokens) == ("Temos sim!", 50, 7)
    assert (reply.cached_tokens, reply.reasoning_tokens) == (0, 0)


def test_the_usage_is_metered_with_its_cached_and_reasoning_tokens(llm, shop):
    llm.serve("detailed")

    reply = openai_compatible.reply(ask(shop))

    assert (reply.cached_tokens, reply.reasoning_tokens) == (1024, 128)
    bot = meter_bot()
    assert bot.scopes == ["usage:write"]
    usage = TokenUsage.objects.get(bot=bot)
    assert usage.request_id == DETAILED["id"]
    assert usage.conversation_id == "42"
    assert usage.model == "o4-mini-2025-04-16"
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (1200, 300, 1500)
    assert (usage.cached_tokens, usage.reasoning_tokens) == (1024, 128)
    daily = UsageDaily.objects.get(bot=bot)
    assert (daily.records, daily.cached_tokens, daily.reasoning_tokens) == (1, 1024, 128)


def test_the_same_completion_twice_is_metered_once(llm, shop):
    first = openai_compatible.reply(ask(shop))
    second = openai_compatible.reply(ask(shop))

    assert first.request_id == second.request_id
    assert Bot.objects.filter(name="seller-bot-chatbot").count() == 1
    assert TokenUsage.objects.filter(bot=meter_bot()).count() == 1
    assert UsageDaily.objects.get(bot=meter_bot()).records == 1


def test_a_usage_the_meter_refuses_does_not_cost_the_reply(llm, shop, caplog):
    # More cached tokens than prompt tokens: the metering service rejects the record.
    llm.serve_json(completion("Temos sim!", completion_id="chatcmpl-odd", prompt_tokens=10, cached_tokens=50))

    with caplog.at_level(logging.WARNING):
        reply = openai_compatible.reply(ask(shop))

    assert reply.text == "Temos sim!"
    assert not TokenUsage.objects.exists()
    assert "usage not recorded (request chatcmpl-odd)" in caplog.text


def test_a_reply_through_message_process_is_stored_with_its_backend_and_tokens(llm, shop, client):
    llm.serve("detailed")

    outcome = say()

    answer = outcome.reply
    assert answer.author_kind == AuthorKind.BOT
    assert answer.text == DETAILED["choices"][0]["message"]["content"]
    assert answer.backend == "openai_compatible"
    assert (answer.prompt_tokens, answer.completion_tokens) == (1200, 300)
    assert TokenUsage.objects.get(bot=meter_bot()).conversation_id == str(outcome.conversation.pk)
    assert set(fallbacks(client).values()) == {0}

    llm.serve_json(completion("Posso, sim! Qual o seu CEP?", completion_id="chatcmpl-fake-second"))
    say("Pode enviar para Recife?")

    turns = [(m["role"], m["content"]) for m in llm.requests[-1]["json"]["messages"][1:]]
    assert turns == [("user", PRICE_QUESTION), ("assistant", answer.text), ("user", "Pode enviar para Recife?")]
    assert TokenUsage.objects.filter(bot=meter_bot()).count() == 2


# --- failures: the offline reply, counted ------------------------------------------------------

@pytest.mark.parametrize(("kind", "reason"), [
    ("unauthorized", "http_error"),
    ("server_error", "http_error"),
    ("malformed", "bad_response"),
    ("empty", "bad_response"),
])
def test_a_failed_answer_gets_the_offline_reply_and_is_counted(llm, shop, client, caplog, kind, reason):
    llm.serve(kind)

    with caplog.at_level(logging.WARNING):
        outcome = say()

    assert len(llm.requests) == 1
    assert outcome.reply.text == OFFLINE_PRICE_ANSWER
    assert Message.objects.get(pk=outcome.reply.pk).backend == "offline"
    assert fallbacks(client) == {r: (1 if r == reason else 0) for r in REASONS}
    assert not TokenUsage.objects.exists()
    assert API_KEY not in caplog.text


def test_an_error_answer_is_logged_with_its_type_and_code_but_never_the_key(llm, shop, caplog):
    llm.serve("unauthorized")
    llm.echo_key = True  # the server puts our whole key in its message

    with caplog.at_level(logging.WARNING), pytest.raises(BackendFailed) as failed:
        openai_compatible.reply(ask(shop))

    assert "HTTP 401" in str(failed.value)
    assert "invalid_request_error" in str(failed.value) and "invalid_api_key" in str(failed.value)
    assert API_KEY not in str(failed.value)
    say()
    assert "invalid_api_key" in caplog.text
    assert API_KEY not in caplog.text


@override_settings(LLM_TIMEOUT_SECONDS=1)
def test_a_slow_model_gets_the_offline_reply_within_the_timeout(llm, shop, client):
    llm.serve("slow")

    started = time.monotonic()
    outcome = say()
    elapsed = time.monotonic() - started

    assert outcome.reply.text == OFFLINE_PRICE_ANSWER
    assert 1 <= elapsed < 2.5
    assert fallbacks(client)["timeout"] == 1


def test_an_unreachable_server_gets_the_offline_reply(llm, shop, client, settings, caplog):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.LLM_BASE_URL = f"http://127.0.0.1:{port}/v1"  # nothing listens there now

    with caplog.at_level(logging.WARNING):
        outcome = say()

    assert outcome.reply.text == OFFLINE_PRICE_ANSWER
    assert fallbacks(client)["connection"] == 1
    assert API_KEY not in caplog.text


def test_without_a_server_configured_the_offline_reply_answers(llm, shop, client, settings):
    settings.LLM_BASE_URL = ""

    outcome = say()

    assert outcome.reply.text == OFFLINE_PRICE_ANSWER
    assert outcome.reply.backend == "offline"
    assert llm.requests == []
    assert fallbacks(client) == {r: (1 if r == "not_configured" else 0) for r in REASONS}


# --- /metrics ----------------------------------------------------------------------------------

def test_every_fallback_reason_is_on_the_page_before_any_happened(client):
    assert fallbacks(client) == dict.fromkeys(REASONS, 0)


def test_promtool_accepts_the_fallback_counter(llm, shop, client, settings):
    settings.LLM_BASE_URL = ""
    say()
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    page = client.get("/metrics").content.decode()
    assert "# HELP chatbot_llm_fallback_total " in page
    assert "# TYPE chatbot_llm_fallback_total counter" in page

    result = subprocess.run([promtool, "check", "metrics"], input=page, capture_output=True, text=True)

    remarks = [line for line in (result.stdout + result.stderr).splitlines() if "chatbot_llm" in line]
    assert remarks == []
    assert "error while linting" not in result.stderr and "text format parsing error" not in result.stderr
