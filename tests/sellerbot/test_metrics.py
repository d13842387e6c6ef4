"""The Seller Bot's metrics on /metrics: seed 004's names and labels, counts from several
processes added up exactly, gauges read at scrape time, and a page promtool accepts."""

import shutil
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobs.queues import redis_connection
from sellerbot import metrics, services
from sellerbot.models import BotTask
from tests.conftest import BASE_DIR

pytestmark = pytest.mark.django_db

SEED_NAMES = {
    "bot_task_created_total", "bot_task_completed_total", "bot_task_failed_total", "bot_profile_created_total",
    "bot_profile_verified_total", "bot_started_total", "bot_stopped_total", "bot_task_duration_seconds_bucket",
    "bot_task_duration_seconds_sum", "bot_task_duration_seconds_count", "bot_active_tasks", "bot_active_profiles",
    "bot_worker_status",
}


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.content.decode()


def samples(text: str) -> dict[tuple, float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("bot_"):
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_every_metric_of_the_seed_is_on_the_page_even_before_anything_happened(client):
    found = samples(scrape(client))
    # A failure's error label is known only when it happens.
    assert SEED_NAMES - {"bot_task_failed_total"} <= {name for name, _ in found}
    assert found[("bot_task_created_total", (("task_type", "update_stock"),))] == 0
    assert found[("bot_profile_verified_total", (("status", "failed"),))] == 0
    assert found[("bot_started_total", ())] == 0


def test_counters_carry_the_seeds_labels_and_the_histogram_its_buckets(client):
    metrics.count("bot_task_created", task_type="reply_comments")
    metrics.count("bot_task_failed", task_type="reply_comments", error="timeout")
    metrics.count("bot_profile_verified", status="success")
    metrics.observe_duration(3.2)
    metrics.observe_duration(12)

    found = samples(scrape(client))
    assert found[("bot_task_created_total", (("task_type", "reply_comments"),))] == 1
    assert found[("bot_task_failed_total", (("error", "timeout"), ("task_type", "reply_comments")))] == 1
    assert found[("bot_profile_verified_total", (("status", "success"),))] == 1
    assert found[("bot_task_duration_seconds_bucket", (("le", "1.0"),))] == 0
    assert found[("bot_task_duration_seconds_bucket", (("le", "5.0"),))] == 1
    assert found[("bot_task_duration_seconds_bucket", (("le", "30.0"),))] == 2
    assert found[("bot_task_duration_seconds_bucket", (("le", "+Inf"),))] == 2
    assert found[("bot_task_duration_seconds_count", ())] == 2
    assert found[("bot_task_duration_seconds_sum", ())] == pytest.approx(15.2)


def test_a_counter_with_the_wrong_labels_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown counter or labels"):
        metrics.count("bot_task_created")


@pytest.mark.django_db(transaction=True)
def test_increments_from_several_processes_all_count(client, worker_env):
    script = ("from sellerbot import metrics\n"
              "for _ in range(40):\n"
              "    metrics.count('bot_task_completed', task_type='sync_orders')\n"
              "    metrics.observe_duration(0.5)\n")
    processes = [subprocess.Popen([sys.executable, str(BASE_DIR / "manage.py"), "shell", "-c", script],
                                  env=worker_env, cwd=BASE_DIR) for _ in range(3)]
    assert [process.wait(timeout=120) for process in processes] == [0, 0, 0]

    found = samples(scrape(client))
    assert found[("bot_task_completed_total", (("task_type", "sync_orders"),))] == 120
    assert found[("bot_task_duration_seconds_count", ())] == 120
    assert found[("bot_task_duration_seconds_sum", ())] == pytest.approx(60)


def test_the_gauges_follow_the_tasks_and_the_worker(client, bob):
    profile = services.profile_create(owner=bob, name="A", username="a@b.c", password="x")
    other = services.profile_create(owner=bob, name="B", username="b@b.c", password="x")
    for target, status in ((profile, "running"), (profile, "pending"), (other, "queued")):
        task = services.task_create(owner=bob, profile=target, task_type="reply_comments", config={})
        BotTask.objects.filter(pk=task.pk).update(status=status)
    redis_connection().delete("bot:worker:heartbeat")

    found = samples(scrape(client))
    assert found[("bot_active_tasks", ())] == 2
    assert found[("bot_active_profiles", ())] == 2
    assert found[("bot_worker_status", ())] == 0

    services.worker_start(user=bob)
    services.worker_beat(worker_name="test")
    assert samples(scrape(client))[("bot_worker_status", ())] == 1


def test_promtool_accepts_the_page(client, bob):
    metrics.count("bot_task_created", task_type="update_stock")
    metrics.count("bot_task_failed", task_type="update_stock", error="navigation")
    metrics.observe_duration(7)
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")

    result = subprocess.run([promtool, "check", "metrics"], input=scrape(client), capture_output=True, text=True)

    remarks = [line for line in (result.stdout + result.stderr).splitlines() if line.lstrip().startswith("bot_")]
    assert remarks == []
    assert "error while linting" not in result.stderr and "text format parsing error" not in result.stderr
