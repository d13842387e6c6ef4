"""One outbox for every message we owe an outside system (the processo callback, the chatbot's
replies): a row per message, delivered at least once, never lost, never attempted twice at once.

A row is claimed by moving its `next_attempt_at` forward in one conditional UPDATE (the lease),
so two workers never make the same attempt and an attempt is never counted twice; if the worker
dies, the lease runs out and the row is due again. Each user keeps its own table (inheriting
OutboxEntry) and its own send function; this module holds the claim, the bookkeeping and the
backoff.
"""

from datetime import timedelta

from django.db import models
from django.utils import timezone


class OutboxState(models.TextChoices):
    PENDING = "PENDING", "A entregar"
    DELIVERED = "DELIVERED", "Entregue"
    ABANDONED = "ABANDONED", "Desistido"


class OutboxEntry(models.Model):
    state = models.CharField("situação", max_length=10, choices=OutboxState.choices, default=OutboxState.PENDING,
                             db_index=True)
    attempts = models.PositiveIntegerField("tentativas", default=0)
    next_attempt_at = models.DateTimeField("próxima tentativa em", default=timezone.now, db_index=True)
    delivered_at = models.DateTimeField("entregue em", null=True, blank=True)
    created_at = models.DateTimeField("criada em", default=timezone.now)

    class Meta:
        abstract = True


def outbox_claim(model: type[OutboxEntry], entry_id: int, *, lease_seconds: float) -> bool:
    """Take the row for one attempt if it is due and nobody else holds it."""
    now = timezone.now()
    return bool(model.objects.filter(pk=entry_id, state=OutboxState.PENDING, next_attempt_at__lte=now)
                .update(next_attempt_at=now + timedelta(seconds=lease_seconds)))


def outbox_settle(entry: OutboxEntry, *, ok: bool, max_attempts: int, backoff: timedelta,
                  give_up: bool = False, counts: bool = True, extra_fields: tuple[str, ...] = ()) -> OutboxEntry:
    """Record an attempt's outcome: delivered, abandoned (the last attempt, or one that no retry
    can fix: `give_up`), or due again after `backoff`. `counts=False` postpones the row without
    spending an attempt (the peer was not even tried, e.g. while its circuit is open)."""
    now = timezone.now()
    if counts:
        entry.attempts += 1
    if ok:
        entry.state, entry.delivered_at = OutboxState.DELIVERED, now
    elif give_up or (counts and entry.attempts >= max_attempts):
        entry.state = OutboxState.ABANDONED
    else:
        entry.next_attempt_at = now + backoff
    entry.save(update_fields=["attempts", "state", "delivered_at", "next_attempt_at", *extra_fields])
    return entry


def outbox_due_ids(model: type[OutboxEntry], *, limit: int = 100) -> list[int]:
    return list(model.objects.filter(state=OutboxState.PENDING, next_attempt_at__lte=timezone.now())
                .order_by("next_attempt_at").values_list("id", flat=True)[:limit])


def exponential_backoff(attempt: int, *, base_seconds: float, max_seconds: float) -> timedelta:
    return timedelta(seconds=min(base_seconds * 2 ** max(0, attempt - 1), max_seconds))
