"""What a customer wants, from their words: an intent with a confidence, and the product of the
catalogue they mean. Rules on the text with accents and case set aside, so "preço", "PRECO" and
"preco" are one word; no network, the same answer every time."""

import re
import unicodedata
from dataclasses import dataclass

from sellerbot.chatbot.models import Intent

# Strong phrases say the intent almost alone; weak words only lean towards it. In order of
# precedence: a customer who complains and asks for a person wants the person.
_RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (Intent.HUMAN_REQUEST,
     (r"\b(falar|conversar|atendimento) com (um|uma|algu[em]|o|a)? ?(atendente|humano|pessoa|vendedor|gerente)",
      r"\b(quero|preciso de|chama|chame|me passa para) (um|uma|o|a)? ?(atendente|humano|pessoa|gerente)",
      r"\batendente humano\b", r"\bpessoa de verdade\b", r"\bnao (quero|aguento) (falar com )?(robo|bot)\b"),
     (r"\batendente\b", r"\bhumano\b", r"\brobo\b")),
    (Intent.COMPLAINT,
     (r"\b(reclamacao|reclamar|procon|absurdo|pessimo|horrivel|vergonha|enganad[oa]|golpe)\b",
      r"\b(veio|chegou|esta|ta) (quebrad[oa]|errad[oa]|com defeito|danificad[oa]|faltando)\b",
      r"\b(nao|nunca) (chegou|recebi|funciona)\b", r"\bquero (meu dinheiro|o reembolso|devolver)\b"),
     (r"\bdefeito\b", r"\bdevolu[cç]ao\b", r"\breembolso\b", r"\binsatisfeit[oa]\b", r"\bdemora\b")),
    (Intent.ORDER_STATUS,
     (r"\b(meu|o meu|minha) (pedido|compra|encomenda)\b", r"\b(rastreio|rastreamento|codigo de rastreio)\b",
      r"\bonde (esta|ta) (meu|minha|o|a)\b", r"\b(status|situacao) do (meu )?pedido\b",
      r"\bpedido (n[o°º]?|numero|#) ?\d+"),
     (r"\bpedido\b", r"\bencomenda\b", r"\benviado\b")),
    (Intent.PURCHASE_INTENT,
     (r"\b(quero|vou) (comprar|levar|fechar|pedir)\b", r"\bcomo (faco|faço) (para|pra) comprar\b",
      r"\b(pode|podem) (separar|reservar|mandar o link)\b", r"\b(fechado|fechou|manda o pix|aceita pix)\b",
      r"\blink (de|do|para) pagamento\b", r"\bquero (esse|essa|este|esta|o|a|um|uma|dois|duas)\b"),
     (r"\bcomprar\b", r"\bpix\b", r"\bparcela\b", r"\bcartao\b", r"\bboleto\b")),
    (Intent.PRICE,
     (r"\b(qual|quanto) (e |eh |fica |sai |custa )?(o )?(preco|valor)\b", r"\bquanto (custa|sai|fica|e|eh)\b",
      r"\bpreco\b", r"\bvalor\b", r"\btem desconto\b"),
     (r"\bcusta\b", r"\bcaro\b", r"\bbarato\b", r"\bpromocao\b", r"\bdesconto\b", r"r\$")),
    (Intent.SHIPPING,
     (r"\b(frete|entrega|envio|prazo de entrega)\b", r"\b(entregam|enviam|mandam) (para|pra|em)\b",
      r"\bquanto tempo (demora|leva) (para|pra) chegar\b", r"\bcep\b"),
     (r"\bchega\b", r"\bcorreios\b", r"\btransportadora\b", r"\bprazo\b")),
    (Intent.PRODUCT_QUESTION,
     (r"\b(tem|voces tem|vcs tem|ainda tem) (o|a|um|uma|esse|essa|no|na)?\b.*\b(estoque|tamanho|cor|modelo)\b",
      r"\b(como funciona|serve (para|pra)|qual (o )?tamanho|quais (as )?cores|e original)\b",
      r"\b(garantia|material|medidas|especificac)"),
     (r"\btem\b", r"\bproduto\b", r"\bestoque\b", r"\bmodelo\b", r"\btamanho\b", r"\bcor\b")),
    (Intent.GREETING,
     (r"^(oi+|ola|ol[aá]+|bom dia|boa tarde|boa noite|e ai|eai|hey|hello|opa)\b[\s!.,?]*$",),
     (r"^(oi+|ola|bom dia|boa tarde|boa noite|e ai|opa)\b",)),
)

STRONG = 0.9
WEAK = 0.6
# Each further weak word of the same intent adds this much (a second weak word is a better hint).
WEAK_STEP = 0.1


@dataclass(frozen=True)
class Reading:
    intent: str
    confidence: float
    product: dict | None = None
    faq: dict | None = None


def read(text: str, *, catalogue: list[dict] = (), faq: list[dict] = (), handoff_keywords: list[str] = ()) -> Reading:
    """The customer's intent in `text`, with the catalogue's product and the FAQ entry it names."""
    plain = normalised(text)
    product = _product_named(plain, catalogue)
    faq_entry = _faq_matching(plain, faq)
    if any(normalised(keyword) and _has_phrase(plain, normalised(keyword)) for keyword in handoff_keywords):
        return Reading(Intent.HUMAN_REQUEST, STRONG, product, faq_entry)
    intent, confidence = _best_rule(plain)
    # "Olá! Qual o horário?" is a question that starts with a greeting: the FAQ answers it.
    if faq_entry is not None and intent == Intent.GREETING and confidence < STRONG:
        intent = Intent.OTHER
    if intent == Intent.OTHER and faq_entry is not None:
        intent, confidence = Intent.PRODUCT_QUESTION, WEAK + WEAK_STEP
    elif intent == Intent.OTHER and product is not None:
        intent, confidence = Intent.PRODUCT_QUESTION, WEAK
    elif product is not None and intent in (Intent.PRODUCT_QUESTION, Intent.PRICE, Intent.PURCHASE_INTENT):
        confidence = min(0.98, confidence + WEAK_STEP)
    return Reading(intent, round(confidence, 2), product, faq_entry)


def normalised(text: str) -> str:
    """Lower case, no accents, single spaces: how the rules and keywords compare text."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"\s+", " ", plain.lower()).strip()


def _best_rule(plain: str) -> tuple[str, float]:
    best_weak: tuple[str, float] | None = None
    for intent, strong, weak in _RULES:
        if any(re.search(pattern, plain) for pattern in strong):
            return intent, STRONG
        hits = sum(1 for pattern in weak if re.search(pattern, plain))
        if hits and best_weak is None:
            best_weak = (intent, min(0.85, WEAK + WEAK_STEP * (hits - 1)))
    if best_weak is not None:
        return best_weak
    return Intent.OTHER, 0.3


def _product_named(plain: str, catalogue) -> dict | None:
    for product in catalogue:
        names = [product.get("name", ""), *product.get("keywords", [])]
        if any(normalised(name) and _has_phrase(plain, normalised(name)) for name in names):
            return product
    return None


def _faq_matching(plain: str, faq) -> dict | None:
    for entry in faq:
        keywords = [normalised(keyword) for keyword in entry.get("keywords", [])]
        if any(keyword and _has_phrase(plain, keyword) for keyword in keywords):
            return entry
    return None


def _has_phrase(plain: str, phrase: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", plain) is not None
