"""The language-model reply generator: one chat-completions call to an OpenAI-compatible server
(POST {LLM_BASE_URL}/chat/completions), the only module that speaks HTTP to it.

The model gets a system prompt in Portuguese built from the configuration (persona, tone, the
shop's facts, FAQ and catalogue, what the offline reading made of the message), the conversation
so far and the customer's words. Every failure raises BackendFailed, counted on /metrics as
chatbot_llm_fallback_total{reason}, and the offline backend answers instead. The tokens of each
successful call are metered like any bot's (accounts.usage), under the bot "seller-bot-chatbot".
"""

import json
import logging
import time
from typing import NoReturn

import requests
from django.conf import settings
from django.db import transaction
from urllib3.exceptions import ReadTimeoutError

from accounts.bots import bot_create
from accounts.models import Bot
from accounts.usage import services as usage_services
from project import intake
from sellerbot import metrics
from sellerbot.chatbot.backends import BackendFailed, Reply, ReplyRequest
from sellerbot.chatbot.backends.offline import money
from sellerbot.chatbot.models import ChatbotConfig, Intent

logger = logging.getLogger(__name__)

NAME = "openai_compatible"
METER_BOT_NAME = "seller-bot-chatbot"
METER_BOT_SCOPES = ["usage:write"]
FALLBACK_COUNTER = "chatbot_llm_fallback"
# The latest turns only: a long conversation would otherwise grow every prompt (and its cost)
# without making the next answer better.
HISTORY_TURNS = 20
# A chat completion is a few kilobytes; a larger body is not one, and is not kept in memory.
MAX_RESPONSE_BYTES = 1_000_000
_ROLES = {"customer": "user", "bot": "assistant", "human": "assistant"}


def reply(request: ReplyRequest) -> Reply:
    """The model's answer to the customer, its tokens metered; BackendFailed when there is none."""
    base_url = settings.LLM_BASE_URL.rstrip("/")
    if not base_url:
        _fail("not_configured", "LLM_BASE_URL is not set")
    config = request.config
    model = config.llm_model or settings.LLM_MODEL
    body = {
        "model": model,
        "messages": messages_build(request),
        "temperature": config.llm_temperature,
        "max_tokens": config.llm_max_tokens,
    }
    status, payload = _post(f"{base_url}/chat/completions", body)
    if not 200 <= status < 300:
        _fail("http_error", f"the server answered HTTP {status}{_error_summary(payload)}")
    answer = _reply_from(payload, requested_model=model)
    _usage_record(answer, conversation_id=request.conversation_id)
    return answer


def messages_build(request: ReplyRequest) -> list[dict]:
    """The chat: our system prompt, the conversation so far, then the customer's words."""
    messages = [{"role": "system", "content": system_prompt(request)}]
    for turn in request.history[-HISTORY_TURNS:]:
        role = _ROLES.get(turn.get("author"))
        text = (turn.get("text") or "").strip()
        if role and text:
            messages.append({"role": role, "content": text})
    messages.append({"role": "user", "content": request.text})
    return messages


def system_prompt(request: ReplyRequest) -> str:
    config = request.config
    parts = [
        f"Você é {config.persona}, atendendo clientes da loja por mensagens (WhatsApp, Instagram, chat). "
        f"Escreva em português do Brasil, com tom {config.tone}, em poucas frases, como numa conversa.",
        "Use apenas as informações abaixo. Nunca invente preços, prazos, estoque ou políticas: se não souber, "
        "diga que vai verificar. Não prometa o que a loja não oferece.",
    ]
    if config.business_facts.strip():
        parts.append(f"Sobre a loja:\n{config.business_facts.strip()}")
    faq = [item for item in config.faq or [] if item.get("question") and item.get("answer")]
    if faq:
        parts.append("Perguntas frequentes:\n" + "\n".join(
            f"- P: {item['question']}\n  R: {item['answer']}" for item in faq))
    catalogue = [product for product in config.catalogue or [] if product.get("name")]
    if catalogue:
        parts.append("Catálogo (preços em reais):\n" + "\n".join(_product_line(p) for p in catalogue))
    parts.append(_reading_hint(request))
    if request.handing_off:
        parts.append("Esta conversa está sendo passada para uma pessoa da equipe: diga ao cliente, com "
                     "gentileza, que uma pessoa vai continuar o atendimento em instantes.")
    return "\n\n".join(parts)


# --- helpers -----------------------------------------------------------------------------------

def _product_line(product: dict) -> str:
    price = f" — {money(product['price'])}" if product.get("price") else " — preço a confirmar"
    description = (product.get("description") or "").strip()
    return f"- {product['name']}{price}" + (f": {description}" if description else "")


def _reading_hint(request: ReplyRequest) -> str:
    """What the offline reading made of the message: a hint, since keywords can misread."""
    label = Intent(request.intent).label if request.intent in Intent.values else request.intent
    hint = [f"Leitura automática da mensagem (pode estar errada): assunto \"{label}\"."]
    if request.product:
        hint.append(f"Produto provável: {request.product.get('name')}.")
    if request.faq:
        hint.append(f"Pergunta frequente que parece se aplicar: \"{request.faq.get('question')}\".")
    if request.contact_name.strip():
        hint.append(f"O cliente se chama {request.contact_name.strip()}.")
    return " ".join(hint)


def _post(url: str, body: dict) -> tuple[int, object]:
    """POST `body`; the answer's status and parsed JSON (None when it is not JSON).

    requests' timeout bounds each wait for bytes, not the whole answer; a server trickling a
    body would otherwise hold the conversation (and the customer) far longer than
    LLM_TIMEOUT_SECONDS, so the reading has a deadline of its own.
    """
    timeout = settings.LLM_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    headers = {"Authorization": f"Bearer {settings.LLM_API_KEY}", "Accept": "application/json"}
    try:
        with requests.post(url, json=body, headers=headers, timeout=timeout, stream=True) as response:
            content = bytearray()
            for chunk in response.iter_content(chunk_size=16_384):
                content += chunk
                if time.monotonic() > deadline:
                    _fail("timeout", f"the answer took longer than {timeout} s")
                if len(content) > MAX_RESPONSE_BYTES:
                    _fail("bad_response", f"the answer is larger than {MAX_RESPONSE_BYTES} bytes")
            status = response.status_code
    except requests.RequestException as exc:
        if _timed_out(exc):
            _fail("timeout", f"no answer within {timeout} s")
        _fail("connection", f"could not reach the server: {_connection_problem(exc)}")
    try:
        return status, json.loads(bytes(content))
    except ValueError:
        return status, None


def _timed_out(exc: requests.RequestException) -> bool:
    # A read timeout while the body streams comes as a ConnectionError wrapping urllib3's.
    return isinstance(exc, requests.Timeout) or any(isinstance(arg, ReadTimeoutError) for arg in exc.args)


def _connection_problem(exc: requests.RequestException) -> str:
    # urllib3's innermost reason ("… [Errno 111] Connection refused") says more than requests'
    # wrapper; either names the host and path, never our headers.
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return f"{type(exc).__name__}: {_redacted(str(reason or exc))[:300]}"


def _reply_from(payload: object, *, requested_model: str) -> Reply:
    if not isinstance(payload, dict):
        _fail("bad_response", "the answer is not a JSON object")
    try:
        content = payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        _fail("bad_response", "the answer has no choices[0].message.content")
    if not isinstance(content, str) or not content.strip():
        _fail("bad_response", "the model's answer is empty")
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
    model, request_id = payload.get("model"), payload.get("id")
    return Reply(
        text=content.strip(), backend=NAME,
        # Servers name the model that answered (a dated version of the one asked for, often).
        model=model.strip()[:100] if isinstance(model, str) and model.strip() else requested_model,
        request_id=request_id.strip()[:200] if isinstance(request_id, str) else "",
        prompt_tokens=_count(usage.get("prompt_tokens")),
        completion_tokens=_count(usage.get("completion_tokens")),
        cached_tokens=_count(_detail(usage, "prompt_tokens_details", "cached_tokens")),
        reasoning_tokens=_count(_detail(usage, "completion_tokens_details", "reasoning_tokens")),
    )


def _detail(usage: dict, details: str, name: str):
    nested = usage.get(details)
    return nested.get(name) if isinstance(nested, dict) else None


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _usage_record(answer: Reply, *, conversation_id: str) -> None:
    """Meter the call as the POST /api/v1/token-usage/ route does, keyed by the completion's id
    so a repeat is counted once. Never raises: a lost record must not cost the customer the reply."""
    if not (answer.prompt_tokens or answer.completion_tokens):
        return  # the server reported no usage: nothing to meter
    record = {
        "model": answer.model, "prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens,
        "cached_tokens": answer.cached_tokens, "reasoning_tokens": answer.reasoning_tokens,
    }
    if answer.request_id:
        record["request_id"] = answer.request_id
    if conversation_id:
        record["conversation_id"] = conversation_id
    try:
        # A savepoint: the reply's own transaction (message_process) goes on if this fails.
        with transaction.atomic():
            outcome = usage_services.usage_record_many(bot=_meter_bot(), items=[record], single=True)
    except Exception:  # noqa: BLE001 - metering must never cost the customer the reply
        logger.warning("Chatbot LLM usage not recorded (request %s)", answer.request_id, exc_info=True)
        return
    result = outcome.results[0]
    if result.status == intake.REJECTED:
        logger.warning("Chatbot LLM usage not recorded (request %s): %s %s", answer.request_id, result.reason,
                       result.message)


def _meter_bot() -> Bot:
    """The bot the chatbot's usage is metered under, created on first use. Its token is thrown
    away: the chatbot records usage by calling the service, never over HTTP."""
    existing = Bot.objects.filter(name=METER_BOT_NAME).order_by("pk").first()
    if existing is not None:
        return existing
    # Names are not unique: the configuration's one row, locked, keeps two processes replying at
    # once from creating a bot each.
    list(ChatbotConfig.objects.select_for_update().filter(pk=1).values_list("pk", flat=True))
    existing = Bot.objects.filter(name=METER_BOT_NAME).order_by("pk").first()
    if existing is not None:
        return existing
    return bot_create(name=METER_BOT_NAME, scopes=METER_BOT_SCOPES).bot


def _error_summary(payload: object) -> str:
    """The server's {"error": {"message", "type", "code"}}, for the log, without our key."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return ""
    fields = [f"{name}={error[name]}" for name in ("type", "code") if error.get(name)]
    message = str(error.get("message") or "")[:300]
    return ": " + _redacted(", ".join([*fields, message] if message else fields))


def _redacted(text: str) -> str:
    key = settings.LLM_API_KEY
    return text.replace(key, "[redacted]") if key else text


def _fail(reason: str, message: str) -> NoReturn:
    metrics.count(FALLBACK_COUNTER, reason=reason)
    raise BackendFailed(f"LLM backend {NAME}: {message}")
