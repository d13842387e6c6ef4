"""The state machine and progress rules, enforced in jobs.services.lifecycle."""


import pytest

from jobs import events
from jobs.models import Job, JobLog, JobStatus
from jobs.services import lifecycle
from tests.listener import GroupListener


@pytest.fixture
def job(alice):
    return Job.objects.create(kind="OI", owner=alice, params={"filtro": "1"}, secrets={"login": "a", "senha": "b"})


@pytest.mark.django_db
class TestStateMachine:
    def test_a_job_moves_pending_running_completed(self, job):
        lifecycle.job_start(job_id=job.id)
        done = lifecycle.job_complete(job_id=job.id, result="faturas/oi.pdf")
        assert (done.status, done.progress, done.result) == (JobStatus.COMPLETED, 100, "faturas/oi.pdf")
        assert done.started_at <= done.completed_at

    def test_it_refuses_to_complete_a_job_that_never_started(self, job):
        with pytest.raises(lifecycle.InvalidTransition):
            lifecycle.job_complete(job_id=job.id, result="x")
        job.refresh_from_db()
        assert (job.status, job.result, job.completed_at) == (JobStatus.PENDING, None, None)

    @pytest.mark.parametrize("final", ["complete", "fail"])
    def test_a_finished_job_never_moves_again(self, job, final):
        lifecycle.job_start(job_id=job.id)
        if final == "complete":
            lifecycle.job_complete(job_id=job.id, result="x")
        else:
            lifecycle.job_fail(job_id=job.id, error="e")
        before = Job.objects.values().get(pk=job.id)
        for move in (
            lambda: lifecycle.job_start(job_id=job.id),
            lambda: lifecycle.job_complete(job_id=job.id, result="y"),
            lambda: lifecycle.job_fail(job_id=job.id, error="other"),
        ):
            with pytest.raises(lifecycle.InvalidTransition):
                move()
        assert Job.objects.values().get(pk=job.id) == before

    def test_a_job_cannot_start_twice(self, job):
        lifecycle.job_start(job_id=job.id)
        with pytest.raises(lifecycle.InvalidTransition):
            lifecycle.job_start(job_id=job.id)

    def test_a_job_that_never_started_may_fail(self, job):
        failed = lifecycle.job_fail(job_id=job.id, error="O job não chegou à fila", category="queue")
        assert failed.status == JobStatus.FAILED
        assert failed.started_at is None


@pytest.mark.django_db
class TestProgress:
    def test_progress_never_goes_backwards(self, job):
        lifecycle.job_start(job_id=job.id)
        lifecycle.job_progress(job_id=job.id, percent=60)
        lifecycle.job_progress(job_id=job.id, percent=40, message="atrasado")
        job.refresh_from_db()
        assert job.progress == 60
        assert JobLog.objects.filter(job=job, message="atrasado").exists()

    @pytest.mark.parametrize("bad", [-1, 101, 50.5, "50", True, None])
    def test_it_rejects_progress_outside_0_to_100(self, job, bad):
        lifecycle.job_start(job_id=job.id)
        with pytest.raises(ValueError):
            lifecycle.job_progress(job_id=job.id, percent=bad)
        job.refresh_from_db()
        assert job.progress == 0

    def test_progress_only_moves_while_running(self, job):
        lifecycle.job_progress(job_id=job.id, percent=50)
        job.refresh_from_db()
        assert job.progress == 0

    def test_the_database_refuses_progress_over_100(self, job):
        from django.db import IntegrityError, transaction

        with pytest.raises(IntegrityError), transaction.atomic():
            Job.objects.filter(pk=job.pk).update(progress=101)


@pytest.mark.django_db
def test_an_unknown_log_level_is_recorded_as_info(job):
    entry = lifecycle.job_log(job_id=job.id, level="chatty", message="olá")
    assert entry.level == "INFO"


@pytest.mark.django_db(transaction=True)
class TestEnqueue:
    def test_a_job_is_queued_only_once_its_row_is_committed(self, alice):
        from django.db import transaction

        from jobs.queues import RPA_QUEUE, queue

        rpa = queue(RPA_QUEUE)
        with pytest.raises(RuntimeError), transaction.atomic():
            job = lifecycle.job_create(kind="OI", params={}, secrets={"login": "a", "senha": "b"}, owner=alice)
            assert str(job.id) not in rpa.get_job_ids()
            raise RuntimeError("the request failed after creating the job")
        assert not Job.objects.exists()
        assert str(job.id) not in rpa.get_job_ids()

        committed = lifecycle.job_create(kind="OI", params={}, secrets={"login": "a", "senha": "b"}, owner=alice)
        try:
            assert str(committed.id) in rpa.get_job_ids()
        finally:
            rpa.remove(str(committed.id))

    def test_the_queue_is_first_in_first_out(self, alice):
        from jobs.queues import RPA_QUEUE, queue

        rpa = queue(RPA_QUEUE)
        rpa.empty()
        ids = [str(lifecycle.job_create(kind="OI", params={}, secrets={"login": f"u{n}", "senha": "b"},
                                        owner=alice).id) for n in range(3)]
        try:
            assert rpa.get_job_ids() == ids
        finally:
            rpa.empty()


@pytest.mark.django_db
def test_a_new_job_is_announced_to_the_jobs_group(alice):
    with GroupListener(events.ALL_JOBS_GROUP) as listener:
        job = lifecycle.job_create(
            kind="VIVO", params={"filtro": "1"}, secrets={"login": "a", "senha": "b"}, owner=alice,
        )
        event = listener.receive(timeout=5)
    assert event == {
        "type": "job.update", "job_id": str(job.id), "owner_id": alice.id, "created": True,
        "data": {"status": "PENDING", "progress": 0, "operadora": "VIVO"},
    }

