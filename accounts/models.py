from decimal import Decimal

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken


class User(AbstractUser):
    """A person who uses the console or an integration that acts on their behalf."""

    class Meta:
        verbose_name = "usuário"
        verbose_name_plural = "usuários"


class IntegrationToken(models.Model):
    """A long-lived JWT issued to an integration (seed 003 §7.1.2), revocable by its jti.

    The token itself is never stored: only its id, so a database leak yields nothing usable.
    """

    jti = models.CharField("identificador (jti)", max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="integration_tokens",
        verbose_name="usuário",
    )
    label = models.CharField("descrição", max_length=100, blank=True)
    created_at = models.DateTimeField("emitido em", default=timezone.now)
    expires_at = models.DateTimeField("expira em")
    revoked_at = models.DateTimeField("revogado em", null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "token de integração"
        verbose_name_plural = "tokens de integração"

    def __str__(self) -> str:
        return f"{self.user} · {self.label or self.jti[:8]}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class LoginAttempt(AccessAttempt):
    """Failed logins of one username from one address, as django-axes counts them to lock
    logins out; here for the admin, in Portuguese (axes' own admin is switched off)."""

    class Meta:
        proxy = True
        ordering = ["-attempt_time"]
        verbose_name = "tentativa de login"
        verbose_name_plural = "tentativas de login (bloqueios)"


class IssuedJwt(OutstandingToken):
    """simplejwt's record of a refresh token issued at login, shown in the admin under Contas e
    acesso (the library's own model names cannot be changed without a migration in its package)."""

    class Meta:
        proxy = True
        ordering = ["-created_at"]
        verbose_name = "token JWT emitido"
        verbose_name_plural = "tokens JWT emitidos"


class RevokedJwt(BlacklistedToken):
    """simplejwt's record of a refresh token revoked (used once, or by logout)."""

    class Meta:
        proxy = True
        ordering = ["-blacklisted_at"]
        verbose_name = "token JWT revogado"
        verbose_name_plural = "tokens JWT revogados"


BOT_SCOPES = {
    "usage:write": "registrar consumo de tokens",
    "events:write": "enviar eventos ao painel",
    "status:read": "consultar o próprio status",
}


class BudgetUnit(models.TextChoices):
    TOKENS = "tokens", "tokens"
    COST = "cost", "custo (USD)"


class Bot(models.Model):
    """An outside program (seed 000's BotHttpClient, seed 001's dashboard integration) with a
    credential of its own.

    `bot_id` is public (the x-bot-id header), random rather than the row's sequential key so that
    ids cannot be counted. Only the SHA-256 of the token is kept: the token carries 256 random
    bits, so a slow password hash would buy nothing, and no server key is mixed in, so changing
    DJANGO_SECRET_KEY does not lock every bot out. After a rotation the previous hash keeps
    working until `previous_token_expires_at`.
    """

    bot_id = models.CharField("identificador do bot", max_length=32, unique=True, editable=False)
    name = models.CharField("nome", max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="bots",
        verbose_name="responsável",
    )
    team = models.CharField("equipe", max_length=100, blank=True)
    scopes = models.JSONField("escopos", default=list, blank=True)
    is_active = models.BooleanField("ativo", default=True)
    token_hash = models.CharField("hash do token", max_length=64, editable=False)
    previous_token_hash = models.CharField("hash do token anterior", max_length=64, blank=True, editable=False)
    previous_token_expires_at = models.DateTimeField("token anterior válido até", null=True, blank=True,
                                                     editable=False)
    token_rotated_at = models.DateTimeField("token trocado em", null=True, blank=True, editable=False)
    last_seen_at = models.DateTimeField("visto por último em", null=True, blank=True, editable=False)
    last_seen_address = models.GenericIPAddressField("último endereço", null=True, blank=True, editable=False)
    # A monthly budget (calendar month in TIME_ZONE) in tokens or in cost; none when the unit is blank.
    budget_unit = models.CharField("unidade do orçamento", max_length=10, choices=BudgetUnit.choices, blank=True)
    monthly_budget = models.DecimalField("orçamento mensal", max_digits=20, decimal_places=6, null=True, blank=True,
                                         validators=[MinValueValidator(Decimal("0"))])
    budget_warning_percent = models.PositiveSmallIntegerField(
        "aviso ao atingir (%)", default=80, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Ao passar desta parte do orçamento no mês, a equipe é avisada uma vez.",
    )
    created_at = models.DateTimeField("criado em", auto_now_add=True)
    updated_at = models.DateTimeField("atualizado em", auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "bot"
        verbose_name_plural = "bots"

    def __str__(self) -> str:
        return f"{self.name} ({self.bot_id})"

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    @property
    def has_budget(self) -> bool:
        return bool(self.budget_unit) and self.monthly_budget is not None


# --- Metering: LLM token usage reported by bots (seed 000) ---------------------------------------

class ModelPrice(models.Model):
    """What one model costs per million tokens from `valid_from` on, until the next price of the
    same model. A correction is a new row (or an edit followed by a recomputation), so usage keeps
    the price that was in force when it happened. Cached input and reasoning tokens have prices
    of their own; left blank, they cost what ordinary input and output tokens cost."""

    model = models.CharField("modelo", max_length=100)
    valid_from = models.DateTimeField("válido a partir de")
    input_per_million = models.DecimalField("entrada (por milhão)", max_digits=14, decimal_places=6,
                                            validators=[MinValueValidator(Decimal("0"))])
    cached_input_per_million = models.DecimalField(
        "entrada em cache (por milhão)", max_digits=14, decimal_places=6, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0"))], help_text="Vazio: o mesmo preço da entrada.",
    )
    output_per_million = models.DecimalField("saída (por milhão)", max_digits=14, decimal_places=6,
                                             validators=[MinValueValidator(Decimal("0"))])
    reasoning_per_million = models.DecimalField(
        "raciocínio (por milhão)", max_digits=14, decimal_places=6, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0"))], help_text="Vazio: o mesmo preço da saída.",
    )
    note = models.CharField("observação", max_length=200, blank=True)
    created_at = models.DateTimeField("criado em", auto_now_add=True)

    class Meta:
        ordering = ["model", "-valid_from"]
        verbose_name = "preço de modelo"
        verbose_name_plural = "preços de modelos"
        constraints = [models.UniqueConstraint(fields=["model", "valid_from"], name="model_price_unique_start")]

    def __str__(self) -> str:
        return f"{self.model} desde {self.valid_from:%Y-%m-%d}"


class TokenUsage(models.Model):
    """One LLM call's tokens, as a bot reported it. `cached_tokens` are part of `prompt_tokens`
    and `reasoning_tokens` part of `completion_tokens`, as OpenAI counts them. `cost` is empty
    while the model had no price at `occurred_at` (flagged, never a silent zero).

    `request_id` is the bot's idempotency key: unique per bot, so a retry is never counted twice;
    `fingerprint` is the hash of what was sent with it, to tell a retry from a reuse of the key."""

    bot = models.ForeignKey(Bot, on_delete=models.PROTECT, related_name="usage", verbose_name="bot")
    model = models.CharField("modelo", max_length=100)
    prompt_tokens = models.PositiveBigIntegerField("tokens de entrada")
    completion_tokens = models.PositiveBigIntegerField("tokens de saída")
    total_tokens = models.PositiveBigIntegerField("total de tokens")
    cached_tokens = models.PositiveBigIntegerField("em cache (da entrada)", default=0)
    reasoning_tokens = models.PositiveBigIntegerField("de raciocínio (da saída)", default=0)
    # NULL, not "", when absent: the unique constraint covers only the records that have a key.
    request_id = models.CharField("id da requisição", max_length=200, null=True, blank=True)  # noqa: DJ001
    fingerprint = models.CharField("impressão do corpo", max_length=64, editable=False)
    conversation_id = models.CharField("conversa", max_length=200, blank=True)
    occurred_at = models.DateTimeField("ocorreu em")
    received_at = models.DateTimeField("recebido em", default=timezone.now)
    metadata = models.JSONField("metadados", default=dict, blank=True)
    # Room for the largest price (14 digits) times the largest count of tokens a record may hold.
    cost = models.DecimalField("custo (USD)", max_digits=26, decimal_places=10, null=True, blank=True)
    price = models.ForeignKey(ModelPrice, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              verbose_name="preço aplicado")

    class Meta:
        ordering = ["-occurred_at"]
        verbose_name = "consumo de tokens"
        verbose_name_plural = "consumo de tokens"
        constraints = [
            models.UniqueConstraint(fields=["bot", "request_id"], condition=Q(request_id__isnull=False),
                                    name="token_usage_unique_request"),
        ]
        indexes = [
            models.Index(fields=["occurred_at"], name="token_usage_occurred"),
            models.Index(fields=["bot", "occurred_at"], name="token_usage_bot_occurred"),
            models.Index(fields=["model", "occurred_at"], name="token_usage_model_occurred"),
            models.Index(fields=["conversation_id", "occurred_at"], name="token_usage_conv_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.model} · {self.total_tokens} tokens"


class UsageDaily(models.Model):
    """Usage summed per bot, model and day (in TIME_ZONE), kept in step with TokenUsage in the
    same transaction: the dashboards and the budget read these few rows instead of every record."""

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="+", verbose_name="bot")
    model = models.CharField("modelo", max_length=100)
    day = models.DateField("dia")
    records = models.PositiveBigIntegerField("registros", default=0)
    prompt_tokens = models.PositiveBigIntegerField("tokens de entrada", default=0)
    completion_tokens = models.PositiveBigIntegerField("tokens de saída", default=0)
    cached_tokens = models.PositiveBigIntegerField("em cache (da entrada)", default=0)
    reasoning_tokens = models.PositiveBigIntegerField("de raciocínio (da saída)", default=0)
    total_tokens = models.PositiveBigIntegerField("total de tokens", default=0)
    cost = models.DecimalField("custo (USD)", max_digits=32, decimal_places=10, default=0)
    unpriced_records = models.PositiveBigIntegerField("registros sem preço", default=0)

    class Meta:
        verbose_name = "consumo diário"
        verbose_name_plural = "consumo diário"
        constraints = [models.UniqueConstraint(fields=["bot", "model", "day"], name="usage_daily_unique")]
        indexes = [models.Index(fields=["day"], name="usage_daily_day")]

    def __str__(self) -> str:
        return f"{self.model} em {self.day}"


class UsageConversationDaily(models.Model):
    """Usage summed per conversation and day: the "top conversations" of a period without a scan
    of every record."""

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="+", verbose_name="bot")
    conversation_id = models.CharField("conversa", max_length=200)
    day = models.DateField("dia")
    records = models.PositiveBigIntegerField("registros", default=0)
    total_tokens = models.PositiveBigIntegerField("total de tokens", default=0)
    cost = models.DecimalField("custo (USD)", max_digits=32, decimal_places=10, default=0)

    class Meta:
        verbose_name = "consumo diário por conversa"
        verbose_name_plural = "consumo diário por conversa"
        constraints = [models.UniqueConstraint(fields=["bot", "conversation_id", "day"],
                                               name="usage_conversation_daily_unique")]
        indexes = [models.Index(fields=["day"], name="usage_conv_daily_day")]

    def __str__(self) -> str:
        return f"{self.conversation_id} em {self.day}"


class BudgetAlert(models.Model):
    """A bot's monthly budget crossed its warning threshold or its limit: once per bot, month and
    level, shown to staff on the dashboard and sent live."""

    class Level(models.TextChoices):
        WARNING = "warning", "aviso"
        EXCEEDED = "exceeded", "estourado"

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="budget_alerts", verbose_name="bot")
    month = models.DateField("mês")
    level = models.CharField("nível", max_length=10, choices=Level.choices)
    used = models.DecimalField("usado", max_digits=28, decimal_places=6)
    budget = models.DecimalField("orçamento", max_digits=20, decimal_places=6)
    unit = models.CharField("unidade", max_length=10, choices=BudgetUnit.choices)
    created_at = models.DateTimeField("em", default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "alerta de orçamento"
        verbose_name_plural = "alertas de orçamento"
        constraints = [models.UniqueConstraint(fields=["bot", "month", "level"], name="budget_alert_once")]

    def __str__(self) -> str:
        return f"{self.get_level_display()} · {self.month:%m/%Y}"


# --- Events sent by bots to the dashboard (seed 001) ---------------------------------------------

class BotEvent(models.Model):
    """One event a bot sent (`sendEventToDashboard`): its type, payload and the client's extra
    top-level fields. `event_id` (the client's `id`) is the dedupe key, unique per bot. The
    payload's `userId` and `orderId` are copied out for the dashboard's metrics."""

    bot = models.ForeignKey(Bot, on_delete=models.PROTECT, related_name="events", verbose_name="bot")
    event = models.CharField("evento", max_length=100)
    payload = models.JSONField("conteúdo (payload)", default=dict)
    extra = models.JSONField("campos extras", default=dict, blank=True)
    # NULL when absent, as TokenUsage.request_id.
    event_id = models.CharField("id do evento", max_length=200, null=True, blank=True)  # noqa: DJ001
    fingerprint = models.CharField("impressão do corpo", max_length=64, editable=False)
    occurred_at = models.DateTimeField("ocorreu em")
    received_at = models.DateTimeField("recebido em", default=timezone.now)
    user_ref = models.CharField("usuário (payload.userId)", max_length=200, blank=True)
    order_ref = models.CharField("pedido (payload.orderId)", max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = "evento de bot"
        verbose_name_plural = "eventos de bots"
        constraints = [
            models.UniqueConstraint(fields=["bot", "event_id"], condition=Q(event_id__isnull=False),
                                    name="bot_event_unique_id"),
        ]
        indexes = [
            models.Index(fields=["received_at"], name="bot_event_received"),
            models.Index(fields=["bot", "received_at"], name="bot_event_bot_received"),
            models.Index(fields=["event", "received_at"], name="bot_event_type_received"),
        ]

    def __str__(self) -> str:
        return f"{self.event} · {self.bot_id}"


class IntakeTally(models.Model):
    """How many records or events of one bot were accepted, repeated (duplicate), refused
    (rejected), or accepted without an idempotency key (unkeyed), per day: what makes a silent
    drop or a risky client visible on the status route and the events page."""

    class Stream(models.TextChoices):
        USAGE = "usage", "consumo"
        EVENTS = "events", "eventos"

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "aceitos"
        DUPLICATE = "duplicate", "repetidos"
        REJECTED = "rejected", "recusados"
        UNKEYED = "unkeyed", "sem chave"

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="+", verbose_name="bot")
    stream = models.CharField("fluxo", max_length=10, choices=Stream.choices)
    outcome = models.CharField("resultado", max_length=10, choices=Outcome.choices)
    day = models.DateField("dia")
    count = models.PositiveBigIntegerField("quantidade", default=0)

    class Meta:
        verbose_name = "contagem de recebimentos"
        verbose_name_plural = "contagens de recebimentos"
        constraints = [models.UniqueConstraint(fields=["bot", "stream", "outcome", "day"], name="intake_tally_unique")]

    def __str__(self) -> str:
        return f"{self.stream} {self.outcome} em {self.day}: {self.count}"
