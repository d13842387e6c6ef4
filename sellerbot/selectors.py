"""Reads of the Seller Bot: what a user may see, the worker's state, the stats."""

import json
import logging
import time

from django.conf import settings
from django.db.models import Avg, Count, Q, QuerySet, Sum
from redis.exceptions import RedisError

from jobs.models import Job, JobStatus
from jobs.queues import queue, redis_connection
from project.clock import iso_local
from sellerbot.models import BotTask, BotTaskRun, LoginStatus, Profile, TaskStatus, TaskType, WorkerSwitch

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "bot:worker:heartbeat"


def task_status_key(task_id: int) -> str:
    return f"bot:task:{task_id}:status"


def profiles_visible(*, user) -> QuerySet[Profile]:
    """Staff see every profile; anyone else only their own."""
    profiles = Profile.objects.all()
    return profiles if user.is_staff else profiles.filter(owner=user)


def tasks_visible(*, user) -> QuerySet[BotTask]:
    tasks = BotTask.objects.select_related("profile")
    return tasks if user.is_staff else tasks.filter(owner=user)


def profile_get(*, user, profile_id: int) -> Profile | None:
    return profiles_visible(user=user).filter(pk=profile_id).first()


def task_get(*, user, task_id: int) -> BotTask | None:
    return tasks_visible(user=user).filter(pk=task_id).first()


def switch_get() -> WorkerSwitch:
    switch, _ = WorkerSwitch.objects.get_or_create(pk=1)
    return switch


def heartbeat_get() -> dict | None:
    """The worker's last heartbeat ({worker_id, pid, host, at}) while its key lives, else None.
    None too when Redis does not answer: a worker nobody can hear is not known to run."""
    try:
        raw = redis_connection().get(HEARTBEAT_KEY)
    except RedisError:
        logger.warning("bot worker heartbeat unreadable: Redis unavailable", exc_info=True)
        return None
    if not raw:
        return None
    try:
        beat = json.loads(raw)
    except ValueError:
        return None
    return beat if isinstance(beat, dict) else None


def worker_is_running() -> bool:
    return switch_get().running and heartbeat_get() is not None


def worker_status(*, user) -> dict:
    """GET /bot/worker-status: running only when the switch is on and the worker beats."""
    switch = switch_get()
    beat = heartbeat_get()
    running = switch.running and beat is not None
    if running:
        reason = ""
    elif switch.running:
        reason = (f"O worker do bot não dá sinal de vida há mais de {settings.BOT_WORKER_HEARTBEAT_TTL_SECONDS} s "
                  "(o processo parou?); nenhuma tarefa é iniciada até ele voltar.")
    else:
        reason = switch.reason or "O bot está desligado."
    current = (tasks_visible(user=user).filter(status=TaskStatus.RUNNING)
               .select_related("profile").order_by("last_run_at").first())
    active = tasks_visible(user=user).filter(status__in=BotTask.ACTIVE)
    return {
        "status": "running" if running else "stopped",
        "switch": "on" if switch.running else "off",
        "worker_id": switch.worker_id or None,
        "reason": reason,
        "changed_by": switch.changed_by.get_username() if switch.changed_by else None,
        "changed_at": iso_local(switch.changed_at) if switch.changed_at else None,
        "heartbeat_age_seconds": round(max(0.0, time.time() - float(beat.get("at", 0))), 1) if beat else None,
        "queue_depth": _queue_depth(),
        "current_task": {
            "task_id": str(current.pk), "task_type": current.task_type, "profile_id": str(current.profile_id),
        } if current else None,
        "profiles_in_use": sorted({str(pk) for pk in active.values_list("profile_id", flat=True)}),
    }


def _queue_depth() -> int | None:
    try:
        return queue(settings.BOT_QUEUE).count
    except RedisError:
        return None


def bot_activity() -> dict:
    """The gauges of /metrics: tasks queued or running, and the profiles they use."""
    active = BotTask.objects.filter(status__in=BotTask.ACTIVE)
    return {
        "active_tasks": active.count(),
        "active_profiles": active.values("profile_id").distinct().count(),
    }


def bot_stats(*, user) -> dict:
    """GET /bot/stats."""
    tasks = tasks_visible(user=user)
    by_status = {status: 0 for status in TaskStatus.values}
    by_status.update(dict(tasks.values_list("status").annotate(n=Count("id")).order_by()))
    by_type = {task_type: 0 for task_type in TaskType.values}
    by_type.update(dict(tasks.values_list("task_type").annotate(n=Count("id")).order_by()))
    runs = BotTaskRun.objects.filter(task__in=tasks)
    totals = runs.aggregate(
        completed=Count("id", filter=Q(status=TaskStatus.COMPLETED)),
        failed=Count("id", filter=Q(status=TaskStatus.FAILED)),
        replies=Sum("replies_sent"),
        duration=Avg("duration_seconds", filter=Q(status=TaskStatus.COMPLETED)),
    )
    finished = totals["completed"] + totals["failed"]
    profiles = profiles_visible(user=user)
    return {
        "total_tasks": sum(by_status.values()),
        "tasks_by_status": by_status,
        "tasks_by_type": by_type,
        "runs_completed": totals["completed"],
        "runs_failed": totals["failed"],
        "success_rate": round(100 * totals["completed"] / finished, 1) if finished else None,
        "replies_sent": totals["replies"] or 0,
        "average_duration_seconds": round(totals["duration"], 2) if totals["duration"] is not None else None,
        "profiles": profiles.count(),
        "profiles_ok": profiles.filter(login_status=LoginStatus.OK).count(),
        "active_profiles": tasks.filter(status__in=BotTask.ACTIVE).values("profile_id").distinct().count(),
    }


def task_last_run(task: BotTask) -> BotTaskRun | None:
    return task.task_runs.order_by("-queued_at", "-id").first()


def verify_job_pending(profile: Profile) -> Job | None:
    """A login check of this profile still waiting or running, if any."""
    return (Job.objects.filter(kind=settings.BOT_VERIFY_KIND, params__profile_id=profile.pk,
                               status__in=(JobStatus.PENDING, JobStatus.RUNNING))
            .only("id", "status").first())
