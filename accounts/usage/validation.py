"""A token-usage record as a bot sends it, checked field by field: every error names its field.

Written by hand rather than with a DRF serializer: a batch holds up to a thousand records and the
checks are simple, so plain code keeps a batch's validation well under a millisecond per record.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from project.intake import json_size, parse_timestamp

MAX_TOKENS = 10**12
MAX_TEXT = 200
MAX_MODEL = 100  # TokenUsage.model's and UsageDaily.model's column
FIELDS = frozenset({
    "model", "prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "reasoning_tokens",
    "prompt_tokens_details", "completion_tokens_details", "request_id", "conversation_id", "occurred_at", "metadata",
})


@dataclass
class CleanRecord:
    model: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    request_id: str | None
    conversation_id: str
    occurred_at: datetime
    occurred_at_given: bool
    metadata: dict

    def signature(self) -> dict:
        """What the client said, for the fingerprint: a retry that leaves occurred_at to the
        server is still the same record."""
        return {
            "model": self.model, "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens, "reasoning_tokens": self.reasoning_tokens,
            "conversation_id": self.conversation_id, "metadata": self.metadata,
            "occurred_at": self.occurred_at.isoformat() if self.occurred_at_given else None,
        }


class RecordInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items()))
        self.errors = errors


def usage_record_clean(data: Any, *, now: datetime) -> CleanRecord:
    """The record in `data`, or RecordInvalid with a message for each field that is wrong."""
    if not isinstance(data, dict):
        raise RecordInvalid({"registro": ["deve ser um objeto JSON com model, prompt_tokens e completion_tokens"]})
    errors: dict[str, list[str]] = {}
    for name in sorted(set(data) - FIELDS):
        errors[str(name)[:64]] = ["campo desconhecido"]

    model = _text(data, "model", errors, required=True, limit=MAX_MODEL)
    prompt = _tokens(data, "prompt_tokens", errors, required=True)
    completion = _tokens(data, "completion_tokens", errors, required=True)
    total = _tokens(data, "total_tokens", errors)
    cached = _detail_tokens(data, "cached_tokens", "prompt_tokens_details", errors)
    reasoning = _detail_tokens(data, "reasoning_tokens", "completion_tokens_details", errors)
    request_id = _text(data, "request_id", errors)
    conversation_id = _text(data, "conversation_id", errors) or ""

    if prompt is not None and completion is not None and total is not None and total != prompt + completion:
        errors.setdefault("total_tokens", []).append(
            f"deve ser prompt_tokens + completion_tokens ({prompt + completion}), não {total}")
    if cached is not None and prompt is not None and cached > prompt:
        errors.setdefault("cached_tokens", []).append("é parte de prompt_tokens: não pode passar dele")
    if reasoning is not None and completion is not None and reasoning > completion:
        errors.setdefault("reasoning_tokens", []).append("é parte de completion_tokens: não pode passar dele")

    occurred_at, given = now, False
    if data.get("occurred_at") is not None:
        try:
            occurred_at = parse_timestamp(
                data["occurred_at"], now=now,
                past=timedelta(days=settings.USAGE_MAX_AGE_DAYS),
                future=timedelta(seconds=settings.USAGE_MAX_FUTURE_SECONDS),
            )
            given = True
        except ValueError as exc:
            errors.setdefault("occurred_at", []).append(str(exc))

    metadata = data.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict):
        errors.setdefault("metadata", []).append("deve ser um objeto JSON")
    elif json_size(metadata) > settings.USAGE_METADATA_MAX_BYTES:
        errors.setdefault("metadata", []).append(
            f"grande demais: o limite é de {settings.USAGE_METADATA_MAX_BYTES} bytes em JSON")

    if errors:
        raise RecordInvalid(errors)
    return CleanRecord(
        model=model, prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
        cached_tokens=cached or 0, reasoning_tokens=reasoning or 0, request_id=request_id,
        conversation_id=conversation_id, occurred_at=occurred_at, occurred_at_given=given, metadata=metadata,
    )


def _text(data: dict, name: str, errors: dict, *, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            errors.setdefault(name, []).append("campo obrigatório")
        return None
    if not isinstance(value, str):
        errors.setdefault(name, []).append(f"deve ser um texto, não {_json_type(value)}")
        return None
    value = value.strip()
    if not value:
        errors.setdefault(name, []).append("não pode ser vazio")
        return None
    if len(value) > limit:
        errors.setdefault(name, []).append(f"longo demais: no máximo {limit} caracteres")
        return None
    return value


def _tokens(data: dict, name: str, errors: dict, *, required: bool = False, label: str | None = None) -> int | None:
    label = label or name
    value = data.get(name)
    if value is None:
        if required:
            errors.setdefault(label, []).append("campo obrigatório")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        kind = "um número com casas decimais" if isinstance(value, float) else _json_type(value)
        errors.setdefault(label, []).append(f"deve ser um número inteiro, não {kind}")
        return None
    if value < 0:
        errors.setdefault(label, []).append("não pode ser negativo")
        return None
    if value > MAX_TOKENS:
        errors.setdefault(label, []).append(f"grande demais: no máximo {MAX_TOKENS}")
        return None
    return value


def _detail_tokens(data: dict, name: str, details: str, errors: dict) -> int | None:
    """`cached_tokens` at the top, or inside `prompt_tokens_details` as OpenAI's usage has it."""
    if data.get(name) is not None:
        return _tokens(data, name, errors)
    nested = data.get(details)
    if nested is None:
        return None
    if not isinstance(nested, dict):
        errors.setdefault(details, []).append("deve ser um objeto JSON")
        return None
    return _tokens(nested, name, errors, label=f"{details}.{name}")


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "booleano"
    if isinstance(value, int | float):
        return "número"
    if isinstance(value, str):
        return "texto"
    if isinstance(value, list):
        return "lista"
    if isinstance(value, dict):
        return "objeto"
    return "nulo"
