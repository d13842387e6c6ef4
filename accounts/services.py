import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import ngettext
from rest_framework_simplejwt.tokens import AccessToken, Token

from accounts.authentication import INTEGRATION_CLAIM
from accounts.models import IntegrationToken, User
from accounts.tokens import SessionRefreshToken, session_login_time
from jobs.queues import redis_connection


class LoginLocked(Exception):
    """Too many failed logins for this username or from this address (django-axes)."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            "Muitas tentativas de login sem sucesso para este usuário ou endereço. Tente de novo em "
            + ngettext("%(n)d minuto", "%(n)d minutos", minutes) % {"n": minutes}
            + " ou peça a um administrador para desbloquear."
        )


def user_authenticate(*, request: HttpRequest, username: str, password: str) -> User | None:
    """The active user these credentials belong to, or None for wrong ones.

    Raises LoginLocked while the username or the request's address is locked out: then even the
    right password is refused (and the attempt counts as one more failure).
    """
    user = authenticate(request, username=username, password=password)
    if user is None:
        login_lockout_check(request=request)
    return user


def login_lockout_check(*, request: HttpRequest) -> None:
    """Raise LoginLocked if the login attempt just made on `request` was refused or ended in a
    lock-out. Call it after django.contrib.auth.authenticate returned None."""
    if getattr(request, "axes_locked_out", False):
        raise LoginLocked(retry_after=int(get_cool_off(request).total_seconds()))


def login_lockout_lift(*, username: str | None = None, ip_address: str | None = None) -> int:
    """Forget the failed logins of `username` and those from `ip_address`, lifting any lock-out
    they caused; return how many attempt records were removed."""
    if username is None and ip_address is None:
        raise ValueError("Name a username or an address.")
    # axes reads a missing one of the two as "IS NULL" when asked for either.
    return AxesProxyHandler.reset_attempts(
        username=username, ip_address=ip_address, ip_or_username=username is not None and ip_address is not None
    )


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int  # seconds
    refresh_token: str


class IntegrationTokenNotRenewable(Exception):
    """Integration tokens live as long as an administrator decided; they are not renewed."""


def token_pair_issue(*, user: User, login_time: int | None = None) -> TokenPair:
    """Issue a fresh access + refresh pair for `user` (the refresh one is tracked for blacklisting).

    `login_time` is when the session began (seconds since the epoch); a new login by default.
    """
    refresh = SessionRefreshToken.for_user(user, login_time=login_time)
    access = refresh.access_token
    return TokenPair(
        access_token=str(access),
        expires_in=int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()),
        refresh_token=str(refresh),
    )


def token_pair_renew(*, user: User, token: Token) -> TokenPair:
    """The next pair of the session `token` belongs to, with the same login time.

    Raises SessionExpired JWT_SESSION_MAX_DAYS after the login, and IntegrationTokenNotRenewable
    for an integration token (renewing one would mint ordinary tokens for as long as it lives).
    """
    if token.get(INTEGRATION_CLAIM):
        raise IntegrationTokenNotRenewable()
    return token_pair_issue(user=user, login_time=session_login_time(token))


def integration_token_issue(*, user: User, days: int | None = None, label: str = "") -> tuple[str, IntegrationToken]:
    """Issue a long-lived access token for an integration; only its jti is stored."""
    lifetime = timedelta(days=days or settings.INTEGRATION_TOKEN_DAYS)
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=lifetime)
    token[INTEGRATION_CLAIM] = True
    record = IntegrationToken.objects.create(
        jti=token["jti"], user=user, label=label, expires_at=timezone.now() + lifetime
    )
    return str(token), record


def integration_token_revoke(*, jti: str | None = None, user: User | None = None) -> int:
    """Revoke one token by jti, or every active token of `user`; return how many were revoked."""
    if jti is None and user is None:
        raise ValueError("Name a token (jti) or a user.")
    tokens = IntegrationToken.objects.filter(revoked_at__isnull=True)
    if jti is not None:
        tokens = tokens.filter(jti=jti)
    if user is not None:
        tokens = tokens.filter(user=user)
    return tokens.update(revoked_at=timezone.now())


def tokens_flush_expired() -> None:
    """Drop expired refresh tokens from simplejwt's outstanding/blacklist tables."""
    call_command("flushexpiredtokens", verbosity=0)
    IntegrationToken.objects.filter(expires_at__lt=timezone.now()).delete()


def ws_ticket_issue(*, user: User) -> tuple[str, int]:
    """A single-use ticket that opens one websocket (or SSE stream) as `user` within
    WS_TICKET_SECONDS; returns it with its lifetime. Only its hash is kept, in Redis."""
    ticket = secrets.token_urlsafe(32)
    lifetime = settings.WS_TICKET_SECONDS
    redis_connection().set(_ws_ticket_key(ticket), user.pk, ex=lifetime)
    return ticket, lifetime


def ws_ticket_redeem(*, ticket: str) -> User | None:
    """The active user the ticket was issued to, once; None for unknown, used or expired tickets."""
    if not ticket or len(ticket) > 100:
        return None
    user_id = redis_connection().getdel(_ws_ticket_key(ticket))
    if user_id is None:
        return None
    return User.objects.filter(pk=int(user_id), is_active=True).first()


def _ws_ticket_key(ticket: str) -> str:
    return "wsticket:" + hashlib.sha256(ticket.encode()).hexdigest()
