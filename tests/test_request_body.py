"""Request bodies against the real server (daphne): a body sent with `Transfer-Encoding:
chunked` is read, and the size limit applies to what arrives, not to what a header declares."""

import http.client
import json
import os
import socket
import stat
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from jobs.models import Job
from tests.jobs.helpers import carrier_payload

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 64 * 1024  # API_MAX_BODY_BYTES in the test settings
TOO_LARGE = {"detail": f"Corpo da requisição muito grande: o limite é {LIMIT} bytes."}


def send_raw(server, method: str, path: str, headers: dict, chunks, before_the_end=None) -> tuple[int, bytes]:
    """Send one HTTP/1.1 request over a socket; `chunks` (bytes) go out chunk-encoded when the
    headers say `Transfer-Encoding: chunked`, as they are otherwise. `before_the_end()` is called
    before the last chunk leaves."""
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        head = [f"{method} {path} HTTP/1.1", f"Host: {address.netloc}", "Connection: close"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        chunked = headers.get("Transfer-Encoding") == "chunked"
        chunks = list(chunks)
        for number, chunk in enumerate(chunks):
            if before_the_end and number == len(chunks) - 1:
                before_the_end()
            connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
        if chunked:
            connection.sendall(b"0\r\n\r\n")
        response = http.client.HTTPResponse(connection)
        response.begin()
        return response.status, response.read()


def largest_spooled_body(pid: int) -> int:
    """The size of the largest unlinked temporary file the process holds open (where Twisted
    spools a request body of 100 KB or more)."""
    largest = 0
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if not os.readlink(descriptor).endswith(" (deleted)"):
                continue
            info = os.stat(descriptor)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode):
            largest = max(largest, info.st_size)
    return largest


def chunked_json(body: dict | bytes, piece: int = 7) -> list[bytes]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return [raw[i:i + piece] for i in range(0, len(raw), piece)]


CHUNKED_JSON = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


def test_a_chunked_login_is_read(asgi_server, alice):
    status, body = send_raw(asgi_server, "POST", "/auth/login", CHUNKED_JSON,
                            chunked_json({"username": "alice", "password": "alice-pass"}))

    assert status == 200, body
    assert set(json.loads(body)) == {"access_token", "expires_in", "refresh_token"}


def test_a_chunked_v1_token_request_is_read(asgi_server, alice):
    status, body = send_raw(asgi_server, "POST", "/api/v1/auth/token/", CHUNKED_JSON,
                            chunked_json({"username": "alice", "password": "alice-pass"}))

    assert status == 200, body
    assert set(json.loads(body)) == {"access", "refresh"}


def test_a_chunked_job_is_validated_like_any_other(asgi_server, bob):
    status, body = send_raw(asgi_server, "POST", "/executar/OI", {**CHUNKED_JSON, **bearer(bob)},
                            chunked_json({**carrier_payload("12345678"), "cnpj": "not-a-cnpj"}))

    assert status == 422, body
    assert [error["loc"] for error in json.loads(body)["detail"]] == [["body", "cnpj"]]
    assert Job.objects.count() == 0


def test_a_chunked_body_over_the_limit_gets_413(asgi_server, bob):
    five_megabytes = [b"[" + b" " * (64 * 1024 - 2) + b"]"] * 80

    status, body = send_raw(asgi_server, "POST", "/executar/OI", {**CHUNKED_JSON, **bearer(bob)}, five_megabytes)

    assert status == 413, body
    assert json.loads(body) == TOO_LARGE
    assert Job.objects.count() == 0


def test_a_chunked_body_one_byte_over_the_limit_gets_413(asgi_server):
    status, body = send_raw(asgi_server, "POST", "/auth/login", CHUNKED_JSON, [b" " * (LIMIT - 1), b"{}"])

    assert status == 413, body
    assert json.loads(body) == TOO_LARGE


def test_a_declared_length_over_the_limit_gets_413(asgi_server):
    status, body = send_raw(asgi_server, "POST", "/auth/login",
                            {"Content-Type": "application/json", "Content-Length": str(LIMIT + 1)},
                            [b" " * (LIMIT - 1) + b"{}"])

    assert status == 413, body
    assert json.loads(body) == TOO_LARGE


@pytest.mark.parametrize("framing", ["chunked", "declared"])
def test_the_server_keeps_no_more_of_a_large_body_than_the_limit(asgi_server, framing):
    twenty_megabytes = [b" " * (1024 * 1024)] * 20
    headers = ({**CHUNKED_JSON} if framing == "chunked"
               else {"Content-Type": "application/json", "Content-Length": str(20 * 1024 * 1024)})
    spooled = []

    def measure():
        time.sleep(0.5)  # let the server read what the socket holds
        spooled.append(largest_spooled_body(asgi_server.process.pid))

    status, body = send_raw(asgi_server, "POST", "/auth/login", headers, twenty_megabytes, before_the_end=measure)

    assert spooled[0] <= LIMIT + 1
    assert status == 413, body
    assert json.loads(body) == TOO_LARGE


def test_the_upload_paths_keep_their_whole_body(asgi_server):
    # The admin and the sandbox portals take files: no cap there (the body below is no JSON).
    two_megabytes = [b"x" * (1024 * 1024)] * 2
    spooled = []

    def measure():
        time.sleep(0.5)
        spooled.append(largest_spooled_body(asgi_server.process.pid))

    status, body = send_raw(asgi_server, "POST", "/sandbox/sat/api/auth/login",
                            {"Content-Type": "application/json", "Content-Length": str(2 * 1024 * 1024)},
                            two_megabytes, before_the_end=measure)

    assert spooled[0] >= 1024 * 1024
    assert status == 400, body
