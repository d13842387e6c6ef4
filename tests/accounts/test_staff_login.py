import pytest


@pytest.mark.django_db
def test_the_login_page_signs_staff_in(client, alice):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert "Console de Operações" in page.content.decode()
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-pass"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_the_login_page_says_when_the_password_is_wrong(client, alice):
    page = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert page.status_code == 200
    assert "Usuário ou senha inválidos" in page.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_expired_refresh_tokens_are_flushed_daily(alice):
    from datetime import timedelta

    from django.utils import timezone
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.tasks import tokens_flush

    RefreshToken.for_user(alice)
    stale = RefreshToken.for_user(alice)
    OutstandingToken.objects.filter(jti=stale["jti"]).update(expires_at=timezone.now() - timedelta(days=1))
    tokens_flush()
    assert OutstandingToken.objects.count() == 1
    assert not OutstandingToken.objects.filter(jti=stale["jti"]).exists()


@pytest.mark.django_db
def test_the_root_address_leads_to_the_dashboard_through_the_login(client, alice):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/painel/"
    assert client.get("/painel/")["Location"].startswith("/accounts/login/?next=/painel/")
    client.force_login(alice)
    assert client.get("/", follow=True).redirect_chain[-1] == ("/painel/", 302)
