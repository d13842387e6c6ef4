"""The dashboard side of seed 001: bots send events (one or a batch), and read the dashboard's
status and metrics."""

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import BOT_AUTHENTICATION, BotAuthFailed, BotForbidden, HasBotScope, JWTAuthentication
from accounts.bot_events import selectors, services
from accounts.models import Bot
from project import intake
from project.clock import iso_local, now_iso
from project.jsonbody import BoundedJSONParser

EventInput = inline_serializer("BotEventInput", {
    "event": serializers.CharField(max_length=100),
    "payload": serializers.DictField(),
    "id": serializers.CharField(required=False, help_text="Chave de deduplicação (texto ou número)."),
    "timestamp": serializers.CharField(required=False, help_text="ISO 8601, ou segundos/milissegundos desde 1970."),
})
EventResult = inline_serializer("BotEventResult", {
    "index": serializers.IntegerField(),
    "status": serializers.ChoiceField(choices=["accepted", "duplicate", "rejected"]),
    "key": serializers.CharField(required=False),
    "id": serializers.IntegerField(required=False),
    "reason": serializers.CharField(required=False),
    "message": serializers.CharField(required=False),
    "errors": serializers.DictField(required=False),
})
EventBatchResult = inline_serializer("BotEventBatchResult", {
    "accepted": serializers.IntegerField(), "duplicate": serializers.IntegerField(),
    "rejected": serializers.IntegerField(), "results": EventResult.__class__(many=True),
})
Error = inline_serializer("BotEventError", {"detail": serializers.CharField(), "code": serializers.CharField()})


class _EventsApi(APIView):
    authentication_classes = BOT_AUTHENTICATION
    permission_classes = [HasBotScope.of("events:write")]
    parser_classes = [BoundedJSONParser]


class BotEventCreateApi(_EventsApi):
    """One event: {event, payload, id?, timestamp?, …extra fields kept with it}. A repeated `id`
    with the same event is answered as the first time (Idempotent-Replayed: true), once stored."""

    @extend_schema(operation_id="bot_event_create", request=EventInput,
                   responses={201: EventResult, 400: Error, 401: Error, 403: Error, 409: Error, 413: Error})
    def post(self, request):
        result = services.bot_events_record(bot=request.auth, items=[request.data])[0]
        if result.status == intake.REJECTED:
            status = {"conflict": 409, "too_large": 413}.get(result.reason, 400)
            return Response({"detail": result.message, "code": result.reason, "errors": result.errors}, status=status)
        response = Response({**result.as_dict(), "status": intake.ACCEPTED}, status=201)
        if result.status == intake.DUPLICATE:
            response["Idempotent-Replayed"] = "true"
        return response


class BotEventBatchApi(_EventsApi):
    """Many events: a JSON array of {event, payload}, or {"events": [...]}, up to
    EVENTS_BATCH_MAX_EVENTS and BATCH_MAX_BODY_BYTES; a result per event, in order (200 / 207 / 422)."""

    @extend_schema(operation_id="bot_event_batch", request=EventInput.__class__(many=True),
                   responses={200: EventBatchResult, 207: EventBatchResult, 400: Error, 401: Error, 403: Error,
                              413: Error, 422: OpenApiResponse(EventBatchResult, description="Nenhum evento aceito.")})
    def post(self, request):
        try:
            items = intake.batch_items(request.data, wrapper="events", max_items=settings.EVENTS_BATCH_MAX_EVENTS,
                                       noun="eventos")
        except intake.IntakeError as error:
            return Response({"detail": error.message, "code": error.code}, status=error.status)
        results = services.bot_events_record(bot=request.auth, items=items)
        return Response(intake.batch_summary(results), status=intake.batch_http_status(results))


class IsDashboardReader(BasePermission):
    """A bot with events:write or status:read (seed 001's DASHBOARD_TOKEN), or a staff account."""

    def has_permission(self, request, view) -> bool:
        if isinstance(request.auth, Bot):
            if request.auth.has_scope("events:write") or request.auth.has_scope("status:read"):
                return True
            raise BotForbidden(code="missing_scope", message="Este bot não tem o escopo events:write nem status:read.")
        user = request.user
        if user is not None and user.is_authenticated and user.is_active and user.is_staff:
            return True
        if user is not None and user.is_authenticated:
            return False
        raise BotAuthFailed(code="missing_credentials", message="Credencial ausente: envie Authorization: "
                                                               "Bearer <token do bot> ou um JWT de equipe.")


class _DashboardApi(APIView):
    authentication_classes = [*BOT_AUTHENTICATION, JWTAuthentication, SessionAuthentication]
    permission_classes = [IsDashboardReader]


class DashboardStatusApi(_DashboardApi):
    """Seed 001's getDashboardStatus."""

    @extend_schema(operation_id="dashboard_status", responses={200: inline_serializer("DashboardStatus", {
        "status": serializers.CharField(), "version": serializers.CharField(), "time": serializers.DateTimeField(),
    })})
    def get(self, request):
        return Response({"status": "online", "version": settings.SPECTACULAR_SETTINGS["VERSION"],
                         "time": now_iso()})


class DashboardMetricsApi(_DashboardApi):
    """Seed 001's getDashboardMetrics."""

    @extend_schema(operation_id="dashboard_metrics", responses={200: inline_serializer("DashboardMetrics", {
        "events": serializers.DictField(), "active_bots": serializers.IntegerField(),
        "users": serializers.IntegerField(), "orders": serializers.IntegerField(),
        "time": serializers.DateTimeField(),
    })})
    def get(self, request):
        metrics = selectors.dashboard_metrics_get()
        return Response({**metrics, "time": iso_local(metrics["time"])})
