"""Job notifications on the channel layer, built here and sent through project.live.

Producers (the web process, rq workers) call these functions; consumers listen on the groups
`jobs` (every job) and `job.<id>` (one job). Each job is one coalesced stream: its state
(`job.update`) keeps only the newest copy within a window, its log lines (`job.log`) all go, so a
job sends at most ~10 channel-layer messages a second however fast it reports. Publishing is best
effort: a job never fails because Redis could not carry a notification.
"""

from datetime import datetime

from project import live
from project.clock import iso_local, now_iso

ALL_JOBS_GROUP = "jobs"
UPDATE = "job.update"
LOG = "job.log"


def job_group(job_id) -> str:
    return f"job.{job_id}"


def job_created_publish(job) -> None:
    """A new job: only the `jobs` group, since nobody can be subscribed to an id just made."""
    live.publish((ALL_JOBS_GROUP,), {**_update_event(job), "created": True})


def job_update_publish(job) -> None:
    _publish(job, _update_event(job))


def job_log_publish(job, level: str, message: str, *, log_id: int | None = None,
                    timestamp: datetime | None = None) -> None:
    """One log line; `timestamp` is the recorded line's, so live and stored copies read alike."""
    _publish(job, {
        "type": LOG,
        "id": log_id,
        "job_id": str(job.id),
        "owner_id": job.owner_id,
        "operadora": job.kind,
        "level": level,
        "message": message,
        "timestamp": iso_local(timestamp) if timestamp else now_iso(),
    })


def _update_event(job) -> dict:
    return {
        "type": UPDATE,
        "job_id": str(job.id),
        "owner_id": job.owner_id,
        "data": {"status": job.status, "progress": job.progress, "operadora": job.kind},
    }


def _publish(job, event: dict) -> None:
    live.publish(
        (job_group(job.id), ALL_JOBS_GROUP), event,
        stream=f"job:{job.id}", latest_only=frozenset({UPDATE}),
    )
