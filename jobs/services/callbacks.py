"""The processo outbox: a finished job's status is delivered at least once, never lost
(project/outbox.py holds the claim and the bookkeeping that the chatbot's replies share)."""

import logging
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction

from jobs import processo
from jobs.models import CallbackAttempt, CallbackDelivery, Job
from jobs.queues import DEFAULT_QUEUE, queue
from project.outbox import exponential_backoff, outbox_claim, outbox_due_ids, outbox_settle

logger = logging.getLogger(__name__)


def callback_schedule(*, job: Job) -> CallbackDelivery:
    """Owe the processo API this job's final status; first attempt right after commit."""
    delivery = CallbackDelivery.objects.create(
        job=job, job_ref=job.id, processo_id=job.processo_id, status=job.status
    )
    transaction.on_commit(lambda: _enqueue_quietly(delivery.id))
    return delivery


def callback_deliver(*, delivery_id: int) -> CallbackDelivery | None:
    """Make one delivery attempt if it is due and nobody else is making it."""
    # The lease: long enough for the three requests to time out.
    if not outbox_claim(CallbackDelivery, delivery_id, lease_seconds=3 * settings.PROCESSO_API_TIMEOUT + 30):
        return None
    delivery = CallbackDelivery.objects.get(pk=delivery_id)
    attempt_number = delivery.attempts + 1
    outcomes = processo.processo_status_update(processo_id=delivery.processo_id, status=delivery.status)
    CallbackAttempt.objects.bulk_create(
        CallbackAttempt(
            delivery=delivery, attempt=attempt_number, method=o.method, url=o.url,
            http_status=o.http_status, error=o.error[:300], ok=o.ok,
        )
        for o in outcomes
    )
    outbox_settle(delivery, ok=outcomes[-1].ok, max_attempts=settings.PROCESSO_CALLBACK_MAX_ATTEMPTS,
                  backoff=backoff(attempt_number))
    if delivery.state == CallbackDelivery.State.DELIVERED:
        logger.info("processo %s updated to %s", delivery.processo_id, delivery.status)
    elif delivery.state == CallbackDelivery.State.ABANDONED:
        logger.warning("gave up updating processo %s after %s attempts", delivery.processo_id, attempt_number)
    else:
        logger.warning("processo %s not updated (attempt %s); retrying at %s",
                       delivery.processo_id, attempt_number, delivery.next_attempt_at)
    return delivery


def callbacks_deliver_due(*, limit: int = 100) -> int:
    """Attempt every delivery whose time has come; returns how many were attempted."""
    due = outbox_due_ids(CallbackDelivery, limit=limit)
    return sum(1 for delivery_id in due if callback_deliver(delivery_id=delivery_id))


def backoff(attempt: int) -> timedelta:
    return exponential_backoff(attempt, base_seconds=settings.PROCESSO_CALLBACK_BACKOFF_SECONDS,
                               max_seconds=settings.PROCESSO_CALLBACK_BACKOFF_MAX_SECONDS)


def _enqueue_quietly(delivery_id: int) -> None:
    from jobs.tasks import callback_deliver_task

    try:
        queue(DEFAULT_QUEUE).enqueue(callback_deliver_task, delivery_id, result_ttl=600)
    except Exception:  # noqa: BLE001 - the maintenance pass delivers it from the outbox
        logger.warning("could not enqueue callback delivery %s; the outbox will retry", delivery_id)


def deliveries_for_job(job_id: UUID):
    return CallbackDelivery.objects.filter(job_ref=job_id).prefetch_related("attempt_log")
