"""A local OpenAI-compatible chat-completions server (POST …/chat/completions) that answers as
it is told: the upstream samples in llm_samples/ (copied from the integrations notes) and the
variants the wild has (usage details, errors, slowness, nonsense). It records every request."""

import copy
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SAMPLES = Path(__file__).parent / "llm_samples"
# The upstream sample, byte for byte (served as is by the "default" kind).
DEFAULT_BODY = (SAMPLES / "chat_completion.default.verbatim.json").read_bytes()
DEFAULT = json.loads(DEFAULT_BODY)
UNAUTHORIZED_BODY = (SAMPLES / "error.401_invalid_api_key.json").read_bytes()


def completion(content: str = "Olá! Como posso ajudar?", *, completion_id: str = "chatcmpl-fake-0001",
               model: str = "gpt-4o-mini-2024-07-18", prompt_tokens: int = 19, completion_tokens: int = 10,
               cached_tokens: int | None = None, reasoning_tokens: int | None = None) -> dict:
    """A chat completion shaped like the sample, with the usage details only when given (the
    upstream tool-call example has neither)."""
    body = copy.deepcopy(DEFAULT)
    body.update(id=completion_id, model=model)
    body["choices"][0]["message"]["content"] = content
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
             "total_tokens": prompt_tokens + completion_tokens}
    if cached_tokens is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached_tokens, "audio_tokens": 0}
    if reasoning_tokens is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
    body["usage"] = usage
    return body


DETAILED = completion(
    "O Fone Bluetooth X sai por R$ 199,90 e tem 30 horas de bateria. Quer que eu separe um?",
    completion_id="chatcmpl-fake-detailed", model="o4-mini-2025-04-16", prompt_tokens=1200, completion_tokens=300,
    cached_tokens=1024, reasoning_tokens=128,
)


@dataclass
class Answer:
    status: int
    body: bytes
    delay: float = 0.0  # seconds before the answer, for timeouts


# What the server answers, by name: FakeLlm.serve(kind).
KINDS = {
    "default": lambda: Answer(200, DEFAULT_BODY),
    "detailed": lambda: Answer(200, json.dumps(DETAILED).encode()),
    "unauthorized": lambda: Answer(401, UNAUTHORIZED_BODY),
    "server_error": lambda: Answer(500, json.dumps({"error": {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error", "param": None, "code": None}}).encode()),
    "slow": lambda: Answer(200, DEFAULT_BODY, delay=5.0),
    "malformed": lambda: Answer(200, b'{"id": "chatcmpl-broken", "choices": [{"message": {"content": "Ol'),
    "empty": lambda: Answer(200, json.dumps(completion("")).encode()),
}


class FakeLlm:
    """Answers every POST …/chat/completions with the current Answer; anything else is 404.

    `echo_key` puts the bearer token it received, unmasked, in a 401's message (a careless
    proxy does): what the client must never write to its log.
    """

    def __init__(self):
        self.requests: list[dict] = []  # {"path", "headers", "json"}
        self.answer = KINDS["default"]()
        self.echo_key = False
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def url(self) -> str:
        host, port = self._server.server_address
        return f"http://{host}:{port}/v1"

    def serve(self, kind: str) -> None:
        self.answer = KINDS[kind]()

    def serve_json(self, body: dict, status: int = 200) -> None:
        self.answer = Answer(status, json.dumps(body).encode())

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()  # a slow answer in progress ends now
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                with fake._lock:
                    fake.requests.append({"path": self.path, "headers": dict(self.headers), "json": body})
                    answer = fake.answer
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    answer = Answer(404, json.dumps({"error": {"message": "Not found", "type": "invalid_request_error",
                                                               "param": None, "code": None}}).encode())
                elif answer.status == 401 and fake.echo_key:
                    key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    answer = Answer(401, json.dumps({"error": {
                        "message": f"Incorrect API key provided: {key}.", "type": "invalid_request_error",
                        "param": None, "code": "invalid_api_key"}}).encode())
                if answer.delay and fake._stopping.wait(answer.delay):
                    return
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout test)

        return Handler
