"""The engine under stress and failure, each test with workers of its own."""

import os
import signal

import pytest
from rq.job import Job as RQJob

from jobs.models import Job, JobStatus
from jobs.queues import redis_connection
from jobs.services import accounts, maintenance, runner
from tests.jobs.helpers import carrier_payload, max_overlap, wait_for, wait_until_finished

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# The worker class that gives each job a forked work-horse (RQ_WORKER_CLASS).
FORKING = {"RQ_WORKER_CLASS": "jobs.worker.RpaWorker"}


def test_at_most_rpa_max_concurrency_jobs_run_at_once(workers, alice_api):
    workers.start(4, RPA_MAX_CONCURRENCY=2)
    ids = [
        alice_api.post("/executar/EMBRATEL", carrier_payload("sleep:1", login=f"user{n}@x.com"), format="json")
        .json()["job_id"]
        for n in range(6)
    ]
    jobs = [wait_until_finished(job_id, timeout=60) for job_id in ids]
    assert all(job.status == JobStatus.COMPLETED for job in jobs)
    assert max_overlap(jobs) == 2


def test_jobs_on_one_portal_account_never_overlap(workers, alice_api):
    workers.start(3)
    same = [alice_api.post("/executar/OI", carrier_payload("sleep:1"), format="json").json()["job_id"]
            for _ in range(2)]
    other = alice_api.post("/executar/OI", carrier_payload("sleep:1", login="outro@empresa.com.br"),
                           format="json").json()["job_id"]
    first, second, third = (wait_until_finished(job_id, timeout=60) for job_id in (*same, other))
    assert first.status == second.status == third.status == JobStatus.COMPLETED
    assert max_overlap([first, second]) == 1
    assert max_overlap([first, third]) == 2 or max_overlap([second, third]) == 2


def test_jobs_on_one_account_take_turns_in_line_order_and_leave_the_workers_free(workers, alice_api):
    workers.start(2)
    same = [alice_api.post("/executar/OI", carrier_payload(f"sleep:1;log:vez {n}"), format="json").json()["job_id"]
            for n in range(3)]
    other = alice_api.post("/executar/OI", carrier_payload("progress:50", login="outro@empresa.com.br"),
                           format="json").json()["job_id"]

    jobs = [wait_until_finished(job_id, timeout=60) for job_id in same]
    unrelated = wait_until_finished(other, timeout=60)
    assert [job.status for job in (*jobs, unrelated)] == [JobStatus.COMPLETED] * 4
    # Two workers may pick up two of them at once; either may take the account first. After that,
    # one at a time, the waiting ones in the order they joined the line.
    first, *waited = sorted(jobs, key=lambda job: job.started_at)
    assert first.completed_at <= waited[0].started_at and waited[0].completed_at <= waited[1].started_at
    assert not first.logs.filter(message=runner.WAITING_FOR_ACCOUNT).exists()
    joined = [job.logs.get(message=runner.WAITING_FOR_ACCOUNT).id for job in waited]
    assert joined == sorted(joined)
    # The jobs waiting for the account gave their worker back: the other account's job ran meanwhile.
    assert unrelated.completed_at < first.completed_at


def test_a_job_whose_worker_is_killed_ends_failed(workers, alice_api, tmp_path):
    """The default worker runs the job in its own process: kill -9 takes both."""
    (worker,) = workers.start(1)
    pidfile = tmp_path / "worker.pid"
    job_id = alice_api.post("/executar/VIVO", carrier_payload(f"pidfile:{pidfile};sleep:60"),
                            format="json").json()["job_id"]
    wait_for(lambda: pidfile.exists() and pidfile.read_text(), message="the automation to start")
    assert int(pidfile.read_text()) == worker.pid
    os.kill(worker.pid, signal.SIGKILL)

    job = _reap_until_finished(job_id)
    assert job.status == JobStatus.FAILED
    assert job.error == maintenance.WORKER_DIED
    assert job.error_category == "worker"


def test_when_the_job_holding_an_account_dies_the_next_in_line_still_runs(workers, alice_api, tmp_path):
    (worker,) = workers.start(1)
    pidfile = tmp_path / "worker.pid"
    dying = alice_api.post("/executar/VIVO", carrier_payload(f"pidfile:{pidfile};sleep:60"),
                           format="json").json()["job_id"]
    wait_for(lambda: pidfile.exists() and pidfile.read_text(), message="the automation to start")
    waiting = alice_api.post("/executar/VIVO", carrier_payload("progress:50"), format="json").json()["job_id"]
    workers.start(1)
    wait_for(lambda: Job.objects.get(pk=waiting).logs.filter(message=runner.WAITING_FOR_ACCOUNT).exists(),
             message="the second job to wait in line")
    os.kill(worker.pid, signal.SIGKILL)

    # The maintenance pass fails the dead job and, once its lease on the account runs out,
    # hands the account to the job in line.
    assert _reap_until_finished(dying).error == maintenance.WORKER_DIED
    assert _reap_until_finished(waiting).status == JobStatus.COMPLETED


def test_a_job_whose_worker_is_killed_while_it_waits_for_a_run_slot_is_queued_again_and_runs(workers, alice_api,
                                                                                            tmp_path):
    """It never started: the maintenance pass gives it back to the queue instead of losing it."""
    workers.start(1, RPA_MAX_CONCURRENCY=1)
    pidfile = tmp_path / "worker.pid"
    holder = alice_api.post("/executar/VIVO", carrier_payload(f"pidfile:{pidfile};sleep:8", login="um@x.com"),
                            format="json").json()["job_id"]
    wait_for(lambda: pidfile.exists() and pidfile.read_text(), message="the first job to start")
    (waiter_worker,) = workers.start(1, RPA_MAX_CONCURRENCY=1)
    waiting = alice_api.post("/executar/VIVO", carrier_payload("progress:50", login="dois@x.com"),
                             format="json").json()["job_id"]
    # The second worker took the job and waits for the only slot.
    wait_for(lambda: RQJob.fetch(waiting, connection=redis_connection()).get_status() == "started",
             message="the second job to be taken by the second worker")
    os.kill(waiter_worker.pid, signal.SIGKILL)

    job = _reap_until_finished(waiting)
    assert job.status == JobStatus.COMPLETED
    assert job.logs.filter(message=maintenance.REQUEUED).exists()
    assert wait_until_finished(holder, timeout=30).status == JobStatus.COMPLETED


def test_a_job_whose_work_horse_is_killed_ends_failed(workers, alice_api, tmp_path):
    (worker,) = workers.start(1, **FORKING)
    pidfile = tmp_path / "horse.pid"
    job_id = alice_api.post("/executar/DIGITALNET", carrier_payload(f"pidfile:{pidfile};sleep:60"),
                            format="json").json()["job_id"]
    wait_for(lambda: pidfile.exists() and pidfile.read_text(), message="the automation to start")
    assert int(pidfile.read_text()) != worker.pid
    os.kill(int(pidfile.read_text()), signal.SIGKILL)

    job = _reap_until_finished(job_id)
    assert job.status == JobStatus.FAILED
    assert job.error == maintenance.WORKER_DIED
    assert job.error_category == "worker"


def test_a_job_whose_forking_worker_and_horse_are_killed_ends_failed(workers, alice_api, tmp_path):
    (worker,) = workers.start(1, **FORKING)
    pidfile = tmp_path / "horse.pid"
    job_id = alice_api.post("/executar/OI", carrier_payload(f"pidfile:{pidfile};sleep:60"),
                            format="json").json()["job_id"]
    wait_for(lambda: pidfile.exists() and pidfile.read_text(), message="the automation to start")
    # The worker and its work-horse (rq puts it in a session of its own), as a machine crash would.
    os.kill(worker.pid, signal.SIGKILL)
    os.kill(int(pidfile.read_text()), signal.SIGKILL)

    job = _reap_until_finished(job_id)
    assert job.status == JobStatus.FAILED
    assert job.error == maintenance.WORKER_DIED


@pytest.mark.parametrize("worker_env_extra", [{}, FORKING], ids=["simple-worker", "forking-worker"])
def test_a_job_over_its_time_limit_ends_failed_and_frees_its_slot(workers, alice_api, settings, worker_env_extra):
    settings.RPA_JOB_TIMEOUT = 2
    workers.start(1, RPA_JOB_TIMEOUT=2, **worker_env_extra)
    job_id = alice_api.post("/executar/EMBRATEL", carrier_payload("sleep:30"), format="json").json()["job_id"]

    job = wait_until_finished(job_id, timeout=30)
    assert job.status == JobStatus.FAILED
    assert job.error == "Tempo limite de execução excedido (2 s)."
    assert job.error_category == "timeout"
    # The worker goes on with the next job: the slot and the account lock were released.
    after = alice_api.post("/executar/EMBRATEL", carrier_payload("progress:50"), format="json").json()["job_id"]
    assert wait_until_finished(after, timeout=30).status == JobStatus.COMPLETED


def test_a_retry_waits_for_the_orphan_still_holding_the_account(workers, alice_api, tmp_path):
    """The parent worker dies but its work-horse runs on: a new job on that account must not log in alongside."""
    (worker,) = workers.start(1, **FORKING)
    pidfile = tmp_path / "horse.pid"
    orphan_id = alice_api.post("/executar/OI", carrier_payload(f"pidfile:{pidfile};sleep:3"),
                               format="json").json()["job_id"]
    wait_for(lambda: pidfile.exists() and pidfile.read_text(), message="the automation to start")
    os.kill(worker.pid, signal.SIGKILL)  # only the parent: the work-horse goes on
    workers.start(1, **FORKING)
    retry_id = alice_api.post("/executar/OI", carrier_payload("sleep:0.2"), format="json").json()["job_id"]

    orphan = wait_until_finished(orphan_id, timeout=60)
    retry = wait_until_finished(retry_id, timeout=60)
    assert orphan.status == JobStatus.COMPLETED
    assert retry.status == JobStatus.COMPLETED
    assert retry.started_at >= orphan.completed_at


def _reap_until_finished(job_id, timeout: float = 60.0) -> Job:
    def reaped():
        maintenance.jobs_reap()
        accounts.accounts_wake()
        return Job.objects.filter(pk=job_id, status__in=Job.FINISHED).first()

    return wait_for(reaped, timeout=timeout, interval=0.5, message="the maintenance pass to end the job")


def _dedupe(values: list) -> list:
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]
