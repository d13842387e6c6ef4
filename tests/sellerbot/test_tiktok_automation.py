"""The Seller Bot's TikTok automation in real Chromium against the sandbox (live server).

Each test builds a JobContext with a recording reporter, calls a task function and reads the
sandbox's data to see what the portal really received.
"""

import uuid

import pytest
from django.conf import settings
from django.test import override_settings

from jobs.automation import AutomationError, JobContext
from sellerbot.sandbox import store
from sellerbot.tiktok import automation
from sellerbot.tiktok.pages import InboxItem, InboxPage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO = {"login": store.DEMO_LOGIN, "senha": "tiktok123", "codigo": "246810"}
QUICK = {"delay_seconds": 0}


@pytest.fixture(autouse=True)
def portal(live_server):
    store.reset()
    with override_settings(TIKTOK_SELLER_URL=live_server.url + "/sandbox/tiktok/"):
        yield
    store.reset()


def run(task, secrets: dict, task_type: str = "reply_comments", **config):
    reporter = Recorder()
    ctx = JobContext(job_id=uuid.uuid4(), kind=f"tiktok.{task_type}", secrets=dict(secrets), reporter=reporter,
                     params={"task_id": None, "profile_id": 1, "task_type": task_type, "region": "BR",
                             "config": config})
    return task(ctx), reporter


class Recorder:
    """A JobReporter that keeps everything for the test to read."""

    def __init__(self):
        self.steps: list[tuple[int, str | None]] = []
        self.logs: list[tuple[str, str]] = []
        self.artifacts: dict[str, bytes] = {}

    def progress(self, job_id, percent, message):
        self.steps.append((percent, message))

    def log(self, job_id, level, message):
        self.logs.append((level, message))

    def artifact(self, job_id, name, content):
        self.artifacts[name] = content
        return name

    @property
    def lines(self) -> list[str]:
        """Every line a user would read: the log and the progress messages."""
        return [message for _, message in self.logs] + [message for _, message in self.steps if message]


def failure(task, secrets: dict, **config) -> tuple[AutomationError, Recorder]:
    reporter = Recorder()
    ctx = JobContext(job_id=uuid.uuid4(), kind="tiktok.test", secrets=dict(secrets), reporter=reporter,
                     params={"task_id": None, "profile_id": 1, "task_type": "test", "region": "BR",
                             "config": {**QUICK, **config}})
    with pytest.raises(AutomationError) as raised:
        task(ctx)
    return raised.value, reporter


def test_it_answers_comments_and_its_cookies_skip_the_login_next_time():
    outcome, reporter = run(automation.reply_comments, DEMO, max_replies=3, **QUICK)

    answered = {c["id"]: c["reply"] for c in store.comments(store.DEMO_LOGIN) if c["reply"]}
    assert outcome.summary["replies_sent"] == 3
    assert answered == {r["id"]: r["text"] for r in outcome.summary["replies"]}
    assert sorted(answered) == ["1001", "1002", "1003"]
    first = outcome.summary["replies"][0]
    assert first == {"id": "1001", "author": "Ana Souza", "product": "Tênis Runner Pro", "text": first["text"]}
    assert first["text"] == automation.reply_text(automation.COMMENT_TEMPLATES,
                                                  InboxItem("1001", "Ana Souza", "Tênis Runner Pro", ""))
    assert "Ana" in first["text"] and "Tênis Runner Pro" in first["text"] and "{" not in first["text"]
    assert "Comentário de Ana Souza sobre Tênis Runner Pro respondido" in reporter.lines
    assert "Código de verificação pedido pelo portal; confirmando com o código do perfil" in reporter.lines
    percents = [p for p, _ in reporter.steps]
    assert percents == sorted(percents) and {p for p in percents if 35 <= p <= 85} >= {35, 85}
    assert {c["name"] for c in outcome.cookies} >= {"sandbox_tiktok", "sandbox_tiktok_dispositivo"}
    assert not any(c["value"] in line for c in outcome.cookies for line in reporter.lines)
    assert not any("tiktok123" in line or "246810" in line for line in reporter.lines)

    again, second = run(automation.reply_comments, {"login": store.DEMO_LOGIN, "senha": "tiktok123",
                                                    "cookies": outcome.cookies}, max_replies=2, **QUICK)

    assert [r["id"] for r in again.summary["replies"]] == ["1004", "1005"]
    assert "Sessão guardada reaproveitada: login dispensado" in second.lines
    assert not any(line.startswith("Entrando no") or "Código de verificação" in line for line in second.lines)


def test_a_trusted_device_cookie_alone_logs_in_without_the_code():
    outcome, _ = run(automation.verify, DEMO, task_type="verify")
    device = [c for c in outcome.cookies if c["name"] == "sandbox_tiktok_dispositivo"]

    again, reporter = run(automation.verify, {"login": store.DEMO_LOGIN, "senha": "tiktok123", "cookies": device},
                          task_type="verify")

    assert again.summary == {"login_status": "ok"}
    assert "A sessão guardada não vale mais no TikTok Seller Center; entrando de novo" in reporter.lines
    assert "Login realizado no TikTok Seller Center" in reporter.lines
    assert not any("Código de verificação" in line for line in reporter.lines)


def test_a_stale_session_cookie_is_replaced_by_a_fresh_login():
    stale = [{"name": "sandbox_tiktok", "value": "expirado:assinatura", "path": "/", "domain": "elsewhere",
              "sameSite": "Lax"}]

    outcome, reporter = run(automation.verify, {**DEMO, "cookies": stale}, task_type="verify")

    assert outcome.summary == {"login_status": "ok"}
    assert "Login realizado no TikTok Seller Center" in reporter.lines


def test_it_answers_customer_messages_with_templates_that_need_no_product():
    outcome, reporter = run(automation.reply_messages, DEMO, task_type="reply_messages", max_replies=2, **QUICK)

    assert outcome.summary["replies_sent"] == 2
    assert [(r["id"], r["author"], r["product"]) for r in outcome.summary["replies"]] == [
        ("2001", "Marcos Vinícius", "Tênis Runner Pro"), ("2002", "Juliana Prado", ""),
    ]
    sent = {m["id"]: m["reply"] for m in store.messages(store.DEMO_LOGIN) if m["reply"]}
    assert sent == {r["id"]: r["text"] for r in outcome.summary["replies"]}
    assert all(text.startswith(("Oi, ", "Olá, ")) and "{" not in text for text in sent.values())
    assert "Conversa com Marcos Vinícius sobre Tênis Runner Pro respondida" in reporter.lines
    assert "Conversa com Juliana Prado respondida" in reporter.lines


def test_it_fills_the_profiles_own_templates_and_stops_when_nothing_is_left():
    for comment in store.comments(store.DEMO_LOGIN)[2:]:
        store.comment_reply(store.DEMO_LOGIN, comment["id"], "Já respondido")

    outcome, _ = run(automation.reply_comments, DEMO, max_replies=10,
                     templates=["Valeu, {nome}! O {produto} é sucesso de vendas."], **QUICK)

    assert [(r["id"], r["text"]) for r in outcome.summary["replies"]] == [
        ("1001", "Valeu, Ana! O Tênis Runner Pro é sucesso de vendas."),
        ("1002", "Valeu, Bruno! O Tênis Runner Pro é sucesso de vendas."),
    ]
    assert all(c["reply"] for c in store.comments(store.DEMO_LOGIN))


def test_a_comment_answered_meanwhile_by_someone_else_is_not_answered_twice(monkeypatch):
    typing = InboxPage.type_into

    def someone_else_answers_first(page, field, text):
        store.comment_reply(store.DEMO_LOGIN, "1001", "Resposta da equipe")
        typing(page, field, text)

    monkeypatch.setattr(InboxPage, "type_into", someone_else_answers_first)

    outcome, reporter = run(automation.reply_comments, DEMO, max_replies=2, **QUICK)

    assert [r["id"] for r in outcome.summary["replies"]] == ["1002", "1003"]
    replies = {c["id"]: c["reply"] for c in store.comments(store.DEMO_LOGIN) if c["reply"]}
    assert replies["1001"] == "Resposta da equipe" and sorted(replies) == ["1001", "1002", "1003"]
    assert ("WARNING", "Comentário de Ana Souza sobre Tênis Runner Pro já tinha resposta no portal; "
                       "nada foi enviado de novo") in reporter.logs


def test_it_reads_the_orders_table():
    outcome, reporter = run(automation.sync_orders, DEMO, task_type="sync_orders")

    assert outcome.summary["orders_synced"] == 15
    assert outcome.summary["orders"] == store.orders(store.DEMO_LOGIN)
    assert outcome.summary["orders"][0]["total"] == "299.90"
    assert "15 pedidos lidos no TikTok Seller Center" in reporter.lines


def test_it_updates_the_stock_and_reports_unknown_skus():
    outcome, reporter = run(automation.update_stock, DEMO, task_type="update_stock", items=[
        {"sku": "SMW-FIT5", "quantity": 25}, {"sku": "NAO-EXISTE", "quantity": 1},
        {"sku": "CXS-MINI-BM", "quantity": 40},
    ])

    assert outcome.summary == {"items_updated": 2, "unknown_skus": ["NAO-EXISTE"]}
    quantities = {item["sku"]: item["quantity"] for item in store.stock(store.DEMO_LOGIN)}
    assert quantities["SMW-FIT5"] == 25 and quantities["CXS-MINI-BM"] == 40 and quantities["TNR-PRO-42"] == 37
    assert "Estoque do SKU SMW-FIT5 atualizado para 25" in reporter.lines


def test_a_wrong_password_fails_as_authentication_with_evidence():
    error, reporter = failure(automation.verify, {**DEMO, "senha": "errada"})

    assert error.category == "auth" and error.permanent
    assert error.message == ("Falha de autenticação no TikTok Seller Center: "
                             "Senha incorreta. Verifique e tente novamente.")
    assert reporter.artifacts["falha_tela.png"].startswith(b"\x89PNG")
    assert b"Senha incorreta" in reporter.artifacts["falha_pagina.html"]
    assert store.DEMO_LOGIN.encode() not in reporter.artifacts["falha_pagina.html"]


def test_an_unknown_account_fails_as_authentication():
    error, _ = failure(automation.verify, {**DEMO, "login": "ninguem@exemplo.com.br"})

    assert error.category == "auth"
    assert error.message == ("Falha de autenticação no TikTok Seller Center: "
                             "Conta não encontrada no TikTok Seller Center.")


def test_a_code_the_profile_has_not_given_asks_for_verification():
    error, _ = failure(automation.reply_comments, {"login": store.DEMO_LOGIN, "senha": "tiktok123"})

    assert error.category == "verification" and error.permanent
    assert error.message == ("O TikTok Seller Center pediu um código de verificação para esta conta: "
                             "verifique o perfil informando o código.")
    assert all(c["reply"] is None for c in store.comments(store.DEMO_LOGIN))


def test_a_wrong_code_asks_for_a_new_one():
    error, _ = failure(automation.verify, {**DEMO, "codigo": "111111"})

    assert error.category == "verification" and error.permanent
    assert error.message == ("O TikTok Seller Center recusou o código de verificação (Código de verificação "
                             "inválido.): verifique o perfil informando um código novo.")


def test_a_list_that_never_loads_fails_as_a_timeout():
    error, reporter = failure(automation.reply_comments, {**DEMO, "login": store.SLOW_LOGIN})

    assert error.category == "timeout"
    assert error.message == (f"Tempo esgotado esperando o TikTok Seller Center ({settings.BROWSER_WAIT_SECONDS} s): "
                             "a página não terminou de carregar.")
    assert "falha_tela.png" in reporter.artifacts


def test_a_redesigned_inbox_fails_saying_the_portal_may_have_changed():
    error, _ = failure(automation.reply_messages, {**DEMO, "login": store.LAYOUT_LOGIN})

    assert error.category == "navigation"
    assert error.message == (
        "O TikTok Seller Center não mostrou o que a automação esperava "
        "(painel de mensagens (tt-conversation-list) não encontrado); o portal pode ter mudado."
    )
    assert all(m["reply"] is None for m in store.messages(store.LAYOUT_LOGIN))


def test_a_session_that_expires_right_after_login_fails_without_logging_in_again():
    error, reporter = failure(automation.reply_comments, {**DEMO, "login": store.EXPIRED_LOGIN})

    assert error.category == "session" and error.permanent
    assert error.message == (
        "O TikTok Seller Center encerrou a sessão logo depois do login (Sua sessão expirou. Entre novamente.); "
        "a automação parou em vez de entrar de novo. Confira a conta no portal e tente mais tarde."
    )
    assert sum(1 for line in reporter.lines if line.startswith("Entrando no")) == 1
