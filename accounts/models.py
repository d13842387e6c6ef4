from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
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
