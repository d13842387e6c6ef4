"""The one place that talks to the channel layer about jobs.

Producers (the web process, rq workers) call these functions; consumers subscribe to the groups
`jobs` (every job) and `job.<id>` (one job). Publishing is best effort: a job never fails because
Redis could not carry a notification; the database stays the record.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

ALL_JOBS_GROUP = "jobs"


def job_group(job_id) -> str:
    return f"job.{job_id}"


def job_created_publish(job) -> None:
    """A new job: only the `jobs` group, since nobody can be subscribed to an id just made."""
    _publish(job.id, _update_event(job), groups=(ALL_JOBS_GROUP,))


def job_update_publish(job) -> None:
    _publish(job.id, _update_event(job))


def job_log_publish(job, level: str, message: str) -> None:
    _publish(job.id, {
        "type": "job.log",
        "job_id": str(job.id),
        "owner_id": job.owner_id,
        "operadora": job.kind,
        "level": level,
        "message": message,
    })


def _update_event(job) -> dict:
    return {
        "type": "job.update",
        "job_id": str(job.id),
        "owner_id": job.owner_id,
        "data": {"status": job.status, "progress": job.progress, "operadora": job.kind},
    }


def _publish(job_id, event: dict, groups: tuple[str, ...] | None = None) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(_group_send)(layer, groups or (job_group(job_id), ALL_JOBS_GROUP), event)
    except Exception:  # noqa: BLE001 - notifications must never break the job itself
        logger.warning("Could not publish %s for job %s", event["type"], job_id, exc_info=True)


async def _group_send(layer, groups: tuple[str, ...], event: dict) -> None:
    for group in groups:
        await layer.group_send(group, event)
