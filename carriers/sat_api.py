"""Client of the SAT API (seed 002): the only module that speaks HTTP to it.

    protocolo = SatApiClient().send(fields={...}, file_name="fatura_oi_202401.pdf", content=pdf)

It logs in with SAT_API_USERNAME / SAT_API_PASSWORD (POST /auth/login), keeps the bearer token
with its expiry, renews it through GET /auth/tokenRefresh when less than
SAT_API_REFRESH_MARGIN_SECONDS is left, and sends files as multipart with the bearer. A 401 on a
send cancels it: nothing is retried with a token the API refused.

The token is shared by every process (rq workers, the scheduler's refresh task) through Redis,
encrypted with FIELD_ENCRYPTION_KEYS: whoever reads Redis does not get a working credential. The
Redis keys are named after an HMAC of the URL, user and password, so a token obtained with other
credentials is never reused. Neither the token nor the password ever appears in a log line or
an error message.
"""

import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import requests
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from redis.exceptions import LockError

from jobs.automation import AutomationError
from jobs.queues import redis_connection

logger = logging.getLogger(__name__)

TOKEN_KEY = "sat:api:token:{}"
LAST_USED_KEY = "sat:api:used:{}"
LOCK_KEY = "sat:api:lock:{}"
DEFAULT_TIMEOUT_SECONDS = 30


class SatApiError(AutomationError):
    """The SAT API could not be reached or answered something unexpected: trying later may help."""

    category = "navigation"


class SatAuthError(AutomationError):
    """SAT refused our credentials or our token."""

    category = "auth"
    permanent = True


class SatRejected(AutomationError):
    """SAT received the file and refused it (its validation): sending it again will not help."""

    category = "file"
    permanent = True


@dataclass(frozen=True)
class Token:
    value: str = field(repr=False)
    expires_at: float  # epoch seconds

    def remaining(self) -> float:
        return self.expires_at - time.time()


class SatApiClient:
    def __init__(self):
        self.base_url = settings.SAT_API_URL.rstrip("/")
        self.username = settings.SAT_API_USERNAME
        self._password = settings.SAT_API_PASSWORD
        self.timeout = getattr(settings, "SAT_API_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS)
        self.margin = settings.SAT_API_REFRESH_MARGIN_SECONDS
        self.http = requests.Session()
        self.redis = redis_connection()
        self._fernet = MultiFernet([Fernet(key.encode()) for key in settings.FIELD_ENCRYPTION_KEYS])
        scope = hmac.new(
            settings.SECRET_KEY.encode(), f"{self.base_url}\0{self.username}\0{self._password}".encode(), hashlib.sha256
        ).hexdigest()[:24]
        self._token_key = TOKEN_KEY.format(scope)
        self._last_used_key = LAST_USED_KEY.format(scope)
        self._lock_key = LOCK_KEY.format(scope)

    def send(self, *, fields: dict[str, str], file_name: str, content: bytes) -> str:
        """Upload one file with its fields; returns SAT's protocol number.

        Raises SatAuthError (401: the send is cancelled), SatRejected (SAT refused the file or
        a field) or SatApiError (network, unexpected answer).
        """
        token = self.token()
        self.redis.set(self._last_used_key, str(time.time()), ex=settings.SAT_API_ACTIVE_SECONDS)
        response = self._request(
            "POST",
            "envio",
            what=f"o envio de {file_name}",
            headers=_bearer(token),
            data=fields,
            files={"arquivo": (file_name, content, "application/pdf")},
        )
        if response.status_code == 401:
            self._forget()
            logger.error("SAT API refused the token (HTTP 401) sending %s: send cancelled", file_name)
            raise SatAuthError(
                f"A API do SAT recusou o token de acesso (HTTP 401): o envio de {file_name} foi cancelado."
            )
        if response.status_code in (400, 413, 422):
            detail = _json(response).get("detail") or f"HTTP {response.status_code}"
            raise SatRejected(f"O SAT recusou o envio de {file_name}: {detail}")
        if response.status_code != 200 or not isinstance(_json(response).get("protocolo"), str):
            raise SatApiError(
                f"A API do SAT respondeu de forma inesperada ao envio de {file_name} (HTTP {response.status_code})."
            )
        return _json(response)["protocolo"]

    def token(self) -> str:
        """A token with more than the margin left: the shared one, renewed, or a new login."""
        current = self._load()
        if current is not None and current.remaining() > self.margin:
            return current.value
        with self._renewal():
            # Another process may have renewed it while this one waited for the lock.
            current = self._load()
            if current is not None and current.remaining() > self.margin:
                return current.value
            return self._renew(current).value

    def refresh_if_due(self) -> bool:
        """For the scheduler: renew the token if the API is in use and the token close to expiry.

        Returns whether it renewed. Idle (not used in SAT_API_ACTIVE_SECONDS) means no renewal:
        the next send logs in again.
        """
        last_used = self.redis.get(self._last_used_key)
        if last_used is None or time.time() - float(last_used) > settings.SAT_API_ACTIVE_SECONDS:
            logger.info("SAT API token not renewed: the API was not used recently")
            return False
        with self._renewal():
            current = self._load()
            if current is not None and current.remaining() > self.margin:
                return False
            self._renew(current)
            return True

    # --- the token's life ------------------------------------------------------------------

    def _renew(self, current: Token | None) -> Token:
        renewed = self._refresh(current) if current is not None else None
        if renewed is None:
            renewed = self._login()
        self._store(renewed)
        return renewed

    def _login(self) -> Token:
        response = self._request(
            "POST", "auth/login", what="o login", json={"username": self.username, "password": self._password}
        )
        if response.status_code == 401:
            logger.error("SAT API refused the login of user %s (HTTP 401)", self.username)
            raise SatAuthError(
                f"Falha de autenticação na API do SAT: usuário {self.username} ou senha recusados (HTTP 401)."
            )
        token = _token_from(response)
        logger.info("SAT API login of user %s: token valid for %d s", self.username, token.remaining())
        return token

    def _refresh(self, current: Token) -> Token | None:
        """A new token from GET /auth/tokenRefresh, or None when the API no longer takes `current`."""
        response = self._request(
            "GET", "auth/tokenRefresh", what="a renovação do token", headers=_bearer(current.value)
        )
        if response.status_code == 401:
            logger.info("SAT API refused to renew the token (expired?): logging in again")
            return None
        token = _token_from(response)
        logger.info("SAT API token renewed: valid for %d s", token.remaining())
        return token

    def _load(self) -> Token | None:
        stored = self.redis.get(self._token_key)
        if stored is None:
            return None
        try:
            data = json.loads(self._fernet.decrypt(stored))
        except (InvalidToken, ValueError):
            # Written under a key since removed from FIELD_ENCRYPTION_KEYS: log in again.
            logger.warning("the shared SAT API token could not be decrypted; it will be replaced")
            return None
        return Token(value=data["access_token"], expires_at=data["expires_at"])

    def _store(self, token: Token) -> None:
        ciphertext = self._fernet.encrypt(
            json.dumps({"access_token": token.value, "expires_at": token.expires_at}).encode()
        )
        self.redis.set(self._token_key, ciphertext, px=max(1, int(token.remaining() * 1000)))

    def _forget(self) -> None:
        self.redis.delete(self._token_key)

    @contextlib.contextmanager
    def _renewal(self) -> Iterator[None]:
        """One process renews at a time; the others wait, then find the new token.

        A lock that cannot be had in time is not worth failing a send for: two logins are harmless.
        """
        lock = self.redis.lock(self._lock_key, timeout=3 * self.timeout, blocking_timeout=3 * self.timeout)
        acquired = lock.acquire()
        try:
            yield
        finally:
            if acquired:
                with contextlib.suppress(LockError):
                    lock.release()

    # --- HTTP ------------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, what: str, **kwargs) -> requests.Response:
        try:
            return self.http.request(method, f"{self.base_url}/{path}", timeout=self.timeout, **kwargs)
        except requests.Timeout:
            raise AutomationError(
                f"A API do SAT não respondeu em {self.timeout} s ({what}).", category="timeout"
            ) from None
        except requests.RequestException as exc:
            raise SatApiError(f"Falha de conexão com a API do SAT ({what}): {type(exc).__name__}.") from None


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _token_from(response: requests.Response) -> Token:
    body = _json(response)
    value, expires_in = body.get("access_token"), body.get("expires_in")
    if response.status_code != 200 or not isinstance(value, str) or not isinstance(expires_in, int | float):
        raise SatApiError(f"A API do SAT respondeu de forma inesperada à autenticação (HTTP {response.status_code}).")
    return Token(value=value, expires_at=time.time() + expires_in)
