"""project.live: coalescing a burst of one job's notifications, through the real Redis layer."""

import asyncio
import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from jobs import events
from jobs.models import Job
from project import live


@pytest.mark.django_db
def test_a_burst_from_one_job_leaves_as_about_ten_messages_a_second_and_loses_no_log_line(settings, bob):
    job = Job.objects.create(kind="OI", owner=bob, status=Job.Status.RUNNING)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(events.job_group(job.id), channel)
    try:
        started = time.monotonic()
        for step in range(1, 301):
            job.progress = step // 3
            events.job_update_publish(job)
            events.job_log_publish(job, "INFO", f"passo {step}")
            time.sleep(0.002)  # a job reporting 500 times a second, for about 0.6 s
        burst = time.monotonic() - started
        live.flush()
        received = async_to_sync(_drain)(layer, channel)
    finally:
        async_to_sync(layer.group_discard)(events.job_group(job.id), channel)

    # One message at once, then at most one per 0.1 s window, and the flush's last one.
    assert 2 <= len(received) <= burst / settings.LIVE_COALESCE_SECONDS + 2
    inner = [m for message in received for m in (message["messages"] if message["type"] == live.BATCH_TYPE
                                                  else [message])]
    logs = [m["message"] for m in inner if m["type"] == events.LOG]
    assert logs == [f"passo {step}" for step in range(1, 301)]
    updates = [m["data"]["progress"] for m in inner if m["type"] == events.UPDATE]
    assert len(updates) == len(received), "one job.update (the newest) per message"
    assert updates == sorted(updates) and updates[-1] == 100


@pytest.mark.django_db
def test_two_jobs_are_coalesced_apart(bob):
    first, second = (Job.objects.create(kind=kind, owner=bob, status=Job.Status.RUNNING) for kind in ("OI", "VIVO"))
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(events.ALL_JOBS_GROUP, channel)
    try:
        events.job_update_publish(first)
        events.job_update_publish(second)
        live.flush()
        received = async_to_sync(_drain)(layer, channel)
    finally:
        async_to_sync(layer.group_discard)(events.ALL_JOBS_GROUP, channel)
    assert sorted(m["job_id"] for m in received) == sorted([str(first.id), str(second.id)])


async def _drain(layer, channel, quiet: float = 0.3) -> list[dict]:
    """Every message until the channel has been quiet for `quiet` seconds."""
    received = []
    while True:
        try:
            received.append(await asyncio.wait_for(layer.receive(channel), timeout=quiet))
        except TimeoutError:
            return received
