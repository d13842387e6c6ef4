"""The Seller Bot's verbs: profiles, tasks, the worker switch, dispatching due tasks as jobs,
and what a run's start and end change (task state, counters, live notifications).

Each task run is a job of the engine (kind `tiktok.<task_type>`, on the `tiktok` queue), with
an account key of its profile: the engine's per-account line makes runs on one profile take
turns, whatever dispatched them.
"""

import json
import logging
import os
import socket
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from jobs.automation import AutomationError
from jobs.models import Job, JobStatus
from jobs.queues import redis_connection
from jobs.services import lifecycle
from project import live
from sellerbot import metrics, selectors
from sellerbot.models import BotTask, BotTaskRun, LoginStatus, Profile, TaskStatus, TaskType, WorkerSwitch
from sellerbot.task_configs import config_with_defaults

logger = logging.getLogger(__name__)

TASK_KIND_PREFIX = "tiktok."
# Categories of a run that did not run its course because the bot or the console was stopped:
# the task goes back to waiting, and no failure is counted against it.
INTERRUPTED = ("cancelled", "stopped")
# Categories no retry can fix: the password, the verification code, a session the portal ends
# right after each login (logging in again and again gets a shop's account locked), the configuration.
PERMANENT = ("auth", "verification", "session", "config")
CANCELLED_BEFORE_START = (
    "Tarefa retirada da fila: o bot foi parado antes de ela começar. Ela roda quando o bot for ligado de novo."
)


class ProfileExists(Exception):
    """This account already has a profile of the same owner and region."""


class ProfileHasTasks(Exception):
    def __init__(self, task_ids: list[int]):
        super().__init__(task_ids)
        self.task_ids = task_ids


class TaskBusy(Exception):
    """The task (or a task of the profile) is queued or running now."""

    def __init__(self, task_ids: list[int]):
        super().__init__(task_ids)
        self.task_ids = task_ids


class WorkerAlreadyInState(Exception):
    pass


# --- profiles -------------------------------------------------------------------------------

def profile_create(*, owner, name: str, username: str, password: str, region: str = "BR",
                   verification_code: str = "") -> Profile:
    credentials = {"senha": password, **({"codigo": verification_code} if verification_code else {})}
    try:
        with transaction.atomic():
            profile = Profile.objects.create(
                owner=owner, name=name, username=username, region=region, credentials=credentials,
            )
    except IntegrityError:
        raise ProfileExists() from None
    metrics.count("bot_profile_created")
    logger.info("bot profile %s created by user %s", profile.pk, owner.pk)
    return profile


def profile_delete(*, profile: Profile, with_tasks: bool = False) -> None:
    """Delete a profile; one that has tasks only with `with_tasks` (they go with it), and never
    while one of them is queued or running."""
    task_ids = list(profile.tasks.order_by("id").values_list("id", flat=True))
    busy = list(profile.tasks.filter(status__in=BotTask.ACTIVE).order_by("id").values_list("id", flat=True))
    if busy:
        raise TaskBusy(busy)
    if task_ids and not with_tasks:
        raise ProfileHasTasks(task_ids)
    with transaction.atomic():
        profile.tasks.all().delete()
        profile.delete()


def profile_verify(*, profile: Profile, code: str = "") -> Job:
    """Queue a real browser login to the Seller Center; the job's end updates the profile.
    A `code` given is kept (encrypted) for the next time the Seller Center asks for one."""
    if code:
        profile.credentials = {**(profile.credentials or {}), "codigo": code}
        Profile.objects.filter(pk=profile.pk).update(credentials=profile.credentials)
    secrets = _profile_secrets(profile)
    job = lifecycle.job_create(
        kind=settings.BOT_VERIFY_KIND,
        params={"profile_id": profile.pk, "task_id": None, "task_type": "verify", "region": profile.region,
                "config": {}},
        secrets=secrets, owner=profile.owner, account_key=profile_account_key(profile),
    )
    return job


def profile_session_save(*, profile_id: int, cookies: list[dict]) -> None:
    """Keep the browser session of a successful login (encrypted), so the next run skips the login."""
    profile = Profile.objects.filter(pk=profile_id).first()
    if profile is None:
        return
    credentials = dict(profile.credentials)
    credentials["cookies"] = cookies
    Profile.objects.filter(pk=profile_id).update(credentials=credentials)


def profile_account_key(profile: Profile) -> str:
    """The engine's account of a profile: every run on it takes its turn in one line."""
    return lifecycle.account_key_for(kind="tiktok", login=f"profile:{profile.pk}")


def _profile_secrets(profile: Profile) -> dict:
    credentials = profile.credentials or {}
    secrets = {"login": profile.username, "senha": credentials.get("senha", ""),
               "cookies": credentials.get("cookies", [])}
    if credentials.get("codigo"):
        secrets["codigo"] = credentials["codigo"]
    return secrets


# --- tasks ----------------------------------------------------------------------------------

def task_create(*, owner, profile: Profile, task_type: str, config: dict,
                interval_seconds: int | None = None) -> BotTask:
    task = BotTask.objects.create(
        owner=owner, profile=profile, task_type=task_type, config=config_with_defaults(task_type, config),
        interval_seconds=interval_seconds, next_run_at=timezone.now(),
    )
    metrics.count("bot_task_created", task_type=task_type)
    _status_publish(task, None)
    logger.info("bot task %s (%s) created by user %s", task.pk, task_type, owner.pk)
    return task


def task_delete(*, task: BotTask) -> None:
    if BotTask.objects.filter(pk=task.pk, status__in=BotTask.ACTIVE).exists():
        raise TaskBusy([task.pk])
    task.delete()
    _redis_quietly(lambda redis: redis.delete(selectors.task_status_key(task.pk)))


# --- the worker switch ----------------------------------------------------------------------

def worker_start(*, user, reason: str = "") -> WorkerSwitch:
    """Switch the bot on: the worker dispatches due tasks from its next beat."""
    with transaction.atomic():
        switch = _switch_locked()
        if switch.running:
            raise WorkerAlreadyInState("O bot já está ligado. Veja GET /bot/worker-status.")
        switch.running = True
        switch.worker_id = uuid.uuid4().hex[:12]
        switch.changed_by, switch.changed_at = user, timezone.now()
        switch.reason = reason or f"Ligado por {user.get_username()}"
        switch.save()
    metrics.count("bot_started")
    profiles = [str(pk) for pk in selectors.profiles_visible(user=user).values_list("id", flat=True)]
    _notify_bot_users(user, "bot_worker_started", {"worker_id": switch.worker_id, "profiles": profiles})
    logger.info("bot worker switched on by user %s", user.pk)
    return switch


def worker_stop(*, user, reason: str = "") -> WorkerSwitch:
    """Switch the bot off: nothing new is dispatched, the running task finishes, queued runs
    that have not started are withdrawn when their turn comes (CANCELLED_BEFORE_START)."""
    with transaction.atomic():
        switch = _switch_locked()
        if not switch.running:
            raise WorkerAlreadyInState("O bot já está parado. Veja GET /bot/worker-status.")
        switch.running = False
        switch.changed_by, switch.changed_at = user, timezone.now()
        switch.reason = reason or f"Parado por {user.get_username()}"
        switch.save()
    metrics.count("bot_stopped")
    _notify_bot_users(user, "bot_worker_stopped", {"worker_id": switch.worker_id, "reason": switch.reason})
    logger.info("bot worker switched off by user %s", user.pk)
    return switch


def worker_watch() -> bool:
    """Maintenance: when the switched-on worker has stopped beating, tell the bot's users once
    (bot_worker_stopped) instead of letting the page look as if it were still at work."""
    switch = selectors.switch_get()
    if not switch.running:
        return False
    redis = redis_connection()
    silent_key = f"bot:worker:silent:{switch.worker_id}"
    if selectors.heartbeat_get() is not None:
        redis.delete(silent_key)
        return False
    if not redis.set(silent_key, "1", nx=True, ex=24 * 3600):
        return False
    reason = (f"O worker do bot parou de dar sinal de vida (heartbeat expirado após "
              f"{settings.BOT_WORKER_HEARTBEAT_TTL_SECONDS} s); as tarefas esperam até ele voltar.")
    _notify_bot_users(None, "bot_worker_stopped", {"worker_id": switch.worker_id, "reason": reason})
    logger.warning("the Seller Bot worker stopped beating while switched on")
    return True


def _switch_locked() -> WorkerSwitch:
    selectors.switch_get()
    return WorkerSwitch.objects.select_for_update().get(pk=1)


def _notify_bot_users(user, kind: str, payload: dict) -> None:
    """The switch is shared: whoever switched it and every owner of a profile hears of it."""
    owners = set(Profile.objects.values_list("owner_id", flat=True).distinct()) | ({user.pk} if user else set())
    for owner_id in owners:
        live.notify_user(owner_id, {"type": kind, "payload": payload})


# --- the worker's beat: heartbeat and dispatch ----------------------------------------------

def worker_beat(*, worker_name: str) -> int:
    """One beat of the bot worker: prove it is alive, then (switch on) dispatch due tasks.
    Returns how many runs were queued."""
    switch = selectors.switch_get()
    beat = {"worker_id": switch.worker_id, "name": worker_name, "pid": os.getpid(),
            "host": socket.gethostname(), "at": time.time()}
    redis = redis_connection()
    redis.set(selectors.HEARTBEAT_KEY, json.dumps(beat), ex=settings.BOT_WORKER_HEARTBEAT_TTL_SECONDS)
    if not switch.running:
        return 0
    # One dispatcher at a time when several bot workers run; the conditional updates below keep
    # a task from being queued twice even without it.
    if not redis.set("bot:dispatch:lock", worker_name, nx=True, px=max(500, settings.BOT_WORKER_TICK_MS)):
        return 0
    return tasks_dispatch_due()


def tasks_dispatch_due() -> int:
    """Queue a run of every due task whose profile has nothing queued or running."""
    now = timezone.now()
    busy = set(BotTask.objects.filter(status__in=BotTask.ACTIVE).values_list("profile_id", flat=True))
    due = (BotTask.objects.filter(next_run_at__lte=now).exclude(status__in=BotTask.ACTIVE)
           .select_related("profile").order_by("next_run_at", "id"))
    queued = 0
    for task in due[:settings.BOT_DISPATCH_BATCH]:
        if task.profile_id in busy:
            continue
        if task_run_enqueue(task=task):
            busy.add(task.profile_id)
            queued += 1
    return queued


def task_run_enqueue(*, task: BotTask) -> BotTaskRun | None:
    """Queue one run of `task` as a job; None when another process took it first."""
    with transaction.atomic():
        taken = (BotTask.objects.filter(pk=task.pk, next_run_at__lte=timezone.now())
                 .exclude(status__in=BotTask.ACTIVE).update(status=TaskStatus.QUEUED))
        if not taken:
            return None
        job = lifecycle.job_create(
            kind=f"{TASK_KIND_PREFIX}{task.task_type}",
            params={"task_id": task.pk, "profile_id": task.profile_id, "task_type": task.task_type,
                    "region": task.profile.region, "config": task.config},
            secrets=_profile_secrets(task.profile), owner=task.owner, account_key=profile_account_key(task.profile),
        )
        run = BotTaskRun.objects.create(task=task, job=job, retry_count=_failures_in_a_row(task))
        BotTask.objects.filter(pk=task.pk).update(current_job=job)
    _status_publish(task, run, status=TaskStatus.QUEUED)
    return run


def _failures_in_a_row(task: BotTask) -> int:
    failures = 0
    for status in task.task_runs.order_by("-queued_at", "-id").values_list("status", flat=True)[:50]:
        if status != TaskStatus.FAILED:
            break
        failures += 1
    return failures


# --- a run's start and end (called by the engine) -------------------------------------------

def task_run_started(*, job_id) -> BotTaskRun | None:
    """The run's automation begins (in the worker). A run queued before the bot was switched off
    is withdrawn here, before any browser opens."""
    run = BotTaskRun.objects.select_related("task").filter(job_id=job_id).first()
    if run is None:
        return None
    if not selectors.switch_get().running:
        raise AutomationError(CANCELLED_BEFORE_START, category="cancelled")
    now = timezone.now()
    BotTaskRun.objects.filter(pk=run.pk).update(status=TaskStatus.RUNNING, started_at=now)
    BotTask.objects.filter(pk=run.task_id).update(status=TaskStatus.RUNNING, last_run_at=now)
    task = run.task
    _status_publish(task, run, status=TaskStatus.RUNNING)
    live.notify_user(task.owner_id, {"type": "bot_task_started", "payload": {
        "task_id": str(task.pk), "task_type": task.task_type, "profile_id": str(task.profile_id),
    }})
    return run


def job_finished(job: Job) -> None:
    """The engine's hook for a finished `tiktok.*` job (settings.JOB_FINISHED_HANDLERS), whoever
    ended it: the worker, or the maintenance pass after the worker died."""
    if job.kind == settings.BOT_VERIFY_KIND:
        _verify_finished(job)
        return
    run = BotTaskRun.objects.select_related("task", "task__profile").filter(job_id=job.id).first()
    if run is None:
        return
    if job.status == JobStatus.COMPLETED:
        _run_completed(run, job)
    else:
        _run_failed(run, job)


def _run_completed(run: BotTaskRun, job: Job) -> None:
    now = timezone.now()
    summary = _summary(job.result)
    started = run.started_at or job.started_at or run.queued_at
    duration = max(0.0, ((job.completed_at or now) - started).total_seconds())
    replies = summary.get("replies_sent", 0) if isinstance(summary.get("replies_sent"), int) else 0
    # Conditional: a run is counted once, however often its end is reported.
    if not BotTaskRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(
        status=TaskStatus.COMPLETED, finished_at=now, duration_seconds=duration, replies_sent=replies,
        summary=summary, started_at=started,
    ):
        return
    task = run.task
    next_run = now + timedelta(seconds=task.interval_seconds) if task.interval_seconds else None
    BotTask.objects.filter(pk=task.pk).update(
        status=TaskStatus.COMPLETED, next_run_at=next_run, last_error="", current_job=None,
        runs=task.runs + 1,
    )
    _profile_status(task.profile_id, LoginStatus.OK, "")
    metrics.count("bot_task_completed", task_type=task.task_type)
    metrics.observe_duration(duration)
    _status_publish(task, run, status=TaskStatus.COMPLETED)
    live.notify_user(task.owner_id, {"type": "bot_task_completed", "payload": {
        "task_id": str(task.pk), "result": summary, "duration": round(duration, 3),
    }})


def _run_failed(run: BotTaskRun, job: Job) -> None:
    now = timezone.now()
    category = job.error_category or "internal"
    error = job.error or "A tarefa falhou."
    if not BotTaskRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(
        status=TaskStatus.FAILED, finished_at=now, error=error, error_category=category,
    ):
        return
    task = run.task
    if category in INTERRUPTED:
        # Not the task's fault: it waits for the next start, as it was.
        BotTask.objects.filter(pk=task.pk).update(status=TaskStatus.PENDING, next_run_at=now, current_job=None)
        _status_publish(task, run, status=TaskStatus.PENDING)
        if run.started_at:
            live.notify_user(task.owner_id, {"type": "bot_task_failed", "payload": {
                "task_id": str(task.pk), "error": error, "retry_count": run.retry_count,
            }})
        return
    BotTask.objects.filter(pk=task.pk).update(
        status=TaskStatus.FAILED, next_run_at=_next_after_failure(task, run, category, now), last_error=error,
        current_job=None, runs=task.runs + 1,
    )
    if category in ("auth", "verification", "session"):
        _profile_status(task.profile_id, _login_status_for(category), error)
    metrics.count("bot_task_failed", task_type=task.task_type, error=category)
    _status_publish(task, run, status=TaskStatus.FAILED)
    live.notify_user(task.owner_id, {"type": "bot_task_failed", "payload": {
        "task_id": str(task.pk), "error": error, "retry_count": run.retry_count,
    }})


def _next_after_failure(task: BotTask, run: BotTaskRun, category: str, now):
    """A retry with backoff while it may help (BOT_TASK_MAX_RETRIES), else the next interval."""
    if category not in PERMANENT and run.retry_count < settings.BOT_TASK_MAX_RETRIES:
        return now + timedelta(seconds=settings.BOT_TASK_RETRY_SECONDS * 2 ** run.retry_count)
    return now + timedelta(seconds=task.interval_seconds) if task.interval_seconds else None


def _verify_finished(job: Job) -> None:
    profile_id = (job.params or {}).get("profile_id")
    if job.status == JobStatus.COMPLETED:
        _profile_status(profile_id, LoginStatus.OK, "Login verificado no TikTok Seller Center.", verified=True)
        metrics.count("bot_profile_verified", status="success")
        return
    category = job.error_category or "internal"
    if category in INTERRUPTED:
        return
    _profile_status(profile_id, _login_status_for(category), job.error or "A verificação falhou.", verified=True)
    metrics.count("bot_profile_verified", status="failed")


def _login_status_for(category: str) -> str:
    if category == "verification":
        return LoginStatus.NEEDS_VERIFICATION
    return LoginStatus.FAILED


def _profile_status(profile_id, status: str, message: str, *, verified: bool = False) -> None:
    fields = {"login_status": status, "status_message": message[:2000]}
    if verified:
        fields["last_verified_at"] = timezone.now()
    Profile.objects.filter(pk=profile_id).update(**fields)


def _summary(result: str | None) -> dict:
    try:
        summary = json.loads(result or "{}")
    except ValueError:
        return {"result": result}
    return summary if isinstance(summary, dict) else {"result": summary}


def _status_publish(task: BotTask, run: BotTaskRun | None, *, status: str | None = None) -> None:
    """bot:task:{id}:status (seed 004, 24 h): the task's state for anyone reading Redis."""
    value = json.dumps({
        "task_id": task.pk, "task_type": task.task_type, "status": status or task.status,
        "job_id": str(run.job_id) if run and run.job_id else None, "updated_at": time.time(),
    })
    _redis_quietly(lambda redis: redis.set(selectors.task_status_key(task.pk), value,
                                           ex=settings.BOT_TASK_STATUS_TTL_SECONDS))


def _redis_quietly(step) -> None:
    try:
        step(redis_connection())
    except RedisError:
        logger.warning("Seller Bot state not written to Redis (unavailable)", exc_info=True)


TASK_KINDS = tuple(f"{TASK_KIND_PREFIX}{task_type}" for task_type in TaskType.values)
