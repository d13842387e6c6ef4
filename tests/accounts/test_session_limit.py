"""How long a login lasts through renewals: every token carries the time of the password login
its session began with (`auth_time`), renewal copies it, and renewal stops JWT_SESSION_MAX_DAYS
after it — on the seed's GET /auth/tokenRefresh and on /api/v1/auth/token/refresh/ alike.

Tokens "from a login N days ago" are made here the way the server would have made them after N
days of renewals: signed with its key, carrying that login time."""

import time

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from tests.accounts.test_auth import bearer, issue_integration_token, login

DAY = 24 * 3600
SESSION_OVER = {"detail": "Sessão expirada: o login foi há mais de 7 dias. Faça login novamente."}


def access_token_of_a_login(user, seconds_ago: float) -> str:
    token = AccessToken.for_user(user)
    token["auth_time"] = int(time.time() - seconds_ago)
    return str(token)


def refresh_token_of_a_login(user, seconds_ago: float) -> str:
    token = RefreshToken.for_user(user)
    token["auth_time"] = int(time.time() - seconds_ago)
    return str(token)


def auth_time(token: str) -> int:
    return AccessToken(token, verify=False)["auth_time"]


def v1_refresh(refresh: str):
    return APIClient().post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")


# --- the seed's GET /auth/tokenRefresh ------------------------------------------------------

@pytest.mark.django_db
def test_login_stamps_both_tokens_with_the_login_time(alice):
    before = int(time.time())
    pair = login(APIClient(), {"username": "alice", "password": "alice-pass"}).json()

    assert before <= auth_time(pair["access_token"]) <= time.time()
    assert RefreshToken(pair["refresh_token"])["auth_time"] == auth_time(pair["access_token"])


@pytest.mark.django_db
def test_a_renewed_pair_keeps_the_original_login_time_through_a_chain_of_renewals(alice):
    token = access_token_of_a_login(alice, 3 * DAY)
    logged_in_at = auth_time(token)

    for _ in range(3):
        response = bearer(token).get("/auth/tokenRefresh")
        assert response.status_code == 200
        token = response.json()["access_token"]
        assert auth_time(token) == logged_in_at
        assert RefreshToken(response.json()["refresh_token"])["auth_time"] == logged_in_at


@pytest.mark.django_db
def test_renewal_stops_seven_days_after_the_login(alice):
    response = bearer(access_token_of_a_login(alice, 7 * DAY + 60)).get("/auth/tokenRefresh")

    assert response.status_code == 401
    assert response.json() == SESSION_OVER
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert OutstandingToken.objects.count() == 0


@pytest.mark.django_db
def test_renewal_still_works_just_before_the_limit(alice):
    response = bearer(access_token_of_a_login(alice, 7 * DAY - 60)).get("/auth/tokenRefresh")

    assert response.status_code == 200


@pytest.mark.django_db
def test_the_limit_follows_jwt_session_max_days(alice, settings):
    settings.JWT_SESSION_MAX_DAYS = 1

    response = bearer(access_token_of_a_login(alice, DAY + 60)).get("/auth/tokenRefresh")

    assert response.status_code == 401
    assert response.json() == {"detail": "Sessão expirada: o login foi há mais de 1 dia. Faça login novamente."}


@pytest.mark.django_db
def test_a_token_issued_before_login_times_were_kept_counts_from_when_it_was_issued(alice):
    old = AccessToken.for_user(alice)
    assert "auth_time" not in old.payload

    response = bearer(str(old)).get("/auth/tokenRefresh")

    assert response.status_code == 200
    assert auth_time(response.json()["access_token"]) == old["iat"]


@pytest.mark.django_db
def test_an_integration_token_is_not_renewed_into_ordinary_tokens(bob):
    token, _ = issue_integration_token("bob", "--days", "30")

    response = bearer(token).get("/auth/tokenRefresh")

    assert response.status_code == 403
    assert response.json() == {"detail": "Tokens de integração não são renovados: peça um novo a um "
                                         "administrador (manage.py issue_integration_token)."}
    assert OutstandingToken.objects.count() == 0
    assert bearer(token).get("/jobs").status_code == 200


# --- /api/v1/auth/token/refresh/ (simplejwt, rotating refresh tokens) -----------------------

@pytest.mark.django_db
def test_the_v1_pair_carries_the_login_time_and_rotation_keeps_it(alice):
    pair = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": "alice-pass"},
                            format="json").json()
    logged_in_at = auth_time(pair["access"])
    assert RefreshToken(pair["refresh"])["auth_time"] == logged_in_at

    refresh = pair["refresh"]
    for _ in range(2):
        rotated = v1_refresh(refresh)
        assert rotated.status_code == 200
        refresh = rotated.json()["refresh"]
        assert auth_time(rotated.json()["access"]) == logged_in_at
        assert RefreshToken(refresh)["auth_time"] == logged_in_at


@pytest.mark.django_db
def test_the_v1_refresh_stops_seven_days_after_the_login(alice):
    refresh = refresh_token_of_a_login(alice, 7 * DAY + 60)

    response = v1_refresh(refresh)

    assert response.status_code == 401
    assert response.json()["detail"] == SESSION_OVER["detail"]
    assert "access" not in response.json()
    assert BlacklistedToken.objects.count() == 0


@pytest.mark.django_db
def test_a_refresh_token_from_the_seed_login_rotates_with_its_login_time(alice):
    pair = login(APIClient(), {"username": "alice", "password": "alice-pass"}).json()

    rotated = v1_refresh(pair["refresh_token"]).json()

    assert auth_time(rotated["access"]) == auth_time(pair["access_token"])


@pytest.mark.django_db
def test_a_refresh_token_issued_before_login_times_were_kept_counts_from_when_it_was_issued(alice):
    old = RefreshToken.for_user(alice)
    assert "auth_time" not in old.payload

    rotated = v1_refresh(str(old)).json()

    assert RefreshToken(rotated["refresh"])["auth_time"] == old["iat"]
    assert auth_time(rotated["access"]) == old["iat"]
