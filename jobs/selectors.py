from uuid import UUID

from django.db.models import Count, Q, QuerySet

from jobs.models import Job, JobStatus


def job_list(*, user, status: str | None = None, kind: str | None = None) -> QuerySet[Job]:
    """Jobs `user` may see, newest first: staff see every job, others their own."""
    jobs = Job.objects.defer("secrets").order_by("-created_at")
    if not user.is_staff:
        jobs = jobs.filter(owner=user)
    if status:
        jobs = jobs.filter(status=status)
    if kind:
        jobs = jobs.filter(kind=kind)
    return jobs


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
