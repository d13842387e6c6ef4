"""Job routes: the seed-compatible surface (seed 003 §4) and /api/v1/jobs."""

import logging

from django.db import connection
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from jobs import selectors
from jobs.kinds import CARRIER_KINDS, SAT_KIND
from jobs.permissions import CanCreateJobs
from jobs.queues import redis_connection
from jobs.serializers import (
    CarrierPayloadSerializer,
    HealthResponseSerializer,
    JobCreateSerializer,
    JobDetailSerializer,
    JobFilterSerializer,
    JobListQuerySerializer,
    JobListResponseSerializer,
    JobResponseSerializer,
    JobSerializer,
    JobStatusResponseSerializer,
    SatPayloadSerializer,
)
from jobs.services import lifecycle
from project.processes import processes_get
from project.seed import (
    IGNORE,
    IGNORED_FIELDS_DOC,
    SeedAPIView,
    SeedErrorSerializer,
    SeedValidationError,
    SeedValidationErrorSerializer,
    ignored_fields_header,
    validation_errors,
)

logger = logging.getLogger(__name__)

DETAIL = SeedErrorSerializer
INVALID = SeedValidationErrorSerializer


class QueueUnavailableError(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = (
        "Fila de execução indisponível no momento (Redis fora do ar); o job não foi criado. "
        "Tente novamente em alguns segundos."
    )
    wait = 5  # DRF's exception handler turns it into Retry-After


class HealthApi(SeedAPIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(operation_id="health", responses={200: HealthResponseSerializer, 503: HealthResponseSerializer})
    def get(self, request):
        problems = [name for name, check in (("banco de dados", _database_ok), ("Redis", _redis_ok)) if not check()]
        counts = {"jobs_pending": 0, "jobs_active": 0}
        if "banco de dados" not in problems:
            counts = selectors.job_counts()
        messages = [f"Indisponível: {', '.join(problems)}"] if problems else []
        processes = processes_get()
        if processes and processes.failing:
            messages.append(f"Processos falhando repetidamente: {', '.join(processes.failing)}")
        if messages:
            body = {"status": "unhealthy", "message": "; ".join(messages), **counts}
            return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "5"})
        return Response({"status": "healthy", "message": "API está funcionando", **counts})


class _JobCreateApi(SeedAPIView):
    permission_classes = [IsAuthenticated, CanCreateJobs]

    def create(self, request, kind: str, payload_class):
        payload = payload_class(data=request.data, context={"request": request}, unknown_fields=IGNORE)
        payload.is_valid(raise_exception=True)
        params, secrets, processo_id = payload.split()
        try:
            job = lifecycle.job_create(
                kind=kind, params=params, secrets=secrets, owner=request.user, processo_id=processo_id
            )
        except lifecycle.QueueUnavailable:
            logger.error("job not created: the rpa queue is unreachable")
            raise QueueUnavailableError() from None
        return ignored_fields_header(Response(JobResponseSerializer(job).data), payload.ignored_fields)


class CarrierJobCreateApi(_JobCreateApi):
    @extend_schema(
        operation_id="executar_operadora",
        request=CarrierPayloadSerializer,
        parameters=[OpenApiParameter("operadora", str, OpenApiParameter.PATH, enum=list(CARRIER_KINDS)),
                    IGNORED_FIELDS_DOC],
        responses={200: JobResponseSerializer, 403: DETAIL, 404: DETAIL, 422: INVALID, 503: DETAIL},
    )
    def post(self, request, operadora: str):
        if operadora not in CARRIER_KINDS:
            raise NotFound(f"Operadora '{operadora}' não encontrada")
        return self.create(request, operadora, CarrierPayloadSerializer)


class SatJobCreateApi(_JobCreateApi):
    @extend_schema(
        operation_id="executar_sat", request=SatPayloadSerializer, parameters=[IGNORED_FIELDS_DOC],
        responses={200: JobResponseSerializer, 403: DETAIL, 422: INVALID, 503: DETAIL},
    )
    def post(self, request):
        return self.create(request, SAT_KIND, SatPayloadSerializer)


class JobStatusApi(SeedAPIView):
    @extend_schema(operation_id="job_status", responses={200: JobStatusResponseSerializer, 404: DETAIL})
    def get(self, request, job_id: str):
        job = selectors.job_get(user=request.user, job_id=job_id)
        if job is None:
            raise NotFound(f"Job '{job_id}' não encontrado")
        return Response(JobStatusResponseSerializer(job).data)


class JobListApi(SeedAPIView):
    @extend_schema(
        operation_id="job_list", parameters=[JobListQuerySerializer],
        responses={200: JobListResponseSerializer, 422: INVALID},
    )
    def get(self, request):
        query = JobListQuerySerializer(data=request.query_params.dict())
        if not query.is_valid():
            raise SeedValidationError(validation_errors(query.errors, "query"))
        filters = query.validated_data
        jobs = selectors.job_list(user=request.user, status=filters.get("status"), kind=filters.get("operadora"))
        offset = filters["offset"]
        page = jobs[offset: offset + filters["limit"]] if "limit" in filters else jobs[offset:]
        return Response(JobListResponseSerializer({"total_jobs": jobs.count(), "jobs": page}).data)


# --- /api/v1 --------------------------------------------------------------------------------

class JobListCreateApiV1(generics.ListCreateAPIView):
    """List the jobs you may see (filter with ?status= and ?kind=), or start one."""

    serializer_class = JobSerializer
    permission_classes = [IsAuthenticated, CanCreateJobs]

    def get_queryset(self):
        filters = JobFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.job_list(user=self.request.user, **filters.validated_data)

    @extend_schema(parameters=[JobFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=JobCreateSerializer, responses={201: JobSerializer, 400: DETAIL, 403: DETAIL, 503: DETAIL})
    def post(self, request, *args, **kwargs):
        data = JobCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        try:
            job = lifecycle.job_create(
                kind=data.validated_data["kind"],
                params=data.validated_data["params"],
                secrets=data.validated_data["secrets"],
                owner=request.user,
                processo_id=data.validated_data.get("processo_id"),
            )
        except lifecycle.QueueUnavailable:
            raise QueueUnavailableError() from None
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


class JobDetailApiV1(generics.RetrieveAPIView):
    """One job with its logs and its processo callback attempts."""

    serializer_class = JobDetailSerializer
    lookup_field = "pk"

    def get_queryset(self):
        return selectors.job_list(user=self.request.user).prefetch_related("logs", "callbacks__attempt_log")


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001
        logger.warning("health: database unreachable", exc_info=True)
        return False


def _redis_ok() -> bool:
    try:
        return bool(redis_connection().ping())
    except Exception:  # noqa: BLE001
        logger.warning("health: redis unreachable", exc_info=True)
        return False
