"""How /openapi.json and /docs group the operations: six fixed tags, chosen by path.

One rule for every view (ours, simplejwt's, whatever comes next) keeps /docs from growing a new
group per author; views do not set tags themselves.
"""

from drf_spectacular.openapi import AutoSchema

SEED = "Rotas do seed"
REST_V1 = "REST v1"
AUTH = "Autenticação"
SYSTEM = "Sistema"
BOTS = "Bots"
SELLER_BOT = "Seller Bot"

# In the order /docs shows them.
TAGS = [
    {"name": SEED, "description": "Jobs de automação nos caminhos e formatos da especificação original "
                                  "(erros {\"detail\": …}, validação 422)."},
    {"name": REST_V1, "description": "A API REST para novos frontends: recursos, paginação e filtros."},
    {"name": AUTH, "description": "Tokens JWT (rotas do seed e /api/v1) e tickets para o websocket e o SSE."},
    {"name": BOTS, "description": "Rotas dos bots externos, com credencial de bot (x-bot-id + x-bot-token, ou "
                                  "Bearer cbot_…): consumo de tokens, eventos, status do painel."},
    {"name": SELLER_BOT, "description": "Automação do TikTok Seller Center (seed 004, /bot/*): perfis, tarefas, "
                                        "a chave do worker e as estatísticas; o chatbot de vendas "
                                        "(/seller-bot/*): mensagens, conversas, transferência para uma "
                                        "pessoa, estatísticas, funil, configuração e saúde."},
    {"name": SYSTEM, "description": "Saúde do serviço."},
]

AUTH_PREFIXES = ("/auth/", "/api/v1/auth/", "/api/v1/ws-tickets/")
SYSTEM_PATHS = ("/health", "/metrics")
BOT_PREFIXES = ("/api/v1/token-usage/", "/api/v1/events/", "/api/v1/dashboard/", "/api/v1/bots/")
SELLER_BOT_PREFIXES = ("/bot/", "/seller-bot/")


class ConsoleAutoSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        return [operation_tag(self.path)]


def tags_described(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: list the tags, described, in TAGS order (so /docs shows them so)."""
    result["tags"] = TAGS
    return result


def operation_tag(path: str) -> str:
    """The one tag of the operation at `path` (as the schema writes it, e.g. /status/{job_id})."""
    if path.startswith(AUTH_PREFIXES):
        return AUTH
    if path in SYSTEM_PATHS:
        return SYSTEM
    if path.startswith(BOT_PREFIXES):
        return BOTS
    if path.startswith(SELLER_BOT_PREFIXES):
        return SELLER_BOT
    if path.startswith("/api/v1/"):
        return REST_V1
    return SEED
