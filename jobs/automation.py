"""What an automation sees and may raise: the contract between the engine and the carriers.

An automation is a callable `run(ctx: JobContext) -> str` registered by job kind in
settings.JOB_AUTOMATIONS (dotted paths, loaded on first use). It reports through the context and
returns the result, usually the stored path of the invoice.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

from django.conf import settings
from django.utils.module_loading import import_string


class ConsoleStopped(BaseException):
    """Raised inside a running job when the console stops and the job's grace is over.

    Not an Exception: an automation's `except Exception` must not take the console's stop for
    a failure of the portal and blame the carrier."""


class AutomationError(Exception):
    """A failure the automation understands, with a sentence for the user.

    `category` is machine-readable (auth, navigation, timeout, file, config, internal) and
    `permanent` says whether running the same job again could help. The message is shown to
    the user: it must never carry a secret.
    """

    category = "internal"
    permanent = False

    def __init__(self, message: str, *, category: str | None = None, permanent: bool | None = None):
        super().__init__(message)
        self.message = message
        if category is not None:
            self.category = category
        if permanent is not None:
            self.permanent = permanent


class JobReporter(Protocol):
    def progress(self, job_id: UUID, percent: int, message: str | None) -> None: ...
    def log(self, job_id: UUID, level: str, message: str) -> None: ...
    def artifact(self, job_id: UUID, name: str, content: bytes) -> str: ...


@dataclass
class JobContext:
    """Handed to an automation: its inputs, and the only way it reports back."""

    job_id: UUID
    kind: str
    params: dict
    secrets: dict = field(repr=False)
    reporter: JobReporter = field(repr=False)

    def progress(self, percent: int, message: str | None = None) -> None:
        """Move the progress bar forward (it never goes back); an optional log line with it."""
        self.reporter.progress(self.job_id, percent, self.redact(message) if message else None)

    def log(self, level: str, message: str) -> None:
        self.reporter.log(self.job_id, level, self.redact(message))

    def artifact(self, name: str, content: bytes) -> str:
        """Keep a file with the job (e.g. a failure screenshot); returns its storage path."""
        return self.reporter.artifact(self.job_id, name, content)

    def redact(self, text: str) -> str:
        """Replace any secret value that slipped into `text` with asterisks."""
        for value in self.secrets.values():
            if isinstance(value, str) and len(value) >= 3:
                text = text.replace(value, "***")
        return text


Automation = Callable[[JobContext], str]


def automation_for(kind: str) -> Automation | None:
    """The automation registered for `kind`, or None when nothing is registered."""
    path = settings.JOB_AUTOMATIONS.get(kind)
    return import_string(path) if path else None
