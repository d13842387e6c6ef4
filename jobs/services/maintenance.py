"""Keeping the job table honest: fail jobs whose worker died, remove old ones."""

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from rq.exceptions import NoSuchJobError
from rq.job import Job as RQJob
from rq.job import JobStatus as RQStatus

from jobs.models import CallbackDelivery, Job, JobLog, JobStatus
from jobs.queues import redis_connection
from jobs.services import lifecycle

logger = logging.getLogger(__name__)

WORKER_DIED = (
    "O worker que executava este job parou inesperadamente (processo encerrado). "
    "O job foi interrompido; crie-o novamente."
)
NEVER_QUEUED = "O job não chegou à fila de execução (Redis indisponível) e não pôde ser iniciado a tempo."
QUEUE_FAILED = "O job foi descartado pela fila antes de iniciar."
REQUEUED = "O job não estava mais na fila de execução (Redis reiniciado ou indisponível); foi recolocado na fila."


def jobs_reap() -> int:
    """Fail RUNNING jobs with a stale heartbeat. A PENDING job the queue lost (a Redis restart,
    a worker that died before starting it) has not started, so it is queued again, unless it
    is older than JOB_ACCOUNT_WAIT_SECONDS or was cancelled in the queue: then it fails.
    Returns how many jobs were failed."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT_SECONDS)
    reaped = 0
    dead = Job.objects.filter(status=JobStatus.RUNNING).filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, started_at__lt=stale)
    )
    for job_id in dead.values_list("id", flat=True):
        reaped += job_fail_unless_finished(job_id, WORKER_DIED, "worker")

    grace = now - timedelta(seconds=settings.JOB_ENQUEUE_GRACE_SECONDS)
    too_old = now - timedelta(seconds=settings.JOB_ACCOUNT_WAIT_SECONDS)
    connection = redis_connection()
    pending = Job.objects.filter(status=JobStatus.PENDING, created_at__lt=grace)
    for job in pending.only("id", "created_at", "heartbeat_at"):
        problem = _queue_problem(job, connection, stale)
        if problem is None:
            continue
        if problem in (NEVER_QUEUED, QUEUE_LOST) and job.created_at >= too_old:
            lifecycle.job_enqueue(job=job)
            lifecycle.job_log(job_id=job.id, level=JobLog.Level.WARNING, message=REQUEUED)
            logger.warning("job %s was no longer in the queue; queued again", job.id)
            continue
        reaped += job_fail_unless_finished(job.id, QUEUE_FAILED if problem == CANCELLED else NEVER_QUEUED, "queue")
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


# What the queue did with a job the database still holds as PENDING.
QUEUE_LOST = "lost"  # rq failed it, or its worker died, before it started
CANCELLED = "cancelled"  # someone stopped or cancelled it in the queue (django-rq's admin)


def _queue_problem(job: Job, connection, stale: datetime) -> str | None:
    try:
        rq_job = RQJob.fetch(str(job.id), connection=connection)
    except NoSuchJobError:
        return NEVER_QUEUED
    status = rq_job.get_status(refresh=False)
    if status == RQStatus.FAILED:
        return QUEUE_LOST
    if status in (RQStatus.STOPPED, RQStatus.CANCELED):
        return CANCELLED
    if status == RQStatus.STARTED and _taken_by_a_dead_worker(job, rq_job, stale):
        return QUEUE_LOST
    return None


def _taken_by_a_dead_worker(job: Job, rq_job: RQJob, stale: datetime) -> bool:
    """A worker took the job but did not start it: a worker waiting for a run slot stamps the
    job's heartbeat; one that fell silent since taking it is gone."""
    taken_at = rq_job.started_at
    if taken_at is None:
        return False
    if timezone.is_naive(taken_at):
        taken_at = timezone.make_aware(taken_at, UTC)
    last_sign = max(taken_at, job.heartbeat_at) if job.heartbeat_at else taken_at
    return last_sign < stale


def job_fail_unless_finished(job_id, message: str, category: str) -> int:
    """Fail a job on behalf of the maintenance pass; 1 if it was failed, 0 if it had finished."""
    try:
        lifecycle.job_fail(job_id=job_id, error=message, category=category)
    except lifecycle.InvalidTransition:
        return 0  # it finished on its own meanwhile
    logger.warning("job %s failed by the maintenance pass: %s", job_id, message)
    return 1
