"""Keeping the job table honest: fail jobs whose worker died, remove old ones."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from rq.exceptions import NoSuchJobError
from rq.job import Job as RQJob
from rq.job import JobStatus as RQStatus

from jobs.models import CallbackDelivery, Job, JobStatus
from jobs.queues import redis_connection
from jobs.services import lifecycle

logger = logging.getLogger(__name__)

WORKER_DIED = (
    "O worker que executava este job parou inesperadamente (processo encerrado). "
    "O job foi interrompido; crie-o novamente."
)
NEVER_QUEUED = "O job não chegou à fila de execução (Redis indisponível no momento da criação)."
QUEUE_FAILED = "O job foi descartado pela fila antes de iniciar."


def jobs_reap() -> int:
    """Fail RUNNING jobs with a stale heartbeat and PENDING jobs the queue no longer holds."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT_SECONDS)
    reaped = 0
    dead = Job.objects.filter(status=JobStatus.RUNNING).filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, started_at__lt=stale)
    )
    for job_id in dead.values_list("id", flat=True):
        reaped += job_fail_unless_finished(job_id, WORKER_DIED, "worker")

    grace = now - timedelta(seconds=settings.JOB_ENQUEUE_GRACE_SECONDS)
    connection = redis_connection()
    for job_id in Job.objects.filter(status=JobStatus.PENDING, created_at__lt=grace).values_list("id", flat=True):
        problem = _queue_problem(str(job_id), connection)
        if problem:
            reaped += job_fail_unless_finished(job_id, problem, "queue")
    return reaped


def jobs_purge_expired() -> int:
    """Delete finished jobs older than JOB_RETENTION_HOURS, with their logs, secrets and files."""
    cutoff = timezone.now() - timedelta(hours=settings.JOB_RETENTION_HOURS)
    expired = Job.objects.filter(status__in=Job.FINISHED, completed_at__lt=cutoff)
    count = 0
    for job in expired.defer("secrets").prefetch_related("artifacts"):
        for artifact in job.artifacts.all():
            artifact.file.delete(save=False)
        job.delete()
        count += 1
    CallbackDelivery.objects.exclude(state=CallbackDelivery.State.PENDING).filter(created_at__lt=cutoff).delete()
    if count:
        logger.info("removed %s job(s) older than %s h", count, settings.JOB_RETENTION_HOURS)
    return count


def _queue_problem(rq_job_id: str, connection) -> str | None:
    try:
        rq_job = RQJob.fetch(rq_job_id, connection=connection)
    except NoSuchJobError:
        return NEVER_QUEUED
    if rq_job.get_status(refresh=False) in (RQStatus.FAILED, RQStatus.STOPPED, RQStatus.CANCELED):
        return QUEUE_FAILED
    return None


def job_fail_unless_finished(job_id, message: str, category: str) -> int:
    """Fail a job on behalf of the maintenance pass; 1 if it was failed, 0 if it had finished."""
    try:
        lifecycle.job_fail(job_id=job_id, error=message, category=category)
    except lifecycle.InvalidTransition:
        return 0  # it finished on its own meanwhile
    logger.warning("job %s failed by the maintenance pass: %s", job_id, message)
    return 1
