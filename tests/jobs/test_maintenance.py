"""Reaping dead jobs and removing old ones."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from jobs.models import CallbackDelivery, Job, JobArtifact, JobLog, JobStatus
from jobs.queues import RPA_QUEUE, queue
from jobs.services import lifecycle, maintenance


def _job(owner, **fields) -> Job:
    return Job.objects.create(kind="OI", owner=owner, params={"filtro": "1"},
                              secrets={"login": "a@b.c", "senha": "segredo"}, **fields)


@pytest.mark.django_db
class TestReaping:
    def test_it_fails_a_running_job_whose_heartbeat_stopped(self, alice, settings):
        job = lifecycle.job_start(job_id=_job(alice).id)
        stale = timezone.now() - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT_SECONDS + 1)
        Job.objects.filter(pk=job.pk).update(heartbeat_at=stale)
        assert maintenance.jobs_reap() == 1
        job.refresh_from_db()
        assert (job.status, job.error) == (JobStatus.FAILED, maintenance.WORKER_DIED)

    def test_it_leaves_a_job_with_a_fresh_heartbeat_alone(self, alice):
        job = lifecycle.job_start(job_id=_job(alice).id)
        assert maintenance.jobs_reap() == 0
        job.refresh_from_db()
        assert job.status == JobStatus.RUNNING

    def test_it_queues_again_a_pending_job_the_queue_lost(self, alice, settings):
        old = timezone.now() - timedelta(seconds=settings.JOB_ENQUEUE_GRACE_SECONDS + 1)
        job = _job(alice, created_at=old)  # as after a Redis restart that lost the queue
        try:
            assert maintenance.jobs_reap() == 0
            job.refresh_from_db()
            assert job.status == JobStatus.PENDING
            assert str(job.id) in queue(RPA_QUEUE).job_ids
            assert job.logs.filter(level=JobLog.Level.WARNING, message=maintenance.REQUEUED).exists()
            assert maintenance.jobs_reap() == 0  # queued now: left alone
            assert queue(RPA_QUEUE).job_ids.count(str(job.id)) == 1
        finally:
            queue(RPA_QUEUE).empty()

    def test_it_queues_again_a_pending_job_that_rq_failed_before_it_started(self, alice, settings):
        old = timezone.now() - timedelta(seconds=settings.JOB_ENQUEUE_GRACE_SECONDS + 1)
        job = _job(alice, created_at=old)
        rq_job = queue(RPA_QUEUE).enqueue("jobs.tasks.job_run_task", str(job.id), job_id=str(job.id))
        queue(RPA_QUEUE).remove(rq_job)
        rq_job.set_status("failed")  # as when the worker's bookkeeping failed during a Redis outage
        try:
            assert maintenance.jobs_reap() == 0
            assert str(job.id) in queue(RPA_QUEUE).job_ids
        finally:
            queue(RPA_QUEUE).empty()

    def test_it_fails_a_lost_pending_job_older_than_the_longest_wait(self, alice, settings):
        old = timezone.now() - timedelta(seconds=settings.JOB_ACCOUNT_WAIT_SECONDS + 1)
        job = _job(alice, created_at=old)
        assert maintenance.jobs_reap() == 1
        job.refresh_from_db()
        assert (job.status, job.error, job.error_category) == (JobStatus.FAILED, maintenance.NEVER_QUEUED, "queue")

    def test_it_fails_a_pending_job_cancelled_in_the_queue(self, alice, settings):
        old = timezone.now() - timedelta(seconds=settings.JOB_ENQUEUE_GRACE_SECONDS + 1)
        job = _job(alice, created_at=old)
        rq_job = queue(RPA_QUEUE).enqueue("jobs.tasks.job_run_task", str(job.id), job_id=str(job.id))
        rq_job.cancel()
        try:
            assert maintenance.jobs_reap() == 1
            job.refresh_from_db()
            assert (job.status, job.error) == (JobStatus.FAILED, maintenance.QUEUE_FAILED)
        finally:
            rq_job.delete()

    def test_it_keeps_a_pending_job_that_waits_in_the_queue(self, alice, settings):
        old = timezone.now() - timedelta(seconds=settings.JOB_ENQUEUE_GRACE_SECONDS + 1)
        job = _job(alice, created_at=old)
        rq_job = queue(RPA_QUEUE).enqueue("jobs.tasks.job_run_task", str(job.id), job_id=str(job.id))
        try:
            assert maintenance.jobs_reap() == 0
            job.refresh_from_db()
            assert job.status == JobStatus.PENDING
        finally:
            rq_job.cancel()
            rq_job.delete()

    def test_it_leaves_a_young_pending_job_alone(self, alice):
        job = _job(alice)
        assert maintenance.jobs_reap() == 0
        job.refresh_from_db()
        assert job.status == JobStatus.PENDING


@pytest.mark.django_db
class TestRetention:
    def test_it_removes_finished_jobs_older_than_the_retention_with_everything_they_kept(self, alice, settings):
        old = _job(alice)
        lifecycle.job_start(job_id=old.id)
        path = lifecycle.job_artifact_save(job_id=old.id, name="tela.png", content=b"png")
        lifecycle.job_complete(job_id=old.id, result="faturas/x.pdf")
        expired = timezone.now() - timedelta(hours=settings.JOB_RETENTION_HOURS, minutes=1)
        Job.objects.filter(pk=old.pk).update(completed_at=expired)
        recent = _job(alice)
        lifecycle.job_start(job_id=recent.id)
        lifecycle.job_complete(job_id=recent.id, result="faturas/y.pdf")
        running = lifecycle.job_start(job_id=_job(alice, created_at=expired).id)

        assert maintenance.jobs_purge_expired() == 1
        assert set(Job.objects.values_list("id", flat=True)) == {recent.id, running.id}
        assert not JobLog.objects.filter(job_id=old.id).exists()
        assert not JobArtifact.objects.filter(job_id=old.id).exists()
        assert not default_storage.exists(path)

    def test_an_undelivered_callback_outlives_its_job(self, alice, settings):
        import uuid

        job = _job(alice, processo_id=uuid.uuid4())
        lifecycle.job_start(job_id=job.id)
        lifecycle.job_complete(job_id=job.id, result="x")
        expired = timezone.now() - timedelta(hours=settings.JOB_RETENTION_HOURS + 1)
        Job.objects.filter(pk=job.pk).update(completed_at=expired)
        CallbackDelivery.objects.update(created_at=expired)
        maintenance.jobs_purge_expired()
        delivery = CallbackDelivery.objects.get()
        assert delivery.job is None
        assert delivery.job_ref == job.id
        assert delivery.state == CallbackDelivery.State.PENDING


def test_the_scheduler_runs_maintenance_every_30_seconds_and_retention_every_5_minutes():
    from rq.cron import CronScheduler

    from jobs.queues import redis_connection

    scheduler = CronScheduler(connection=redis_connection())
    scheduler.load_config_from_file("project.cron")  # as `manage.py rqcron project.cron` does
    intervals = {job.func_name: job.interval for job in scheduler.get_jobs()}
    assert intervals["jobs.tasks.jobs_maintenance_task"] == 30
    assert intervals["jobs.tasks.jobs_purge_task"] == 300
    assert {job.func_name: job.cron for job in scheduler.get_jobs()}["accounts.tasks.tokens_flush"] == "17 3 * * *"
