"""Which pages may open a websocket to us: our own, by scheme, host and port.

A browser sends the staff session cookie with any websocket handshake to our host, whichever
page opens it; the Origin header is what tells our pages from another site's. Channels'
AllowedHostsOriginValidator compares the Origin's host with ALLOWED_HOSTS and ignores the port,
so a page served by anything else on the same machine (http://127.0.0.1:9999) was let in.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]


class SameOriginValidator:
    """Refuse a websocket handshake (403) unless its Origin is the server's own origin — the
    scheme of the connection and the Host it was sent to, that host being one of
    ALLOWED_HOSTS — or one of CSRF_TRUSTED_ORIGINS (pages served from another origin of ours)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)


def origin_allowed(scope) -> bool:
    origin = _parse_origin(_header(scope, b"origin"))
    if origin is None:
        return False
    own = _own_origin(scope)
    if own is not None and origin == own:
        return True
    return any(_trusted_origin_matches(origin, pattern) for pattern in settings.CSRF_TRUSTED_ORIGINS)


def _own_origin(scope) -> Origin | None:
    host = _header(scope, b"host")
    if not host:
        return None
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    return _parse_origin(f"{'https' if _is_secure(scope) else 'http'}://{host}")


def _is_secure(scope) -> bool:
    if scope.get("scheme") == "wss":
        return True
    # Behind a TLS-terminating proxy the connection itself is plain: trust the proxy's header,
    # as Django does for HTTP requests.
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if proxy_header:
        name, secure_value = proxy_header
        header_name = name.removeprefix("HTTP_").lower().replace("_", "-").encode()
        value = _header(scope, header_name)
        return value is not None and value.split(",")[0].strip() == secure_value
    return False


def _parse_origin(value: str | None) -> Origin | None:
    if not value:
        return None
    try:
        parts = urlsplit(value.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


def _trusted_origin_matches(origin: Origin, pattern: str) -> bool:
    # Django's CSRF_TRUSTED_ORIGINS syntax: "https://console.example.com" or
    # "https://*.example.com" for every subdomain.
    wildcard = "://*." in pattern
    trusted = _parse_origin(pattern.replace("://*.", "://", 1) if wildcard else pattern)
    if trusted is None:
        return False
    scheme, host, port = origin
    if (scheme, port) != (trusted[0], trusted[2]):
        return False
    return host == trusted[1] or (wildcard and host.endswith("." + trusted[1]))


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None
