"""The Seller Bot's dashboard page (/painel/seller-bot/): the worker switch, the stats, the
TikTok profiles and the bot's tasks, drawn by the server as they are when the page opens.

The page only reads. Everything it changes (profiles, tasks, the switch) goes through the /bot/*
API from static/js/sellerbot.js, which also keeps the page current: it refetches the API when a
`bot_*` notification arrives on /ws/notifications (static/js/live.js) and polls it while the
socket is closed. Who may create jobs (`jobs.add_job`) or is staff may open it.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET

from jobs.permissions import JOB_CREATE_PERMISSION
from sellerbot import selectors
from sellerbot.models import LoginStatus, TaskStatus, TaskType
from sellerbot.serializers import MAX_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS, REGIONS


@login_required
@require_GET
def automation_page(request):
    user = request.user
    can_write = user.has_perm(JOB_CREATE_PERMISSION)
    if not (can_write or user.is_staff):
        raise PermissionDenied
    # Aggregating drops the model's ordering: ask for it again (the script sorts the same way).
    profiles = list(selectors.profiles_visible(user=user).annotate(task_count=Count("tasks")).order_by("name", "id"))
    tasks = list(selectors.tasks_visible(user=user))
    for task in tasks:
        task.last_run = selectors.task_last_run(task)
        task.interval_label = interval_label(task.interval_seconds)
    stats = selectors.bot_stats(user=user)
    return render(request, "dashboard/sellerbot.html", {
        "nav": "sellerbot",
        "can_write": can_write,
        "profiles": profiles,
        "tasks": tasks,
        "worker": _worker_status(user),
        "stats": stats,
        "status_counts": [(status, label, stats["tasks_by_status"].get(status, 0))
                          for status, label in TaskStatus.choices],
        "task_types": TaskType.choices,
        "regions": REGIONS,
        "interval_limits": (MIN_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS),
        # The labels the script draws with, the same the server uses.
        "labels": {
            "task_type": dict(TaskType.choices),
            "task_status": dict(TaskStatus.choices),
            "login_status": dict(LoginStatus.choices),
        },
    })


def _worker_status(user) -> dict:
    """The API's worker status, its time as a datetime for the template's date filter."""
    worker = selectors.worker_status(user=user)
    if isinstance(worker.get("changed_at"), str):
        worker["changed_at"] = parse_datetime(worker["changed_at"])
    return worker


def interval_label(seconds: int | None) -> str:
    """"a cada 15 min" for a repeating task, "uma vez" for a one-off (sellerbot.js says the same)."""
    if not seconds:
        return "uma vez"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds % size == 0:
            return f"a cada {seconds // size} {unit}"
    return f"a cada {seconds} s"
