from django.contrib.auth.models import AnonymousUser
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException, AuthenticationFailed, PermissionDenied
from rest_framework.permissions import BasePermission
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


class BotAuthFailed(AuthenticationFailed):
    """A refused bot credential (401): {"detail": <Portuguese sentence>, "code": <category>}."""

    def __init__(self, *, code: str, message: str):
        super().__init__({"detail": message, "code": code})


class BotForbidden(PermissionDenied):
    """A known bot that may not do this (403), same body shape."""

    def __init__(self, *, code: str, message: str):
        super().__init__({"detail": message, "code": code})


class BotAuthThrottledError(APIException):
    """429; DRF's exception handler turns `wait` into Retry-After."""

    status_code = 429

    def __init__(self, retry_after: int):
        super().__init__({
            "detail": f"Muitas tentativas de autenticação sem sucesso. Tente de novo em {retry_after} s.",
            "code": "throttled",
        })
        self.wait = retry_after


def _bot_authenticate(request, *, bot_id: str | None, token: str):
    from accounts import bots

    try:
        bot = bots.bot_authenticate(bot_id=bot_id, token=token, address=request.META.get("REMOTE_ADDR"))
    except bots.BotAuthThrottled as throttled:
        raise BotAuthThrottledError(throttled.retry_after) from None
    except bots.BotAuthError as error:
        error_class = BotForbidden if error.status == 403 else BotAuthFailed
        raise error_class(code=error.category, message=error.message) from None
    return BotUser(bot), bot


class BotUser(AnonymousUser):
    """request.user for a bot: not a person, and inactive as a person, so it holds no model
    permissions (Django's backends give none to an inactive user); request.auth is the Bot."""

    def __init__(self, bot):
        self.bot = bot

    @property
    def is_authenticated(self):
        return True

    @property
    def is_anonymous(self):
        return False

    def __str__(self) -> str:
        return f"bot:{self.bot.bot_id}"


class BotHeaderAuthentication(BaseAuthentication):
    """Seed 000: `x-bot-id` + `x-bot-token`. Absent both, it leaves the request to others."""

    def authenticate(self, request):
        bot_id = request.headers.get("x-bot-id")
        token = request.headers.get("x-bot-token")
        if bot_id is None and token is None:
            return None
        if not bot_id or not token:
            missing = "x-bot-token" if bot_id else "x-bot-id"
            raise BotAuthFailed(code="missing_header",
                                message=f"Cabeçalho {missing} ausente: envie x-bot-id e x-bot-token juntos.")
        return _bot_authenticate(request, bot_id=bot_id.strip(), token=token.strip())

    def authenticate_header(self, request):
        return 'x-bot-token realm="bots"'


class BotBearerAuthentication(BaseAuthentication):
    """Seed 001: `Authorization: Bearer cbot_<bot_id>_<secret>`. Any other bearer (a JWT) is left
    to the JWT authentication."""

    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token.startswith("cbot_"):
            return None
        return _bot_authenticate(request, bot_id=None, token=token)

    def authenticate_header(self, request):
        return 'Bearer realm="bots"'


BOT_AUTHENTICATION = [BotHeaderAuthentication, BotBearerAuthentication]


class HasBotScope(BasePermission):
    """The caller is a bot holding `required_scope` (set it with HasBotScope.of("status:read"))."""

    required_scope: str = ""

    @classmethod
    def of(cls, scope: str) -> type["HasBotScope"]:
        return type(f"HasBotScope_{scope.replace(':', '_')}", (cls,), {"required_scope": scope})

    def has_permission(self, request, view) -> bool:
        from accounts.models import Bot

        if not isinstance(request.auth, Bot):
            raise BotAuthFailed(
                code="missing_credentials",
                message="Credencial de bot ausente: envie os cabeçalhos x-bot-id e x-bot-token, "
                        "ou Authorization: Bearer <token do bot>.",
            )
        if not request.auth.has_scope(self.required_scope):
            raise BotForbidden(code="missing_scope",
                               message=f"Este bot não tem o escopo {self.required_scope}.")
        return True
