"""The web server: daphne, with an access log that never shows a credential.

Browsers cannot put headers on a WebSocket or an EventSource, so /ws/notifications and
/events/logs take a JWT or a ticket in the query string (?token=, ?ticket=). daphne's access log
prints each request's URL; this entry point writes it with those values replaced.

    python -m project.web [daphne's arguments] project.asgi:application
"""

import re

from daphne import cli
from daphne.access import AccessLogGenerator

CREDENTIAL_PARAMETER = re.compile(r"(?i)([?&](?:token|ticket|access_token)=)[^&#\s]*")


def redact(url: str) -> str:
    return CREDENTIAL_PARAMETER.sub(r"\1[redacted]", url)


class RedactingAccessLog(AccessLogGenerator):
    def __call__(self, protocol, action, details):
        if isinstance(details.get("path"), str):
            details = {**details, "path": redact(details["path"])}
        super().__call__(protocol, action, details)


def main() -> None:
    # daphne's command line builds its access log from this module attribute.
    cli.AccessLogGenerator = RedactingAccessLog
    cli.CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
