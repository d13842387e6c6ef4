"""Jobs that share a portal account take turns, in the order they joined its line.

A job that finds its account in use joins the account's line and gives its worker back
(jobs.leases holds the line). When the running job ends, the account is reserved for the head of
the line and that job goes to the front of the queue. The maintenance pass repairs what a crash
can leave behind: a line whose account nobody holds any more, and jobs that waited too long.
"""

import logging
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.utils import timezone
from redis.exceptions import RedisError

from jobs import leases
from jobs.models import Job, JobStatus
from jobs.services import lifecycle, maintenance

logger = logging.getLogger(__name__)

WAITED_TOO_LONG = "Outro job com a mesma conta do portal continua em execução; tente novamente mais tarde."


def account_pass_on(*, account_key: str, job_id: UUID | str) -> None:
    """`job_id` is done with the account (or gives up its place in the line): the next job in
    line gets it and is queued. Never raises: the maintenance pass redoes a failed hand-over."""
    try:
        _start_next(account_key, leases.account_release(account_key, str(job_id)))
    except RedisError:
        logger.warning("could not pass the portal account of job %s on; the maintenance pass will", job_id,
                       exc_info=True)


def accounts_wake() -> int:
    """Maintenance: fail jobs that waited longer than JOB_ACCOUNT_WAIT_SECONDS, drop jobs that are
    no longer pending from the lines, and restart lines whose account nobody holds.
    Returns how many jobs were failed."""
    failed = 0
    limit = timezone.now() - timedelta(seconds=settings.JOB_ACCOUNT_WAIT_SECONDS)
    for account_key in leases.accounts_with_a_line():
        line = leases.account_line(account_key)
        waiting = dict(Job.objects.filter(pk__in=line, status=JobStatus.PENDING).values_list("id", "created_at"))
        for job_id in line:
            created_at = waiting.get(UUID(job_id))
            if created_at is not None and created_at >= limit:
                continue
            if created_at is not None:
                failed += maintenance.job_fail_unless_finished(job_id, WAITED_TOO_LONG, "busy")
            account_pass_on(account_key=account_key, job_id=job_id)
        _start_next(account_key, leases.account_reserve_for_head(account_key))
    return failed


def _start_next(account_key: str, job_id: str | None) -> None:
    """Queue the job the account was reserved for; if it is no longer pending, pass the account
    on to the one after it."""
    while job_id:
        job = Job.objects.filter(pk=job_id, status=JobStatus.PENDING).first()
        if job is not None:
            lifecycle.job_enqueue(job=job, at_front=True)
            return
        job_id = leases.account_release(account_key, job_id)

