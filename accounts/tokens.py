"""The login time a session's tokens carry, and the refresh token that keeps it.

Every token issued at a password login carries `auth_time` (seconds since the epoch) and every
renewal copies it, so a token obtained by renewing another still knows when its session began.
Renewal stops JWT_SESSION_MAX_DAYS after that: a leaked access or refresh token can be renewed
for a week at most, not forever. Tokens issued before login times were kept count from their
own `iat`, so the upgrade ends nobody's session early and bounds every chain from then on.
"""

import time

from django.conf import settings
from django.utils.translation import ngettext
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken, Token

AUTH_TIME_CLAIM = "auth_time"


class SessionExpired(TokenError):
    """The session this token belongs to began more than JWT_SESSION_MAX_DAYS ago."""

    def __init__(self) -> None:
        days = settings.JWT_SESSION_MAX_DAYS
        super().__init__(
            ngettext(
                "Sessão expirada: o login foi há mais de %(days)d dia. Faça login novamente.",
                "Sessão expirada: o login foi há mais de %(days)d dias. Faça login novamente.",
                days,
            ) % {"days": days}
        )


def session_login_time(token: Token) -> int:
    """When the session of `token` began, if it may still be renewed; raises SessionExpired."""
    login_time = token.get(AUTH_TIME_CLAIM) or token.get("iat")
    if not isinstance(login_time, (int, float)):
        raise SessionExpired()
    if time.time() > login_time + settings.JWT_SESSION_MAX_DAYS * 24 * 3600:
        raise SessionExpired()
    return int(login_time)


class SessionRefreshToken(RefreshToken):
    """simplejwt's refresh token, stamped with its session's login time.

    simplejwt copies the refresh token's claims into each access token it makes from it, and a
    rotated refresh token keeps its claims, so the login time travels through every renewal.
    Reading one (to rotate it) checks that the session may still be renewed.
    """

    @classmethod
    def for_user(cls, user, *, login_time: int | None = None) -> "SessionRefreshToken":
        token = super().for_user(user)
        token[AUTH_TIME_CLAIM] = login_time if login_time is not None else int(time.time())
        return token

    def verify(self, *args, **kwargs) -> None:
        super().verify(*args, **kwargs)
        self[AUTH_TIME_CLAIM] = session_login_time(self)
