"""A local processo API (seed 003 §3.3) with a switch per processo: fail the first N updates."""

import json
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeProcessoApi:
    """Accepts PUT /api/processos/<id>/status only, like a deployment with the first URL form.

    The other two URL forms answer 404, so the client's fallbacks are exercised too.
    """

    def __init__(self):
        self.requests: dict[str, list[tuple[str, str, dict]]] = defaultdict(list)
        self.accepted: dict[str, list[dict]] = defaultdict(list)
        self.fail_first: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def url(self) -> str:
        host, port = self._server.server_address
        return f"http://{host}:{port}"

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_PUT(self):
                self._answer("PUT")

            def do_PATCH(self):
                self._answer("PATCH")

            def _answer(self, method):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                parts = self.path.strip("/").split("/")
                processo_id = parts[2] if parts[:2] == ["api", "processos"] else parts[1]
                with api._lock:
                    api.requests[processo_id].append((method, self.path, body))
                    first_form = method == "PUT" and parts[0] == "api" and parts[-1] == "status"
                    if not first_form:
                        code = 404
                    elif api.fail_first.get(processo_id, 0) > 0:
                        api.fail_first[processo_id] -= 1
                        code = 503
                    else:
                        api.accepted[processo_id].append(body)
                        code = 200
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"ok": code == 200}).encode())

        return Handler
