"""simplejwt's /api/v1/auth/token/ serializers: tokens that carry their session's login time, and
logins throttled like every other (django-axes)."""

from rest_framework import status
from rest_framework.exceptions import APIException, AuthenticationFailed
from rest_framework_simplejwt import serializers as simplejwt

from accounts import services
from accounts.tokens import SessionRefreshToken


class TooManyLoginAttempts(APIException):
    """429 with Retry-After (DRF sets it from `wait`) and the lock-out in Portuguese."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "login_locked"

    def __init__(self, locked: services.LoginLocked):
        super().__init__(detail=str(locked))
        self.wait = locked.retry_after


class TokenObtainPairSerializer(simplejwt.TokenObtainPairSerializer):
    token_class = SessionRefreshToken

    def validate(self, attrs):
        try:
            return super().validate(attrs)
        except AuthenticationFailed:
            try:
                services.login_lockout_check(request=self.context["request"])
            except services.LoginLocked as locked:
                raise TooManyLoginAttempts(locked) from None
            raise


class TokenRefreshSerializer(simplejwt.TokenRefreshSerializer):
    """Rotation keeps the login time; a session older than JWT_SESSION_MAX_DAYS is refused
    (SessionRefreshToken raises a TokenError, which simplejwt's view answers with 401)."""

    token_class = SessionRefreshToken
