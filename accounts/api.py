"""Seed-compatible authentication routes (seed 002 and seed 003 §4.2.6)."""

from datetime import UTC, datetime

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import APIException, AuthenticationFailed, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.authentication import BOT_AUTHENTICATION, BotHeaderAuthentication, HasBotScope
from accounts.serializers import TooManyLoginAttempts
from accounts.tokens import SessionExpired
from accounts.usage.budgets import budget_state
from accounts.usage.selectors import intake_counts_get, usage_month_get
from project.seed import (
    IGNORE,
    IGNORED_FIELDS_DOC,
    SeedAPIView,
    SeedErrorSerializer,
    SeedValidationErrorSerializer,
    StrictCharField,
    StrictSerializer,
    ignored_fields_header,
)


class TokenPairSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Validade do access token, em segundos.")
    refresh_token = serializers.CharField()


class AuthLoginApi(SeedAPIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(StrictSerializer):
        username = StrictCharField(max_length=150)
        password = StrictCharField(max_length=256, trim_whitespace=False)

    @extend_schema(
        operation_id="auth_login", request=InputSerializer, parameters=[IGNORED_FIELDS_DOC],
        responses={200: TokenPairSerializer, 401: SeedErrorSerializer, 422: SeedValidationErrorSerializer,
                   429: SeedErrorSerializer},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data, unknown_fields=IGNORE)
        data.is_valid(raise_exception=True)
        try:
            user = services.user_authenticate(request=request, **data.validated_data)
        except services.LoginLocked as locked:
            raise TooManyLoginAttempts(locked) from None
        if user is None:
            raise AuthenticationFailed("Usuário ou senha inválidos")
        pair = services.token_pair_issue(user=user)
        return ignored_fields_header(Response(TokenPairSerializer(pair).data), data.ignored_fields)

    def get_exception_handler(self):
        handler = super().get_exception_handler()

        def login_handler(exc, context):
            # Wrong credentials are not an expired token: say what happened.
            if isinstance(exc, AuthenticationFailed):
                return Response({"detail": "Usuário ou senha inválidos"}, status=401)
            return handler(exc, context)

        return login_handler


class AuthTokenRefreshApi(SeedAPIView):
    """A new pair for the bearer's session (seed 002): same login time, until JWT_SESSION_MAX_DAYS
    after it. A dashboard session gets a pair of its own, as from /auth/token."""

    @extend_schema(
        operation_id="auth_token_refresh",
        responses={200: TokenPairSerializer, 401: SeedErrorSerializer, 403: SeedErrorSerializer},
    )
    def get(self, request):
        if request.auth is None:
            pair = services.token_pair_issue(user=request.user)
        else:
            try:
                pair = services.token_pair_renew(user=request.user, token=request.auth)
            except SessionExpired as exc:
                raise SessionOver(str(exc)) from None
            except services.IntegrationTokenNotRenewable:
                raise PermissionDenied(INTEGRATION_NOT_RENEWED) from None
        return Response(TokenPairSerializer(pair).data)


INTEGRATION_NOT_RENEWED = (
    "Tokens de integração não são renovados: peça um novo a um administrador (manage.py issue_integration_token)."
)


class SessionOver(APIException):
    """401 saying the session is over; not AuthenticationFailed, which the seed dialect answers
    with its generic 'Token inválido ou expirado'."""

    status_code = 401
    default_code = "session_expired"
    auth_header = 'Bearer realm="api"'


class AuthTokenApi(SeedAPIView):
    @extend_schema(
        operation_id="auth_token_current",
        responses={200: inline_serializer("CurrentToken", {
            "token": serializers.CharField(),
            "expires_in": serializers.IntegerField(help_text="Minutos até expirar."),
            "message": serializers.CharField(),
        })},
    )
    def get(self, request):
        token = request.auth
        if token is None:
            # Signed in by session (dashboard): hand out a token for API calls.
            pair = services.token_pair_issue(user=request.user)
            return Response({"token": pair.access_token, "expires_in": pair.expires_in // 60,
                             "message": "Novo token emitido"})
        remaining = datetime.fromtimestamp(token["exp"], tz=UTC) - datetime.now(tz=UTC)
        return Response({"token": str(token), "expires_in": max(0, int(remaining.total_seconds() // 60)),
                         "message": "Token atual"})


class WsTicketApi(APIView):
    """A single-use ticket for opening /ws/notifications or /events/logs without putting the
    access token in a URL: `?ticket=<ticket>` within `expires_in` seconds, once."""

    @extend_schema(
        operation_id="ws_ticket_create", request=None,
        responses={201: inline_serializer("WsTicket", {
            "ticket": serializers.CharField(),
            "expires_in": serializers.IntegerField(help_text="Segundos para usar o ticket."),
        })},
    )
    def post(self, request):
        ticket, lifetime = services.ws_ticket_issue(user=request.user)
        return Response({"ticket": ticket, "expires_in": lifetime}, status=201)


class BotMeApi(APIView):
    """Seed 000's status endpoint, for the calling bot: who it is and how it authenticated, its
    usage this month, its budget, and what became of everything it sent (accepted, duplicate,
    rejected, and accepted without an idempotency key: unkeyed)."""

    authentication_classes = BOT_AUTHENTICATION
    permission_classes = [HasBotScope.of("status:read")]

    class OutputSerializer(serializers.Serializer):
        class BotSerializer(serializers.Serializer):
            id = serializers.CharField(source="bot_id")
            name = serializers.CharField()
            scopes = serializers.ListField(child=serializers.CharField())
            last_seen_at = serializers.DateTimeField(allow_null=True)

        status = serializers.CharField()
        bot = BotSerializer()
        authentication = serializers.DictField()
        usage_month = serializers.DictField()
        budget = serializers.DictField(allow_null=True)
        over_budget = serializers.BooleanField()
        counts = serializers.DictField()

    @extend_schema(operation_id="bots_me", responses={200: OutputSerializer})
    def get(self, request):
        bot = request.auth
        budget = budget_state(bot=bot)
        method = "headers" if isinstance(request.successful_authenticator, BotHeaderAuthentication) else "bearer"
        return Response(self.OutputSerializer({
            "status": "ok",
            "bot": bot,
            "authentication": {"method": method, "scopes": bot.scopes, "active": bot.is_active},
            "usage_month": usage_month_get(bot=bot),
            "budget": budget.as_dict() if budget else None,
            "over_budget": bool(budget and budget.over),
            "counts": intake_counts_get(bot=bot),
        }).data)
