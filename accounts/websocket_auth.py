"""Who is on the other end of a websocket (or an SSE stream): scope["user"] for consumers.

In order of preference:
- `?ticket=` — a short-lived, single-use ticket from POST /api/v1/ws-tickets/ (nothing long-lived
  travels in a URL);
- `?token=` — the JWT access token, as seed 004's frontends send it;
- the staff session cookie, for the dashboard pages.

A ticket or token that is present but invalid leaves the user anonymous, even if a session
cookie would have been good: the client asked to be someone in particular and was not. URLs with
these parameters are redacted from access logs (project/web.py).
"""

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError

from accounts import services
from accounts.authentication import JWTAuthentication


def websocket_auth_stack(inner):
    return AuthMiddlewareStack(QueryCredentialsMiddleware(inner))


class QueryCredentialsMiddleware:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        credentials = query_credentials(scope.get("query_string", b""))
        if credentials:
            scope = dict(scope, user=await user_for_credentials(**credentials))
        return await self.inner(scope, receive, send)


def query_credentials(query_string: bytes | str) -> dict[str, str]:
    if isinstance(query_string, bytes):
        query_string = query_string.decode("latin-1")
    query = parse_qs(query_string)
    if query.get("ticket"):
        return {"ticket": query["ticket"][0]}
    if query.get("token"):
        return {"token": query["token"][0]}
    return {}


@database_sync_to_async
def user_for_credentials(*, ticket: str | None = None, token: str | None = None):
    if ticket:
        return services.ws_ticket_redeem(ticket=ticket) or AnonymousUser()
    authentication = JWTAuthentication()
    try:
        validated = authentication.get_validated_token(token.encode())
        user = authentication.get_user(validated)
    except (InvalidToken, TokenError, AuthenticationFailed):
        return AnonymousUser()
    return user if user.is_active else AnonymousUser()
