import queue
import time

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from jobs.events import job_group
from jobs.models import Job
from tests.listener import GroupListener

DEMO = {"login": "cliente@empresa.com.br", "senha": "sandbox123", "cnpj": "12.345.678/0001-95"}


def carrier_payload(filtro: str = "", **overrides) -> dict:
    return {**DEMO, "filtro": filtro, **overrides}


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")


def wait_until_finished(job_id, timeout: float = 30.0) -> Job:
    return wait_for(
        lambda: Job.objects.filter(pk=job_id, status__in=Job.FINISHED).first(),
        timeout=timeout, message=f"job {job_id} to finish",
    )


class JobEvents:
    """Listens on the channel layer to one job's group, as a websocket consumer would."""

    def __init__(self, job_id):
        self.listener = GroupListener(job_group(job_id))

    def collect_until_finished(self, timeout: float = 30.0) -> list[dict]:
        """The job's events in order (coalesced batches unpacked) until it finishes."""
        events = []
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                try:
                    message = self.listener.receive(timeout=max(0.01, deadline - time.monotonic()))
                except queue.Empty:
                    break
                unpacked = GroupListener.unpacked([message])
                events.extend(unpacked)
                if any(e["type"] == "job.update" and e["data"]["status"] in ("COMPLETED", "FAILED") for e in unpacked):
                    break
        finally:
            self.listener.close()
        return events


def max_overlap(jobs: list[Job]) -> int:
    """The most jobs that were running at the same moment."""
    moments = sorted([(j.started_at, 1) for j in jobs] + [(j.completed_at, -1) for j in jobs],
                     key=lambda m: (m[0], m[1]))
    running = peak = 0
    for _, delta in moments:
        running += delta
        peak = max(peak, running)
    return peak


INVOICE_PDF = b"%PDF-1.4\n" + b"0" * 400 + b"\n%%EOF\n"


def invoice_downloaded_by(owner, name: str = "fatura_oi_202401.pdf", kind: str = "OI",
                          content: bytes = INVOICE_PDF) -> Job:
    """A completed carrier job of `owner` whose result is the invoice faturas/<name>, stored:
    what a SAT job may name in nome_arquivo."""
    path = f"faturas/{name}"
    if default_storage.exists(path):
        default_storage.delete(path)
    stored = default_storage.save(path, ContentFile(content))
    return Job.objects.create(
        kind=kind, owner=owner, status=Job.Status.COMPLETED, progress=100, result=stored,
        params={"filtro": "12345678", "cnpj": "12.345.678/0001-95"}, completed_at=timezone.now(),
    )
