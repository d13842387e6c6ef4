"""project.live: coalescing a burst of one job's notifications, through the real Redis layer."""

import time

import pytest

from jobs import events
from jobs.models import Job
from project import live
from tests.listener import GroupListener


@pytest.mark.django_db
def test_a_burst_from_one_job_leaves_as_about_ten_messages_a_second_and_loses_no_log_line(settings, bob):
    job = Job.objects.create(kind="OI", owner=bob, status=Job.Status.RUNNING)
    with GroupListener(events.job_group(job.id)) as listener:
        started = time.monotonic()
        for step in range(1, 301):
            job.progress = step // 3
            events.job_update_publish(job)
            events.job_log_publish(job, "INFO", f"passo {step}")
            time.sleep(0.002)  # a job reporting 500 times a second, for about 0.6 s
        burst = time.monotonic() - started
        live.flush()
        received = listener.drain()

    # A burst of two at once, then at most one per 0.1 s window, and the flush's last one.
    assert 2 <= len(received) <= burst / settings.LIVE_COALESCE_SECONDS + 3
    inner = GroupListener.unpacked(received)
    logs = [m["message"] for m in inner if m["type"] == events.LOG]
    assert logs == [f"passo {step}" for step in range(1, 301)]
    updates = [m["data"]["progress"] for m in inner if m["type"] == events.UPDATE]
    # Log lines published after the last update may leave in a message of their own.
    per_message = [sum(m["type"] == events.UPDATE for m in GroupListener.unpacked([one])) for one in received]
    assert max(per_message) == 1, "at most one job.update (the newest) per message"
    assert len(updates) >= len(received) - 1
    assert updates == sorted(updates) and updates[-1] == 100


@pytest.mark.django_db
def test_a_steady_stream_at_the_limit_rate_is_not_held_back(settings, bob):
    """Ten updates a second, each on its own: every one leaves at once, none is merged."""
    job = Job.objects.create(kind="OI", owner=bob, status=Job.Status.RUNNING)
    with GroupListener(events.job_group(job.id)) as listener:
        next_at = time.monotonic()
        for step in range(20):
            job.progress = step
            events.job_update_publish(job)
            next_at += settings.LIVE_COALESCE_SECONDS
            time.sleep(max(0.0, next_at - time.monotonic()))
        live.flush()
        received = listener.drain()
    assert [m["data"]["progress"] for m in received] == list(range(20))


@pytest.mark.django_db
def test_two_jobs_are_coalesced_apart(bob):
    first, second = (Job.objects.create(kind=kind, owner=bob, status=Job.Status.RUNNING) for kind in ("OI", "VIVO"))
    with GroupListener(events.ALL_JOBS_GROUP) as listener:
        events.job_update_publish(first)
        events.job_update_publish(second)
        live.flush()
        received = listener.drain()
    assert sorted(m["job_id"] for m in received) == sorted([str(first.id), str(second.id)])
