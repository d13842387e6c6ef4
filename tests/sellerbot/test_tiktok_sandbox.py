"""The TikTok Seller Center sandbox through Django's test client: login, code, inboxes, stock."""

import threading

import pytest
from django.test import Client

from sellerbot.sandbox import store

DEMO = store.DEMO_LOGIN
BASE = "/sandbox/tiktok/"


@pytest.fixture(autouse=True)
def fresh_sandbox():
    store.reset()
    yield
    store.reset()


def signed_in_client(login: str = DEMO) -> Client:
    client = Client()
    response = client.post(BASE + "entrar", {"login": login, "senha": "tiktok123"})
    assert response["Location"].startswith(BASE + "verificacao")
    response = client.post(BASE + "verificacao", {"codigo": "246810"})
    assert response.status_code == 302
    return client


def page_text(response) -> str:
    return response.content.decode()


def test_it_asks_for_the_code_after_a_correct_password_then_shows_the_comments():
    client = Client()
    assert client.get(BASE + "comentarios")["Location"] == BASE + "entrar?next=%2Fsandbox%2Ftiktok%2Fcomentarios"

    response = client.post(BASE + "entrar", {"login": DEMO, "senha": "tiktok123", "next": BASE + "pedidos"})
    assert response["Location"] == BASE + "verificacao?next=%2Fsandbox%2Ftiktok%2Fpedidos"
    assert "Enviamos um código" in page_text(client.get(response["Location"]))

    response = client.post(BASE + "verificacao", {"codigo": "246810", "next": BASE + "pedidos"})
    assert response["Location"] == BASE + "pedidos"
    page = page_text(client.get(BASE + "comentarios"))
    assert 'id="tt-comment-list"' in page and 'data-count="30"' in page and "Tênis Runner Pro" in page


def test_a_trusted_device_skips_the_code_step():
    client = signed_in_client()
    client.get(BASE + "sair")

    response = client.post(BASE + "entrar", {"login": DEMO, "senha": "tiktok123"})

    assert response["Location"] == BASE + "comentarios"
    assert client.get(BASE + "comentarios").status_code == 200


def test_it_refuses_a_wrong_password_an_unknown_account_and_a_wrong_code():
    client = Client()
    wrong = client.post(BASE + "entrar", {"login": DEMO, "senha": "errada"})
    unknown = client.post(BASE + "entrar", {"login": "ninguem@exemplo.com.br", "senha": "tiktok123"})
    assert "Senha incorreta. Verifique e tente novamente." in page_text(wrong)
    assert "Conta não encontrada no TikTok Seller Center." in page_text(unknown)

    client.post(BASE + "entrar", {"login": DEMO, "senha": "tiktok123"})
    bad_code = client.post(BASE + "verificacao", {"codigo": "111111"})
    assert "Código de verificação inválido." in page_text(bad_code)
    assert client.get(BASE + "comentarios").status_code == 302


def test_the_code_page_needs_a_correct_password_first():
    assert Client().get(BASE + "verificacao")["Location"] == BASE + "entrar"


def test_the_login_never_redirects_outside_the_sandbox():
    client = Client()
    client.post(BASE + "entrar", {"login": DEMO, "senha": "tiktok123", "next": "https://evil.example/x"})
    assert client.post(BASE + "verificacao", {"codigo": "246810"})["Location"] == BASE + "comentarios"


def test_the_demo_shop_is_seeded_with_its_comments_messages_orders_and_skus():
    comments = store.comments(DEMO)
    assert len(comments) == 30 and all(c["reply"] is None for c in comments)
    assert {"id", "author", "product", "text", "created_at", "reply", "replied_at"} <= set(comments[0])
    assert len(store.messages(DEMO)) == 12
    assert len(store.orders(DEMO)) == 15
    stock = store.stock(DEMO)
    assert len(stock) == 10 and stock[0] == {"sku": "TNR-PRO-42", "product": "Tênis Runner Pro", "quantity": 37}
    assert store.comments("ninguem@exemplo.com.br") == []


def test_a_reply_is_published_and_moves_the_comment_after_the_unanswered():
    client = signed_in_client()

    response = client.post(BASE + "comentarios/1001/responder", {"texto": "  Oi, Ana! Temos sim.  "})

    assert response["Location"] == BASE + "comentarios"
    assert "Resposta publicada." in page_text(client.get(BASE + "comentarios"))
    comments = store.comments(DEMO)
    assert comments[-1]["id"] == "1001" and comments[-1]["reply"] == "Oi, Ana! Temos sim."
    assert comments[-1]["replied_at"]
    assert comments[0]["id"] == "1002" and comments[0]["reply"] is None
    # The notice is shown once.
    assert "Resposta publicada." not in page_text(client.get(BASE + "comentarios"))


def test_a_second_reply_to_the_same_comment_is_refused():
    client = signed_in_client()
    client.post(BASE + "comentarios/1001/responder", {"texto": "Primeira"})

    client.post(BASE + "comentarios/1001/responder", {"texto": "Segunda"})

    assert "Este comentário já foi respondido." in page_text(client.get(BASE + "comentarios"))
    assert store.comments(DEMO)[-1]["reply"] == "Primeira"


def test_concurrent_replies_to_one_comment_publish_exactly_one():
    store.comments(DEMO)
    results = []

    def reply(text: str) -> None:
        results.append(store.comment_reply(DEMO, "1005", text))

    threads = [threading.Thread(target=reply, args=(f"Resposta {n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [store.ALREADY_ANSWERED] * 7 + [store.REPLIED]
    assert sum(1 for c in store.comments(DEMO) if c["reply"]) == 1


def test_a_reply_must_have_one_to_a_thousand_characters():
    client = signed_in_client()

    client.post(BASE + "comentarios/1001/responder", {"texto": "   "})
    assert "Escreva uma resposta antes de enviar." in page_text(client.get(BASE + "comentarios"))
    client.post(BASE + "comentarios/1001/responder", {"texto": "a" * 1001})
    assert "A resposta pode ter no máximo 1000 caracteres." in page_text(client.get(BASE + "comentarios"))
    client.post(BASE + "comentarios/9999/responder", {"texto": "Oi"})
    assert "Item não encontrado" in page_text(client.get(BASE + "comentarios"))

    assert all(c["reply"] is None for c in store.comments(DEMO))


def test_a_message_reply_is_sent_once():
    client = signed_in_client()

    client.post(BASE + "mensagens/2002/responder", {"texto": "Emitimos sim!"})
    assert "Mensagem enviada." in page_text(client.get(BASE + "mensagens"))
    client.post(BASE + "mensagens/2002/responder", {"texto": "De novo"})
    assert "Esta conversa já foi respondida." in page_text(client.get(BASE + "mensagens"))

    answered = [m for m in store.messages(DEMO) if m["reply"]]
    assert [(m["id"], m["author"], m["product"], m["reply"]) for m in answered] == [
        ("2002", "Juliana Prado", "", "Emitimos sim!")
    ]


def test_an_inbox_page_shows_twenty_items_unanswered_first():
    for comment_id in ("1001", "1002"):
        store.comment_reply(DEMO, comment_id, "Respondido")
    client = signed_in_client()

    first = page_text(client.get(BASE + "comentarios"))
    second = page_text(client.get(BASE + "comentarios?pagina=2"))

    assert first.count('class="tt-comment"') == 20 and second.count('class="tt-comment"') == 10
    assert 'data-comment-id="1003"' in first and 'data-comment-id="1001"' in second
    assert second.index('data-comment-id="1001"') > second.index('data-state="pending"')
    assert 'data-count="28"' in first and 'id="tt-next-page"' in first


def test_added_comments_arrive_unanswered():
    store.comments(DEMO)
    added = store.add_comments(DEMO, 3)

    assert [c["id"] for c in added] == ["1031", "1032", "1033"]
    comments = store.comments(DEMO)
    assert len(comments) == 33 and sum(1 for c in comments if c["reply"] is None) == 33


def test_orders_are_listed_with_status_total_buyer_and_date():
    page = page_text(signed_in_client().get(BASE + "pedidos"))
    first = store.orders(DEMO)[0]

    assert page.count("data-order-id=") == 15
    assert f'data-order-id="{first["id"]}"' in page and "R$ 299,90" in page and "Aguardando envio" in page


def test_a_stock_quantity_is_saved():
    client = signed_in_client()

    response = client.post(BASE + "estoque/SMW-FIT5/salvar", {"quantidade": "25"})

    assert response["Location"] == BASE + "estoque"
    assert "Estoque atualizado." in page_text(client.get(BASE + "estoque"))
    assert {item["sku"]: item["quantity"] for item in store.stock(DEMO)}["SMW-FIT5"] == 25


@pytest.mark.parametrize("quantity", ["-1", "abc", "100001", "", "2.5"])
def test_a_stock_quantity_must_be_a_whole_number_up_to_a_hundred_thousand(quantity):
    client = signed_in_client()

    client.post(BASE + "estoque/SMW-FIT5/salvar", {"quantidade": quantity})

    assert "Informe uma quantidade inteira entre 0 e 100.000." in page_text(client.get(BASE + "estoque"))
    assert {item["sku"]: item["quantity"] for item in store.stock(DEMO)}["SMW-FIT5"] == 18


def test_an_unknown_sku_is_refused():
    client = signed_in_client()
    client.post(BASE + "estoque/NAO-EXISTE/salvar", {"quantidade": "3"})
    assert "SKU não encontrado nesta loja." in page_text(client.get(BASE + "estoque"))


def test_the_slow_account_never_shows_its_lists():
    client = signed_in_client(store.SLOW_LOGIN)
    for inbox in ("comentarios", "mensagens"):
        page = page_text(client.get(BASE + inbox))
        assert "Carregando…" in page and 'id="tt-loading"' in page
        assert "tt-comment-list" not in page and "tt-conversation-list" not in page


def test_the_redesigned_account_shows_other_markup():
    client = signed_in_client(store.LAYOUT_LOGIN)
    comments = page_text(client.get(BASE + "comentarios"))
    messages = page_text(client.get(BASE + "mensagens"))

    assert 'id="tt-feed"' in comments and "tt-comment-list" not in comments and "data-comment-id" not in comments
    assert 'id="tt-feed"' in messages and "tt-conversation-list" not in messages


def test_the_expiring_account_is_sent_back_to_the_login_after_signing_in():
    client = signed_in_client(store.EXPIRED_LOGIN)

    response = client.get(BASE + "comentarios")

    assert response["Location"].startswith(BASE + "entrar")
    page = page_text(client.get(response["Location"]))
    assert "Sua sessão expirou. Entre novamente." in page and 'id="tt-login-form"' in page
