"""What /seller-bot/* accepts and returns (seed 004). Ids go out as strings, like /bot/*.

The configuration's JSON fields (FAQ, catalogue, hand-off keywords, working hours) are checked item
by item, each error named by its place (loc ["body", "faq", 3, "answer"]).
"""

import math
import re
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from project.seed import StrictCharField, StrictSerializer
from sellerbot.chatbot.models import Channel, ChatbotConfig, Conversation, HandOffTo, LlmBackend

MAX_MESSAGE_CHARS = 4000


class MessageInSerializer(StrictSerializer):
    contact_id = StrictCharField(max_length=200, trim_whitespace=True)
    message = StrictCharField(max_length=MAX_MESSAGE_CHARS, trim_whitespace=True)
    channel = serializers.ChoiceField(choices=Channel.values, required=False, default=Channel.API)
    contact_name = StrictCharField(max_length=200, required=False, allow_blank=True, default="")


class MessageOutSerializer(serializers.Serializer):
    contact_id = serializers.CharField()
    channel = serializers.CharField()
    conversation_id = serializers.CharField()
    reply = serializers.CharField(allow_null=True, help_text="null quando o bot fica em silêncio.")
    intent = serializers.CharField()
    confidence = serializers.FloatField()
    status = serializers.CharField()
    funnel_stage = serializers.CharField()
    handed_off = serializers.BooleanField()
    silent_because = serializers.CharField(help_text='"human", "paused" ou vazio.')


class HandOffInSerializer(StrictSerializer):
    to = serializers.ChoiceField(choices=HandOffTo.values, required=False, default=HandOffTo.HUMAN)
    reason = StrictCharField(max_length=300, required=False, allow_blank=True, default="")


class ConversationSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    assigned_agent = serializers.SlugRelatedField(slug_field="username", read_only=True)
    message_count = serializers.IntegerField(read_only=True)
    last_message = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Conversation
        fields = ("id", "channel", "contact_id", "contact_name", "status", "funnel_stage", "assigned_agent",
                  "paused_until", "created_at", "last_message_at", "message_count", "last_message")


# --- reports, configuration, health ------------------------------------------------------------

MAX_DAYS = 365
DEFAULT_DAYS = 30
MAX_FAQ_ENTRIES = 200
MAX_CATALOGUE_ITEMS = 500
MAX_HANDOFF_KEYWORDS = 100
MAX_KEYWORDS_PER_ENTRY = 50
MAX_KEYWORD_CHARS = 100
MAX_SHORT_TEXT_CHARS = 200
MAX_TEMPLATE_CHARS = 2000
MAX_ANSWER_CHARS = 4000
MAX_FACTS_CHARS = 20000


class StatsQuerySerializer(serializers.Serializer):
    """The period of the figures; other query parameters are ignored, as on the other GET routes."""

    days = serializers.IntegerField(
        min_value=1, max_value=MAX_DAYS, required=False, default=DEFAULT_DAYS,
        help_text=f"O período: os últimos N dias (1 a {MAX_DAYS}; {DEFAULT_DAYS} se omitido).",
        error_messages={key: f"days deve ser um número inteiro de 1 a {MAX_DAYS}"
                        for key in ("invalid", "max_string_length", "min_value", "max_value")},
    )


class StrictFloatField(serializers.FloatField):
    """A number of JSON (not text, not a boolean, not NaN or infinity) within its bounds."""

    default_error_messages = {"type_error.float": "value is not a valid float"}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("type_error.float")
        try:
            number = float(data)
        except OverflowError:  # an integer of hundreds of digits
            self.fail("type_error.float")
        if not math.isfinite(number):
            self.fail("type_error.float")
        return super().to_internal_value(number)


class StrictIntegerField(serializers.IntegerField):
    """A whole number of JSON (not text, a fraction or a boolean) within its bounds."""

    default_error_messages = {"type_error.integer": "value is not a valid integer"}

    def to_internal_value(self, data):
        if isinstance(data, float) and data.is_integer():
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("type_error.integer")
        return super().to_internal_value(data)


def _fail(message: str, code: str = "invalid") -> serializers.ValidationError:
    return serializers.ValidationError(serializers.ErrorDetail(message, code=code))


def _text(value, *, name: str, max_chars: int, required: bool = True) -> str:
    """A text item of a list or object: a string, trimmed, not empty when required, not too long."""
    if not isinstance(value, str):
        raise _fail(f"{name}: deve ser um texto", "type_error.str")
    value = value.strip()
    if required and not value:
        raise _fail(f"{name}: não pode ficar vazio", "value_error.any_str.min_length")
    if len(value) > max_chars:
        raise _fail(f"{name}: no máximo {max_chars} caracteres", "value_error.any_str.max_length")
    return value


def _keywords(value, *, name: str, max_items: int) -> list[str]:
    if not isinstance(value, list):
        raise _fail(f"{name}: deve ser uma lista de textos", "type_error.list")
    if len(value) > max_items:
        raise _fail(f"{name}: no máximo {max_items} itens", "value_error.list.max_items")
    errors, keywords = {}, []
    for index, item in enumerate(value):
        try:
            keywords.append(_text(item, name="palavra", max_chars=MAX_KEYWORD_CHARS))
        except serializers.ValidationError as exc:
            errors[index] = exc.detail
    if errors:
        raise serializers.ValidationError(errors)
    return keywords


def _checked_object(value, checks: dict, *, required: set[str]) -> dict:
    """A JSON object whose keys are those of `checks`, each through its check: every missing,
    unknown or bad key named at once."""
    if not isinstance(value, dict):
        raise _fail("deve ser um objeto", "type_error.dict")
    errors, clean = {}, {}
    for key in sorted(required - set(value)):
        errors[key] = [_fail("campo obrigatório", "value_error.missing").detail[0]]
    for key in sorted(set(value) - set(checks), key=str):
        errors[key] = [_fail("campo desconhecido", "value_error.extra").detail[0]]
    for key, check in checks.items():
        if key in value:
            try:
                clean[key] = check(value[key])
            except serializers.ValidationError as exc:
                errors[key] = exc.detail
    if errors:
        raise serializers.ValidationError(errors)
    return clean


class _ListOfObjectsField(serializers.Field):
    """A JSON list of objects, each checked by `item`; errors are named by position and key
    (loc ["body", "faq", 3, "answer"])."""

    max_items = 0

    def to_internal_value(self, data):
        if not isinstance(data, list):
            raise _fail("deve ser uma lista", "type_error.list")
        if len(data) > self.max_items:
            raise _fail(f"no máximo {self.max_items} itens", "value_error.list.max_items")
        errors, items = {}, []
        for index, entry in enumerate(data):
            try:
                items.append(self.item(entry))
            except serializers.ValidationError as exc:
                errors[index] = exc.detail
        if errors:
            raise serializers.ValidationError(errors)
        return items

    def to_representation(self, value):
        return value

    def item(self, entry) -> dict:
        raise NotImplementedError


_KEYWORDS_SCHEMA = {"type": "array", "maxItems": MAX_KEYWORDS_PER_ENTRY,
                    "items": {"type": "string", "minLength": 1, "maxLength": MAX_KEYWORD_CHARS}}


@extend_schema_field({
    "type": "array", "maxItems": MAX_FAQ_ENTRIES,
    "items": {"type": "object", "additionalProperties": False, "required": ["question", "answer", "keywords"],
              "properties": {"question": {"type": "string", "minLength": 1, "maxLength": MAX_TEMPLATE_CHARS},
                             "answer": {"type": "string", "minLength": 1, "maxLength": MAX_ANSWER_CHARS},
                             "keywords": _KEYWORDS_SCHEMA}},
})
class FaqField(_ListOfObjectsField):
    max_items = MAX_FAQ_ENTRIES

    def item(self, entry) -> dict:
        return _checked_object(entry, required={"question", "answer", "keywords"}, checks={
            "question": lambda v: _text(v, name="pergunta", max_chars=MAX_TEMPLATE_CHARS),
            "answer": lambda v: _text(v, name="resposta", max_chars=MAX_ANSWER_CHARS),
            "keywords": lambda v: _keywords(v, name="palavras-chave", max_items=MAX_KEYWORDS_PER_ENTRY),
        })


@extend_schema_field({
    "type": "array", "maxItems": MAX_CATALOGUE_ITEMS,
    "items": {"type": "object", "additionalProperties": False, "required": ["name", "price"],
              "properties": {"name": {"type": "string", "minLength": 1, "maxLength": MAX_SHORT_TEXT_CHARS},
                             "price": {"oneOf": [{"type": "number", "minimum": 0},
                                                 {"type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*$"}],
                                       "description": "Em reais, com ponto decimal: 199.9 ou \"199.90\"."},
                             "description": {"type": "string", "maxLength": MAX_ANSWER_CHARS},
                             "keywords": _KEYWORDS_SCHEMA}},
})
class CatalogueField(_ListOfObjectsField):
    max_items = MAX_CATALOGUE_ITEMS

    def item(self, entry) -> dict:
        return _checked_object(entry, required={"name", "price"}, checks={
            "name": lambda v: _text(v, name="nome", max_chars=MAX_SHORT_TEXT_CHARS),
            "price": _price,
            "description": lambda v: _text(v, name="descrição", max_chars=MAX_ANSWER_CHARS, required=False),
            "keywords": lambda v: _keywords(v, name="palavras-chave", max_items=MAX_KEYWORDS_PER_ENTRY),
        })


def _price(value):
    """A price as the offline replies write it (Decimal of its text): a number or numeric text ≥ 0."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _fail("preço: deve ser um número ou um texto numérico (ex.: 199.90)", "type_error.number")
    text = value.strip() if isinstance(value, str) else str(value)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise _fail("preço: deve ser um número com ponto decimal (ex.: 199.90)", "type_error.number") from None
    if not amount.is_finite() or amount < 0:
        raise _fail("preço: deve ser um número maior ou igual a 0", "value_error.number.not_ge")
    if amount >= 10**9:
        raise _fail("preço: no máximo 999999999.99", "value_error.number.not_le")
    return text if isinstance(value, str) else value


@extend_schema_field({"type": "array", "maxItems": MAX_HANDOFF_KEYWORDS,
                      "items": {"type": "string", "minLength": 1, "maxLength": MAX_KEYWORD_CHARS}})
class HandOffKeywordsField(serializers.Field):
    def to_internal_value(self, data):
        return _keywords(data, name="palavras", max_items=MAX_HANDOFF_KEYWORDS)

    def to_representation(self, value):
        return value


_HH_MM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


@extend_schema_field({
    "type": "object", "additionalProperties": False,
    "description": "{} (sempre) ou {timezone, days (0 = segunda … 6 = domingo), start, end}.",
    "properties": {"timezone": {"type": "string", "example": "America/Sao_Paulo"},
                   "days": {"type": "array", "minItems": 1, "maxItems": 7, "uniqueItems": True,
                            "items": {"type": "integer", "minimum": 0, "maximum": 6}},
                   "start": {"type": "string", "pattern": _HH_MM.pattern, "example": "08:00"},
                   "end": {"type": "string", "pattern": _HH_MM.pattern, "example": "18:00"}},
})
class WorkingHoursField(serializers.Field):
    """When people answer: {} for always, or a time zone, the weekdays and a start before the end."""

    KEYS = {"timezone", "days", "start", "end"}

    def to_internal_value(self, data):
        if data == {}:
            return {}
        hours = _checked_object(data, required=self.KEYS, checks={
            "timezone": _timezone, "days": _weekdays,
            "start": lambda v: _clock(v, name="início"), "end": lambda v: _clock(v, name="fim"),
        })
        if hours["start"] >= hours["end"]:
            raise serializers.ValidationError({"end": [_fail("fim: deve ser depois do início").detail[0]]})
        return hours

    def to_representation(self, value):
        return value


def _timezone(value) -> str:
    name = _text(value, name="fuso horário", max_chars=64)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of the zone database
        raise _fail(f"fuso horário desconhecido: {name[:64]!r} (ex.: America/Sao_Paulo)") from None
    return name


def _weekdays(value) -> list[int]:
    if not isinstance(value, list) or not value:
        raise _fail("dias: uma lista não vazia de 0 (segunda) a 6 (domingo)", "type_error.list")
    if any(isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6 for day in value):
        raise _fail("dias: cada dia é um número de 0 (segunda) a 6 (domingo)")
    if len(set(value)) != len(value):
        raise _fail("dias: sem repetir um dia")
    return sorted(value)


def _clock(value, *, name: str) -> str:
    if not isinstance(value, str) or not _HH_MM.match(value):
        raise _fail(f"{name}: use HH:MM (ex.: 08:00)")
    return value


class ChatbotConfigUpdateSerializer(StrictSerializer):
    """PATCH /seller-bot/config: any of the configuration's fields, each checked; others refused."""

    persona = StrictCharField(max_length=MAX_SHORT_TEXT_CHARS, required=False, trim_whitespace=True)
    tone = StrictCharField(max_length=MAX_SHORT_TEXT_CHARS, required=False, trim_whitespace=True)
    business_facts = StrictCharField(max_length=MAX_FACTS_CHARS, required=False, allow_blank=True)
    faq = FaqField(required=False)
    catalogue = CatalogueField(required=False)
    greeting = StrictCharField(max_length=MAX_TEMPLATE_CHARS, required=False)
    fallback_reply = StrictCharField(max_length=MAX_TEMPLATE_CHARS, required=False)
    handoff_keywords = HandOffKeywordsField(required=False)
    working_hours = WorkingHoursField(required=False)
    confidence_threshold = StrictFloatField(min_value=0, max_value=1, required=False)
    debounce_seconds = StrictIntegerField(min_value=0, max_value=60, required=False)
    context_ttl_seconds = StrictIntegerField(min_value=60, max_value=86400, required=False)
    handoff_pause_minutes = StrictIntegerField(min_value=0, max_value=10080, required=False)
    llm_backend = serializers.ChoiceField(
        choices=LlmBackend.values, required=False,
        error_messages={"invalid_choice": "'{input}' não é um gerador válido; os válidos são: "
                                          + ", ".join(LlmBackend.values)},
    )
    llm_model = StrictCharField(max_length=100, required=False, allow_blank=True, trim_whitespace=True)
    llm_temperature = StrictFloatField(min_value=0, max_value=2, required=False)
    llm_max_tokens = StrictIntegerField(min_value=1, max_value=4000, required=False)

    def validate(self, data):
        if not data:
            raise serializers.ValidationError(_fail("envie ao menos um campo da configuração para alterar",
                                                    "value_error.missing").detail)
        return data


class ChatbotConfigSerializer(serializers.ModelSerializer):
    updated_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    faq = FaqField(read_only=True)
    catalogue = CatalogueField(read_only=True)
    handoff_keywords = HandOffKeywordsField(read_only=True)
    working_hours = WorkingHoursField(read_only=True)

    class Meta:
        model = ChatbotConfig
        exclude = ("id",)


class _PeriodSerializer(serializers.Serializer):
    period_days = serializers.IntegerField()
    since = serializers.DateTimeField(help_text="O começo do período.")


class ChatbotStatsConversationsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Conversas com alguma mensagem no período.")
    active = serializers.IntegerField(help_text="Delas, as abertas (com o bot ou com uma pessoa).")
    by_status = serializers.DictField(child=serializers.IntegerField(), help_text="bot, human, closed.")
    by_channel = serializers.DictField(child=serializers.IntegerField(),
                                       help_text="whatsapp, instagram, chatwoot, api.")


class ChatbotStatsMessagesSerializer(serializers.Serializer):
    from_customers = serializers.IntegerField()
    bot_replies = serializers.IntegerField()
    human_replies = serializers.IntegerField()


class ChatbotStatsHandOffsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Conversas passadas a uma pessoa no período.")
    by_actor = serializers.DictField(child=serializers.IntegerField(),
                                     help_text="Quem passou: customer, staff, bot, channel, system.")
    back_to_bot = serializers.IntegerField(help_text="Conversas devolvidas ao bot no período.")


class ChatbotStatsRepliesSerializer(serializers.Serializer):
    pending = serializers.IntegerField(help_text="Envios do período esperando no outbox.")
    abandoned = serializers.IntegerField(help_text="Envios do período desistidos.")


class ChatbotStatsSerializer(_PeriodSerializer):
    conversations = ChatbotStatsConversationsSerializer()
    messages = ChatbotStatsMessagesSerializer()
    handoffs = ChatbotStatsHandOffsSerializer()
    average_confidence = serializers.FloatField(allow_null=True,
                                                help_text="Média da confiança nas mensagens dos clientes.")
    not_understood_share = serializers.FloatField(
        allow_null=True, help_text="Fração (0 a 1) das mensagens dos clientes que o bot não entendeu (intent other).",
    )
    replies = ChatbotStatsRepliesSerializer()


class ChatbotIntentRowSerializer(serializers.Serializer):
    intent = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True, help_text="Fração (0 a 1); null sem mensagens no período.")
    average_confidence = serializers.FloatField(allow_null=True)


class ChatbotIntentStatsSerializer(_PeriodSerializer):
    total = serializers.IntegerField(help_text="Mensagens dos clientes no período.")
    intents = ChatbotIntentRowSerializer(many=True)


class ChatbotFunnelStageSerializer(serializers.Serializer):
    stage = serializers.CharField()
    label = serializers.CharField()
    conversations = serializers.IntegerField(help_text="Conversas que chegaram a esta etapa (ou além).")
    at_stage = serializers.IntegerField(help_text="Conversas paradas nesta etapa.")


class ChatbotFunnelConversionSerializer(serializers.Serializer):
    # "from" is a Python keyword: the field is named in the constructor.
    to = serializers.CharField()
    ratio = serializers.FloatField(allow_null=True, help_text="Fração (0 a 1); null quando a etapa anterior tem 0.")

    def get_fields(self):
        fields = super().get_fields()
        return {"from": serializers.CharField(), **fields}


class ChatbotFunnelSerializer(_PeriodSerializer):
    total = serializers.IntegerField(help_text="Conversas com alguma mensagem no período.")
    stages = ChatbotFunnelStageSerializer(many=True)
    conversions = ChatbotFunnelConversionSerializer(many=True)


class ChatbotChannelHealthSerializer(serializers.Serializer):
    configured = serializers.BooleanField()
    last_success = serializers.DateTimeField(allow_null=True)
    last_failure = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)


class ChatbotLlmHealthSerializer(serializers.Serializer):
    backend = serializers.CharField()
    configured = serializers.BooleanField()


class ChatbotRedisHealthSerializer(serializers.Serializer):
    ok = serializers.BooleanField()


class ChatbotChannelsHealthSerializer(serializers.Serializer):
    chatwoot = ChatbotChannelHealthSerializer()
    whatsapp = ChatbotChannelHealthSerializer()
    instagram = ChatbotChannelHealthSerializer()


class ChatbotHealthSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"ok" ou "degraded" (Redis fora do ar, ou a última tentativa de '
                                             "envio a um canal configurado falhou).")
    redis = ChatbotRedisHealthSerializer()
    llm = ChatbotLlmHealthSerializer()
    channels = ChatbotChannelsHealthSerializer()


class StaffReplyInSerializer(StrictSerializer):
    text = StrictCharField(max_length=MAX_MESSAGE_CHARS, trim_whitespace=True)


class ThreadMessageSerializer(serializers.Serializer):
    """A message as the thread view and the live frames show it (chatbot/notifications.py)."""

    id = serializers.CharField()
    conversation_id = serializers.CharField()
    direction = serializers.ChoiceField(choices=["in", "out"])
    author_kind = serializers.ChoiceField(choices=["customer", "bot", "human"])
    author = serializers.CharField(allow_null=True)
    text = serializers.CharField()
    intent = serializers.CharField(allow_blank=True)
    confidence = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()
    delivery = serializers.CharField(allow_null=True, help_text="PENDING, DELIVERED, ABANDONED ou null.")


class ThreadConversationSerializer(serializers.Serializer):
    id = serializers.CharField()
    channel = serializers.CharField()
    contact_id = serializers.CharField()
    contact_name = serializers.CharField(allow_blank=True)
    status = serializers.CharField()
    funnel_stage = serializers.CharField()
    assigned_agent = serializers.CharField(allow_null=True)
    paused_until = serializers.DateTimeField(allow_null=True)
    last_message_at = serializers.DateTimeField()


class ThreadSerializer(serializers.Serializer):
    conversation = ThreadConversationSerializer()
    messages = ThreadMessageSerializer(many=True)
