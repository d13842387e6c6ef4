"""Bot credentials (seeds 000 and 001): the hash kept instead of the token, the two header forms,
each refusal's own answer, rotation's grace, the throttle of failed attempts."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import bots
from accounts.models import Bot

ME = "/api/v1/bots/me/"
pytestmark = pytest.mark.django_db



@pytest.fixture
def issued():
    return bots.bot_create(name="Vendas WhatsApp", scopes=["usage:write", "status:read"])


def headers(bot_id, token, address="10.0.0.1"):
    return {"HTTP_X_BOT_ID": bot_id, "HTTP_X_BOT_TOKEN": token, "REMOTE_ADDR": address}


def bearer(token, address="10.0.0.1"):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}", "REMOTE_ADDR": address}


def get(**extra):
    return APIClient().get(ME, **extra)


def test_it_stores_the_hash_of_the_token_and_never_the_token(issued):
    bot = Bot.objects.get(pk=issued.bot.pk)
    assert bot.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    for field in Bot._meta.concrete_fields:
        assert issued.token not in str(getattr(bot, field.attname))
    assert issued.token.startswith(f"cbot_{bot.bot_id}_") and issued.token.count(".") == 0


def test_it_refuses_unknown_scopes_naming_the_valid_ones():
    with pytest.raises(bots.BotScopeError, match="Escopos válidos: usage:write, events:write, status:read"):
        bots.bot_create(name="x", scopes="usage:write,admin")


def test_the_header_form_opens_the_status_route(issued):
    response = get(**headers(issued.bot.bot_id, issued.token))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["bot"]["id"] == issued.bot.bot_id and body["bot"]["name"] == "Vendas WhatsApp"
    assert body["bot"]["scopes"] == ["usage:write", "status:read"]
    assert body["bot"]["last_seen_at"] is not None


def test_the_bearer_form_opens_the_status_route(issued):
    response = get(**bearer(issued.token))
    assert response.status_code == 200, response.content
    assert response.json()["bot"]["id"] == issued.bot.bot_id


def test_it_records_last_seen_at_most_once_a_minute(issued):
    get(**headers(issued.bot.bot_id, issued.token))
    first = Bot.objects.get(pk=issued.bot.pk)
    assert first.last_seen_address == "10.0.0.1"
    get(**headers(issued.bot.bot_id, issued.token))
    assert Bot.objects.get(pk=issued.bot.pk).last_seen_at == first.last_seen_at
    Bot.objects.filter(pk=issued.bot.pk).update(last_seen_at=timezone.now() - timedelta(minutes=2))
    get(**headers(issued.bot.bot_id, issued.token))
    assert Bot.objects.get(pk=issued.bot.pk).last_seen_at > first.last_seen_at


def test_it_asks_for_credentials_when_none_are_sent():
    response = get()
    assert response.status_code == 401
    assert response.json()["code"] == "missing_credentials"
    assert "x-bot-id" in response.json()["detail"]
    assert response.has_header("WWW-Authenticate")


def test_it_names_the_missing_header(issued):
    response = get(HTTP_X_BOT_ID=issued.bot.bot_id)
    assert response.status_code == 401
    assert response.json() == {"detail": "Cabeçalho x-bot-token ausente: envie x-bot-id e x-bot-token juntos.",
                               "code": "missing_header"}


@pytest.mark.parametrize("token", ["abc", "cbot_123_x", "cbot_zzzzzzzzzzzzzzzz_" + "a" * 43])
def test_it_calls_a_malformed_credential_malformed(issued, token):
    response = get(**headers(issued.bot.bot_id, token))
    assert response.status_code == 401
    assert response.json()["code"] == "malformed"


def test_an_unknown_bot_and_a_wrong_token_get_the_same_answer(issued):
    other = "cbot_0123456789abcdef_" + "A" * 43
    wrong = f"cbot_{issued.bot.bot_id}_" + "A" * 43
    unknown_h = get(**headers("0123456789abcdef", other))
    wrong_h = get(**headers(issued.bot.bot_id, wrong))
    unknown_b = get(**bearer(other))
    wrong_b = get(**bearer(wrong))
    answers = {(r.status_code, r.content) for r in (unknown_h, wrong_h, unknown_b, wrong_b)}
    assert answers == {(401, '{"detail":"Bot ou token inválido.","code":"invalid"}'.encode())}


def test_a_token_of_another_bot_is_refused_as_invalid(issued):
    other = bots.bot_create(name="Outro", scopes=["status:read"])
    response = get(**headers(issued.bot.bot_id, other.token))
    assert response.status_code == 401 and response.json()["code"] == "invalid"


def test_a_disabled_bot_is_told_so(issued):
    bots.bot_disable(bot=issued.bot)
    response = get(**headers(issued.bot.bot_id, issued.token))
    assert response.status_code == 403
    assert response.json() == {"detail": "Este bot está desativado.", "code": "disabled"}


def test_a_missing_scope_is_named():
    issued = bots.bot_create(name="Só eventos", scopes=["events:write"])
    response = get(**bearer(issued.token))
    assert response.status_code == 403
    assert response.json() == {"detail": "Este bot não tem o escopo status:read.", "code": "missing_scope"}


def test_the_previous_token_works_during_the_grace_and_not_after(issued):
    rotated = bots.bot_rotate(bot=issued.bot)
    assert get(**headers(issued.bot.bot_id, rotated.token)).status_code == 200
    assert get(**headers(issued.bot.bot_id, issued.token)).status_code == 200
    Bot.objects.filter(pk=issued.bot.pk).update(previous_token_expires_at=timezone.now() - timedelta(seconds=1))
    response = get(**headers(issued.bot.bot_id, issued.token))
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"
    assert "período de carência terminou" in response.json()["detail"]
    assert get(**bearer(rotated.token)).status_code == 200


def test_a_second_rotation_ends_the_first_token(issued):
    bots.bot_rotate(bot=issued.bot)
    latest = bots.bot_rotate(bot=issued.bot)
    assert get(**headers(issued.bot.bot_id, issued.token)).json()["code"] == "invalid"
    assert get(**headers(issued.bot.bot_id, latest.token)).status_code == 200


def test_failures_are_throttled_per_bot_id_even_for_the_right_token(issued, settings):
    settings.BOT_AUTH_FAILURE_LIMIT = 3
    wrong = f"cbot_{issued.bot.bot_id}_" + "A" * 43
    for n in range(3):
        assert get(**headers(issued.bot.bot_id, wrong, address=f"10.0.1.{n}")).status_code == 401
    response = get(**headers(issued.bot.bot_id, issued.token, address="10.0.2.1"))
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= settings.BOT_AUTH_FAILURE_WINDOW_SECONDS
    assert response.json()["code"] == "throttled"


def test_failures_are_throttled_per_address(issued, settings):
    settings.BOT_AUTH_FAILURE_LIMIT = 3
    for n in range(3):
        assert get(**bearer(f"cbot_{n:016x}_" + "A" * 43, address="10.0.3.3")).status_code == 401
    assert get(**bearer(issued.token, address="10.0.3.3")).status_code == 429
    assert get(**bearer(issued.token, address="10.0.3.4")).status_code == 200


def test_successes_do_not_count_towards_the_throttle(issued, settings):
    settings.BOT_AUTH_FAILURE_LIMIT = 2
    for _ in range(5):
        assert get(**headers(issued.bot.bot_id, issued.token)).status_code == 200


def test_a_jwt_still_opens_the_jobs_api(bob_api):
    assert bob_api.get("/api/v1/jobs/").status_code == 200


def test_a_bot_token_does_not_open_the_jobs_api(issued):
    assert get(**bearer(issued.token)).status_code == 200
    assert APIClient().get("/api/v1/jobs/", **bearer(issued.token)).status_code == 401


@pytest.fixture
def superuser_client(client, alice):
    alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    return client


def issued_tokens(response) -> list[str]:
    return re.findall(r'<textarea id="issued-token-\d+"[^>]*>([^<]+)</textarea>', response.content.decode())


def test_the_admin_creates_a_bot_and_shows_its_token_once(superuser_client, bob):
    form = superuser_client.get("/admin/accounts/bot/add/")
    assert form.status_code == 200 and "Criar bot" in form.content.decode()

    response = superuser_client.post("/admin/accounts/bot/add/", {
        "name": "Chatbot", "owner": bob.pk, "team": "vendas", "scopes": ["events:write", "status:read"],
    })

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    [token] = issued_tokens(response)
    bot = Bot.objects.get()
    assert (bot.name, bot.owner, bot.team, bot.scopes) == ("Chatbot", bob, "vendas", ["events:write", "status:read"])
    assert bot.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert get(**bearer(token)).status_code == 200
    stored = [Bot.objects.values_list(), LogEntry.objects.values_list()]
    assert token not in repr([list(rows) for rows in stored])
    change_page = superuser_client.get(f"/admin/accounts/bot/{bot.pk}/change/").content.decode()
    assert token not in change_page and bot.token_hash not in change_page and bot.bot_id in change_page
    listing = superuser_client.get("/admin/accounts/bot/?q=Chat&escopo=status:read&is_active__exact=1")
    assert listing.status_code == 200 and bot.bot_id in listing.content.decode()


def test_the_admin_rotates_and_disables_bots(superuser_client, issued):
    changelist = "/admin/accounts/bot/"
    response = superuser_client.post(changelist, {"action": "rotate", "_selected_action": [issued.bot.pk]})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    [token] = issued_tokens(response)
    bot = Bot.objects.get(pk=issued.bot.pk)
    assert bot.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert bot.previous_token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    assert token not in superuser_client.get(changelist).content.decode()

    response = superuser_client.post(changelist, {"action": "disable", "_selected_action": [issued.bot.pk]},
                                     follow=True)
    assert "1 bot(s) desativado(s)." in response.content.decode()
    assert get(**bearer(token)).json()["code"] == "disabled"


def test_the_admin_refuses_an_unknown_scope(superuser_client):
    response = superuser_client.post("/admin/accounts/bot/add/", {"name": "x", "scopes": ["admin:all"]})
    assert response.status_code == 200 and not Bot.objects.exists()
    assert "errornote" in response.content.decode()


def test_administradores_may_manage_bots(django_user_model):
    from django.contrib.auth.models import Group

    ana = django_user_model.objects.create_user("ana", is_staff=True)
    ana.groups.add(Group.objects.get(name="Administradores"))
    assert all(ana.has_perm(f"accounts.{action}_bot") for action in ("add", "change", "delete", "view"))


def test_a_bot_holds_no_model_permissions(issued):
    from accounts.authentication import BotUser

    user = BotUser(issued.bot)
    assert user.is_authenticated and not user.is_anonymous
    assert not user.has_perm("jobs.add_job") and not user.is_staff


def test_authentication_works_without_redis_only_unthrottled(issued, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    def down():
        raise RedisConnectionError("down")

    monkeypatch.setattr(bots, "redis_connection", down)
    assert get(**headers(issued.bot.bot_id, issued.token)).status_code == 200
    assert get(**headers(issued.bot.bot_id, "cbot_" + issued.bot.bot_id + "_" + "A" * 43)).status_code == 401
