"""The processo outbox: a finished job's status is delivered at least once, never lost.

A delivery is claimed by moving its `next_attempt_at` forward in one conditional UPDATE, so two
workers never make the same attempt and an attempt is never counted twice.
"""

import logging
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs import processo
from jobs.models import CallbackAttempt, CallbackDelivery, Job
from jobs.queues import DEFAULT_QUEUE, queue

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
    if not _claim(delivery_id):
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
    now = timezone.now()
    delivery.attempts = attempt_number
    if outcomes[-1].ok:
        delivery.state = CallbackDelivery.State.DELIVERED
        delivery.delivered_at = now
        logger.info("processo %s updated to %s", delivery.processo_id, delivery.status)
    elif attempt_number >= settings.PROCESSO_CALLBACK_MAX_ATTEMPTS:
        delivery.state = CallbackDelivery.State.ABANDONED
        logger.warning("gave up updating processo %s after %s attempts", delivery.processo_id, attempt_number)
    else:
        delivery.next_attempt_at = now + backoff(attempt_number)
        logger.warning("processo %s not updated (attempt %s); retrying at %s",
                       delivery.processo_id, attempt_number, delivery.next_attempt_at)
    delivery.save(update_fields=["attempts", "state", "delivered_at", "next_attempt_at"])
    return delivery


def callbacks_deliver_due(*, limit: int = 100) -> int:
    """Attempt every delivery whose time has come; returns how many were attempted."""
    due = CallbackDelivery.objects.filter(
        state=CallbackDelivery.State.PENDING, next_attempt_at__lte=timezone.now()
    ).order_by("next_attempt_at").values_list("id", flat=True)[:limit]
    return sum(1 for delivery_id in list(due) if callback_deliver(delivery_id=delivery_id))


def backoff(attempt: int) -> timedelta:
    seconds = settings.PROCESSO_CALLBACK_BACKOFF_SECONDS * 2 ** (attempt - 1)
    return timedelta(seconds=min(seconds, settings.PROCESSO_CALLBACK_BACKOFF_MAX_SECONDS))


def _claim(delivery_id: int) -> bool:
    now = timezone.now()
    # Long enough for the three requests to time out; if this process dies, the row becomes due again.
    lease = timedelta(seconds=3 * settings.PROCESSO_API_TIMEOUT + 30)
    return bool(
        CallbackDelivery.objects.filter(
            pk=delivery_id, state=CallbackDelivery.State.PENDING, next_attempt_at__lte=now
        ).update(next_attempt_at=now + lease)
    )


def _enqueue_quietly(delivery_id: int) -> None:
    from jobs.tasks import callback_deliver_task

    try:
        queue(DEFAULT_QUEUE).enqueue(callback_deliver_task, delivery_id, result_ttl=600)
    except Exception:  # noqa: BLE001 - the maintenance pass delivers it from the outbox
        logger.warning("could not enqueue callback delivery %s; the outbox will retry", delivery_id)


def deliveries_for_job(job_id: UUID):
    return CallbackDelivery.objects.filter(job_ref=job_id).prefetch_related("attempt_log")
