"""The web server: daphne, with an access log that never shows a credential.

Browsers cannot put headers on a WebSocket or an EventSource, so /ws/notifications and
/events/logs take a JWT or a ticket in the query string (?token=, ?ticket=). daphne's access log
prints each request's URL; this entry point writes it with those values replaced.

    python -m project.web [daphne's arguments] project.asgi:application
"""

import re

from daphne import cli, http_protocol
from daphne.access import AccessLogGenerator

from project.middleware import body_limit

CREDENTIAL_PARAMETER = re.compile(r"(?i)([?&](?:token|ticket|access_token)=)[^&#\s]*")


def redact(url: str) -> str:
    return CREDENTIAL_PARAMETER.sub(r"\1[redacted]", url)


class RedactingAccessLog(AccessLogGenerator):
    def __call__(self, protocol, action, details):
        if isinstance(details.get("path"), str):
            details = {**details, "path": redact(details["path"])}
        super().__call__(protocol, action, details)


class BoundedBodyRequest(http_protocol.WebRequest):
    """daphne's request, keeping no more of a body than the application can accept.

    Twisted stores a request's whole body (in a temporary file past 100 KB) before daphne hands
    it to the application, which then refuses anything over the route's limit with 413
    (project/middleware.py). Here, past the limit, one byte more is kept — enough for the
    application to see that the body is too large — and the rest is read off the socket and
    dropped, so no body, declared or chunked, fills the disk or the memory.
    """

    def gotLength(self, length):
        super().gotLength(length)
        self.body_bytes_kept = 0
        # Twisted keeps the request line's path on the channel until the request is complete.
        path = getattr(self.channel, "_path", b"").decode("latin-1").split("?", 1)[0]
        limit = body_limit(path)
        self.body_bytes_cap = None if limit is None else limit + 1

    def handleContentChunk(self, data):
        if self.body_bytes_cap is not None:
            data = data[:max(self.body_bytes_cap - self.body_bytes_kept, 0)]
        if data:
            self.body_bytes_kept += len(data)
            super().handleContentChunk(data)


def main() -> None:
    # daphne's command line builds its access log, and its HTTP factory its requests, from these
    # module attributes.
    cli.AccessLogGenerator = RedactingAccessLog
    http_protocol.WebRequest = BoundedBodyRequest
    cli.CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
