"""The Seller Bot's automation side (seed 004 `/bot/*`): TikTok Seller Center profiles, the tasks
the bot runs on them, each run, the worker switch and the bot's Prometheus counters."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from jobs.fields import EncryptedSecretsField


class LoginStatus(models.TextChoices):
    UNKNOWN = "unknown", "Não verificado"
    OK = "ok", "Conectado"
    FAILED = "failed", "Falhou"
    NEEDS_VERIFICATION = "needs_verification", "Precisa de código"


class Profile(models.Model):
    """One TikTok Seller Center account of a shop team."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bot_profiles", verbose_name="dono",
    )
    name = models.CharField("nome", max_length=100)
    region = models.CharField("região da loja", max_length=8, default="BR")
    username = models.CharField("login", max_length=200)
    # {"senha": …, "cookies": [...]}: the password and the session the browser kept, encrypted
    # like the job secrets; never shown, never returned.
    credentials = EncryptedSecretsField("credenciais", default=dict, editable=False)
    login_status = models.CharField(
        "situação do login", max_length=20, choices=LoginStatus.choices, default=LoginStatus.UNKNOWN, db_index=True,
    )
    status_message = models.TextField("detalhe da situação", blank=True)
    last_verified_at = models.DateTimeField("última verificação", null=True, blank=True)
    created_at = models.DateTimeField("criado em", default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "perfil do TikTok"
        verbose_name_plural = "perfis do TikTok"
        constraints = [
            models.UniqueConstraint(fields=["owner", "region", "username"], name="bot_profile_one_per_account"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.region})"


class TaskType(models.TextChoices):
    REPLY_COMMENTS = "reply_comments", "Responder comentários"
    REPLY_MESSAGES = "reply_messages", "Responder mensagens"
    SYNC_ORDERS = "sync_orders", "Sincronizar pedidos"
    UPDATE_STOCK = "update_stock", "Atualizar estoque"


class TaskStatus(models.TextChoices):
    PENDING = "pending", "Aguardando"
    QUEUED = "queued", "Na fila"
    RUNNING = "running", "Executando"
    COMPLETED = "completed", "Concluída"
    FAILED = "failed", "Falhou"


class BotTask(models.Model):
    """Work the bot does on one profile: once, or again every `interval_seconds`."""

    ACTIVE = (TaskStatus.QUEUED, TaskStatus.RUNNING)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bot_tasks", verbose_name="dono",
    )
    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="tasks", verbose_name="perfil")
    task_type = models.CharField("tipo", max_length=20, choices=TaskType.choices, db_index=True)
    config = models.JSONField("configuração", default=dict, blank=True)
    interval_seconds = models.PositiveIntegerField("repetir a cada (s)", null=True, blank=True)
    status = models.CharField(
        "status", max_length=10, choices=TaskStatus.choices, default=TaskStatus.PENDING, db_index=True,
    )
    # When the dispatcher may start it next; null once a one-off task has run.
    next_run_at = models.DateTimeField("próxima execução", null=True, blank=True, db_index=True)
    last_run_at = models.DateTimeField("última execução", null=True, blank=True)
    last_error = models.TextField("último erro", blank=True)
    current_job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="job atual",
    )
    runs = models.PositiveIntegerField("execuções", default=0)
    created_at = models.DateTimeField("criada em", default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "tarefa do bot"
        verbose_name_plural = "tarefas do bot"
        constraints = [
            models.CheckConstraint(condition=models.Q(task_type__in=TaskType.values), name="bot_task_type_known"),
            models.CheckConstraint(condition=models.Q(status__in=TaskStatus.values), name="bot_task_status_known"),
        ]

    def __str__(self) -> str:
        return f"{self.get_task_type_display()} #{self.pk}"


class BotTaskRun(models.Model):
    """One run of a task: the job that ran it and what it did."""

    task = models.ForeignKey(BotTask, on_delete=models.CASCADE, related_name="task_runs", verbose_name="tarefa")
    job = models.OneToOneField(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="bot_run", verbose_name="job",
    )
    status = models.CharField("status", max_length=10, choices=TaskStatus.choices, default=TaskStatus.QUEUED)
    queued_at = models.DateTimeField("na fila desde", default=timezone.now)
    started_at = models.DateTimeField("iniciada em", null=True, blank=True)
    finished_at = models.DateTimeField("terminada em", null=True, blank=True)
    duration_seconds = models.FloatField("duração (s)", null=True, blank=True)
    replies_sent = models.PositiveIntegerField("respostas enviadas", default=0)
    summary = models.JSONField("resultado", default=dict, blank=True)
    error = models.TextField("erro", blank=True)
    error_category = models.CharField("categoria do erro", max_length=20, blank=True)
    # Failed runs of the task in a row before this one (seed 004's retry_count).
    retry_count = models.PositiveIntegerField("falhas seguidas antes", default=0)

    class Meta:
        ordering = ["-queued_at", "-id"]
        verbose_name = "execução de tarefa"
        verbose_name_plural = "execuções de tarefas"

    def __str__(self) -> str:
        return f"{self.task} · {self.get_status_display()}"


class WorkerSwitch(models.Model):
    """The one switch of the bot worker: whether due tasks are dispatched, who changed it and why."""

    running = models.BooleanField("ligado", default=False)
    worker_id = models.CharField("sessão do worker", max_length=40, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name="alterado por",
    )
    reason = models.CharField("motivo", max_length=300, blank=True)
    changed_at = models.DateTimeField("alterado em", null=True, blank=True)

    class Meta:
        verbose_name = "chave do worker"
        verbose_name_plural = "chave do worker"

    def __str__(self) -> str:
        return "ligado" if self.running else "desligado"


class BotCounter(models.Model):
    """A Prometheus counter (or histogram part) of the bot, summed in the database so that every
    process (web, rq workers, the bot worker) adds to the same value (sellerbot/metrics.py)."""

    name = models.CharField("métrica", max_length=80)
    labels = models.CharField("rótulos", max_length=200, blank=True)
    value = models.FloatField("valor", default=0)

    class Meta:
        verbose_name = "contador do bot"
        verbose_name_plural = "contadores do bot"
        constraints = [models.UniqueConstraint(fields=["name", "labels"], name="bot_counter_one_per_labels")]

    def __str__(self) -> str:
        return f"{self.name}{{{self.labels}}} {self.value}"


# The chatbot's tables belong to this app too (DESIGN.md §2): importing them here registers them.
from sellerbot.chatbot.models import (  # noqa: E402, F401
    ChatbotConfig,
    ConfigChange,
    Conversation,
    HandOff,
    Message,
    ReplyAttempt,
    ReplyDelivery,
    WebhookReceipt,
)
