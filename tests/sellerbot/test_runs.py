"""Task runs end to end: the API, the switch, real bot workers, real Chromium on the TikTok
sandbox, the websocket and /metrics; and what stopping or killing the worker does."""

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobs.models import Job, JobStatus
from jobs.services import maintenance
from sellerbot import services
from sellerbot.models import BotTask, BotTaskRun, LoginStatus, Profile, TaskStatus
from sellerbot.sandbox import store
from tests.jobs.helpers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DEMO = {"name": "Loja Centro", "username": store.DEMO_LOGIN, "password": store.PASSWORD,
        "verification_code": store.VERIFICATION_CODE}
TEMPLATE = "Olá {nome}! O {produto} está disponível, qualquer dúvida é só chamar."


def samples(client) -> dict[tuple, float]:
    found = {}
    for family in text_string_to_metric_families(client.get("/metrics").content.decode()):
        for sample in family.samples:
            if sample.name.startswith("bot_"):
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def metric(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def make_profile(api, **overrides) -> dict:
    response = api.post("/bot/profiles", {**DEMO, **overrides}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def make_task(api, profile_id, **config) -> dict:
    body = {"task_type": "reply_comments", "profile_id": profile_id,
            "config": {"max_replies": 3, "delay_seconds": 0, "templates": [TEMPLATE], **config}}
    response = api.post("/bot/tasks", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def finished_run(task_id, timeout: float = 90) -> BotTaskRun:
    return wait_for(lambda: BotTaskRun.objects.filter(task_id=task_id, finished_at__isnull=False).first(),
                    timeout=timeout, message=f"a run of task {task_id} to finish")


def test_reply_comments_runs_end_to_end(bob, bob_api, client, bot_workers, notifications):
    before = samples(client)
    listener = notifications(bob)
    profile = make_profile(bob_api)
    task = make_task(bob_api, profile["id"])
    bot_workers.start(1)

    started = bob_api.post("/bot/start", {}, format="json")
    assert started.status_code == 200, started.content
    run = finished_run(task["id"])

    assert run.status == TaskStatus.COMPLETED, (run.error, run.job.error if run.job else None)
    replied = [comment for comment in store.comments(store.DEMO_LOGIN) if comment["reply"]]
    assert len(replied) == 3 and run.replies_sent == 3
    for comment in replied:  # {nome} is the customer's first name
        assert comment["reply"] == TEMPLATE.format(nome=comment["author"].split()[0], produto=comment["product"])
    job = Job.objects.get(pk=run.job_id)
    assert job.kind == "tiktok.reply_comments" and job.status == JobStatus.COMPLETED and job.progress == 100
    assert store.PASSWORD not in " ".join(job.logs.values_list("message", flat=True))

    completed = wait_for(lambda: listener.of_type("bot_task_completed"), timeout=10, message="bot_task_completed")
    payload = completed[0]["payload"]
    assert payload["task_id"] == task["id"] and payload["result"]["replies_sent"] == 3 and payload["duration"] > 0
    assert listener.of_type("bot_task_started")[0]["payload"] == {
        "task_id": task["id"], "task_type": "reply_comments", "profile_id": profile["id"]}
    assert listener.of_type("bot_worker_started")[0]["payload"]["profiles"] == [profile["id"]]

    after = samples(client)
    assert metric(after, "bot_task_completed_total", task_type="reply_comments") == \
        metric(before, "bot_task_completed_total", task_type="reply_comments") + 1
    assert metric(after, "bot_task_created_total", task_type="reply_comments") == \
        metric(before, "bot_task_created_total", task_type="reply_comments") + 1
    assert metric(after, "bot_task_duration_seconds_count") == metric(before, "bot_task_duration_seconds_count") + 1
    assert metric(after, "bot_started_total") == metric(before, "bot_started_total") + 1
    assert metric(after, "bot_profile_created_total") == metric(before, "bot_profile_created_total") + 1

    task_now = bob_api.get(f"/bot/tasks/{task['id']}").json()
    assert task_now["status"] == "completed" and task_now["last_run"]["replies_sent"] == 3
    assert Profile.objects.get(pk=profile["id"]).login_status == LoginStatus.OK
    stats = bob_api.get("/bot/stats").json()
    assert stats["replies_sent"] == 3 and stats["success_rate"] == 100.0
    status = bob_api.get("/bot/worker-status").json()
    assert status["status"] == "running" and status["heartbeat_age_seconds"] < 3


def test_stop_lets_the_running_task_finish_and_starts_nothing_new(bob, bob_api, bot_workers):
    profile = make_profile(bob_api)
    other = make_profile(bob_api, name="Loja Norte", region="MX")
    task = make_task(bob_api, profile["id"], max_replies=4, delay_seconds=1)
    bot_workers.start(1)
    bob_api.post("/bot/start", {}, format="json")
    wait_for(lambda: BotTask.objects.filter(pk=task["id"], status=TaskStatus.RUNNING).exists(), timeout=60,
             message="the task to run")

    assert bob_api.post("/bot/stop", {"reason": "pausa"}, format="json").status_code == 200
    later = make_task(bob_api, other["id"])

    run = finished_run(task["id"])
    assert run.status == TaskStatus.COMPLETED and run.replies_sent == 4
    time.sleep(2)  # several beats of the worker
    assert BotTask.objects.get(pk=later["id"]).status == TaskStatus.PENDING
    assert not BotTaskRun.objects.filter(task_id=later["id"]).exists()
    assert bob_api.get("/bot/worker-status").json()["status"] == "stopped"


def test_two_tasks_on_one_profile_never_run_at_once(bob, bob_api, bot_workers):
    profile = make_profile(bob_api)
    first = make_task(bob_api, profile["id"], max_replies=2, delay_seconds=0.5)
    second = make_task(bob_api, profile["id"], max_replies=2, delay_seconds=0.5)
    bot_workers.start(2)
    bob_api.post("/bot/start", {}, format="json")

    runs = [finished_run(first["id"], timeout=120), finished_run(second["id"], timeout=120)]

    assert all(run.status == TaskStatus.COMPLETED for run in runs), [run.error for run in runs]
    jobs = sorted(Job.objects.filter(pk__in=[run.job_id for run in runs]), key=lambda job: job.started_at)
    assert jobs[0].completed_at <= jobs[1].started_at
    assert len([c for c in store.comments(store.DEMO_LOGIN) if c["reply"]]) == 4


def test_a_worker_killed_mid_task_shows_as_stopped_and_its_job_fails_clearly(bob, bob_api, client, bot_workers):
    before = samples(client)
    profile = make_profile(bob_api)
    task = make_task(bob_api, profile["id"], max_replies=20, delay_seconds=1)
    worker, = bot_workers.start(1)
    bob_api.post("/bot/start", {}, format="json")
    wait_for(lambda: any(c["reply"] for c in store.comments(store.DEMO_LOGIN)), timeout=60,
             message="the first reply")

    bot_workers.kill(worker)

    status = wait_for(lambda: (s := bob_api.get("/bot/worker-status").json())["status"] == "stopped" and s,
                      timeout=10, message="the heartbeat to expire")
    assert status["switch"] == "on" and "não dá sinal de vida" in status["reason"]
    assert services.worker_watch() is True  # bot_worker_stopped, once
    assert services.worker_watch() is False
    job_id = BotTaskRun.objects.get(task_id=task["id"]).job_id
    wait_for(lambda: maintenance.jobs_reap() or Job.objects.get(pk=job_id).status == JobStatus.FAILED,
             timeout=20, interval=1, message="the maintenance pass to fail the job")
    job = Job.objects.get(pk=job_id)
    assert job.status == JobStatus.FAILED and job.error == maintenance.WORKER_DIED
    run = BotTaskRun.objects.get(task_id=task["id"])
    assert run.status == TaskStatus.FAILED and run.error == maintenance.WORKER_DIED
    assert BotTask.objects.get(pk=task["id"]).status == TaskStatus.FAILED
    after = samples(client)
    assert metric(after, "bot_task_failed_total", task_type="reply_comments", error="worker") == \
        metric(before, "bot_task_failed_total", task_type="reply_comments", error="worker") + 1
    assert metric(after, "bot_worker_status") == 0


def test_verify_with_a_wrong_password_marks_the_profile_failed_with_the_reason(bob_api, client, bot_workers):
    before = samples(client)
    profile = make_profile(bob_api, password="errada")
    bot_workers.start(1)

    response = bob_api.post(f"/bot/profiles/{profile['id']}/verify", {}, format="json")
    assert response.status_code == 202

    wait_for(lambda: Profile.objects.get(pk=profile["id"]).login_status != LoginStatus.UNKNOWN, timeout=60,
             message="the verification to end")
    listed = bob_api.get(f"/bot/profiles/{profile['id']}").json()
    assert listed["login_status"] == "failed"
    assert listed["status_message"] == (
        "Falha de autenticação no TikTok Seller Center: Senha incorreta. Verifique e tente novamente.")
    assert listed["last_verified_at"]
    assert metric(samples(client), "bot_profile_verified_total", status="failed") == \
        metric(before, "bot_profile_verified_total", status="failed") + 1


def test_verify_asks_for_the_code_and_then_keeps_the_session(bob_api, bot_workers):
    profile = make_profile(bob_api, verification_code="")
    bot_workers.start(1)

    bob_api.post(f"/bot/profiles/{profile['id']}/verify", {}, format="json")
    wait_for(lambda: Profile.objects.get(pk=profile["id"]).login_status == LoginStatus.NEEDS_VERIFICATION,
             timeout=60, message="the code to be asked for")
    assert "código de verificação" in Profile.objects.get(pk=profile["id"]).status_message

    bob_api.post(f"/bot/profiles/{profile['id']}/verify", {"code": store.VERIFICATION_CODE}, format="json")
    wait_for(lambda: Profile.objects.get(pk=profile["id"]).login_status == LoginStatus.OK, timeout=60,
             message="the login with the code")
    listed = bob_api.get(f"/bot/profiles/{profile['id']}").json()
    assert listed["has_session"] is True and "codigo" not in str(listed)
