"""simplejwt's /api/v1/auth/token/ serializers, with tokens that carry their session's login time."""

from rest_framework_simplejwt import serializers as simplejwt

from accounts.tokens import SessionRefreshToken


class TokenObtainPairSerializer(simplejwt.TokenObtainPairSerializer):
    token_class = SessionRefreshToken


class TokenRefreshSerializer(simplejwt.TokenRefreshSerializer):
    """Rotation keeps the login time; a session older than JWT_SESSION_MAX_DAYS is refused
    (SessionRefreshToken raises a TokenError, which simplejwt's view answers with 401)."""

    token_class = SessionRefreshToken
