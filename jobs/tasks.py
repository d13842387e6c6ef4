"""rq entry points: they take ids and call services."""

import math

from django.conf import settings
from rq import Retry

from jobs.services import callbacks, maintenance, runner
from project.tasks import database_task


@database_task
def job_run_task(job_id: str) -> None:
    runner.job_run(job_id=job_id)


def job_run_retry() -> Retry:
    """Retries exist for one case: the portal account is busy with another job (AccountBusy).

    The job pauses before raising and is put back at the end of the queue at once (interval 0),
    so retries need no rq scheduler and never hold up other accounts' jobs.
    """
    tries = math.ceil(settings.JOB_ACCOUNT_WAIT_SECONDS / settings.JOB_ACCOUNT_RETRY_SECONDS) + 1
    return Retry(max=tries, interval=0)


@database_task
def callback_deliver_task(delivery_id: int) -> None:
    callbacks.callback_deliver(delivery_id=delivery_id)


@database_task
def jobs_maintenance_task() -> None:
    """Every 30 s: fail jobs whose worker died, deliver callbacks that are due."""
    maintenance.jobs_reap()
    callbacks.callbacks_deliver_due()


@database_task
def jobs_purge_task() -> None:
    """Every 5 min: retention (JOB_RETENTION_HOURS)."""
    maintenance.jobs_purge_expired()
