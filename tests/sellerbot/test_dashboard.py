"""The Seller Bot page (/painel/seller-bot/): who may open it, what it draws from the selectors
(one's own profiles and tasks only), the data it hands its script, and the navigation link."""

import json
import re

import pytest
from django.test import Client

from sellerbot import services
from sellerbot.models import LoginStatus, Profile

pytestmark = pytest.mark.django_db

PAGE = "/painel/seller-bot/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def dave(django_user_model):
    """Neither staff nor allowed to create jobs."""
    return django_user_model.objects.create_user("dave", "dave@example.com", "dave-pass")


@pytest.fixture
def bobs_profile(bob):
    profile = services.profile_create(owner=bob, name="Loja do Bob", username="bob@loja.com", password="s3nha")
    Profile.objects.filter(pk=profile.pk).update(login_status=LoginStatus.NEEDS_VERIFICATION,
                                                 status_message="O Seller Center pediu o código do e-mail.")
    profile.refresh_from_db()
    return profile


@pytest.fixture
def charlies_profile(charlie):
    return services.profile_create(owner=charlie, name="Loja da Charlie", username="charlie@loja.com",
                                   password="s3nha")


def test_it_asks_for_a_login_first():
    response = Client().get(PAGE)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_it_refuses_someone_without_the_permission(dave):
    assert signed_in(dave).get(PAGE).status_code == 403


def test_it_opens_for_staff_without_the_permission_but_read_only(django_user_model):
    eve = django_user_model.objects.create_user("eve", "eve@example.com", "eve-pass", is_staff=True)
    response = signed_in(eve).get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="sb-read-only"' in html
    assert 'id="sb-profile-form"' not in html and 'id="sb-switch-form"' not in html


def test_it_renders_for_someone_who_may_create_jobs(bob):
    response = signed_in(bob).get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Seller Bot — Automação" in html
    assert 'data-live="sellerbot"' in html
    for form in ("sb-switch-form", "sb-profile-form", "sb-task-form"):
        assert f'id="{form}"' in html
    assert "Nenhum perfil cadastrado ainda." in html and "Nenhuma tarefa cadastrada ainda." in html
    assert "Desligado" in html and ">Ligar<" in html


def test_it_shows_only_the_users_own_profiles_and_tasks(bob, bobs_profile, charlies_profile):
    mine = services.task_create(owner=bob, profile=bobs_profile, task_type="reply_comments", config={})
    theirs = services.task_create(owner=charlies_profile.owner, profile=charlies_profile,
                                  task_type="sync_orders", config={})
    html = signed_in(bob).get(PAGE).content.decode()
    assert f'data-profile-id="{bobs_profile.pk}"' in html and "Loja do Bob" in html
    tasks = section(html, "sb-task-rows")
    assert f'data-task-id="{mine.pk}"' in tasks and "Responder comentários" in tasks
    assert "Loja da Charlie" not in html and "charlie@loja.com" not in html
    assert f'data-task-id="{theirs.pk}"' not in tasks and "Sincronizar pedidos" not in tasks


def section(html: str, tbody_id: str) -> str:
    return re.search(rf'<tbody id="{tbody_id}">(.*?)</tbody>', html, re.S).group(1)


def test_it_draws_a_profiles_login_status_and_asks_for_its_code(bob, bobs_profile):
    html = signed_in(bob).get(PAGE).content.decode()
    row = re.search(rf'<tr data-profile-id="{bobs_profile.pk}".*?</tr>', html, re.S).group(0)
    assert "sb-login-needs_verification" in row and "Precisa de código" in row
    assert "O Seller Center pediu o código do e-mail." in row
    assert 'name="code"' in row and ">Verificar<" in row
    assert "s3nha" not in html  # the password never reaches the page


def test_it_counts_the_users_tasks_in_the_stats_cards(bob, bobs_profile, charlies_profile):
    services.task_create(owner=bob, profile=bobs_profile, task_type="reply_comments", config={})
    services.task_create(owner=bob, profile=bobs_profile, task_type="reply_messages", config={},
                         interval_seconds=900)
    services.task_create(owner=charlies_profile.owner, profile=charlies_profile, task_type="sync_orders", config={})
    html = signed_in(bob).get(PAGE).content.decode()
    assert re.search(r'data-stat="total_tasks">2<', html)
    assert "a cada 15 min" in html and "uma vez" in html


def test_staff_see_every_profile_as_the_api_does(alice, bobs_profile, charlies_profile):
    html = signed_in(alice).get(PAGE).content.decode()
    assert "Loja do Bob" in html and "Loja da Charlie" in html


def test_it_hands_its_script_the_labels_and_the_api_routes_without_inline_code(bob):
    html = signed_in(bob).get(PAGE).content.decode()
    labels = json.loads(re.search(r'<script id="sellerbot-labels" type="application/json">(.*?)</script>',
                                  html, re.S).group(1))
    assert labels["task_type"]["update_stock"] == "Atualizar estoque"
    assert labels["login_status"]["ok"] == "Conectado"
    assert 'data-tasks-url="/bot/tasks"' in html and 'data-start-url="/bot/start"' in html
    assert 'data-worker-url="/bot/worker-status"' in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert all("src=" in attrs or 'type="application/json"' in attrs for attrs, _ in scripts)
    assert 'src="/static/js/sellerbot.js"' in html
    assert " style=" not in html


def test_the_navigation_links_the_page_for_who_may_see_it(bob, django_user_model):
    html = signed_in(bob).get(PAGE).content.decode()
    assert re.search(r'<a href="/painel/seller-bot/"\s+aria-current="page">Seller Bot</a>', html)
    staff = django_user_model.objects.create_user("eve", "eve@example.com", "eve-pass", is_staff=True)
    overview = signed_in(staff).get("/painel/").content.decode()
    assert 'href="/painel/seller-bot/"' in overview



def test_it_says_who_turned_the_bot_on_and_when(bob):
    services.worker_start(user=bob, reason="")
    html = signed_in(bob).get(PAGE).content.decode()
    changed = re.search(r'<dd id="sb-switch-changed">(.*?)</dd>', html, re.S).group(1)
    assert re.fullmatch(r"ligada por bob em \d\d/\d\d/\d{4} \d\d:\d\d", changed), changed
    assert ">Parar<" in html
