"""Local stand-ins for the chatbot's channels, speaking their send APIs as the real ones answer
(shared/integrations/): Evolution's `POST /message/sendText/{instance}` (201 with the message's
key), Chatwoot's `POST /api/v1/accounts/{a}/conversations/{c}/messages` and `…/toggle_status`,
and the Graph API's `POST /me/messages`. One server for the three; `down` makes every call a 503,
`refuse_token` makes the Graph API answer its dead-token error (code 190)."""

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FakeChannels:
    def __init__(self):
        self.received: list[dict] = []  # {"channel", "path", "headers", "query", "body"}
        self.down = False
        self.refuse_token = False
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def url(self) -> str:
        host, port = self._server.server_address
        return f"http://{host}:{port}"

    def start(self) -> "FakeChannels":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def sent(self, channel: str) -> list[dict]:
        with self._lock:
            return [request for request in self.received if request["channel"] == channel]

    def clear(self) -> None:
        with self._lock:
            self.received.clear()
        self.down = False
        self.refuse_token = False

    def _record(self, request: dict) -> None:
        with self._lock:
            self.received.append(request)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                parts = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.loads(raw or b"{}")
                channel, status, answer = fake._route(parts.path, body)
                if fake.down:
                    status, answer = 503, {"error": "Service Unavailable"}
                elif channel == "instagram" and fake.refuse_token:
                    status, answer = 400, {"error": {"message": "Error validating access token", "type":
                                                     "OAuthException", "code": 190, "fbtrace_id": "A1"}}
                fake._record({"channel": channel, "path": parts.path, "headers": dict(self.headers),
                              "query": parse_qs(parts.query), "body": body, "status": status})
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler

    def _route(self, path: str, body: dict) -> tuple[str, int, dict]:
        parts = path.strip("/").split("/")
        if parts[:2] == ["message", "sendText"] and len(parts) == 3:
            return "evolution", 201, {
                "key": {"remoteJid": f"{body.get('number')}@s.whatsapp.net", "fromMe": True,
                        "id": "3EB0" + uuid.uuid4().hex[:16].upper()},
                "pushName": "Você", "status": "PENDING", "message": {"conversation": body.get("text")},
                "messageType": "conversation", "messageTimestamp": 1763215333, "source": "web",
            }
        if parts[:3] == ["api", "v1", "accounts"] and len(parts) == 7 and parts[6] == "messages":
            return "chatwoot", 200, {"id": int(uuid.uuid4().int % 10**6), "content": body.get("content"),
                                     "message_type": 1, "conversation_id": int(parts[5]), "private": False}
        if parts[:3] == ["api", "v1", "accounts"] and len(parts) == 7 and parts[6] == "toggle_status":
            return "chatwoot-status", 200, {"meta": {}, "payload": {"success": True, "conversation_id": int(parts[5]),
                                                                    "current_status": body.get("status"),
                                                                    "snoozed_until": None}}
        if parts[-2:] == ["me", "messages"]:
            return "instagram", 200, {"recipient_id": body["recipient"]["id"], "message_id": "aWdf" + uuid.uuid4().hex}
        return "unknown", 404, {"error": "not found"}
