import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone
from redis.exceptions import RedisError
from rq import Worker

from jobs.kinds import CARRIER_KINDS
from jobs.models import CallbackAttempt, CallbackDelivery, Job, JobStatus
from jobs.queues import RPA_QUEUE, queue, redis_connection
from project.processes import processes_get


def job_list(*, user, status: str | None = None, kind: str | None = None,
             created_from: date | None = None, created_to: date | None = None,
             error_category: str | None = None, finished_within_hours: int | None = None,
             search: str | None = None) -> QuerySet[Job]:
    """Jobs `user` may see, newest first: staff see every job, others their own.

    `search` finds a job by its id (or the start of it), its `filtro`, its CNPJ (with or without
    punctuation) or its `processo_id`.
    """
    jobs = Job.objects.defer("secrets").order_by("-created_at")
    if not user.is_staff:
        jobs = jobs.filter(owner=user)
    if status:
        jobs = jobs.filter(status=status)
    if kind:
        jobs = jobs.filter(kind=kind)
    if created_from:
        jobs = jobs.filter(created_at__date__gte=created_from)
    if created_to:
        jobs = jobs.filter(created_at__date__lte=created_to)
    if error_category:
        jobs = jobs.filter(error_category=error_category)
    if finished_within_hours:
        jobs = jobs.filter(completed_at__gte=timezone.now() - timedelta(hours=finished_within_hours))
    if search and search.strip():
        jobs = jobs.filter(_search_condition(search.strip()))
    return jobs


def _search_condition(text: str) -> Q:
    condition = Q(params__filtro__icontains=text) | Q(params__cnpj__icontains=text)
    digits = re.sub(r"\D", "", text)
    if len(digits) == 14 and re.fullmatch(r"[\d./\s-]+", text):
        # A CNPJ is kept as it was typed: look for it with and without punctuation.
        punctuated = f"{digits[:2]}.{digits[2:5]}.{digits[5:8]}/{digits[8:12]}-{digits[12:]}"
        condition |= Q(params__cnpj=digits) | Q(params__cnpj=punctuated)
    if re.fullmatch(r"[0-9a-fA-F-]{4,36}", text):
        # The list shows the first 8 characters of an id; any start of one finds it.
        condition |= Q(id__istartswith=text) | Q(processo_id__istartswith=text)
    return condition


def job_visible(*, user, owner_id) -> bool:
    """Whether `user` may see a job owned by `owner_id`: the rule job_list applies, for one event."""
    return user.is_staff or (owner_id is not None and owner_id == user.pk)


def job_get(*, user, job_id: str) -> Job | None:
    """The job with this id if `user` may see it; None for unknown ids and malformed ones alike."""
    try:
        pk = UUID(str(job_id))
    except ValueError:
        return None
    return job_list(user=user).prefetch_related("logs").filter(pk=pk).first()


def invoice_paths_for_user(*, user) -> list[str]:
    """The stored invoices `user` may send to SAT, newest first (the SAT form's picker).

    An invoice is the result of a completed carrier job `user` may see (staff: any job's) that
    is still in storage; a job's failure evidence (its artifacts) never is one.
    """
    paths = _invoice_jobs_for_user(user).order_by("-completed_at").values_list("result", flat=True)
    return [path for path in dict.fromkeys(paths) if _stored(path)]


def invoice_path_for_user(*, user, nome_arquivo: str) -> str | None:
    """The storage path a SAT job's `nome_arquivo` names, if it is one of the invoices
    invoice_paths_for_user offers `user`; None otherwise, whatever the reason, so that the
    answer says nothing about files `user` may not use."""
    path = invoice_storage_path(nome_arquivo)
    if not path or not _invoice_jobs_for_user(user).filter(result=path).exists():
        return None
    return path if _stored(path) else None


def invoice_storage_path(nome_arquivo: str) -> str:
    """Where `nome_arquivo` is stored: a bare name lives in the invoice folder (faturas/<name>),
    a name with a folder is taken as the storage path itself."""
    name = nome_arquivo.strip()
    if not name:
        return ""
    return name if "/" in name else f"{settings.INVOICE_STORAGE_DIR}/{name}"


def _invoice_jobs_for_user(user) -> QuerySet[Job]:
    if user is None or not user.is_authenticated:
        return Job.objects.none()
    return job_list(user=user).filter(
        status=JobStatus.COMPLETED, kind__in=CARRIER_KINDS, result__startswith=f"{settings.INVOICE_STORAGE_DIR}/",
    )


def _stored(path: str) -> bool:
    try:
        return default_storage.exists(path)
    except (OSError, SuspiciousFileOperation):
        return False


def job_counts() -> dict[str, int]:
    """How many jobs wait in the queue and how many run now (seed 003 §4.2.1)."""
    counts = Job.objects.aggregate(
        pending=Count("id", filter=Q(status=JobStatus.PENDING)),
        active=Count("id", filter=Q(status=JobStatus.RUNNING)),
    )
    return {"jobs_pending": counts["pending"], "jobs_active": counts["active"]}


async def job_status_counts() -> dict[str, int]:
    """The /events/logs system_status figures: queued, running, and finished jobs still kept."""
    counts = await Job.objects.aaggregate(
        pending=Count("id", filter=Q(status=JobStatus.PENDING)),
        active=Count("id", filter=Q(status=JobStatus.RUNNING)),
        done=Count("id", filter=Q(status__in=Job.FINISHED)),
    )
    return {"jobs_pending": counts["pending"], "jobs_active": counts["active"], "jobs_done": counts["done"]}



# --- dashboard pages ------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    queue_depth: int | None  # None: Redis did not answer
    workers_alive: int | None
    workers_expected: int | None  # None: no supervisor (make run) reports on this machine
    failing_processes: list[str]  # processes the supervisor keeps restarting
    running: list[Job]
    pending: int
    completed_24h: int
    failed_24h: int
    per_hour: list[dict]


def overview_get(*, now: datetime | None = None) -> Overview:
    now = now or timezone.now()
    since = now - timedelta(hours=24)
    counts = Job.objects.aggregate(
        pending=Count("id", filter=Q(status=JobStatus.PENDING)),
        completed=Count("id", filter=Q(status=JobStatus.COMPLETED, completed_at__gte=since)),
        failed=Count("id", filter=Q(status=JobStatus.FAILED, completed_at__gte=since)),
    )
    depth, workers = _queue_figures()
    processes = processes_get()
    if processes and workers is not None:
        # Under make run the supervisor knows which worker processes are up; rq keeps counting a
        # worker killed with SIGKILL until its key expires (minutes later).
        workers = processes.workers_running
    running = list(Job.objects.defer("secrets").filter(status=JobStatus.RUNNING).order_by("started_at")[:20])
    return Overview(
        queue_depth=depth, workers_alive=workers, running=running, pending=counts["pending"],
        workers_expected=processes.workers_expected if processes else None,
        failing_processes=processes.failing if processes else [],
        completed_24h=counts["completed"], failed_24h=counts["failed"], per_hour=jobs_per_hour(now=now),
    )


def jobs_per_hour(*, now: datetime, hours: int = 24) -> list[dict]:
    """Jobs created in each of the last `hours` hours (local time), by their status now."""
    tz = timezone.get_current_timezone()
    last_hour = timezone.localtime(now, tz).replace(minute=0, second=0, microsecond=0)
    first_hour = last_hour - timedelta(hours=hours - 1)
    rows = (
        Job.objects.filter(created_at__gte=first_hour)
        .annotate(hour=TruncHour("created_at", tzinfo=tz))
        .values("hour", "status")
        .annotate(n=Count("id"))
    )
    counts = {(timezone.localtime(row["hour"], tz), row["status"]): row["n"] for row in rows}
    buckets = []
    for offset in range(hours):
        hour = first_hour + timedelta(hours=offset)
        by_status = {status: counts.get((hour, status), 0) for status in JobStatus.values}
        buckets.append({"hour": hour, "total": sum(by_status.values()), **by_status})
    return buckets


def job_retry_needs_credentials(job: Job) -> bool:
    """Whether retrying `job` needs a new portal password: the portal refused its own."""
    return job.status == JobStatus.FAILED and job.error_category == "auth" and "senha" in (job.secrets or {})


@dataclass(frozen=True)
class RetrySelection:
    """Jobs picked for a bulk retry, sorted by what a retry can do with them."""

    retryable: list[Job]
    needs_credentials: list[Job]  # the portal refused their password: each needs a new one
    not_failed: list[Job]
    unknown: int  # ids of no job the user may see


def job_retry_selection(*, user, job_ids: list[UUID]) -> RetrySelection:
    """The jobs of `job_ids` that `user` may see, sorted for a bulk retry."""
    jobs = list(Job.objects.filter(pk__in=job_list(user=user).filter(pk__in=job_ids).values("pk"))
                .select_related("owner").order_by("-created_at"))
    failed = [job for job in jobs if job.status == JobStatus.FAILED]
    return RetrySelection(
        retryable=[job for job in failed if not job_retry_needs_credentials(job)],
        needs_credentials=[job for job in failed if job_retry_needs_credentials(job)],
        not_failed=[job for job in jobs if job.status != JobStatus.FAILED],
        unknown=len(set(job_ids)) - len(jobs),
    )


@dataclass(frozen=True)
class CallbackHistory:
    """One processo delivery of a job, with the requests of its latest attempts, newest first."""

    delivery: CallbackDelivery
    requests: list[CallbackAttempt]
    earlier_attempts: int


def job_callback_history(*, job: Job, latest_attempts: int = 5) -> list[CallbackHistory]:
    """The job's processo deliveries; each attempt tries up to three URL forms, so a delivery that
    kept failing holds many requests: only those of its `latest_attempts` attempts are loaded."""
    history = []
    for delivery in job.callbacks.all():
        first_shown = max(1, delivery.attempts - latest_attempts + 1)
        shown = delivery.attempt_log.filter(attempt__gte=first_shown)
        requests = list(shown.order_by("-attempt", "attempted_at", "id"))
        history.append(CallbackHistory(delivery, requests, earlier_attempts=first_shown - 1))
    return history


def job_result_file(job: Job) -> str | None:
    """The stored file a completed job produced (an invoice), if it is still in storage."""
    if job.status != JobStatus.COMPLETED or not job.result or " " in job.result:
        return None
    try:
        return job.result if default_storage.exists(job.result) else None
    except (OSError, SuspiciousFileOperation):  # not a storage path after all
        return None


def _queue_figures() -> tuple[int | None, int | None]:
    try:
        return queue(RPA_QUEUE).count, Worker.count(connection=redis_connection())
    except RedisError:
        return None, None
