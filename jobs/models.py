import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from jobs.fields import EncryptedSecretsField
from project.outbox import OutboxEntry, OutboxState


class JobStatus(models.TextChoices):
    PENDING = "PENDING", "Na fila"
    RUNNING = "RUNNING", "Executando"
    COMPLETED = "COMPLETED", "Concluído"
    FAILED = "FAILED", "Falhou"


class Job(models.Model):
    """One run of an automation (seed 003 §3.1): PENDING → RUNNING → COMPLETED | FAILED."""

    Status = JobStatus
    # The only legal moves of the state machine; jobs.services.lifecycle applies them.
    TRANSITIONS = {
        JobStatus.PENDING: {JobStatus.RUNNING, JobStatus.FAILED},
        JobStatus.RUNNING: {JobStatus.COMPLETED, JobStatus.FAILED},
        JobStatus.COMPLETED: set(),
        JobStatus.FAILED: set(),
    }
    FINISHED = (JobStatus.COMPLETED, JobStatus.FAILED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField("operadora", max_length=40, db_index=True)
    status = models.CharField(
        "status", max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING, db_index=True
    )
    progress = models.PositiveSmallIntegerField("progresso (%)", default=0)
    params = models.JSONField("parâmetros", default=dict, blank=True)
    secrets = EncryptedSecretsField("credenciais do portal", default=dict, editable=False)
    # An HMAC of the portal account (never the login itself): jobs on one account run one at a time.
    account_key = models.CharField("conta do portal (HMAC)", max_length=64, blank=True, db_index=True, editable=False)
    # null, not "": the seed's JobStatusResponse distinguishes "no result yet" (null).
    result = models.TextField("resultado", null=True, blank=True)  # noqa: DJ001
    error = models.TextField("erro", null=True, blank=True)  # noqa: DJ001
    error_category = models.CharField("categoria do erro", max_length=20, blank=True)
    processo_id = models.UUIDField("processo", null=True, blank=True, db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs",
        verbose_name="solicitante",
    )
    created_at = models.DateTimeField("criado em", default=timezone.now, db_index=True)
    started_at = models.DateTimeField("iniciado em", null=True, blank=True)
    completed_at = models.DateTimeField("terminado em", null=True, blank=True, db_index=True)
    heartbeat_at = models.DateTimeField("último sinal de vida", null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "job"
        verbose_name_plural = "jobs"
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="job_progress_at_most_100"),
            models.CheckConstraint(condition=models.Q(status__in=JobStatus.values), name="job_status_known"),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def status_url(self) -> str:
        return f"/status/{self.id}"


class JobLog(models.Model):
    class Level(models.TextChoices):
        DEBUG = "DEBUG"
        INFO = "INFO"
        WARNING = "WARNING"
        ERROR = "ERROR"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="logs", verbose_name="job")
    timestamp = models.DateTimeField("horário", default=timezone.now)
    level = models.CharField("nível", max_length=8, choices=Level.choices, default=Level.INFO)
    message = models.TextField("mensagem")

    class Meta:
        ordering = ["timestamp", "id"]
        verbose_name = "linha de log"
        verbose_name_plural = "linhas de log"
        indexes = [models.Index(fields=["job", "timestamp"])]

    def __str__(self) -> str:
        return f"[{self.level}] {self.message[:60]}"


def _artifact_path(instance: "JobArtifact", filename: str) -> str:
    return f"jobs/{instance.job_id}/{filename}"


class JobArtifact(models.Model):
    """A file a job produced or kept for diagnosis (a failure screenshot, the page source)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="artifacts", verbose_name="job")
    name = models.CharField("nome", max_length=200)
    file = models.FileField("arquivo", upload_to=_artifact_path, max_length=300)
    created_at = models.DateTimeField("guardado em", default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "arquivo do job"
        verbose_name_plural = "arquivos do job"

    def __str__(self) -> str:
        return self.name


class CallbackDelivery(OutboxEntry):
    """Outbox row: a job's final status still owed to the processo API (seed 003 §3.3).

    It outlives the job it came from, so retention never drops an undelivered callback.
    """

    State = OutboxState

    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="callbacks",
        verbose_name="job (se ainda existe)",
    )
    job_ref = models.UUIDField("job", db_index=True)
    processo_id = models.UUIDField("processo", db_index=True)
    status = models.CharField("status enviado", max_length=10)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "entrega ao processo"
        verbose_name_plural = "entregas ao processo (outbox)"

    def __str__(self) -> str:
        return f"processo {self.processo_id} ← {self.status} ({self.get_state_display()})"


class CallbackAttempt(models.Model):
    """One HTTP request made while delivering a callback; every URL form tried is recorded."""

    delivery = models.ForeignKey(
        CallbackDelivery, on_delete=models.CASCADE, related_name="attempt_log", verbose_name="entrega"
    )
    attempt = models.PositiveIntegerField("tentativa")
    attempted_at = models.DateTimeField("em", default=timezone.now)
    method = models.CharField("método", max_length=8)
    url = models.URLField("URL", max_length=500)
    http_status = models.PositiveSmallIntegerField("status HTTP", null=True, blank=True)
    error = models.CharField("erro", max_length=300, blank=True)
    ok = models.BooleanField("entregue", default=False)

    class Meta:
        ordering = ["attempted_at", "id"]
        verbose_name = "tentativa de entrega"
        verbose_name_plural = "tentativas de entrega"

    def __str__(self) -> str:
        return f"#{self.attempt} {self.method} {self.url} → {self.http_status or self.error}"
