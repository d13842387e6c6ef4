from rest_framework_simplejwt.authentication import JWTAuthentication as BaseJWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from accounts import selectors

INTEGRATION_CLAIM = "integration"


class JWTAuthentication(BaseJWTAuthentication):
    """simplejwt's bearer authentication, plus revocation of long-lived integration tokens."""

    def get_validated_token(self, raw_token):
        token = super().get_validated_token(raw_token)
        if token.get(INTEGRATION_CLAIM) and not selectors.integration_token_is_active(jti=token["jti"]):
            raise InvalidToken("Integration token revoked")
        return token
