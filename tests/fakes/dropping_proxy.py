"""An HTTP proxy on 127.0.0.1 that loses answers: the request reaches the server, the server
stores what it was sent and answers, and the client never hears of it.

That is the failure an idempotency key exists for (a timeout after the commit, a connection
reset on the way back), and the one a test cannot get from a server that is down: here the
work is done. For each request the proxy forwards the request whole, reads the server's
complete response, and then, for the first `drop_first` requests of the same key, closes the
client's connection without sending a byte of it. The key of a request is its body's
`request_id` (token usage) or `id` (an event), or else a digest of the body, so a client that
resends the same keyless body is dropped the same number of times.

Bounded: at most `max_connections` client connections at once (more are closed at accept),
bodies up to `max_body` bytes, and a socket timeout on both sides.
"""

import hashlib
import json
import socket
import threading
from collections import Counter

HOST = "127.0.0.1"


class ProxyError(Exception):
    pass


class DroppingProxy:
    def __init__(self, upstream_port: int, *, drop_first: int = 1, methods: tuple[str, ...] = ("POST",),
                 max_connections: int = 32, max_body: int = 4 * 1024 * 1024, timeout: float = 15.0):
        self.upstream_port = upstream_port
        self.drop_first = drop_first
        self.methods = methods
        self.max_body = max_body
        self.timeout = timeout
        self.seen: Counter[str] = Counter()  # requests per key, of the methods that may be dropped
        self.dropped = 0
        self.forwarded = 0
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.2)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, name="dropping-proxy", daemon=True)

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> "DroppingProxy":
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._acceptor.join(timeout=5)
        self._listener.close()
        for thread in list(self._threads):
            thread.join(timeout=self.timeout + 1)

    def __enter__(self) -> "DroppingProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- connections ---------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._slots.acquire(blocking=False):
                client.close()
                continue
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        upstream = None
        try:
            client.settimeout(self.timeout)
            client_reader = client.makefile("rb")
            while not self._stopping.is_set():
                request = _read_message(client_reader, self.max_body, request=True)
                if request is None:
                    return
                head, body = request
                if upstream is None:
                    upstream = socket.create_connection((HOST, self.upstream_port), timeout=self.timeout)
                    upstream_reader = upstream.makefile("rb")
                upstream.sendall(head + body)
                response = _read_message(upstream_reader, self.max_body, request=False,
                                         head_request=head.startswith(b"HEAD "))
                if response is None:
                    return
                if self._drop(head, body):
                    return  # the server has answered; the client hears nothing
                client.sendall(response[0] + response[1])
                with self._lock:
                    self.forwarded += 1
                if _closes(head) or _closes(response[0]):
                    return
        except (OSError, ProxyError):
            return
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    try:
                        sock.close()
                    except OSError:
                        pass
            self._slots.release()

    def _drop(self, head: bytes, body: bytes) -> bool:
        method = head.split(b" ", 1)[0].decode("latin-1")
        if method not in self.methods:
            return False
        key = request_key(body)
        with self._lock:
            self.seen[key] += 1
            if self.seen[key] <= self.drop_first:
                self.dropped += 1
                return True
        return False


def request_key(body: bytes) -> str:
    """`request_id` or `id` of a JSON object body, else a digest of the body."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        data = None
    if isinstance(data, dict):
        for name in ("request_id", "id"):
            if isinstance(data.get(name), str | int) and not isinstance(data.get(name), bool):
                return f"{name}:{data[name]}"
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _read_message(reader, max_body: int, *, request: bool, head_request: bool = False) -> tuple[bytes, bytes] | None:
    """One HTTP/1.1 message (head, body) as raw bytes; None when the peer closed before one."""
    lines = []
    while True:
        line = reader.readline(65537)
        if not line:
            if lines:
                raise ProxyError("connection closed inside a message head")
            return None
        if len(line) > 65536 or len(lines) > 200:
            raise ProxyError("message head too large")
        if not lines and line in (b"\r\n", b"\n"):
            continue  # stray CRLF between keep-alive messages
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            break
    head = b"".join(lines)
    headers = _headers(lines[1:])
    status = None if request else int(lines[0].split(b" ", 2)[1])
    if head_request or (status is not None and (100 <= status < 200 or status in (204, 304))):
        return head, b""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return head, _read_chunked(reader, max_body)
    if "content-length" in headers:
        length = int(headers["content-length"])
        if length > max_body:
            raise ProxyError(f"body of {length} bytes")
        body = reader.read(length)
        if len(body) != length:
            raise ProxyError("connection closed inside a body")
        return head, body
    if request:
        return head, b""
    body = reader.read(max_body + 1)  # a response delimited by the end of the connection
    if len(body) > max_body:
        raise ProxyError("response too large")
    return head, body


def _read_chunked(reader, max_body: int) -> bytes:
    """The chunked body as it came (size lines included), to pass on unchanged."""
    parts, total = [], 0
    while True:
        size_line = reader.readline(1024)
        if not size_line:
            raise ProxyError("connection closed inside a chunked body")
        parts.append(size_line)
        size = int(size_line.split(b";")[0].strip(), 16)
        if size == 0:
            while True:  # trailers, up to the empty line
                trailer = reader.readline(65537)
                if not trailer:
                    raise ProxyError("connection closed inside trailers")
                parts.append(trailer)
                if trailer in (b"\r\n", b"\n"):
                    return b"".join(parts)
        total += size
        if total > max_body:
            raise ProxyError("chunked body too large")
        chunk = reader.read(size + 2)
        if len(chunk) != size + 2:
            raise ProxyError("connection closed inside a chunk")
        parts.append(chunk)


def _headers(lines: list[bytes]) -> dict[str, str]:
    headers = {}
    for line in lines:
        name, sep, value = line.decode("latin-1").partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def _closes(head: bytes) -> bool:
    lines = head.split(b"\r\n")
    return _headers(lines[1:]).get("connection", "").lower() == "close" or lines[0].endswith(b"HTTP/1.0")
