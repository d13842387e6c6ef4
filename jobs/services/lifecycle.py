import hashlib
import hmac
import logging
from uuid import UUID

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.module_loading import import_string
from redis.exceptions import RedisError

from jobs import events
from jobs.models import Job, JobArtifact, JobLog, JobStatus
from jobs.queues import RPA_QUEUE, queue
from jobs.selectors import job_retry_needs_credentials

logger = logging.getLogger(__name__)

class InvalidTransition(Exception):
    """A status change the state machine does not allow; nothing was changed."""


class QueueUnavailable(Exception):
    """Redis could not take the job; nothing was kept."""


class CredentialsRequired(Exception):
    """The job can be retried only with new portal credentials; nothing was created."""


def job_create(*, kind: str, params: dict, secrets: dict, owner, processo_id: UUID | None = None,
               account_key: str | None = None) -> Job:
    """Store a PENDING job and put it on its queue once the row is committed.

    `account_key` names the account the job uses when it is not the portal login of its secrets
    (a Seller Bot profile): jobs on one account run one at a time.

    If the queue cannot take it, the row is removed again and QueueUnavailable raised, so no
    PENDING job is left that would never run.
    """
    try:
        with transaction.atomic():
            job = Job.objects.create(
                kind=kind,
                params=params,
                secrets=secrets,
                account_key=account_key if account_key is not None else account_key_for(
                    kind=kind, login=secrets.get("login", "")),
                owner=owner,
                processo_id=processo_id,
            )
            transaction.on_commit(lambda: job_enqueue(job=job))
    except RedisError as exc:
        Job.objects.filter(pk=job.pk).delete()
        raise QueueUnavailable(str(exc)) from exc
    events.job_created_publish(job)
    return job


def job_retry(*, job_id: UUID, owner, credentials: dict | None = None) -> Job:
    """A new job with a failed job's parameters and portal credentials (the Retry button).

    A job the portal refused to log in needs a new password (`credentials`: `senha`, and a
    `login` to change it too): the same wrong password again would only count towards the
    portal locking the account (VIVO locks it after five attempts).
    """
    source = Job.objects.filter(pk=job_id).first()
    if source is None or source.status != JobStatus.FAILED:
        raise InvalidTransition("Só um job que falhou pode ser repetido.")
    if refusal := job_retried_by_its_app(source.kind):
        raise InvalidTransition(refusal)
    secrets = dict(source.secrets)
    new = {name: value for name, value in (credentials or {}).items() if name in ("login", "senha") and value}
    if job_retry_needs_credentials(source) and "senha" not in new:
        raise CredentialsRequired(
            "Este job falhou na autenticação no portal: informe a nova senha para repeti-lo."
        )
    secrets.update(new)
    job = job_create(
        kind=source.kind, params=source.params, secrets=secrets, owner=owner, processo_id=source.processo_id,
        account_key=_custom_account_key(source) if "login" not in new else None,
    )
    changed = " com novas credenciais" if new else ""
    job_log(job_id=job.id, level=JobLog.Level.INFO, message=f"Repetição do job {source.id}, que falhou{changed}")
    return job


def job_retried_by_its_app(kind: str) -> str | None:
    """Why a job of `kind` is not retried from the jobs pages (its app runs it again), or None."""
    for prefix, reason in settings.JOB_RETRIED_BY_THEIR_APP.items():
        if kind.startswith(prefix):
            return reason
    return None


def _custom_account_key(job: Job) -> str | None:
    """The account key a job was given by its app (not derived from its portal login), if any."""
    derived = account_key_for(kind=job.kind, login=job.secrets.get("login", ""))
    return job.account_key if job.account_key and job.account_key != derived else None


def job_retry_bulk(*, job_ids: list[UUID], owner) -> list[Job]:
    """Retry each of these failed jobs with its own parameters (the jobs list's bulk retry).

    A job that is not FAILED (any more), or whose password the portal refused, is skipped: the
    latter needs a new password, one job at a time. Raises QueueUnavailable when Redis stops
    taking jobs; those retried before it stay.
    """
    retried = []
    for job_id in job_ids:
        try:
            retried.append(job_retry(job_id=job_id, owner=owner))
        except (InvalidTransition, CredentialsRequired):
            continue
    return retried


def job_enqueue(*, job: Job, at_front: bool = False) -> None:
    """Put the job on its kind's queue under its own id; `at_front` for a job whose turn on its
    portal account has come after waiting in line."""
    from jobs.tasks import job_run_task

    queue(queue_for_kind(job.kind)).enqueue(
        job_run_task,
        str(job.id),
        job_id=str(job.id),
        job_timeout=settings.RPA_JOB_TIMEOUT,
        # A job waiting for its account keeps the record of its first run: the maintenance pass
        # takes a PENDING job with no record in Redis for one that never reached the queue.
        result_ttl=max(3600, settings.JOB_ACCOUNT_WAIT_SECONDS + 600),
        failure_ttl=settings.JOB_RETENTION_HOURS * 3600,
        at_front=at_front,
    )


def queue_for_kind(kind: str) -> str:
    """The queue of a job kind: the first prefix of settings.JOB_KIND_QUEUES it starts with, else `rpa`."""
    for prefix, name in settings.JOB_KIND_QUEUES.items():
        if kind.startswith(prefix):
            return name
    return RPA_QUEUE


def account_key_for(*, kind: str, login: str) -> str:
    """A stable, non-reversible name for one portal account (kind + login)."""
    if not login:
        return ""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{kind}\0{login.lower()}".encode(), hashlib.sha256)
    return digest.hexdigest()


def job_start(*, job_id: UUID) -> Job:
    """PENDING → RUNNING."""
    now = timezone.now()
    job = _transition(job_id, JobStatus.RUNNING, started_at=now, heartbeat_at=now)
    return job


def job_progress(*, job_id: UUID, percent: int, message: str | None = None) -> None:
    """Raise a RUNNING job's progress to `percent`; a lower value leaves it where it is."""
    if not isinstance(percent, int) or isinstance(percent, bool) or not 0 <= percent <= 100:
        raise ValueError(f"progress must be a whole number from 0 to 100, not {percent!r}")
    updated = Job.objects.filter(pk=job_id, status=JobStatus.RUNNING, progress__lt=percent).update(
        progress=Greatest(F("progress"), percent)
    )
    if message:
        job_log(job_id=job_id, level=JobLog.Level.INFO, message=message)
    if updated:
        events.job_update_publish(Job.objects.only("id", "status", "progress", "kind", "owner_id").get(pk=job_id))


def job_log(*, job_id: UUID, level: str, message: str) -> JobLog:
    level = level.upper()
    if level not in JobLog.Level.values:
        level = JobLog.Level.INFO
    entry = JobLog.objects.create(job_id=job_id, level=level, message=message[:4000])
    job = Job.objects.only("id", "kind", "owner_id").get(pk=job_id)
    events.job_log_publish(job, level, entry.message, log_id=entry.id, timestamp=entry.timestamp)
    return entry


def job_artifact_save(*, job_id: UUID, name: str, content: bytes) -> str:
    artifact = JobArtifact(job_id=job_id, name=name)
    artifact.file.save(name, ContentFile(content), save=True)
    return artifact.file.name


def job_complete(*, job_id: UUID, result: str) -> Job:
    """RUNNING → COMPLETED with the result, progress 100."""
    return _finish(job_id, JobStatus.COMPLETED, result=result, error=None, progress=100)


def job_fail(*, job_id: UUID, error: str, category: str = "internal") -> Job:
    """→ FAILED with a user-facing error sentence (which must not contain a secret)."""
    return _finish(job_id, JobStatus.FAILED, error=error, error_category=category)


def _finish(job_id: UUID, status: str, **fields) -> Job:
    from jobs.services.callbacks import callback_schedule

    with transaction.atomic():
        job = _transition(job_id, status, completed_at=timezone.now(), **fields)
        level = JobLog.Level.INFO if status == JobStatus.COMPLETED else JobLog.Level.ERROR
        message = "Job concluído com sucesso" if status == JobStatus.COMPLETED else f"Job falhou: {job.error}"
        entry = JobLog.objects.create(job=job, level=level, message=message)
        if job.processo_id:
            callback_schedule(job=job)
    events.job_log_publish(job, level, message, log_id=entry.id, timestamp=entry.timestamp)
    _finished_handlers_call(job)
    return job


def _finished_handlers_call(job: Job) -> None:
    """Tell the app that owns the job's kind (settings.JOB_FINISHED_HANDLERS) that it ended.
    A handler's failure is logged and never undoes the job's end."""
    for prefix, path in settings.JOB_FINISHED_HANDLERS.items():
        if not job.kind.startswith(prefix):
            continue
        try:
            import_string(path)(job)
        except Exception:  # noqa: BLE001 - the job has ended either way
            logger.exception("the finish handler %s failed for job %s", path, job.id)


def _transition(job_id: UUID, new_status: str, **fields) -> Job:
    """Apply one move of the state machine atomically, or raise InvalidTransition.

    The UPDATE is conditional on the current status, so two processes racing to move the same
    job cannot both succeed.
    """
    allowed_from = [old for old, targets in Job.TRANSITIONS.items() if new_status in targets]
    updated = Job.objects.filter(pk=job_id, status__in=allowed_from).update(status=new_status, **fields)
    if not updated:
        current = Job.objects.filter(pk=job_id).values_list("status", flat=True).first()
        raise InvalidTransition(f"job {job_id}: {current or 'missing'} → {new_status} is not allowed")
    job = Job.objects.defer("secrets").get(pk=job_id)
    events.job_update_publish(job)
    return job
