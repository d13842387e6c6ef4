"""Tell drf-spectacular how our authentication classes look on the wire."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ConsoleJWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.JWTAuthentication"
    name = "jwtAuth"


class BotHeaderScheme(OpenApiAuthenticationExtension):
    """Seed 000: both headers together (`x-bot-id` and `x-bot-token`)."""

    target_class = "accounts.authentication.BotHeaderAuthentication"
    name = ["botId", "botToken"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "x-bot-id"},
            {"type": "apiKey", "in": "header", "name": "x-bot-token"},
        ]


class BotBearerScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BotBearerAuthentication"
    name = "botBearer"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "cbot_<bot_id>_<segredo>",
                "description": "Token de bot (não é um JWT)."}
