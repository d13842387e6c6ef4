"""rq entry points: they take ids and call services."""

from jobs.services import accounts, callbacks, maintenance, runner
from project.tasks import database_task


@database_task
def job_run_task(job_id: str) -> None:
    runner.job_run(job_id=job_id)


@database_task
def callback_deliver_task(delivery_id: int) -> None:
    callbacks.callback_deliver(delivery_id=delivery_id)


@database_task
def jobs_maintenance_task() -> None:
    """Every 30 s: fail jobs whose worker died, restart stalled account lines, deliver callbacks that are due."""
    maintenance.jobs_reap()
    accounts.accounts_wake()
    callbacks.callbacks_deliver_due()


@database_task
def jobs_purge_task() -> None:
    """Every 5 min: retention (JOB_RETENTION_HOURS)."""
    maintenance.jobs_purge_expired()
