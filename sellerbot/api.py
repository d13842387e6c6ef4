"""/bot/*: the Seller Bot's automation routes, with seed 004's paths (JWT or the console's session).

They speak the seed's error dialect (project/seed.py): 422 `{detail: [{loc, msg, type}]}` for
bad input, `{detail}` sentences otherwise. Unknown ids and other users' ids are the same 404.
"""

import logging
import math

from django.db.models import Count
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from jobs.permissions import CanCreateJobs
from jobs.services.lifecycle import QueueUnavailable
from project.ratelimit import PerUserMinuteThrottle, RedisMinuteThrottle
from project.seed import SeedAPIView, SeedErrorSerializer, SeedValidationErrorSerializer
from sellerbot import selectors, services
from sellerbot.serializers import (
    ProfileCreateSerializer,
    ProfileSerializer,
    ProfileVerifySerializer,
    SwitchSerializer,
    TaskCreateSerializer,
    TaskSerializer,
    id_from_path,
)

logger = logging.getLogger(__name__)

DETAIL = SeedErrorSerializer
INVALID = SeedValidationErrorSerializer
WITH_TASKS = OpenApiParameter("with_tasks", bool, description="Remove também as tarefas do perfil.")


class BotApiThrottle(RedisMinuteThrottle):
    scope = "bot-api"
    rate_setting = "BOT_API_RATE_PER_MINUTE"


class BotSwitchThrottle(PerUserMinuteThrottle):
    scope = "bot-switch"
    rate_setting = "BOT_SWITCH_RATE_PER_MINUTE"


class QueueUnavailableError(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = (
        "Fila do Seller Bot indisponível no momento (Redis fora do ar); tente novamente em alguns segundos."
    )
    wait = 5


class BotApi(SeedAPIView):
    permission_classes = [IsAuthenticated, CanCreateJobs]
    throttle_classes = [BotApiThrottle]

    def throttled(self, request, wait):
        seconds = math.ceil(wait or 1)
        raise exceptions.Throttled(
            wait=seconds, detail=f"Muitas requisições ao Seller Bot; tente novamente em {seconds} s.",
        )


class ProfilesApi(BotApi):
    @extend_schema(operation_id="bot_profiles_list", responses={200: ProfileSerializer(many=True)})
    def get(self, request):
        # An aggregate drops the model's ordering: ask for it again.
        profiles = (selectors.profiles_visible(user=request.user).annotate(task_count=Count("tasks"))
                    .order_by("name", "id"))
        return Response(ProfileSerializer(profiles, many=True).data)

    @extend_schema(operation_id="bot_profiles_create", request=ProfileCreateSerializer,
                   responses={201: ProfileSerializer, 409: DETAIL, 422: INVALID})
    def post(self, request):
        payload = ProfileCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            profile = services.profile_create(owner=request.user, **payload.validated_data)
        except services.ProfileExists:
            return Response({"detail": "Já existe um perfil seu para esta conta do TikTok nesta região."},
                            status=status.HTTP_409_CONFLICT)
        return Response(ProfileSerializer(profile).data, status=status.HTTP_201_CREATED)


class ProfileApi(BotApi):
    @extend_schema(operation_id="bot_profiles_get", responses={200: ProfileSerializer, 404: DETAIL})
    def get(self, request, profile_id: str):
        return Response(ProfileSerializer(_profile(request, profile_id)).data)

    @extend_schema(operation_id="bot_profiles_delete", parameters=[WITH_TASKS],
                   responses={204: None, 404: DETAIL, 409: DETAIL})
    def delete(self, request, profile_id: str):
        profile = _profile(request, profile_id)
        with_tasks = request.query_params.get("with_tasks", "").lower() in ("1", "true", "yes", "sim")
        try:
            services.profile_delete(profile=profile, with_tasks=with_tasks)
        except services.TaskBusy as busy:
            return _conflict(f"O perfil tem tarefas na fila ou em execução ({_ids(busy.task_ids)}); "
                             "pare o bot ou espere elas terminarem antes de removê-lo.")
        except services.ProfileHasTasks as has:
            return _conflict(f"O perfil tem tarefas ({_ids(has.task_ids)}); remova-as antes ou use "
                             "?with_tasks=true para removê-las junto com o perfil.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProfileVerifyApi(BotApi):
    @extend_schema(
        operation_id="bot_profiles_verify", request=ProfileVerifySerializer,
        responses={202: OpenApiResponse(description="Verificação na fila: o perfil muda de situação ao terminar."),
                   404: DETAIL, 409: DETAIL, 422: INVALID},
    )
    def post(self, request, profile_id: str):
        profile = _profile(request, profile_id)
        payload = ProfileVerifySerializer(data=request.data or {})
        payload.is_valid(raise_exception=True)
        if (pending := selectors.verify_job_pending(profile)) is not None:
            return _conflict(f"A verificação deste perfil já está em andamento (job {pending.id}).")
        try:
            job = services.profile_verify(profile=profile, code=payload.validated_data.get("code", ""))
        except QueueUnavailable:
            raise QueueUnavailableError() from None
        return Response({
            "profile_id": str(profile.pk), "job_id": str(job.id), "status": "verifying",
            "status_url": job.status_url,
            "detail": "Login no TikTok Seller Center em andamento; a situação do perfil é atualizada ao terminar.",
        }, status=status.HTTP_202_ACCEPTED)


class TasksApi(BotApi):
    @extend_schema(operation_id="bot_tasks_list", responses={200: TaskSerializer(many=True)})
    def get(self, request):
        return Response(TaskSerializer(selectors.tasks_visible(user=request.user), many=True).data)

    @extend_schema(operation_id="bot_tasks_create", request=TaskCreateSerializer,
                   responses={201: TaskSerializer, 422: INVALID})
    def post(self, request):
        payload = TaskCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        profile = selectors.profile_get(user=request.user, profile_id=data["profile_id"])
        if profile is None:
            # A 422 naming the field: the body points at something that does not exist (for them).
            missing = f"perfil {data['profile_id']} não encontrado"
            return Response({"detail": [{"loc": ["body", "profile_id"], "msg": missing,
                                         "type": "value_error.not_found"}]}, status=422)
        task = services.task_create(owner=request.user, profile=profile, task_type=data["task_type"],
                                    config=data.get("config") or {}, interval_seconds=data.get("interval_seconds"))
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)


class TaskApi(BotApi):
    @extend_schema(operation_id="bot_tasks_get", responses={200: TaskSerializer, 404: DETAIL})
    def get(self, request, task_id: str):
        return Response(TaskSerializer(_task(request, task_id)).data)

    @extend_schema(operation_id="bot_tasks_delete", responses={204: None, 404: DETAIL, 409: DETAIL})
    def delete(self, request, task_id: str):
        task = _task(request, task_id)
        try:
            services.task_delete(task=task)
        except services.TaskBusy:
            return _conflict(f"A tarefa {task.pk} está na fila ou em execução; espere ela terminar para removê-la.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class _WorkerSwitchApi(BotApi):
    throttle_classes = [BotSwitchThrottle]
    switch = staticmethod(services.worker_start)

    def post(self, request):
        payload = SwitchSerializer(data=request.data or {})
        payload.is_valid(raise_exception=True)
        try:
            self.switch(user=request.user, reason=payload.validated_data.get("reason", ""))
        except services.WorkerAlreadyInState as already:
            return _conflict(str(already))
        return Response(selectors.worker_status(user=request.user))


@extend_schema_view(post=extend_schema(operation_id="bot_start", request=SwitchSerializer,
                                       responses={200: dict, 409: DETAIL}))
class WorkerStartApi(_WorkerSwitchApi):
    switch = staticmethod(services.worker_start)


@extend_schema_view(post=extend_schema(operation_id="bot_stop", request=SwitchSerializer,
                                       responses={200: dict, 409: DETAIL}))
class WorkerStopApi(_WorkerSwitchApi):
    switch = staticmethod(services.worker_stop)


class WorkerStatusApi(BotApi):
    @extend_schema(operation_id="bot_worker_status", responses={200: dict})
    def get(self, request):
        return Response(selectors.worker_status(user=request.user))


class StatsApi(BotApi):
    @extend_schema(operation_id="bot_stats", responses={200: dict})
    def get(self, request):
        return Response(selectors.bot_stats(user=request.user))


def _profile(request, raw_id: str):
    profile_id = id_from_path(raw_id)
    profile = selectors.profile_get(user=request.user, profile_id=profile_id) if profile_id else None
    if profile is None:
        raise exceptions.NotFound(f"Perfil '{raw_id[:40]}' não encontrado")
    return profile


def _task(request, raw_id: str):
    task_id = id_from_path(raw_id)
    task = selectors.task_get(user=request.user, task_id=task_id) if task_id else None
    if task is None:
        raise exceptions.NotFound(f"Tarefa '{raw_id[:40]}' não encontrada")
    return task


def _conflict(message: str) -> Response:
    return Response({"detail": message}, status=status.HTTP_409_CONFLICT)


def _ids(ids: list[int], limit: int = 10) -> str:
    shown = ", ".join(f"#{pk}" for pk in ids[:limit])
    return shown + (f" e mais {len(ids) - limit}" if len(ids) > limit else "")
