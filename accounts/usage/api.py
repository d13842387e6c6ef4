"""The bots' token-usage routes (seed 000): one record, or a batch with a result per record."""

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import BOT_AUTHENTICATION, HasBotScope
from accounts.models import Bot, TokenUsage
from accounts.usage import exports, selectors, services
from project import intake
from project.jsonbody import BoundedJSONParser
from project.pagination import BoundedLimitOffsetPagination

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX = 180  # leaves room for ":<position>" within request_id's 200 characters
REPLAYED_HEADER = "Idempotent-Replayed"

IDEMPOTENCY_DOC = OpenApiParameter(
    IDEMPOTENCY_HEADER, str, OpenApiParameter.HEADER, required=False,
    description="Chave de idempotência, no lugar do request_id do corpo (num lote: a chave dos itens sem "
                "request_id, seguida de ':<posição>').",
)
BUDGET_DOC = OpenApiParameter(
    "X-Budget-Remaining", str, OpenApiParameter.HEADER, response=True,
    description="Quanto resta do orçamento mensal do bot (tokens, ou USD), quando ele tem um; "
                "X-Budget-Unit diz a unidade.",
)

RecordInput = inline_serializer("TokenUsageRecord", {
    "model": serializers.CharField(max_length=100),
    "prompt_tokens": serializers.IntegerField(min_value=0),
    "completion_tokens": serializers.IntegerField(min_value=0),
    "total_tokens": serializers.IntegerField(min_value=0, required=False,
                                             help_text="Se enviado, deve ser a soma dos dois acima."),
    "cached_tokens": serializers.IntegerField(min_value=0, required=False, help_text="Parte de prompt_tokens."),
    "reasoning_tokens": serializers.IntegerField(min_value=0, required=False,
                                                 help_text="Parte de completion_tokens."),
    "request_id": serializers.CharField(max_length=200, required=False, help_text="Chave de idempotência."),
    "conversation_id": serializers.CharField(max_length=200, required=False),
    "occurred_at": serializers.DateTimeField(required=False, help_text="Padrão: agora."),
    "metadata": serializers.DictField(required=False),
})
RecordOutput = inline_serializer("TokenUsageAccepted", {
    "index": serializers.IntegerField(),
    "status": serializers.ChoiceField(choices=["accepted", "duplicate", "rejected"]),
    "key": serializers.CharField(required=False),
    "id": serializers.IntegerField(required=False),
    "model": serializers.CharField(required=False),
    "total_tokens": serializers.IntegerField(required=False),
    "cost": serializers.CharField(allow_null=True, required=False, help_text="USD; null sem preço do modelo."),
    "priced": serializers.BooleanField(required=False),
    "reason": serializers.CharField(required=False),
    "message": serializers.CharField(required=False),
    "errors": serializers.DictField(required=False),
})
BatchOutput = inline_serializer("TokenUsageBatchResult", {
    "accepted": serializers.IntegerField(),
    "duplicate": serializers.IntegerField(),
    "rejected": serializers.IntegerField(),
    "results": RecordOutput.__class__(many=True),
})
BotError = inline_serializer("BotError", {
    "detail": serializers.CharField(), "code": serializers.CharField(), "errors": serializers.DictField(required=False),
})


class _BotIntakeApi(APIView):
    authentication_classes = BOT_AUTHENTICATION
    permission_classes = [HasBotScope.of("usage:write")]
    parser_classes = [BoundedJSONParser]

    def idempotency_key(self, request) -> str | None:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return None
        key = key.strip()
        if not key or len(key) > IDEMPOTENCY_KEY_MAX:
            raise _Refused(400, "invalid", f"Cabeçalho {IDEMPOTENCY_HEADER} inválido: de 1 a "
                                           f"{IDEMPOTENCY_KEY_MAX} caracteres.",
                           {IDEMPOTENCY_HEADER: ["de 1 a 180 caracteres"]})
        return key

    def handle_exception(self, exc):
        if isinstance(exc, _Refused):
            return exc.response()
        return super().handle_exception(exc)


class TokenUsageCreateApi(_BotIntakeApi):
    """Record one LLM call's tokens. A repeated request_id (or Idempotency-Key) with the same body
    gets the first answer again (header Idempotent-Replayed: true) and is not counted twice; with
    another body, 409."""

    @extend_schema(
        operation_id="token_usage_create", request=RecordInput, parameters=[IDEMPOTENCY_DOC, BUDGET_DOC],
        responses={201: RecordOutput, 400: BotError, 401: BotError, 403: BotError, 409: BotError, 413: BotError,
                   429: BotError},
    )
    def post(self, request):
        outcome = services.usage_record_many(bot=request.auth, items=[request.data],
                                             idempotency_key=self.idempotency_key(request), single=True)
        result = outcome.results[0]
        if result.status == intake.REJECTED:
            status = 409 if result.reason == "conflict" else 400
            detail = result.message if status == 409 else f"Registro de consumo inválido: {result.message}"
            return _budget_headers(Response({"detail": detail, "code": result.reason, "errors": result.errors},
                                            status=status), outcome.budget)
        body = {**result.as_dict(), "status": intake.ACCEPTED}
        response = Response(body, status=201)
        if result.status == intake.DUPLICATE:
            response[REPLAYED_HEADER] = "true"
        return _budget_headers(response, outcome.budget)


class TokenUsageBatchApi(_BotIntakeApi):
    """Record many calls at once: a JSON array of records, or {"records": [...]}, up to
    USAGE_BATCH_MAX_RECORDS and BATCH_MAX_BODY_BYTES. One result per record, in order: 200 when
    every one was accepted or a duplicate, 207 when some were rejected, 422 when all were."""

    @extend_schema(
        operation_id="token_usage_batch", request=RecordInput.__class__(many=True),
        parameters=[IDEMPOTENCY_DOC, BUDGET_DOC],
        responses={200: BatchOutput, 207: BatchOutput, 400: BotError, 401: BotError, 403: BotError,
                   413: BotError, 422: OpenApiResponse(BatchOutput, description="Nenhum registro aceito."),
                   429: BotError},
    )
    def post(self, request):
        try:
            items = intake.batch_items(request.data, wrapper="records", max_items=settings.USAGE_BATCH_MAX_RECORDS,
                                       noun="registros")
        except intake.IntakeError as error:
            return Response({"detail": error.message, "code": error.code}, status=error.status)
        outcome = services.usage_record_many(bot=request.auth, items=items,
                                             idempotency_key=self.idempotency_key(request))
        return _budget_headers(
            Response(intake.batch_summary(outcome.results), status=intake.batch_http_status(outcome.results)),
            outcome.budget,
        )


class _Refused(Exception):
    def __init__(self, status: int, code: str, detail: str, errors: dict | None = None):
        self.status, self.code, self.detail, self.errors = status, code, detail, errors

    def response(self) -> Response:
        body = {"detail": self.detail, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return Response(body, status=self.status)


def _budget_headers(response: Response, budget) -> Response:
    if budget is not None:
        response["X-Budget-Remaining"] = budget.remaining_text()
        response["X-Budget-Unit"] = "tokens" if budget.unit == "tokens" else "USD"
    return response


# --- reading usage: staff frontends (JWT or session), never a bot credential --------------------

USAGE_READ_PERMISSION = "accounts.view_tokenusage"


class CanReadUsage(BasePermission):
    """A staff account with accounts.view_tokenusage. Bots are not let in: their credentials are
    not among this route's authentications, so a bot token answers 401."""

    message = "Você não tem permissão para ver o consumo de tokens (permissão accounts.view_tokenusage)."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff and user.has_perm(USAGE_READ_PERMISSION))


class UsageFilterSerializer(serializers.Serializer):
    """The usage routes' filters; `from` and `to` are days in TIME_ZONE, both included."""

    bot = serializers.CharField(required=False, max_length=32, help_text="O bot_id de um bot.")
    model = serializers.CharField(required=False, max_length=100)
    conversation_id = serializers.CharField(required=False, max_length=200)

    def get_fields(self):
        # "from" is a Python keyword: these two cannot be class attributes.
        return {
            "from": serializers.DateField(required=False, help_text="Primeiro dia (AAAA-MM-DD), no fuso do console."),
            "to": serializers.DateField(required=False, help_text="Último dia (AAAA-MM-DD), incluído."),
            **super().get_fields(),
        }

    def validate_bot(self, value: str) -> Bot:
        bot = Bot.objects.filter(bot_id=value.strip()).first()
        if bot is None:
            raise serializers.ValidationError(f"Nenhum bot com o bot_id {value[:32]!r}.")
        return bot

    def validate(self, attrs):
        if attrs.get("from") and attrs.get("to") and attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"to": ["O último dia é anterior ao primeiro (from)."]})
        return attrs

    def criteria(self) -> dict:
        data = self.validated_data
        return {"start": data.get("from"), "end": data.get("to"), "bot": data.get("bot"),
                "model": data.get("model"), "conversation_id": data.get("conversation_id")}

    @classmethod
    def parse(cls, request) -> dict:
        filters = cls(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return filters.criteria()


class UsageRecordSerializer(serializers.ModelSerializer):
    bot_id = serializers.CharField(source="bot.bot_id")
    bot_name = serializers.CharField(source="bot.name")
    cost = serializers.DecimalField(max_digits=26, decimal_places=10, allow_null=True,
                                    help_text="USD; null quando o modelo não tinha preço.")
    priced = serializers.SerializerMethodField()

    class Meta:
        model = TokenUsage
        fields = ("id", "bot_id", "bot_name", "model", "prompt_tokens", "completion_tokens", "total_tokens",
                  "cached_tokens", "reasoning_tokens", "cost", "priced", "request_id", "conversation_id",
                  "occurred_at", "received_at", "metadata")

    def get_priced(self, usage) -> bool:
        return usage.cost is not None


UsageSummary = inline_serializer("UsageSummary", {
    "records": serializers.IntegerField(),
    "prompt_tokens": serializers.IntegerField(), "completion_tokens": serializers.IntegerField(),
    "cached_tokens": serializers.IntegerField(), "reasoning_tokens": serializers.IntegerField(),
    "total_tokens": serializers.IntegerField(),
    "cost": serializers.CharField(help_text="USD, seis casas; sem os registros sem preço."),
    "unpriced_records": serializers.IntegerField(help_text="Registros de modelos sem preço (custo ausente)."),
})
UsagePage = inline_serializer("UsagePage", {
    "count": serializers.IntegerField(), "next": serializers.URLField(allow_null=True),
    "previous": serializers.URLField(allow_null=True), "results": UsageRecordSerializer(many=True),
    "summary": UsageSummary,
})
ReadError = inline_serializer("UsageReadError", {"detail": serializers.CharField()})
FILTER_ERRORS = OpenApiResponse(
    inline_serializer("UsageFilterErrors", {"from": serializers.ListField(child=serializers.CharField(),
                                                                          required=False)}),
    description="Um filtro inválido, nomeado: {\"<parâmetro>\": [\"motivo\"]}.",
)


PAGE_PARAMETERS = [
    OpenApiParameter("limit", int, description="Registros por página (1 a 500; padrão 50)."),
    OpenApiParameter("offset", int, description="Quantos registros pular."),
]


class _SummaryCountPagination(BoundedLimitOffsetPagination):
    """limit/offset paging whose total is the summary's record count (from the rollups) instead
    of a COUNT(*) over the records."""

    def __init__(self, count: int):
        self.known_count = count

    def get_count(self, queryset) -> int:
        return self.known_count


class UsageListApi(APIView):
    """Usage records, newest first, with the filters' summary (records, tokens, cost, unpriced).
    Paged with limit/offset (up to 500 a page); `count` and `summary` cover every page."""

    permission_classes = [CanReadUsage]

    @extend_schema(operation_id="usage_list", parameters=[UsageFilterSerializer, *PAGE_PARAMETERS],
                   responses={200: UsagePage, 400: FILTER_ERRORS, 401: ReadError, 403: ReadError})
    def get(self, request):
        criteria = UsageFilterSerializer.parse(request)
        summary = selectors.usage_summary_get(**criteria)
        paginator = _SummaryCountPagination(summary["records"])
        page = paginator.paginate_queryset(selectors.usage_list(**criteria), request, view=self)
        response = paginator.get_paginated_response(UsageRecordSerializer(page, many=True).data)
        response.data["summary"] = summary
        return response


class _JsonErrors(BaseContentNegotiation):
    """The CSV route answers CSV or, for a refusal, JSON, whatever the client's Accept says."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class UsageExportApi(APIView):
    """The usage records of the same filters as CSV (semicolons, UTF-8 with a byte order mark,
    decimal comma in the cost, local times), streamed; a cell that a spreadsheet would run as a
    formula is written as text."""

    permission_classes = [CanReadUsage]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _JsonErrors

    @extend_schema(operation_id="usage_export_csv", parameters=[UsageFilterSerializer],
                   responses={(200, "text/csv"): OpenApiTypes.STR, 400: FILTER_ERRORS, 401: ReadError,
                              403: ReadError})
    def get(self, request):
        criteria = UsageFilterSerializer.parse(request)
        records = selectors.usage_list(**criteria)
        asgi = isinstance(request._request, ASGIRequest)
        rows = exports.usage_csv_rows_async(records) if asgi else exports.usage_csv_rows(records)
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="consumo-{stamp}.csv"'
        return response
