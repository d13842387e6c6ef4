"""Conversations with customers, their messages, hand-offs between the bot and people, and the
chatbot's configuration (one row, edited by staff)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from project.outbox import OutboxEntry


class Channel(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp"
    INSTAGRAM = "instagram", "Instagram"
    CHATWOOT = "chatwoot", "Chatwoot"
    # POST /seller-bot/message: a message given to the bot through the console's API.
    API = "api", "API"


class ConversationStatus(models.TextChoices):
    BOT = "bot", "Com o bot"
    HUMAN = "human", "Com uma pessoa"
    CLOSED = "closed", "Encerrada"


class FunnelStage(models.TextChoices):
    """Seed 004's sales funnel, in order: a conversation only moves forward."""

    CONTACT = "contact", "Contato"
    INTEREST = "interest", "Interesse"
    PRICE_ASKED = "price_asked", "Pediu preço"
    PURCHASE_INTENT = "purchase_intent", "Intenção de compra"
    ORDER = "order", "Pedido"

    @classmethod
    def rank(cls, stage: str) -> int:
        return cls.values.index(stage)


class Intent(models.TextChoices):
    GREETING = "greeting", "Saudação"
    PRODUCT_QUESTION = "product_question", "Dúvida sobre produto"
    PRICE = "price", "Preço"
    SHIPPING = "shipping", "Entrega"
    ORDER_STATUS = "order_status", "Situação do pedido"
    PURCHASE_INTENT = "purchase_intent", "Intenção de compra"
    COMPLAINT = "complaint", "Reclamação"
    HUMAN_REQUEST = "human_request", "Pediu atendente"
    OTHER = "other", "Outro"


class Conversation(models.Model):
    """One customer on one channel; reopened when a closed conversation's customer writes again."""

    channel = models.CharField("canal", max_length=16, choices=Channel.choices)
    contact_id = models.CharField("contato", max_length=200, help_text="O cliente no canal (ex.: whatsapp:5511…).")
    contact_name = models.CharField("nome do contato", max_length=200, blank=True)
    # The channel's own id of the thread (Chatwoot's conversation display id, an Evolution
    # instance's chat): what replies are addressed to.
    channel_conversation_id = models.CharField("conversa no canal", max_length=200, blank=True)
    # Where replies go, as the channel needs it: Evolution {"instance", "number"}, Chatwoot
    # {"account_id", "conversation_id"}, Instagram {"recipient_id"}.
    channel_address = models.JSONField("endereço no canal", default=dict, blank=True)
    # When the customer last wrote (Instagram answers only within 24 hours of it).
    last_customer_message_at = models.DateTimeField("última mensagem do cliente", null=True, blank=True)
    # The reply is produced at this time unless another message pushes it later (debounce);
    # null: nothing to answer.
    reply_due_at = models.DateTimeField("resposta prevista para", null=True, blank=True, db_index=True)
    status = models.CharField(
        "situação", max_length=8, choices=ConversationStatus.choices, default=ConversationStatus.BOT, db_index=True,
    )
    funnel_stage = models.CharField(
        "etapa do funil", max_length=16, choices=FunnelStage.choices, default=FunnelStage.CONTACT, db_index=True,
    )
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="chatbot_conversations", verbose_name="atendente",
    )
    # The bot stays silent until then (a person took over); null: no pause.
    paused_until = models.DateTimeField("bot pausado até", null=True, blank=True)
    # Low-confidence answers in a row: the second one hands the conversation to a person.
    low_confidence_streak = models.PositiveSmallIntegerField(default=0, editable=False)
    created_at = models.DateTimeField("iniciada em", default=timezone.now)
    last_message_at = models.DateTimeField("última mensagem", default=timezone.now, db_index=True)
    closed_at = models.DateTimeField("encerrada em", null=True, blank=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        verbose_name = "conversa"
        verbose_name_plural = "conversas"
        constraints = [
            # One open conversation per customer and channel; closed ones are history.
            models.UniqueConstraint(
                fields=["channel", "contact_id"], condition=~Q(status="closed"), name="chatbot_one_open_conversation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.contact_name or self.contact_id}"

    def bot_may_answer(self, now=None) -> bool:
        now = now or timezone.now()
        if self.status != ConversationStatus.BOT:
            return False
        return self.paused_until is None or self.paused_until <= now


class Direction(models.TextChoices):
    INBOUND = "in", "Recebida"
    OUTBOUND = "out", "Enviada"


class AuthorKind(models.TextChoices):
    CUSTOMER = "customer", "Cliente"
    BOT = "bot", "Bot"
    HUMAN = "human", "Atendente"


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", verbose_name="conversa",
    )
    direction = models.CharField("direção", max_length=3, choices=Direction.choices)
    author_kind = models.CharField("autor", max_length=8, choices=AuthorKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="chatbot_messages", verbose_name="atendente",
    )
    text = models.TextField("texto")
    # Denormalised from the conversation so that the channel's id dedupes per channel.
    channel = models.CharField("canal", max_length=16, choices=Channel.choices)
    channel_message_id = models.CharField("id no canal", max_length=200, blank=True)
    intent = models.CharField("intenção", max_length=20, choices=Intent.choices, blank=True)
    confidence = models.FloatField("confiança", null=True, blank=True)
    backend = models.CharField("gerada por", max_length=40, blank=True)
    prompt_tokens = models.PositiveIntegerField("tokens de entrada", default=0)
    completion_tokens = models.PositiveIntegerField("tokens de saída", default=0)
    created_at = models.DateTimeField("em", default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "mensagem"
        verbose_name_plural = "mensagens"
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "channel_message_id"], condition=~Q(channel_message_id=""),
                name="chatbot_message_once_per_channel",
            ),
        ]
        indexes = [models.Index(fields=["conversation", "created_at"], name="chatbot_msg_conv_time")]

    def __str__(self) -> str:
        return f"{self.get_author_kind_display()}: {self.text[:60]}"


class HandOffTo(models.TextChoices):
    HUMAN = "human", "Para uma pessoa"
    BOT = "bot", "De volta ao bot"


class HandOffActor(models.TextChoices):
    CUSTOMER = "customer", "Cliente"
    STAFF = "staff", "Equipe"
    BOT = "bot", "Bot"
    CHANNEL = "channel", "Atendente no canal"
    SYSTEM = "system", "Sistema"


class HandOff(models.Model):
    """Who moved a conversation between the bot and people, why and when."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="handoffs", verbose_name="conversa",
    )
    to = models.CharField("para", max_length=8, choices=HandOffTo.choices)
    actor_kind = models.CharField("quem", max_length=10, choices=HandOffActor.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="chatbot_handoffs", verbose_name="pessoa",
    )
    reason = models.CharField("motivo", max_length=300)
    created_at = models.DateTimeField("em", default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "transferência"
        verbose_name_plural = "transferências"

    def __str__(self) -> str:
        return f"{self.get_to_display()}: {self.reason}"


class LlmBackend(models.TextChoices):
    OFFLINE = "offline", "Offline (regras e modelos, sem rede)"
    OPENAI_COMPATIBLE = "openai_compatible", "Servidor compatível com OpenAI"


def _default_handoff_keywords() -> list[str]:
    return ["atendente", "humano", "pessoa de verdade", "falar com alguém", "gerente", "procon"]


class ChatbotConfig(models.Model):
    """The chatbot's settings: one row (pk 1), read by every reply and edited by staff."""

    persona = models.CharField(
        "persona", max_length=200, default="Ana, consultora de vendas da loja",
    )
    tone = models.CharField("tom", max_length=200, default="cordial, direto e prestativo")
    business_facts = models.TextField(
        "sobre a loja", blank=True,
        help_text="Fatos que o bot pode dizer: prazos, formas de pagamento, trocas, endereço.",
    )
    # [{"question": …, "answer": …, "keywords": [...]}]
    faq = models.JSONField("perguntas frequentes", default=list, blank=True)
    # [{"name": …, "price": "199.90", "description": …, "keywords": [...]}]
    catalogue = models.JSONField("catálogo", default=list, blank=True)
    greeting = models.TextField(
        "saudação", default="Olá{nome}! Eu sou a Ana, da loja. Como posso ajudar você hoje?",
        help_text="{nome} vira \", Fulano\" quando o nome do cliente é conhecido.",
    )
    fallback_reply = models.TextField(
        "resposta quando não entende",
        default="Desculpe, não entendi bem. Pode me contar com outras palavras o que você procura?",
    )
    handoff_keywords = models.JSONField("palavras que chamam uma pessoa", default=_default_handoff_keywords, blank=True)
    # {"timezone": "America/Sao_Paulo", "days": [0..6], "start": "08:00", "end": "18:00"}; empty: always.
    working_hours = models.JSONField("horário de atendimento humano", default=dict, blank=True)
    confidence_threshold = models.FloatField("confiança mínima", default=0.45)
    debounce_seconds = models.PositiveIntegerField("espera por mais mensagens (s)", default=4)
    context_ttl_seconds = models.PositiveIntegerField("memória da conversa (s)", default=1800)
    handoff_pause_minutes = models.PositiveIntegerField("pausa do bot após uma pessoa assumir (min)", default=120)
    llm_backend = models.CharField("gerador de respostas", max_length=20, choices=LlmBackend.choices,
                                   default=LlmBackend.OFFLINE)
    llm_model = models.CharField("modelo", max_length=100, blank=True)
    llm_temperature = models.FloatField("temperatura", default=0.4)
    llm_max_tokens = models.PositiveIntegerField("tokens por resposta", default=300)
    updated_at = models.DateTimeField("alterada em", default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name="alterada por",
    )

    class Meta:
        verbose_name = "configuração do chatbot"
        verbose_name_plural = "configuração do chatbot"

    def __str__(self) -> str:
        return "Configuração do chatbot"


class ConfigChange(models.Model):
    """One change of the chatbot's configuration: who, when, each field's old and new value."""

    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name="alterada por",
    )
    changed_at = models.DateTimeField("em", default=timezone.now, db_index=True)
    # {"field": {"old": …, "new": …}}
    changes = models.JSONField("alterações", default=dict)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = "alteração da configuração do chatbot"
        verbose_name_plural = "alterações da configuração do chatbot"

    def __str__(self) -> str:
        return ", ".join(self.changes) or "—"


class WebhookReceipt(models.Model):
    """A channel's delivery id seen once (Chatwoot's X-Chatwoot-Delivery, the same on every retry)."""

    channel = models.CharField("canal", max_length=16, choices=Channel.choices)
    delivery_id = models.CharField("entrega", max_length=200)
    received_at = models.DateTimeField("recebida em", default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "webhook recebido"
        verbose_name_plural = "webhooks recebidos"
        constraints = [models.UniqueConstraint(fields=["channel", "delivery_id"], name="chatbot_webhook_once")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.delivery_id}"


class ReplyDelivery(OutboxEntry):
    """A message owed to a channel (the bot's reply or a person's from the console): sent at least
    once through the channel's API, with every attempt recorded."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="delivery", verbose_name="mensagem")
    channel = models.CharField("canal", max_length=16, choices=Channel.choices, db_index=True)
    remote_id = models.CharField("id no canal", max_length=200, blank=True)
    last_error = models.CharField("último erro", max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "envio ao canal"
        verbose_name_plural = "envios aos canais (outbox)"

    def __str__(self) -> str:
        return f"{self.get_channel_display()} #{self.message_id} ({self.get_state_display()})"


class ReplyAttempt(models.Model):
    delivery = models.ForeignKey(ReplyDelivery, on_delete=models.CASCADE, related_name="attempt_log",
                                 verbose_name="envio")
    channel = models.CharField("canal", max_length=16, choices=Channel.choices)
    attempt = models.PositiveIntegerField("tentativa")
    attempted_at = models.DateTimeField("em", default=timezone.now, db_index=True)
    http_status = models.PositiveSmallIntegerField("status HTTP", null=True, blank=True)
    error = models.CharField("erro", max_length=300, blank=True)
    ok = models.BooleanField("entregue", default=False)

    class Meta:
        ordering = ["attempted_at", "id"]
        verbose_name = "tentativa de envio"
        verbose_name_plural = "tentativas de envio"
        indexes = [models.Index(fields=["channel", "ok", "attempted_at"], name="chatbot_attempt_health")]

    def __str__(self) -> str:
        return f"#{self.attempt} {self.http_status or self.error}"
