"""The bots' token-usage routes (seed 000): one record, or a batch with a result per record."""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import BOT_AUTHENTICATION, HasBotScope
from accounts.usage import services
from project import intake
from project.jsonbody import BoundedJSONParser

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
