"""The TikTok Seller Center sandbox's data, kept in Redis so every process sees the same shop.

The test process, the rq workers and daphne all serve or drive the same sandbox: what one of them
replies, the others see at once. Each account's data is seeded on first access (and again after
reset()), under keys prefixed `sandbox:tiktok:<login>:`:

    seeded                  "1" once the account's data is there (set in the seeding transaction)
    comments / messages     sorted sets of item ids, scored by arrival order
    comment:<id>            a hash per product comment: author, product, text, created_at,
                            reply and replied_at (absent while unanswered)
    message:<id>            a hash per customer conversation, the same fields; `text` is the
                            customer's last message and `product` may be ""
    next_comment            the last comment id handed out (add_comments)
    orders                  a list of JSON orders, newest first
    stock                   a hash SKU → quantity (the product names are the catalogue's)

A reply is written by a Lua script that refuses an item already answered, so two bots replying
to the same comment at the same moment publish one reply, never two, and never clobber each other.

Accounts (all with password `tiktok123`; verification code `246810`, asked after a correct
password whenever the browser has no trusted-device cookie):

    loja@exemplo.com.br      the demo shop: 30 unanswered product comments, 12 conversations
                             waiting for an answer, 15 orders, 10 SKUs
    lenta@exemplo.com.br     the comment and message pages never finish loading ("Carregando…")
    layout@exemplo.com.br    the comment and message pages after a redesign (other ids/classes)
    expirada@exemplo.com.br  its session expires right after login: every page sends the browser
                             back to the login page with "Sua sessão expirou. Entre novamente."
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from redis.exceptions import WatchError

from jobs.queues import redis_connection

PREFIX = "sandbox:tiktok:"
PASSWORD = "tiktok123"
VERIFICATION_CODE = "246810"

DEMO_LOGIN = "loja@exemplo.com.br"
SLOW_LOGIN = "lenta@exemplo.com.br"
LAYOUT_LOGIN = "layout@exemplo.com.br"
EXPIRED_LOGIN = "expirada@exemplo.com.br"


@dataclass(frozen=True)
class Account:
    login: str
    shop: str
    password: str = PASSWORD


ACCOUNTS = {
    account.login: account
    for account in (
        Account(DEMO_LOGIN, "Loja Exemplo Oficial"),
        Account(SLOW_LOGIN, "Loja Lenta"),
        Account(LAYOUT_LOGIN, "Loja Nova Cara"),
        Account(EXPIRED_LOGIN, "Loja Expirada"),
    )
}

# The catalogue: SKU, product, starting quantity.
CATALOGUE = (
    ("TNR-PRO-42", "Tênis Runner Pro", 37),
    ("FONE-X2-PT", "Fone Bluetooth X2", 120),
    ("SMW-FIT5", "Smartwatch Fit 5", 18),
    ("MOC-URB-25", "Mochila Urbana 25L", 54),
    ("GAR-TERM-1L", "Garrafa Térmica 1L", 200),
    ("CAM-DRY-M", "Camiseta Dry Fit", 75),
    ("LUM-LED-TC", "Luminária LED Touch", 9),
    ("CXS-MINI-BM", "Caixa de Som Mini Boom", 0),
    ("KIT-SKN-VC", "Kit Skincare Vitamina C", 42),
    ("CAR-TRB-30W", "Carregador Turbo 30W", 310),
)
PRODUCTS = tuple(product for _, product, _ in CATALOGUE)

COMMENT_AUTHORS = (
    "Ana Souza", "Bruno Oliveira", "Carla Mendes", "Diego Santos", "Eduarda Lima", "Felipe Costa",
    "Gabriela Rocha", "Henrique Alves", "Isabela Martins", "João Pereira", "Karina Ribeiro", "Lucas Ferreira",
    "Mariana Carvalho", "Nicolas Araújo", "Olívia Gomes", "Pedro Henrique Dias", "Rafaela Barbosa",
    "Samuel Teixeira", "Tatiane Moreira", "Vinícius Cardoso", "Yasmin Correia", "Arthur Nascimento",
    "Beatriz Fernandes", "Caio Monteiro", "Débora Pinto", "Enzo Castro", "Fernanda Vieira", "Gustavo Rezende",
    "Helena Cunha", "Igor Batista",
)
# Three comments a product, in the order of the catalogue.
COMMENT_TEXTS = (
    "Tem no tamanho 42?", "Serve pra corrida de rua ou só pra academia?", "Chega antes do fim de semana em Recife?",
    "A bateria dura quanto tempo?", "Funciona com iPhone?", "Tem na cor branca?",
    "Mede batimentos e oxigenação?", "É à prova d'água mesmo?", "A pulseira é trocável?",
    "Cabe notebook de 15 polegadas?", "O zíper é reforçado?", "Tem compartimento com cadeado?",
    "Mantém gelado por quantas horas?", "Pode ir na lava-louças?", "Vem com tampa extra?",
    "Veste bem ou é pequena?", "Tem tamanho GG?", "Desbota na lavagem?",
    "Dá pra regular a intensidade da luz?", "Precisa de pilha ou é USB?", "A luz é amarela ou branca?",
    "O som é alto mesmo?", "Quando volta ao estoque?", "Conecta duas ao mesmo tempo?",
    "Serve pra pele oleosa?", "Qual a validade dos produtos?", "Pode usar durante o dia?",
    "Carrega o Galaxy S23 rápido?", "Vem com cabo?", "Funciona em 220V?",
)
MESSAGES = (
    ("Marcos Vinícius", "Tênis Runner Pro", "Oi! Meu pedido ainda não saiu para entrega, pode verificar?"),
    ("Juliana Prado", "", "Vocês emitem nota fiscal no CNPJ?"),
    ("Renato Farias", "Fone Bluetooth X2", "O fone veio sem o estojo de carregamento."),
    ("Patrícia Lopes", "", "Vocês têm loja física em São Paulo?"),
    ("Thiago Moura", "Smartwatch Fit 5", "Consigo trocar a cor da pulseira depois de receber?"),
    ("Aline Duarte", "Garrafa Térmica 1L", "Quero comprar 20 unidades, tem desconto para atacado?"),
    ("Rodrigo Campos", "", "Posso mudar o endereço de entrega do meu pedido?"),
    ("Camila Freitas", "Camiseta Dry Fit", "A camiseta ficou grande, como faço a troca?"),
    ("Leandro Azevedo", "Luminária LED Touch", "Chegou com o cabo quebrado, o que eu faço?"),
    ("Vanessa Ramos", "", "Qual o prazo de entrega para Manaus?"),
    ("Otávio Nunes", "Carregador Turbo 30W", "Esse carregador tem garantia de quanto tempo?"),
    ("Larissa Figueiredo", "Kit Skincare Vitamina C", "Posso usar o kit junto com ácido?"),
)
ORDER_STATUSES = ("Aguardando envio", "Enviado", "Entregue", "Cancelado", "Aguardando pagamento")
ORDER_BUYERS = (
    "Ana Souza", "Marcos Vinícius", "Juliana Prado", "Renato Farias", "Helena Cunha", "Caio Monteiro",
    "Fernanda Vieira", "Bruno Oliveira", "Patrícia Lopes", "Igor Batista", "Camila Freitas", "Thiago Moura",
    "Débora Pinto", "Otávio Nunes", "Larissa Figueiredo",
)
ORDER_TOTALS_CENTS = (
    29990, 14990, 39900, 8990, 12950, 59980, 7990, 24990, 11990, 34900, 18990, 9990, 44970, 15990, 21980,
)

SEED_COMMENTS = len(COMMENT_TEXTS)
FIRST_COMMENT_ID = 1001
FIRST_MESSAGE_ID = 2001

# Only the published, unanswered item gets the reply: 1 published, 0 unknown, -1 already answered.
REPLY_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], 'reply') == 1 then return -1 end
redis.call('HSET', KEYS[1], 'reply', ARGV[1], 'replied_at', ARGV[2])
return 1
"""
REPLIED, UNKNOWN, ALREADY_ANSWERED = 1, 0, -1


def reset() -> None:
    """Drop every account's sandbox data: the next access seeds it afresh."""
    redis = redis_connection()
    keys = list(redis.scan_iter(match=f"{PREFIX}*", count=500))
    for start in range(0, len(keys), 500):
        redis.delete(*keys[start:start + 500])


def comments(login: str) -> list[dict]:
    """The account's product comments, unanswered first (oldest first within each group)."""
    return _inbox(login, "comment")


def messages(login: str) -> list[dict]:
    """The account's conversations: the customer's last message and our reply, unanswered first."""
    return _inbox(login, "message")


def orders(login: str) -> list[dict]:
    """The account's orders, newest first: id, status, total (e.g. "299.90"), buyer, date (ISO)."""
    if not _seeded(login):
        return []
    return [json.loads(raw) for raw in redis_connection().lrange(_key(login, "orders"), 0, -1)]


def stock(login: str) -> list[dict]:
    """The account's SKUs in catalogue order: sku, product, quantity."""
    if not _seeded(login):
        return []
    quantities = redis_connection().hgetall(_key(login, "stock"))
    return [{"sku": sku, "product": product, "quantity": int(quantities.get(sku.encode(), 0))}
            for sku, product, _ in CATALOGUE]


def add_comments(login: str, n: int) -> list[dict]:
    """Publish `n` new unanswered comments on the account's products; returns them.

    Raises KeyError for a login that is not one of the sandbox's accounts.
    """
    if not _seeded(login):
        raise KeyError(login)
    redis = redis_connection()
    last = redis.incrby(_key(login, "next_comment"), n)
    now = timezone.now()
    added = []
    with redis.pipeline(transaction=True) as pipe:
        for number in range(last - n + 1, last + 1):
            offset = number - FIRST_COMMENT_ID
            item = {
                "id": str(number),
                "author": COMMENT_AUTHORS[offset % len(COMMENT_AUTHORS)],
                "product": PRODUCTS[(offset // 3) % len(PRODUCTS)],
                "text": COMMENT_TEXTS[offset % len(COMMENT_TEXTS)],
                "created_at": now.isoformat(),
            }
            _item_write(pipe, login, "comment", item, number)
            added.append({**item, "reply": None, "replied_at": None})
        pipe.execute()
    return added


def comment_reply(login: str, comment_id: str, text: str) -> int:
    """Publish `text` as the reply to a comment: REPLIED, UNKNOWN or ALREADY_ANSWERED."""
    return _reply(login, "comment", comment_id, text)


def message_reply(login: str, conversation_id: str, text: str) -> int:
    """Send `text` as the answer to a conversation: REPLIED, UNKNOWN or ALREADY_ANSWERED."""
    return _reply(login, "message", conversation_id, text)


def stock_set(login: str, sku: str, quantity: int) -> bool:
    """Set the quantity of one SKU; False when the account has no such SKU."""
    if not _seeded(login) or sku not in {s for s, _, _ in CATALOGUE}:
        return False
    redis_connection().hset(_key(login, "stock"), sku, quantity)
    return True


def _inbox(login: str, kind: str) -> list[dict]:
    if not _seeded(login):
        return []
    redis = redis_connection()
    ids = [raw.decode() for raw in redis.zrange(_key(login, f"{kind}s"), 0, -1)]
    with redis.pipeline(transaction=False) as pipe:
        for item_id in ids:
            pipe.hgetall(_key(login, f"{kind}:{item_id}"))
        rows = pipe.execute()
    items = []
    for item_id, row in zip(ids, rows, strict=True):
        fields = {key.decode(): value.decode() for key, value in row.items()}
        items.append({
            "id": item_id,
            "author": fields.get("author", ""),
            "product": fields.get("product", ""),
            "text": fields.get("text", ""),
            "created_at": fields.get("created_at", ""),
            "reply": fields.get("reply"),
            "replied_at": fields.get("replied_at"),
        })
    # sorted() is stable: arrival order is kept within the unanswered and the answered.
    return sorted(items, key=lambda item: item["reply"] is not None)


def _reply(login: str, kind: str, item_id: str, text: str) -> int:
    if not _seeded(login):
        return UNKNOWN
    redis = redis_connection()
    script = redis.register_script(REPLY_SCRIPT)
    return int(script(keys=[_key(login, f"{kind}:{item_id}")], args=[text, timezone.now().isoformat()]))


def _seeded(login: str) -> bool:
    """Whether the account exists; seeds its data first if nobody has yet."""
    if login not in ACCOUNTS:
        return False
    redis = redis_connection()
    marker = _key(login, "seeded")
    if redis.exists(marker):
        return True
    with redis.pipeline(transaction=True) as pipe:
        try:
            # Two processes may seed at once: only one transaction commits, the other sees it done.
            pipe.watch(marker)
            if pipe.exists(marker):
                return True
            pipe.multi()
            _seed(pipe, login)
            pipe.set(marker, "1")
            pipe.execute()
        except WatchError:
            pass
    return True


def _seed(pipe, login: str) -> None:
    now = timezone.now().replace(microsecond=0)
    for offset, text in enumerate(COMMENT_TEXTS):
        number = FIRST_COMMENT_ID + offset
        _item_write(pipe, login, "comment", {
            "id": str(number),
            "author": COMMENT_AUTHORS[offset],
            "product": PRODUCTS[offset // 3],
            "text": text,
            "created_at": _ago(now, minutes=(SEED_COMMENTS - offset) * 37),
        }, number)
    pipe.set(_key(login, "next_comment"), FIRST_COMMENT_ID + SEED_COMMENTS - 1)
    for offset, (customer, product, text) in enumerate(MESSAGES):
        number = FIRST_MESSAGE_ID + offset
        _item_write(pipe, login, "message", {
            "id": str(number),
            "author": customer,
            "product": product,
            "text": text,
            "created_at": _ago(now, minutes=(len(MESSAGES) - offset) * 53),
        }, number)
    for offset in range(len(ORDER_BUYERS)):
        cents = ORDER_TOTALS_CENTS[offset]
        pipe.rpush(_key(login, "orders"), json.dumps({
            "id": str(577012345678900 + (len(ORDER_BUYERS) - offset) * 7919),
            "status": ORDER_STATUSES[offset % len(ORDER_STATUSES)],
            "total": f"{cents // 100}.{cents % 100:02d}",
            "buyer": ORDER_BUYERS[offset],
            "date": _ago(now.replace(second=0), hours=offset * 9 + 2),
        }, ensure_ascii=False))
    pipe.hset(_key(login, "stock"), mapping={sku: quantity for sku, _, quantity in CATALOGUE})


def _item_write(pipe, login: str, kind: str, item: dict, score: int) -> None:
    fields = {key: value for key, value in item.items() if key != "id"}
    pipe.hset(_key(login, f"{kind}:{item['id']}"), mapping=fields)
    pipe.zadd(_key(login, f"{kind}s"), {item["id"]: score})


def _ago(now: datetime, **delta) -> str:
    return (now - timedelta(**delta)).isoformat()


def _key(login: str, name: str) -> str:
    return f"{PREFIX}{login}:{name}"
