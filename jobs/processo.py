"""Client of the external processo API (seed 003 §3.3): the only module that speaks HTTP to it."""

from dataclasses import dataclass
from uuid import UUID

import requests
from django.conf import settings


@dataclass(frozen=True)
class RequestOutcome:
    method: str
    url: str
    http_status: int | None
    error: str
    ok: bool


def processo_status_update(*, processo_id: UUID, status: str) -> list[RequestOutcome]:
    """Tell the processo API a job ended, trying the seed's three URL forms in order.

    Stops at the first 2xx answer. Returns every request made, so the caller can show each one;
    the last outcome's `ok` says whether the status was delivered.
    """
    base = settings.PROCESSO_API_URL.rstrip("/")
    forms = [
        ("PUT", f"{base}/api/processos/{processo_id}/status"),
        ("PUT", f"{base}/processos/{processo_id}/status"),
        ("PATCH", f"{base}/api/processos/{processo_id}"),
    ]
    outcomes: list[RequestOutcome] = []
    for method, url in forms:
        outcome = _send(method, url, {"status": status})
        outcomes.append(outcome)
        if outcome.ok:
            break
    return outcomes


def _send(method: str, url: str, body: dict) -> RequestOutcome:
    try:
        response = requests.request(method, url, json=body, timeout=settings.PROCESSO_API_TIMEOUT)
    except requests.Timeout:
        return RequestOutcome(method, url, None, f"sem resposta em {settings.PROCESSO_API_TIMEOUT} s", False)
    except requests.RequestException as exc:
        return RequestOutcome(method, url, None, f"falha de conexão: {type(exc).__name__}", False)
    return RequestOutcome(method, url, response.status_code, "", 200 <= response.status_code < 300)
