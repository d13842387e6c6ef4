"""The seed clients' Python twin, for a machine where npm cannot install axios: the same plan in,
the same results out as play.js, the same headers, checks, attempts and delays."""

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPException


class ClientError(Exception):
    def __init__(self, message: str, *, status=None, data=None, code=None, attempts=0):
        super().__init__(message)
        self.status, self.data, self.code, self.attempts = status, data, code, attempts


def _retryable(error: ClientError) -> bool:
    return error.status is None or error.status >= 500 or error.status == 429


def _request(method: str, url: str, body, headers: dict, *, attempts_max: int, delay_of, timeout: float) -> dict:
    data = None if body is None else json.dumps(body).encode()
    last = None
    attempts = 0
    while attempts < attempts_max:
        attempts += 1
        request = urllib.request.Request(url, data=data, method=method.upper(), headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return {"success": True, "status": response.status, "data": json.loads(response.read() or b"null"),
                        "attempts": attempts}
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                parsed = json.loads(raw or b"null")
            except ValueError:
                parsed = raw.decode(errors="replace")
            last = ClientError(f"Request failed with status code {error.code}", status=error.code, data=parsed,
                               code="ERR_BAD_RESPONSE" if error.code >= 500 else "ERR_BAD_REQUEST")
        except (OSError, HTTPException) as error:
            last = ClientError(str(error), code="ECONNRESET")
        last.attempts = attempts
        if not _retryable(last) or attempts >= attempts_max:
            break
        time.sleep(delay_of(attempts) / 1000)
    raise last


class BotHttpClient:
    def __init__(self, *, baseUrl, botId, token, maxAttempts=3, baseDelayMs=100, timeoutMs=5000):  # noqa: N803
        self.base_url, self.bot_id, self.token = baseUrl.rstrip("/"), botId, token
        self.attempts, self.delay, self.timeout = maxAttempts, baseDelayMs, timeoutMs / 1000

    def _send(self, method: str, path: str, body=None) -> dict:
        headers = {"x-bot-id": self.bot_id, "x-bot-token": self.token, "Content-Type": "application/json"}
        return _request(method, self.base_url + path, body, headers, attempts_max=self.attempts,
                        delay_of=lambda n: self.delay * 2 ** (n - 1), timeout=self.timeout)

    def reportTokenUsage(self, usage):  # noqa: N802
        if not self.bot_id or not self.token:
            raise ClientError("bot id and token are required", code="invalid")
        if not isinstance(usage, dict) or not isinstance(usage.get("model"), str) or not usage["model"].strip():
            raise ClientError("model is required", code="invalid")
        for name in ("prompt_tokens", "completion_tokens"):
            value = usage.get(name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ClientError(f"{name} must be a non-negative integer", code="invalid")
        return self._send("post", "/api/v1/token-usage/", usage)

    def getStatus(self):  # noqa: N802
        return self._send("get", "/api/v1/bots/me/")


class Dashboard:
    def __init__(self, env: dict, fallback: list | None):
        self.env, self.fallback = env, fallback

    def _send(self, method: str, path: str, body=None, options=None) -> dict:
        options = options or {}
        headers = {**options.get("headers", {}), "Authorization": f"Bearer {self.env.get('DASHBOARD_TOKEN', '')}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        delay = float(self.env.get("DASHBOARD_RETRY_DELAY_MS", 500))
        return _request(method, self.env.get("DASHBOARD_URL", "http://localhost:3001").rstrip("/") + path, body,
                        headers, attempts_max=int(options.get("retries") or self.env.get("DASHBOARD_RETRIES", 3)),
                        delay_of=lambda n: delay * n,
                        timeout=float(options.get("timeout") or self.env.get("DASHBOARD_TIMEOUT", 5000)) / 1000)

    @staticmethod
    def _validate(event, payload):
        if not isinstance(event, str) or not event.strip():
            raise ClientError("event must be a non-empty string")
        if not isinstance(payload, dict):
            raise ClientError("payload must be an object")

    def sendEventToDashboard(self, event, payload, options=None):  # noqa: N802
        options = options or {}
        self._validate(event, payload)
        try:
            return self._send("post", "/api/v1/events/", {"event": event, "payload": payload,
                                                          **options.get("extra", {})}, options)
        except ClientError as error:
            if self.fallback is None or not _retryable(error):
                raise
            self.fallback.append(json.dumps({"event": event, "payload": payload, "extra": options.get("extra", {})}))
            return {"success": False, "queued": True, "status": error.status, "attempts": error.attempts}

    def sendBatchEvents(self, events, options=None):  # noqa: N802
        if not isinstance(events, list) or not events:
            raise ClientError("events must be a non-empty array")
        for item in events:
            self._validate(item.get("event"), item.get("payload"))
        return self._send("post", "/api/v1/events/batch/", events, options)

    def getDashboardStatus(self, options=None):  # noqa: N802
        return self._send("get", "/api/v1/dashboard/status/", None, options)

    def getDashboardMetrics(self, options=None):  # noqa: N802
        return self._send("get", "/api/v1/dashboard/metrics/", None, options)


def play(plan: dict) -> dict:
    fallback: list | None = [] if plan.get("fallback") else None
    bot = BotHttpClient(**plan["bot"]) if plan.get("bot") else None
    dashboard = Dashboard(plan.get("env", {}), fallback)

    def one(call: dict) -> dict:
        owner = bot if call["call"] in ("reportTokenUsage", "getStatus") else dashboard
        try:
            outcome = getattr(owner, call["call"])(*call.get("args", []))
            return {"ok": outcome.get("success") is not False, **outcome}
        except ClientError as error:
            return {"ok": False, "error": str(error), "code": error.code, "status": error.status, "data": error.data,
                    "attempts": error.attempts}

    with ThreadPoolExecutor(max_workers=max(1, min(plan.get("concurrency", 1), 16))) as pool:
        results = list(pool.map(one, plan.get("calls", [])))
    return {"implementation": "python", "results": results, "fallback": fallback or []}
