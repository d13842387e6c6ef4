"""Jobs on one portal account take turns in the order they arrived (jobs.leases lines, and
jobs.services.accounts handing the account on), against real Redis."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import leases
from jobs.leases import Account
from jobs.models import Job, JobStatus
from jobs.queues import RPA_QUEUE, queue, redis_connection
from jobs.services import accounts


@pytest.fixture
def account():
    """A portal account of the test's own; its keys are removed afterwards."""
    key = uuid.uuid4().hex
    yield key
    redis_connection().delete(leases.ACCOUNT_KEY.format(key), leases.LINE_KEY.format(key))
    redis_connection().srem(leases.LINES_KEY, key)


@pytest.fixture
def rpa_queue():
    rpa = queue(RPA_QUEUE)
    rpa.empty()
    yield rpa
    rpa.empty()


def job_ids(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


class TestTheLine:
    def test_jobs_on_one_account_take_turns_in_the_order_they_arrived(self, account):
        first, second, third = job_ids(3)
        assert leases.account_acquire(account, first) == Account.HELD
        assert leases.account_acquire(account, second) == Account.JOINED_LINE
        assert leases.account_acquire(account, third) == Account.JOINED_LINE
        assert leases.account_acquire(account, second) == Account.WAITING
        assert leases.account_line(account) == [second, third]

        assert leases.account_release(account, first) == second
        assert leases.account_acquire(account, third) == Account.WAITING
        assert leases.account_acquire(account, second) == Account.HELD
        assert leases.account_line(account) == [third]
        assert leases.account_release(account, second) == third
        assert leases.account_acquire(account, third) == Account.HELD
        assert leases.account_release(account, third) is None
        assert leases.account_holder(account) is None
        assert account not in leases.accounts_with_a_line()

    def test_a_newcomer_does_not_take_a_free_account_ahead_of_the_line(self, account):
        holder, waiting, newcomer = job_ids(3)
        leases.account_acquire(account, holder)
        leases.account_acquire(account, waiting)
        redis_connection().delete(leases.ACCOUNT_KEY.format(account))  # the holder's lease ran out

        assert leases.account_acquire(account, newcomer) == Account.JOINED_LINE
        assert leases.account_reserve_for_head(account) == waiting
        assert leases.account_acquire(account, waiting) == Account.HELD
        assert leases.account_line(account) == [newcomer]

    def test_a_waiting_job_leaving_the_line_leaves_the_holder_alone(self, account):
        holder, leaving, staying = job_ids(3)
        for job_id in (holder, leaving, staying):
            leases.account_acquire(account, job_id)

        assert leases.account_release(account, leaving) is None
        assert leases.account_holder(account) == holder
        assert leases.account_line(account) == [staying]

    def test_a_held_account_is_not_reserved_over_its_holder(self, account):
        holder, waiting = job_ids(2)
        leases.account_acquire(account, holder)
        leases.account_acquire(account, waiting)
        assert leases.account_reserve_for_head(account) is None
        assert leases.account_holder(account) == holder

    def test_a_job_without_a_login_never_waits(self):
        assert leases.account_acquire("", str(uuid.uuid4())) == Account.HELD
        assert leases.account_release("", str(uuid.uuid4())) is None


@pytest.mark.django_db
class TestHandingOn:
    @pytest.fixture
    def make_job(self, alice, account):
        def make(status=JobStatus.PENDING, **fields) -> Job:
            return Job.objects.create(kind="OI", owner=alice, status=status, account_key=account,
                                      params={"filtro": "1"}, secrets={"login": "a", "senha": "b"}, **fields)
        return make

    def test_the_next_job_in_line_goes_to_the_front_of_the_queue(self, account, make_job, rpa_queue):
        running, waiting, unrelated = make_job(status=JobStatus.RUNNING), make_job(), make_job()
        leases.account_acquire(account, str(running.id))
        leases.account_acquire(account, str(waiting.id))
        rpa_queue.enqueue("jobs.tasks.job_run_task", str(unrelated.id), job_id=str(unrelated.id))

        accounts.account_pass_on(account_key=account, job_id=running.id)

        assert rpa_queue.job_ids == [str(waiting.id), str(unrelated.id)]
        assert leases.account_holder(account) == str(waiting.id)

    def test_a_job_in_line_that_is_no_longer_pending_is_skipped(self, account, make_job, rpa_queue):
        running, failed, waiting = make_job(status=JobStatus.RUNNING), make_job(), make_job()
        for job in (running, failed, waiting):
            leases.account_acquire(account, str(job.id))
        Job.objects.filter(pk=failed.pk).update(status=JobStatus.FAILED)

        accounts.account_pass_on(account_key=account, job_id=running.id)

        assert rpa_queue.job_ids == [str(waiting.id)]
        assert leases.account_holder(account) == str(waiting.id)
        assert leases.account_line(account) == [str(waiting.id)]

    def test_maintenance_restarts_a_line_whose_holder_died(self, account, make_job, rpa_queue):
        dead, waiting = make_job(status=JobStatus.RUNNING), make_job()
        leases.account_acquire(account, str(dead.id))
        leases.account_acquire(account, str(waiting.id))
        redis_connection().delete(leases.ACCOUNT_KEY.format(account))  # its lease ran out

        assert accounts.accounts_wake() == 0

        assert rpa_queue.job_ids == [str(waiting.id)]
        assert leases.account_holder(account) == str(waiting.id)

    def test_maintenance_leaves_a_healthy_line_alone(self, account, make_job, rpa_queue):
        running, waiting = make_job(status=JobStatus.RUNNING), make_job()
        leases.account_acquire(account, str(running.id))
        leases.account_acquire(account, str(waiting.id))

        assert accounts.accounts_wake() == 0

        assert rpa_queue.job_ids == []
        assert leases.account_holder(account) == str(running.id)
        assert leases.account_line(account) == [str(waiting.id)]

    def test_maintenance_fails_a_job_that_waited_too_long_and_moves_the_line_on(
            self, account, make_job, rpa_queue, settings):
        settings.JOB_ACCOUNT_WAIT_SECONDS = 60
        long_ago = timezone.now() - timedelta(seconds=61)
        dead, too_long, recent = make_job(status=JobStatus.RUNNING), make_job(), make_job()
        Job.objects.filter(pk=too_long.pk).update(created_at=long_ago)
        for job in (dead, too_long, recent):
            leases.account_acquire(account, str(job.id))
        redis_connection().delete(leases.ACCOUNT_KEY.format(account))

        assert accounts.accounts_wake() == 1

        too_long.refresh_from_db()
        assert (too_long.status, too_long.error_category) == (JobStatus.FAILED, "busy")
        assert too_long.error == accounts.WAITED_TOO_LONG
        assert rpa_queue.job_ids == [str(recent.id)]
        assert leases.account_holder(account) == str(recent.id)
