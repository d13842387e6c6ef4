"""The chatbot's figures (GET /seller-bot/stats, /stats/intents, /stats/funnel), its configuration
(GET/PATCH /seller-bot/config, with every change recorded) and its health (/seller-bot/health)."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.forms.models import model_to_dict
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from jobs.queues import redis_connection
from project.outbox import OutboxState
from sellerbot.chatbot import services
from sellerbot.chatbot.models import (
    AuthorKind,
    ChatbotConfig,
    ConfigChange,
    Conversation,
    Direction,
    Message,
    ReplyAttempt,
    ReplyDelivery,
)
from tests.conftest import bearer_client

pytestmark = pytest.mark.django_db

CATALOGUE = [
    {"name": "Fone Bluetooth X", "price": "199.90", "keywords": ["fone", "headphone"]},
    {"name": "Smartwatch Fit", "price": "349", "keywords": ["relogio", "smartwatch"]},
]
FAQ = [{"question": "Vocês trocam?", "answer": "Sim! A troca é grátis em até 7 dias.", "keywords": ["troca"]}]
WORKING_HOURS = {"timezone": "America/Sao_Paulo", "days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}
REPORTS = ("/seller-bot/stats", "/seller-bot/stats/intents", "/seller-bot/stats/funnel")


@pytest.fixture(autouse=True)
def _no_limits_left():
    """The minute windows of earlier tests do not count against this one."""
    redis = redis_connection()
    for pattern in ("ratelimit:bot-*", "ratelimit:seller-bot-*"):
        for key in redis.scan_iter(pattern):
            redis.delete(key)


@pytest.fixture
def shop():
    config = services.config_get()
    config.catalogue, config.faq = CATALOGUE, FAQ
    config.save()
    return config


@pytest.fixture
def configurer(django_user_model):
    """Dora may change the chatbot's configuration (and, not being staff, only that)."""
    user = django_user_model.objects.create_user("dora", "dora@example.com", "dora-pass")
    user.user_permissions.add(Permission.objects.get(codename="change_chatbotconfig"),
                              Permission.objects.get(codename="view_conversation"))
    return user


@pytest.fixture
def configurer_api(configurer):
    return bearer_client(configurer)


def say(contact: str, *texts: str, channel: str = "whatsapp") -> Conversation:
    for text in texts:
        outcome = services.message_process(channel=channel, contact_id=contact, text=text)
    return Conversation.objects.get(pk=outcome.conversation.pk)


def deliver(message: Message, state: str, *, created_at=None) -> ReplyDelivery:
    return ReplyDelivery.objects.create(message=message, channel=message.channel, state=state,
                                        created_at=created_at or timezone.now())


@pytest.fixture
def history(shop, alice):
    """Seven conversations: one closed, five of this month on four channels, one of 40 days ago.

    Customer messages of the last 30 days (intent, confidence): greeting 0.9 ×2, price 0.98,
    purchase_intent 0.98, order_status 0.9, human_request 0.9, product_question 0.98, other 0.3 ×3.
    """
    say("whatsapp:7", "Bom dia")
    services.conversations_close_active()
    say("whatsapp:1", "Oi!", "Qual o preço do fone?")                         # price_asked
    say("whatsapp:2", "Quero comprar o relogio", "Onde está meu pedido 4521?")  # order
    say("ig:3", "quero falar com um atendente", "alô?", channel="instagram")   # handed off by the customer
    say("cw:4", "xyz", "hmmm", channel="chatwoot")                               # handed off by the bot
    api = say("api:5", "O fone tem garantia?", channel="api")                   # interest
    services.conversation_hand_off(conversation=api, actor=alice, reason="cliente VIP")
    Message.objects.create(conversation=api, direction=Direction.OUTBOUND, author_kind=AuthorKind.HUMAN,
                           author=alice, text="Tem garantia de um ano.", channel="api")
    services.conversation_hand_back(conversation=api, actor=alice)
    old = say("whatsapp:6", "Qual o preço?")                                     # price_asked, 40 days ago
    long_ago = timezone.now() - timedelta(days=40)
    Conversation.objects.filter(pk=old.pk).update(created_at=long_ago, last_message_at=long_ago)
    old.messages.update(created_at=long_ago)

    replies = list(Message.objects.filter(author_kind=AuthorKind.BOT).exclude(conversation=old).order_by("id"))
    deliver(replies[0], OutboxState.PENDING)
    deliver(replies[1], OutboxState.PENDING)
    deliver(replies[2], OutboxState.ABANDONED)
    deliver(replies[3], OutboxState.DELIVERED)
    deliver(old.messages.get(author_kind=AuthorKind.BOT), OutboxState.ABANDONED, created_at=long_ago)


# --- figures ----------------------------------------------------------------------------------

def test_the_stats_count_the_conversations_messages_hand_offs_and_replies_of_the_period(alice_api, history):
    response = alice_api.get("/seller-bot/stats")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body.pop("period_days") == 30 and body.pop("since")
    assert body == {
        "conversations": {
            "total": 6, "active": 5,
            "by_status": {"bot": 3, "human": 2, "closed": 1},
            "by_channel": {"whatsapp": 3, "instagram": 1, "chatwoot": 1, "api": 1},
        },
        "messages": {"from_customers": 10, "bot_replies": 9, "human_replies": 1},
        "handoffs": {"total": 3, "by_actor": {"customer": 1, "staff": 1, "bot": 1, "channel": 0, "system": 0},
                     "back_to_bot": 1},
        "average_confidence": 0.744,  # 7.44 / 10
        "not_understood_share": 0.3,
        "replies": {"pending": 2, "abandoned": 1},
    }


def test_a_longer_period_takes_in_the_older_conversation(alice_api, history):
    body = alice_api.get("/seller-bot/stats?days=60").json()
    assert body["period_days"] == 60
    assert body["conversations"]["total"] == 7 and body["conversations"]["by_channel"]["whatsapp"] == 4
    assert body["messages"] == {"from_customers": 11, "bot_replies": 10, "human_replies": 1}
    assert body["average_confidence"] == round(8.34 / 11, 4)
    assert body["replies"] == {"pending": 2, "abandoned": 2}


def test_with_no_conversations_every_figure_is_zero_or_null(alice_api):
    body = alice_api.get("/seller-bot/stats?days=1").json()
    assert body["conversations"]["total"] == 0 and body["messages"]["from_customers"] == 0
    assert body["average_confidence"] is None and body["not_understood_share"] is None
    intents = alice_api.get("/seller-bot/stats/intents").json()
    assert intents["total"] == 0 and {row["share"] for row in intents["intents"]} == {None}
    funnel = alice_api.get("/seller-bot/stats/funnel").json()
    assert [c["ratio"] for c in funnel["conversions"]] == [None, None, None, None]


def test_every_intent_is_listed_with_its_label_share_and_confidence(alice_api, history):
    body = alice_api.get("/seller-bot/stats/intents").json()
    assert body["total"] == 10 and body["period_days"] == 30
    assert [(row["intent"], row["label"], row["count"], row["share"], row["average_confidence"])
            for row in body["intents"]] == [
        ("greeting", "Saudação", 2, 0.2, 0.9),
        ("product_question", "Dúvida sobre produto", 1, 0.1, 0.98),
        ("price", "Preço", 1, 0.1, 0.98),
        ("shipping", "Entrega", 0, 0.0, None),
        ("order_status", "Situação do pedido", 1, 0.1, 0.9),
        ("purchase_intent", "Intenção de compra", 1, 0.1, 0.98),
        ("complaint", "Reclamação", 0, 0.0, None),
        ("human_request", "Pediu atendente", 1, 0.1, 0.9),
        ("other", "Outro", 3, 0.3, 0.3),
    ]


def test_the_funnel_counts_each_conversation_for_every_stage_it_reached(alice_api, history):
    body = alice_api.get("/seller-bot/stats/funnel").json()
    assert body["total"] == 6
    assert [(s["stage"], s["label"], s["conversations"], s["at_stage"]) for s in body["stages"]] == [
        ("contact", "Contato", 6, 3),
        ("interest", "Interesse", 3, 1),
        ("price_asked", "Pediu preço", 2, 1),
        ("purchase_intent", "Intenção de compra", 1, 0),
        ("order", "Pedido", 1, 1),
    ]
    assert body["conversions"] == [
        {"from": "contact", "to": "interest", "ratio": 0.5},
        {"from": "interest", "to": "price_asked", "ratio": 0.6667},
        {"from": "price_asked", "to": "purchase_intent", "ratio": 0.5},
        {"from": "purchase_intent", "to": "order", "ratio": 1.0},
    ]
    longer = alice_api.get("/seller-bot/stats/funnel?days=365").json()
    assert [s["conversations"] for s in longer["stages"]] == [7, 4, 3, 1, 1]


def test_a_conversion_after_an_empty_stage_is_null(alice_api, shop):
    say("whatsapp:1", "Oi")
    say("whatsapp:2", "O fone tem garantia?")
    body = alice_api.get("/seller-bot/stats/funnel").json()
    assert [s["conversations"] for s in body["stages"]] == [2, 1, 0, 0, 0]
    assert [c["ratio"] for c in body["conversions"]] == [0.5, 0.0, None, None]


@pytest.mark.parametrize("path", REPORTS)
@pytest.mark.parametrize("days", ["0", "366", "-1", "abc", "", "3.5", "1e3", "9" * 40])
def test_a_bad_period_is_refused_naming_days(alice_api, path, days):
    response = alice_api.get(path, {"days": days})
    assert response.status_code == 422, (days, response.content)
    assert response.json()["detail"] == [{"loc": ["query", "days"], "msg": "days deve ser um número inteiro de 1 a 365",
                                          "type": response.json()["detail"][0]["type"]}]


@pytest.mark.parametrize("path", REPORTS)
@pytest.mark.parametrize("days", ["1", "365"])
def test_the_period_bounds_are_accepted(alice_api, path, days):
    response = alice_api.get(path, {"days": days})
    assert response.status_code == 200 and response.json()["period_days"] == int(days)


# --- configuration ----------------------------------------------------------------------------

def test_the_configuration_shows_every_field_but_its_id_without_creating_the_row(alice_api):
    response = alice_api.get("/seller-bot/config")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {field.name for field in ChatbotConfig._meta.concrete_fields} - {"id"}
    assert body["persona"] == "Ana, consultora de vendas da loja" and body["confidence_threshold"] == 0.45
    assert body["llm_backend"] == "offline" and body["updated_by"] is None
    assert not ChatbotConfig.objects.exists()


def test_a_valid_change_is_saved_and_recorded_with_the_old_and_new_values(configurer_api, configurer, shop):
    before = shop.updated_at
    catalogue = [*CATALOGUE, {"name": "Caixa de Som Mini", "price": 89.5, "description": "À prova d'água",
                              "keywords": ["caixa de som"]}]
    response = configurer_api.patch("/seller-bot/config", {
        "persona": "Bia, da loja", "confidence_threshold": 0.6, "catalogue": catalogue,
        "working_hours": WORKING_HOURS, "debounce_seconds": 4,  # 4 is the current value: not a change
    }, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["persona"] == "Bia, da loja" and body["confidence_threshold"] == 0.6
    assert body["catalogue"] == catalogue and body["working_hours"] == WORKING_HOURS
    assert body["updated_by"] == "dora"
    config = ChatbotConfig.objects.get()
    assert (config.persona, config.confidence_threshold, config.catalogue) == ("Bia, da loja", 0.6, catalogue)
    assert config.updated_by == configurer and config.updated_at > before
    change = ConfigChange.objects.get()
    assert change.changed_by == configurer and change.changed_at == config.updated_at
    assert change.changes == {
        "persona": {"old": "Ana, consultora de vendas da loja", "new": "Bia, da loja"},
        "confidence_threshold": {"old": 0.45, "new": 0.6},
        "catalogue": {"old": CATALOGUE, "new": catalogue},
        "working_hours": {"old": {}, "new": WORKING_HOURS},
    }
    reply = services.message_process(channel="api", contact_id="api:1", text="Quanto custa a caixa de som?").reply
    assert "R$ 89,50" in reply.text


def test_a_change_to_the_same_values_records_nothing(configurer_api, shop):
    before = model_to_dict(ChatbotConfig.objects.get())
    response = configurer_api.patch("/seller-bot/config", {"persona": shop.persona, "faq": FAQ,
                                                           "confidence_threshold": 0.45}, format="json")
    assert response.status_code == 200, response.content
    assert not ConfigChange.objects.exists()
    assert model_to_dict(ChatbotConfig.objects.get()) == before


def test_every_change_is_a_row_of_its_own(configurer_api):
    for persona in ("Bia", "Carla"):
        assert configurer_api.patch("/seller-bot/config", {"persona": persona}, format="json").status_code == 200
    assert [c.changes for c in ConfigChange.objects.order_by("id")] == [
        {"persona": {"old": "Ana, consultora de vendas da loja", "new": "Bia"}},
        {"persona": {"old": "Bia", "new": "Carla"}},
    ]


@pytest.mark.parametrize(("field", "value"), [
    ("confidence_threshold", 0), ("confidence_threshold", 1), ("debounce_seconds", 0), ("debounce_seconds", 60),
    ("context_ttl_seconds", 60), ("context_ttl_seconds", 86400), ("handoff_pause_minutes", 0),
    ("handoff_pause_minutes", 10080), ("llm_temperature", 0), ("llm_temperature", 2), ("llm_max_tokens", 1),
    ("llm_max_tokens", 4000), ("llm_backend", "openai_compatible"), ("llm_model", ""), ("business_facts", ""),
    ("faq", []), ("catalogue", []), ("handoff_keywords", []), ("working_hours", {}),
    ("catalogue", [{"name": "Brinde", "price": 0}]), ("catalogue", [{"name": "Capa", "price": "19.90"}]),
    ("faq", [{"question": "Q", "answer": "A", "keywords": []}] * 200),
    ("catalogue", [{"name": "P", "price": 1}] * 500), ("handoff_keywords", ["gerente"] * 100),
    ("working_hours", {"timezone": "UTC", "days": [6], "start": "00:00", "end": "23:59"}),
])
def test_the_bounds_of_each_field_are_accepted(configurer_api, field, value):
    response = configurer_api.patch("/seller-bot/config", {field: value}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()[field] == value


def test_text_is_trimmed_and_the_weekdays_sorted(configurer_api):
    response = configurer_api.patch("/seller-bot/config", {
        "handoff_keywords": ["  gerente "], "working_hours": {**WORKING_HOURS, "days": [4, 0, 2]},
        "faq": [{"question": " Q ", "answer": "A", "keywords": [" troca"]}],
    }, format="json")
    assert response.status_code == 200, response.content
    config = ChatbotConfig.objects.get()
    assert config.handoff_keywords == ["gerente"] and config.working_hours["days"] == [0, 2, 4]
    assert config.faq == [{"question": "Q", "answer": "A", "keywords": ["troca"]}]


FAQ_ENTRY = {"question": "Vocês trocam?", "answer": "Sim.", "keywords": ["troca"]}
PRODUCT = {"name": "Capa", "price": "19.90"}
BAD_VALUES = [
    ("persona", 5), ("persona", ""), ("persona", None), ("persona", "x" * 201), ("persona", ["Ana"]),
    ("tone", "x" * 201), ("tone", False),
    ("business_facts", 1), ("business_facts", "x" * 20001),
    ("greeting", ""), ("greeting", "x" * 2001), ("greeting", True),
    ("fallback_reply", ""), ("fallback_reply", 3),
    ("llm_model", "x" * 101), ("llm_model", 7),
    ("faq", "troca"), ("faq", {}), ("faq", None), ("faq", [1]), ("faq", [["q", "a"]]),
    ("faq", [{"question": "Q", "answer": "A"}]),
    ("faq", [{**FAQ_ENTRY, "question": ""}]), ("faq", [{**FAQ_ENTRY, "answer": 4}]),
    ("faq", [{**FAQ_ENTRY, "question": "x" * 2001}]), ("faq", [{**FAQ_ENTRY, "answer": "x" * 4001}]),
    ("faq", [{**FAQ_ENTRY, "keywords": "troca"}]), ("faq", [{**FAQ_ENTRY, "keywords": [""]}]),
    ("faq", [{**FAQ_ENTRY, "keywords": [3]}]), ("faq", [{**FAQ_ENTRY, "keywords": ["k"] * 51}]),
    ("faq", [{**FAQ_ENTRY, "keywords": ["k" * 101]}]), ("faq", [{**FAQ_ENTRY, "extra": 1}]),
    ("faq", [FAQ_ENTRY] * 201),
    ("catalogue", "fone"), ("catalogue", [1]), ("catalogue", [{"name": "Capa"}]), ("catalogue", [{"price": 1}]),
    ("catalogue", [{**PRODUCT, "name": ""}]), ("catalogue", [{**PRODUCT, "name": 12}]),
    ("catalogue", [{**PRODUCT, "name": "x" * 201}]),
    ("catalogue", [{**PRODUCT, "price": -1}]), ("catalogue", [{**PRODUCT, "price": "-0.01"}]),
    ("catalogue", [{**PRODUCT, "price": "abc"}]), ("catalogue", [{**PRODUCT, "price": "19,90"}]),
    ("catalogue", [{**PRODUCT, "price": ""}]), ("catalogue", [{**PRODUCT, "price": "NaN"}]),
    ("catalogue", [{**PRODUCT, "price": "Infinity"}]), ("catalogue", [{**PRODUCT, "price": True}]),
    ("catalogue", [{**PRODUCT, "price": None}]), ("catalogue", [{**PRODUCT, "price": [1]}]),
    ("catalogue", [{**PRODUCT, "price": 10**12}]),
    ("catalogue", [{**PRODUCT, "description": 5}]), ("catalogue", [{**PRODUCT, "description": "x" * 4001}]),
    ("catalogue", [{**PRODUCT, "keywords": "capa"}]), ("catalogue", [{**PRODUCT, "keywords": [None]}]),
    ("catalogue", [{**PRODUCT, "color": "azul"}]), ("catalogue", [PRODUCT] * 501),
    ("handoff_keywords", "atendente"), ("handoff_keywords", [""]), ("handoff_keywords", ["   "]),
    ("handoff_keywords", [1]), ("handoff_keywords", ["x"] * 101), ("handoff_keywords", ["x" * 101]),
    ("handoff_keywords", None),
    ("working_hours", []), ("working_hours", "sempre"), ("working_hours", None),
    ("working_hours", {"timezone": "America/Sao_Paulo"}),
    ("working_hours", {**WORKING_HOURS, "timezone": "Mars/Olympus"}),
    ("working_hours", {**WORKING_HOURS, "timezone": "America"}),
    ("working_hours", {**WORKING_HOURS, "timezone": "../../etc/passwd"}),
    ("working_hours", {**WORKING_HOURS, "timezone": 3}),
    ("working_hours", {**WORKING_HOURS, "days": []}), ("working_hours", {**WORKING_HOURS, "days": [7]}),
    ("working_hours", {**WORKING_HOURS, "days": [-1]}), ("working_hours", {**WORKING_HOURS, "days": ["1"]}),
    ("working_hours", {**WORKING_HOURS, "days": [True]}), ("working_hours", {**WORKING_HOURS, "days": [1, 1]}),
    ("working_hours", {**WORKING_HOURS, "days": 1}),
    ("working_hours", {**WORKING_HOURS, "start": "8:00"}), ("working_hours", {**WORKING_HOURS, "start": "24:00"}),
    ("working_hours", {**WORKING_HOURS, "start": "08:60"}), ("working_hours", {**WORKING_HOURS, "end": 18}),
    ("working_hours", {**WORKING_HOURS, "start": "18:00", "end": "08:00"}),
    ("working_hours", {**WORKING_HOURS, "start": "08:00", "end": "08:00"}),
    ("working_hours", {**WORKING_HOURS, "lunch": "12:00"}),
    ("confidence_threshold", -0.01), ("confidence_threshold", 1.01), ("confidence_threshold", "0.5"),
    ("confidence_threshold", True), ("confidence_threshold", None), ("confidence_threshold", 10**400),
    ("debounce_seconds", -1), ("debounce_seconds", 61), ("debounce_seconds", 1.5), ("debounce_seconds", "4"),
    ("debounce_seconds", False),
    ("context_ttl_seconds", 59), ("context_ttl_seconds", 86401), ("context_ttl_seconds", None),
    ("handoff_pause_minutes", -1), ("handoff_pause_minutes", 10081), ("handoff_pause_minutes", "120"),
    ("llm_backend", "gpt"), ("llm_backend", 1), ("llm_backend", ""), ("llm_backend", None),
    ("llm_temperature", -0.1), ("llm_temperature", 2.01), ("llm_temperature", "0.4"),
    ("llm_max_tokens", 0), ("llm_max_tokens", 4001), ("llm_max_tokens", 10**400), ("llm_max_tokens", 300.5),
]


@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
def test_every_bad_value_is_refused_naming_its_field_and_changes_nothing(configurer_api, shop, field, value):
    before = model_to_dict(ChatbotConfig.objects.get())
    # A good field next to the bad one is not saved either.
    good = {"tone": "animado"} if field != "tone" else {"persona": "Bia"}
    response = configurer_api.patch("/seller-bot/config", {**good, field: value}, format="json")
    assert response.status_code == 422, (field, value, response.content)
    locs = [item["loc"] for item in response.json()["detail"]]
    assert locs and all(loc[:2] == ["body", field] for loc in locs), locs
    assert all(item["msg"] for item in response.json()["detail"])
    assert model_to_dict(ChatbotConfig.objects.get()) == before
    assert not ConfigChange.objects.exists()


def test_every_validated_field_has_bad_values_in_the_list():
    from sellerbot.chatbot.serializers import ChatbotConfigUpdateSerializer

    assert {field for field, _ in BAD_VALUES} == set(ChatbotConfigUpdateSerializer().fields)
    assert set(ChatbotConfigUpdateSerializer().fields) == set(services.CONFIG_EDITABLE_FIELDS)


def test_an_item_error_names_its_place_in_the_list(configurer_api):
    response = configurer_api.patch("/seller-bot/config", {
        "catalogue": [PRODUCT, {"name": "", "price": "abc"}],
        "faq": [FAQ_ENTRY, FAQ_ENTRY, {**FAQ_ENTRY, "keywords": ["ok", ""]}, {"question": "", "tags": []}],
    }, format="json")
    assert response.status_code == 422
    locs = sorted(tuple(map(str, item["loc"])) for item in response.json()["detail"])
    assert locs == [("body", "catalogue", "1", "name"), ("body", "catalogue", "1", "price"),
                    ("body", "faq", "2", "keywords", "1"), ("body", "faq", "3", "answer"),
                    ("body", "faq", "3", "keywords"), ("body", "faq", "3", "question"),
                    ("body", "faq", "3", "tags")]


@pytest.mark.parametrize(("body", "loc"), [
    ({}, ["body"]),
    ({"id": 2}, ["body", "id"]),
    ({"persona": "Bia", "updated_by": 1}, ["body", "updated_by"]),
    ({"updated_at": "2020-01-01T00:00:00Z"}, ["body", "updated_at"]),
    ([{"persona": "Bia"}], ["body"]),
    ("persona", ["body"]),
])
def test_an_empty_or_unknown_or_shapeless_change_is_refused(configurer_api, body, loc):
    response = configurer_api.patch("/seller-bot/config", json.dumps(body), content_type="application/json")
    assert response.status_code == 422, response.content
    assert loc in [item["loc"] for item in response.json()["detail"]]
    assert not ConfigChange.objects.exists() and not ChatbotConfig.objects.exists()


def test_the_configuration_history_is_shown_read_only_in_the_admin(client, django_user_model, configurer_api):
    configurer_api.patch("/seller-bot/config", {"persona": "Bia"}, format="json")
    change = ConfigChange.objects.get()
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "root-pass"))
    listed = client.get("/admin/sellerbot/configchange/")
    assert listed.status_code == 200 and "persona" in listed.content.decode()
    page = client.get(f"/admin/sellerbot/configchange/{change.pk}/change/")
    assert page.status_code == 200 and "Bia" in page.content.decode() and 'name="_save"' not in page.content.decode()
    assert client.get("/admin/sellerbot/configchange/add/").status_code == 403
    assert client.post(f"/admin/sellerbot/configchange/{change.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ConfigChange.objects.count() == 1


# --- who may ----------------------------------------------------------------------------------

AUTHENTICATED = [*(("get", path) for path in REPORTS), ("get", "/seller-bot/config"), ("patch", "/seller-bot/config")]


@pytest.mark.parametrize(("method", "path"), AUTHENTICATED)
@pytest.mark.parametrize("authorization", [None, "Bearer forged.token.value", "Basic YWxpY2U6YWxpY2UtcGFzcw=="])
def test_every_route_refuses_missing_and_forged_credentials(alice, method, path, authorization):
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    response = getattr(client, method)(path, {"persona": "Bia"}, format="json")
    assert response.status_code == 401, (response.status_code, response.content)
    assert response.json() == {"detail": "Token inválido ou expirado"}
    assert not ConfigChange.objects.exists() and not ChatbotConfig.objects.exists()


def test_reading_needs_a_staff_account_or_the_view_permission(django_user_model):
    clerk = django_user_model.objects.create_user("clerk", password="clerk-pass")
    for method, path in AUTHENTICATED:
        refused = getattr(bearer_client(clerk), method)(path, {"persona": "Bia"}, format="json")
        assert refused.status_code == 403, path
        assert "sellerbot." in refused.json()["detail"]
    assert "sellerbot.view_conversation" in bearer_client(clerk).get("/seller-bot/stats").json()["detail"]
    clerk.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    api = bearer_client(django_user_model.objects.get(pk=clerk.pk))
    for path in (*REPORTS, "/seller-bot/config"):
        assert api.get(path).status_code == 200, path
    refused = api.patch("/seller-bot/config", {"persona": "Bia"}, format="json")
    assert refused.status_code == 403 and "sellerbot.change_chatbotconfig" in refused.json()["detail"]
    assert not ChatbotConfig.objects.exists()


def test_staff_read_but_change_the_configuration_only_with_its_permission(alice, alice_api):
    assert alice_api.get("/seller-bot/config").status_code == 200
    refused = alice_api.patch("/seller-bot/config", {"persona": "Bia"}, format="json")
    assert refused.status_code == 403 and "sellerbot.change_chatbotconfig" in refused.json()["detail"]
    alice.user_permissions.add(Permission.objects.get(codename="change_chatbotconfig"))
    api = bearer_client(type(alice).objects.get(pk=alice.pk))
    assert api.patch("/seller-bot/config", {"persona": "Bia"}, format="json").status_code == 200
    assert ConfigChange.objects.get().changed_by == alice


def test_a_bad_change_by_someone_without_the_permission_is_a_403_not_a_422(alice_api):
    assert alice_api.patch("/seller-bot/config", {"persona": 5}, format="json").status_code == 403


# --- health -----------------------------------------------------------------------------------

SECRETS = {
    "CHATWOOT_BASE_URL": "https://chatwoot.example.com", "CHATWOOT_API_TOKEN": "cw-token-Zq81xK",
    "CHATWOOT_WEBHOOK_SECRET": "cw-hook-secret-Lm42",
    "EVOLUTION_BASE_URL": "https://evolution.example.com", "EVOLUTION_API_KEY": "evo-key-Pp93aB",
    "EVOLUTION_WEBHOOK_SECRET": "evo-hook-secret-Rt55",
    "INSTAGRAM_ACCESS_TOKEN": "ig-access-Wv07cD", "INSTAGRAM_APP_SECRET": "ig-app-secret-Hh66",
    "INSTAGRAM_VERIFY_TOKEN": "ig-verify-Jj77",
    "LLM_BASE_URL": "https://llm.example.com/v1", "LLM_API_KEY": "llm-key-Kk88eF",
}
NOT_CONFIGURED = {name: "" for name in ("CHATWOOT_BASE_URL", "CHATWOOT_API_TOKEN", "EVOLUTION_BASE_URL",
                                        "EVOLUTION_API_KEY", "INSTAGRAM_ACCESS_TOKEN")}


def attempt(channel: str, *, ok: bool, minutes_ago: int, error: str = "", http_status=None) -> ReplyAttempt:
    conversation = Conversation.objects.filter(channel=channel).first() or Conversation.objects.create(
        channel=channel, contact_id=f"{channel}:1")
    message = Message.objects.create(conversation=conversation, direction=Direction.OUTBOUND,
                                     author_kind=AuthorKind.BOT, text="Olá!", channel=channel)
    delivery = ReplyDelivery.objects.create(message=message, channel=channel)
    return ReplyAttempt.objects.create(delivery=delivery, channel=channel, attempt=1, ok=ok, error=error,
                                       http_status=http_status,
                                       attempted_at=timezone.now() - timedelta(minutes=minutes_ago))


def iso(moment) -> str:
    from project.clock import iso_local

    return iso_local(moment)


@pytest.mark.parametrize("authorization", [None, "Bearer forged.token.value"])
@override_settings(**NOT_CONFIGURED)
def test_health_needs_no_login_and_says_what_is_not_configured(authorization):
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    response = client.get("/seller-bot/health")
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    nothing = {"configured": False, "last_success": None, "last_failure": None, "last_error": ""}
    assert response.json() == {"status": "ok", "redis": {"ok": True},
                               "llm": {"backend": "offline", "configured": True},
                               "channels": {"chatwoot": nothing, "whatsapp": nothing, "instagram": nothing}}


@override_settings(**SECRETS)
def test_health_never_shows_a_secret_even_inside_an_error(configurer_api):
    configurer_api.patch("/seller-bot/config", {"llm_backend": "openai_compatible"}, format="json")
    attempt("instagram", ok=False, minutes_ago=1, error="POST https://graph.facebook.com/v21.0/me/messages?"
                                                        "access_token=ig-access-Wv07cD: 400")
    attempt("chatwoot", ok=False, minutes_ago=1, error="api_access_token cw-token-Zq81xK refused")
    response = APIClient().get("/seller-bot/health")
    assert response.status_code == 200
    text = response.content.decode()
    for name, value in SECRETS.items():
        if not name.endswith("_URL"):
            assert value not in text, name
    body = response.json()
    assert {name: channel["configured"] for name, channel in body["channels"].items()} == {
        "chatwoot": True, "whatsapp": True, "instagram": True}
    assert body["llm"] == {"backend": "openai_compatible", "configured": True}
    assert body["channels"]["instagram"]["last_error"].endswith("access_token=[oculto]: 400")
    assert body["channels"]["chatwoot"]["last_error"] == "api_access_token [oculto] refused"


@override_settings(LLM_BASE_URL="")
def test_an_openai_compatible_generator_without_its_address_is_not_configured(configurer_api):
    configurer_api.patch("/seller-bot/config", {"llm_backend": "openai_compatible"}, format="json")
    assert APIClient().get("/seller-bot/health").json()["llm"] == {"backend": "openai_compatible",
                                                                   "configured": False}


@override_settings(**SECRETS)
def test_health_reads_each_channels_last_deliveries_from_the_attempts(db):
    chatwoot_ok = attempt("chatwoot", ok=True, minutes_ago=30)
    attempt("chatwoot", ok=False, minutes_ago=20, error="timeout")
    chatwoot_failed = attempt("chatwoot", ok=False, minutes_ago=10, http_status=502)
    whatsapp_failed = attempt("whatsapp", ok=False, minutes_ago=20, error="HTTP 401 Unauthorized")
    whatsapp_ok = attempt("whatsapp", ok=True, minutes_ago=5)
    body = APIClient().get("/seller-bot/health").json()
    assert body["channels"] == {
        "chatwoot": {"configured": True, "last_success": iso(chatwoot_ok.attempted_at),
                     "last_failure": iso(chatwoot_failed.attempted_at), "last_error": "HTTP 502"},
        "whatsapp": {"configured": True, "last_success": iso(whatsapp_ok.attempted_at),
                     "last_failure": iso(whatsapp_failed.attempted_at), "last_error": "HTTP 401 Unauthorized"},
        "instagram": {"configured": True, "last_success": None, "last_failure": None, "last_error": ""},
    }
    # Chatwoot's last attempt failed: degraded, still 200 for the monitoring page.
    assert body["status"] == "degraded" and body["redis"] == {"ok": True}


@override_settings(**SECRETS)
def test_a_channel_that_recovered_is_ok_again(db):
    attempt("chatwoot", ok=False, minutes_ago=10, error="timeout")
    assert APIClient().get("/seller-bot/health").json()["status"] == "degraded"
    attempt("chatwoot", ok=True, minutes_ago=1)
    assert APIClient().get("/seller-bot/health").json()["status"] == "ok"


@override_settings(**NOT_CONFIGURED)
def test_a_failing_channel_that_is_not_configured_does_not_degrade_the_health(db):
    attempt("whatsapp", ok=False, minutes_ago=1, error="no address")
    body = APIClient().get("/seller-bot/health").json()
    assert body["status"] == "ok"
    assert body["channels"]["whatsapp"]["configured"] is False
    assert body["channels"]["whatsapp"]["last_error"] == "no address"


def test_with_redis_down_the_health_is_degraded_and_still_200(db, settings, tmp_path):
    gone = f"unix://{tmp_path / 'no-redis.sock'}"
    settings.RQ_QUEUES = {name: {**queue, "URL": gone} for name, queue in settings.RQ_QUEUES.items()}
    response = APIClient().get("/seller-bot/health")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded" and response.json()["redis"] == {"ok": False}


def test_health_is_rate_limited_per_address(db):
    with override_settings(BOT_API_RATE_PER_MINUTE=2):
        client = APIClient()
        assert [client.get("/seller-bot/health").status_code for _ in range(2)] == [200, 200]
        limited = client.get("/seller-bot/health")
        assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
        assert "Muitas requisições" in limited.json()["detail"]
        other = APIClient(REMOTE_ADDR="10.1.2.3")
        assert other.get("/seller-bot/health").status_code == 200
