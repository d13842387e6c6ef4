"""The offline reply generator: templates in Portuguese filled from the configuration's FAQ,
catalogue and business facts. Needs no network, so the chatbot answers out of the box and
whenever the language model does not."""

from decimal import Decimal, InvalidOperation

from sellerbot.chatbot.backends import Reply, ReplyRequest
from sellerbot.chatbot.models import Intent

NAME = "offline"
# At most this many products listed when the customer has not said which one they mean.
LISTED_PRODUCTS = 3


def reply(request: ReplyRequest) -> Reply:
    if request.handing_off:
        text = ("Claro! Vou chamar uma pessoa da nossa equipe para continuar o atendimento com você. "
                "Só um instante, por favor.")
    else:
        compose = _COMPOSERS.get(request.intent, _other)
        text = compose(request)
    return Reply(text=text, backend=NAME)


def _greeting(request: ReplyRequest) -> str:
    name = f", {request.contact_name.split()[0]}" if request.contact_name.strip() else ""
    greeting = request.config.greeting or "Olá{nome}! Como posso ajudar você hoje?"
    return greeting.replace("{nome}", name)


def _price(request: ReplyRequest) -> str:
    product = request.product
    if product and product.get("price"):
        return (f"O {product['name']} sai por {money(product['price'])}. "
                "Quer que eu separe um para você?")
    if product:
        return f"Vou confirmar o preço do {product['name']} para você. Quer que eu já reserve um?"
    listed = _listed(request)
    if listed:
        return f"Temos {listed}. De qual deles você quer saber mais?"
    return "Me conta qual produto você procura que eu já passo o preço certinho."


def _product_question(request: ReplyRequest) -> str:
    if request.faq:
        return request.faq["answer"]
    product = request.product
    if product:
        description = (product.get("description") or "").strip()
        price = f" Sai por {money(product['price'])}." if product.get("price") else ""
        about = f"{description.rstrip('.')}." if description else f"Temos o {product['name']}, sim."
        return f"{about}{price} Posso ajudar com mais alguma dúvida sobre ele?"
    listed = _listed(request)
    if listed:
        return f"Temos {listed}. Qual deles chamou a sua atenção?"
    return "Me diga qual produto você procura que eu verifico para você."


def _shipping(request: ReplyRequest) -> str:
    if request.faq:
        return request.faq["answer"]
    return ("Enviamos para todo o Brasil. O prazo e o frete dependem do seu CEP: "
            "me passa o CEP que eu calculo para você?")


def _order_status(request: ReplyRequest) -> str:
    return ("Vou verificar o seu pedido. Me passa o número dele (está no e-mail ou na mensagem de "
            "confirmação da compra), por favor?")


def _purchase_intent(request: ReplyRequest) -> str:
    product = request.product
    if product:
        price = f" por {money(product['price'])}" if product.get("price") else ""
        return (f"Ótima escolha! O {product['name']}{price} está disponível. Para fechar, me confirma "
                "a quantidade e o CEP de entrega? O pagamento pode ser por Pix ou cartão.")
    return ("Que bom! Me diz qual produto e quantas unidades você quer, e o CEP de entrega, que eu "
            "preparo o seu pedido.")


def _complaint(request: ReplyRequest) -> str:
    return ("Sinto muito pelo transtorno. Quero resolver isso com você: me conta o que aconteceu e, "
            "se tiver, o número do pedido. Se preferir, chamo uma pessoa da equipe.")


def _human_request(request: ReplyRequest) -> str:
    return ("Claro! Vou chamar uma pessoa da nossa equipe para continuar o atendimento com você. "
            "Só um instante, por favor.")


def _other(request: ReplyRequest) -> str:
    if request.faq:
        return request.faq["answer"]
    return request.config.fallback_reply or "Desculpe, não entendi. Pode explicar de outro jeito?"


_COMPOSERS = {
    Intent.GREETING: _greeting,
    Intent.PRICE: _price,
    Intent.PRODUCT_QUESTION: _product_question,
    Intent.SHIPPING: _shipping,
    Intent.ORDER_STATUS: _order_status,
    Intent.PURCHASE_INTENT: _purchase_intent,
    Intent.COMPLAINT: _complaint,
    Intent.HUMAN_REQUEST: _human_request,
    Intent.OTHER: _other,
}


def money(value) -> str:
    """199.9 → "R$ 199,90" (Brazilian separators)."""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return str(value)
    whole, cents = f"{amount:,.2f}".split(".")
    return f"R$ {whole.replace(',', '.')},{cents}"


def _listed(request: ReplyRequest) -> str:
    products = [p for p in request.config.catalogue if p.get("name")][:LISTED_PRODUCTS]
    if not products:
        return ""
    items = [f"{p['name']} ({money(p['price'])})" if p.get("price") else p["name"] for p in products]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " e " + items[-1]
