"""Reply generators, registered by name (ChatbotConfig.llm_backend): `offline` (rules, templates,
the FAQ and the catalogue; no network) and `openai_compatible` (a chat-completions server).

A backend is a callable taking a ReplyRequest and returning a Reply; adding one is writing a
sibling module and registering it here.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ReplyRequest:
    text: str  # the customer's words (several messages joined when they came together)
    intent: str
    confidence: float
    config: object  # ChatbotConfig
    product: dict | None = None
    faq: dict | None = None
    contact_name: str = ""
    history: list[dict] = field(default_factory=list)  # [{"author": "customer"|"bot"|"human", "text": …}]
    handing_off: bool = False
    conversation_id: str = ""  # ours, for the usage records of a language model


@dataclass(frozen=True)
class Reply:
    text: str
    backend: str
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    request_id: str = ""


class BackendFailed(Exception):
    """The backend gave no usable reply (timeout, error answer, nonsense); the offline one answers."""


Backend = Callable[[ReplyRequest], Reply]


def backend(name: str) -> Backend:
    from sellerbot.chatbot.backends import offline, openai_compatible

    registry: dict[str, Backend] = {"offline": offline.reply, "openai_compatible": openai_compatible.reply}
    return registry.get(name, offline.reply)
