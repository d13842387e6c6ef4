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
