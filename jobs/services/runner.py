"""Running one job on a worker: leases, heartbeat, the automation, and the milestones.

Progress milestones (seed 003 §3.1.2): 0 created, 30 automation started, 90 automation done,
95 result captured, 100 completed. Automations report their own steps between 30 and 90.
"""

import contextlib
import logging
import threading
import time
import traceback
from uuid import UUID

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from redis.exceptions import RedisError
from rq.timeouts import JobTimeoutException

from jobs import leases
from jobs.automation import AutomationError, ConsoleStopped, JobContext, automation_for
from jobs.models import Job, JobLog, JobStatus
from jobs.services import accounts, lifecycle

logger = logging.getLogger(__name__)

WAITING_FOR_ACCOUNT = "Aguardando outro job que usa a mesma conta do portal; este começa em seguida"
CONSOLE_STOPPED = (
    "O console foi parado enquanto este job executava e o tempo de espera acabou; "
    "o job foi interrompido antes de terminar. Crie-o novamente."
)

# How long a job about to start waits for a Redis that does not answer (a restart takes a second).
REDIS_OUTAGE_SECONDS = 30

# True while this process runs an automation, which may then be interrupted (jobs.worker).
_automation_running = False


def automation_running() -> bool:
    """Whether the job this process runs is inside its automation, where stopping it is safe."""
    return _automation_running


def job_run(*, job_id: UUID) -> None:
    """Run a PENDING job to COMPLETED or FAILED. Safe to call twice: a started job is left alone."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.status != JobStatus.PENDING:
        logger.info("job %s is %s; nothing to run", job_id, job.status if job else "gone")
        return

    automation = automation_for(job.kind)
    if automation is None:
        lifecycle.job_fail(
            job_id=job.id, category="config",
            error=f"Nenhuma automação está configurada para '{job.kind}' neste servidor.",
        )
        return

    # Another job on the same portal account: wait in its line without holding the worker;
    # accounts.account_pass_on() queues this job again when its turn comes.
    turn = _through_a_redis_outage(lambda: leases.account_acquire(job.account_key, str(job.id)))
    if turn == leases.Account.JOINED_LINE:
        lifecycle.job_log(job_id=job.id, level=JobLog.Level.INFO, message=WAITING_FOR_ACCOUNT)
    if turn != leases.Account.HELD:
        return

    try:
        _through_a_redis_outage(lambda: leases.slot_acquire(str(job.id), while_waiting=_WaitingBeat(job.id)))
        try:
            _run_started(job, automation)
        finally:
            _slot_release_quietly(str(job.id))
    finally:
        accounts.account_pass_on(account_key=job.account_key, job_id=job.id)


def _through_a_redis_outage(step):
    """Run a lease step, retrying while Redis restarts (its steps are idempotent for one job id):
    a job that has not started yet waits for Redis rather than being dropped by a crashing worker."""
    deadline = time.monotonic() + REDIS_OUTAGE_SECONDS
    while True:
        try:
            return step()
        except RedisError:
            if time.monotonic() >= deadline:
                raise
            logger.warning("Redis unreachable before a job could start; retrying", exc_info=True)
            time.sleep(1)


def _slot_release_quietly(job_id: str) -> None:
    try:
        leases.slot_release(job_id)
    except RedisError:
        # The job has ended either way; its slot lease runs out by itself (lease_seconds).
        logger.warning("could not release the run slot of job %s; its lease will expire", job_id)


def _run_started(job: Job, automation) -> None:
    job = lifecycle.job_start(job_id=job.id)
    secrets = Job.objects.only("secrets").get(pk=job.id).secrets
    context = JobContext(job_id=job.id, kind=job.kind, params=job.params, secrets=secrets, reporter=_Reporter())
    heartbeat = _Heartbeat(job)
    heartbeat.start()
    try:
        result, failure = _execute(context, automation)
    finally:
        heartbeat.stop()
    if failure:
        message, category = failure
        lifecycle.job_fail(job_id=job.id, error=message, category=category)
    else:
        lifecycle.job_complete(job_id=job.id, result=result)


def _execute(context: JobContext, automation) -> tuple[str | None, tuple[str, str] | None]:
    """Run the automation between the milestones; return (result, None) or (None, (error, category))."""
    try:
        with _interruptible():
            return _execute_between_milestones(context, automation)
    except ConsoleStopped:
        logger.warning("job %s interrupted: the console is stopping", context.job_id)
        return None, (CONSOLE_STOPPED, "stopped")


@contextlib.contextmanager
def _interruptible():
    global _automation_running
    _automation_running = True
    try:
        yield
    finally:
        _automation_running = False


def _execute_between_milestones(context: JobContext, automation) -> tuple[str | None, tuple[str, str] | None]:
    try:
        context.log(JobLog.Level.INFO, f"Iniciando processamento da operadora {context.kind}")
        context.progress(30, f"Executando RPA para {context.kind}")
        result = automation(context)
        if not isinstance(result, str) or not result.strip():
            raise AutomationError(
                "A automação terminou sem produzir resultado; o portal pode ter mudado.", category="file"
            )
        context.progress(90, "RPA executado, finalizando")
        context.progress(95, "Resultado capturado")
        return result, None
    except AutomationError as exc:
        return None, (context.redact(exc.message), exc.category)
    except JobTimeoutException:
        return None, (f"Tempo limite de execução excedido ({settings.RPA_JOB_TIMEOUT} s).", "timeout")
    except Exception:  # noqa: BLE001 - any crash of an automation must end the job FAILED
        # The details (which may quote inputs) go to the server log only, redacted.
        logger.error("job %s crashed:\n%s", context.job_id, context.redact(traceback.format_exc()))
        return None, ("Erro inesperado durante a automação.", "internal")


class _WaitingBeat:
    """A job waiting for a run slot is PENDING but taken by this worker: its heartbeat tells the
    maintenance pass that the worker is alive (if it dies, the job goes back to the queue)."""

    def __init__(self, job_id: UUID):
        self.job_id = job_id
        self.last = 0.0

    def __call__(self) -> None:
        if time.monotonic() - self.last >= settings.JOB_HEARTBEAT_SECONDS:
            Job.objects.filter(pk=self.job_id, status=JobStatus.PENDING).update(heartbeat_at=timezone.now())
            self.last = time.monotonic()


class _Reporter:
    def progress(self, job_id, percent, message):
        lifecycle.job_progress(job_id=job_id, percent=percent, message=message)

    def log(self, job_id, level, message):
        lifecycle.job_log(job_id=job_id, level=level, message=message)

    def artifact(self, job_id, name, content):
        return lifecycle.job_artifact_save(job_id=job_id, name=name, content=content)


class _Heartbeat(threading.Thread):
    """Proves the job is alive: stamps heartbeat_at and renews its leases.

    If the process is killed the stamps stop, and the maintenance pass fails the job.
    """

    def __init__(self, job: Job):
        super().__init__(name=f"heartbeat-{job.id}", daemon=True)
        self.job_id = job.id
        self.account_key = job.account_key
        self._stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self._stopped.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(heartbeat_at=timezone.now())
                    leases.leases_renew(str(self.job_id), self.account_key)
                except Exception:  # noqa: BLE001 - a missed beat is retried on the next tick
                    logger.warning("heartbeat of job %s failed", self.job_id, exc_info=True)
                    close_old_connections()
        finally:
            connection.close()

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=5)
