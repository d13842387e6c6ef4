"""Authentication: the seed routes (/auth/login, /auth/tokenRefresh, /auth/token), simplejwt's
/api/v1/auth/token/ pair, and the long-lived integration tokens of the management commands."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import jwt
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import IntegrationToken

INVALID_TOKEN = {"detail": "Token inválido ou expirado"}
WRONG_CREDENTIALS = {"detail": "Usuário ou senha inválidos"}


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def login(client: APIClient, body, **kwargs):
    return client.post("/auth/login", body, format="json", **kwargs)


def expired_access_token(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(from_time=datetime.now(UTC) - timedelta(hours=2), lifetime=timedelta(hours=1))
    return str(token)


def forged_access_token(user) -> str:
    """A well-formed token for `user` signed with a key the server does not know."""
    claims = dict(AccessToken.for_user(user).payload)
    return jwt.encode(claims, "not-the-server-signing-key-0123456789abcdef", algorithm="HS256")


def issue_integration_token(username: str, *args) -> tuple[str, str]:
    """Run issue_integration_token; return (token, jti)."""
    out, err = StringIO(), StringIO()
    call_command("issue_integration_token", username, *args, stdout=out, stderr=err)
    token = out.getvalue().strip()
    return token, AccessToken(token)["jti"]


def assert_invalid_token(response):
    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN
    assert response["WWW-Authenticate"].startswith("Bearer")


# --- POST /auth/login -----------------------------------------------------------------------

@pytest.mark.django_db
def test_it_logs_in_with_username_and_password_and_returns_a_token_pair(alice):
    response = login(APIClient(), {"username": "alice", "password": "alice-pass"})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "refresh_token"}
    assert body["expires_in"] == 3600
    access = AccessToken(body["access_token"])
    assert access["user_id"] == str(alice.pk)
    assert RefreshToken(body["refresh_token"])["user_id"] == str(alice.pk)
    # The refresh token is tracked, so that it can be blacklisted later.
    assert OutstandingToken.objects.filter(user=alice).count() == 1


@pytest.mark.django_db
def test_the_access_token_from_login_opens_the_protected_routes(alice):
    token = login(APIClient(), {"username": "alice", "password": "alice-pass"}).json()["access_token"]

    response = bearer(token).get("/jobs")

    assert response.status_code == 200
    assert response.json() == {"total_jobs": 0, "jobs": []}


@pytest.mark.django_db
def test_it_rejects_a_wrong_password_with_401_and_issues_nothing(alice):
    response = login(APIClient(), {"username": "alice", "password": "wrong"})

    assert response.status_code == 401
    assert response.json() == WRONG_CREDENTIALS
    assert OutstandingToken.objects.count() == 0


@pytest.mark.django_db
def test_it_rejects_an_unknown_user_exactly_like_a_wrong_password(alice):
    response = login(APIClient(), {"username": "mallory", "password": "alice-pass"})

    assert response.status_code == 401
    assert response.json() == WRONG_CREDENTIALS
    assert OutstandingToken.objects.count() == 0


@pytest.mark.django_db
def test_it_rejects_a_deactivated_user(alice):
    alice.is_active = False
    alice.save()

    response = login(APIClient(), {"username": "alice", "password": "alice-pass"})

    assert response.status_code == 401
    assert response.json() == WRONG_CREDENTIALS
    assert OutstandingToken.objects.count() == 0


@pytest.mark.django_db
def test_it_keeps_spaces_in_a_password(django_user_model):
    django_user_model.objects.create_user("dora", password=" padded pass ")

    assert login(APIClient(), {"username": "dora", "password": "padded pass"}).status_code == 401
    assert login(APIClient(), {"username": "dora", "password": " padded pass "}).status_code == 200


@pytest.mark.django_db
def test_it_rejects_a_login_without_fields_with_422_naming_each_one(alice):
    response = login(APIClient(), {})

    assert response.status_code == 422
    assert response.json() == {"detail": [
        {"loc": ["body", "username"], "msg": "field required", "type": "value_error.missing"},
        {"loc": ["body", "password"], "msg": "field required", "type": "value_error.missing"},
    ]}
    assert OutstandingToken.objects.count() == 0


@pytest.mark.django_db
def test_it_rejects_a_login_without_a_password(alice):
    response = login(APIClient(), {"username": "alice"})

    assert response.status_code == 422
    assert response.json() == {"detail": [
        {"loc": ["body", "password"], "msg": "field required", "type": "value_error.missing"},
    ]}


@pytest.mark.django_db
@pytest.mark.parametrize("field, value", [
    ("username", 123),
    ("username", True),
    ("username", ["alice"]),
    ("username", {"name": "alice"}),
    ("password", 12345),
    ("password", False),
])
def test_it_rejects_login_fields_that_are_not_strings(alice, field, value):
    body = {"username": "alice", "password": "alice-pass", field: value}

    response = login(APIClient(), body)

    assert response.status_code == 422
    assert response.json() == {"detail": [
        {"loc": ["body", field], "msg": "str type expected", "type": "type_error.str"},
    ]}
    assert OutstandingToken.objects.count() == 0


@pytest.mark.django_db
def test_it_rejects_a_null_username(alice):
    response = login(APIClient(), {"username": None, "password": "alice-pass"})

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "username"], "msg": "none is not an allowed value", "type": "type_error.none.not_allowed"},
    ]


@pytest.mark.django_db
def test_it_rejects_a_blank_username(alice):
    response = login(APIClient(), {"username": "", "password": "alice-pass"})

    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "username"]]
    assert response.json()["detail"][0]["type"] == "value_error.any_str.min_length"


@pytest.mark.django_db
def test_it_ignores_extra_login_fields_and_names_them(alice):
    response = login(APIClient(), {"username": "alice", "password": "alice-pass", "remember_me": True})

    assert response.status_code == 200, response.content
    assert response["X-Ignored-Fields"] == "remember_me"
    assert set(response.json()) == {"access_token", "expires_in", "refresh_token"}
    assert OutstandingToken.objects.count() == 1


@pytest.mark.django_db
def test_an_extra_login_field_does_not_let_a_wrong_password_in(alice):
    response = login(APIClient(), {"username": "alice", "password": "wrong", "is_superuser": True})

    assert response.status_code == 401
    assert OutstandingToken.objects.count() == 0


@pytest.mark.django_db
def test_it_rejects_malformed_json_at_login_with_422(alice):
    response = APIClient().post("/auth/login", '{"username": "alice", "password": ', content_type="application/json")

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body"]
    assert error["type"] == "value_error.jsondecode"
    assert error["msg"].startswith("JSON inválido")
    assert OutstandingToken.objects.count() == 0


@pytest.mark.django_db
def test_it_rejects_a_json_list_at_login(alice):
    response = login(APIClient(), ["alice", "alice-pass"])

    assert response.status_code == 422
    assert response.json() == {"detail": [
        {"loc": ["body"], "msg": "value is not a valid dict", "type": "type_error.dict"},
    ]}


@pytest.mark.django_db
def test_it_rejects_a_form_encoded_login(alice):
    response = APIClient().post("/auth/login", {"username": "alice", "password": "alice-pass"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "value_error.content_type"
    assert OutstandingToken.objects.count() == 0


# --- GET /auth/tokenRefresh -----------------------------------------------------------------

@pytest.mark.django_db
def test_it_renews_the_pair_for_a_valid_bearer(alice):
    old = login(APIClient(), {"username": "alice", "password": "alice-pass"}).json()

    response = bearer(old["access_token"]).get("/auth/tokenRefresh")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "refresh_token"}
    assert body["expires_in"] == 3600
    assert body["access_token"] != old["access_token"]
    assert body["refresh_token"] != old["refresh_token"]
    assert AccessToken(body["access_token"])["user_id"] == str(alice.pk)
    assert bearer(body["access_token"]).get("/jobs").status_code == 200


@pytest.mark.django_db
def test_it_refuses_to_renew_without_a_bearer(alice):
    response = APIClient().get("/auth/tokenRefresh")

    assert_invalid_token(response)
    assert OutstandingToken.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_to_renew_a_forged_token(alice):
    response = bearer(forged_access_token(alice)).get("/auth/tokenRefresh")

    assert_invalid_token(response)
    assert OutstandingToken.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_to_renew_an_expired_token(alice):
    response = bearer(expired_access_token(alice)).get("/auth/tokenRefresh")

    assert_invalid_token(response)
    assert OutstandingToken.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_a_refresh_token_used_as_a_bearer(alice):
    refresh = str(RefreshToken.for_user(alice))

    response = bearer(refresh).get("/auth/tokenRefresh")

    assert_invalid_token(response)


@pytest.mark.django_db
def test_it_refuses_a_garbage_bearer(alice):
    assert_invalid_token(bearer("not-a-jwt").get("/auth/tokenRefresh"))


@pytest.mark.django_db
def test_it_refuses_a_token_of_a_deleted_user(bob):
    token = str(AccessToken.for_user(bob))
    bob.delete()

    assert_invalid_token(bearer(token).get("/jobs"))


# --- expired and forged tokens on the job routes --------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/jobs", "/auth/token", "/status/c489e92d-39ce-48da-a546-97f5a444cbe4"])
def test_it_rejects_an_expired_token_with_the_seed_message(alice, path):
    assert_invalid_token(bearer(expired_access_token(alice)).get(path))


@pytest.mark.django_db
def test_it_rejects_a_forged_token_on_the_job_list(alice):
    assert_invalid_token(bearer(forged_access_token(alice)).get("/jobs"))


# --- GET /auth/token ------------------------------------------------------------------------

@pytest.mark.django_db
def test_it_returns_the_current_token_with_its_remaining_minutes(alice):
    token = str(AccessToken.for_user(alice))

    response = bearer(token).get("/auth/token")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_in", "message"}
    assert body["token"] == token
    assert body["expires_in"] in (59, 60)
    assert body["message"] == "Token atual"


@pytest.mark.django_db
def test_an_integration_token_reports_a_year_in_minutes(alice):
    token, _ = issue_integration_token("alice", "--days", "365")

    body = bearer(token).get("/auth/token").json()

    assert body["token"] == token
    assert body["expires_in"] in (525599, 525600)


@pytest.mark.django_db
def test_a_session_user_gets_a_fresh_token_from_auth_token(client, alice):
    client.force_login(alice)

    response = client.get("/auth/token")

    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Novo token emitido"
    assert body["expires_in"] == 60
    assert bearer(body["token"]).get("/jobs").status_code == 200


@pytest.mark.django_db
def test_it_refuses_auth_token_without_a_bearer():
    assert_invalid_token(APIClient().get("/auth/token"))


# --- /api/v1/auth/token/ (simplejwt) --------------------------------------------------------

@pytest.mark.django_db
def test_the_v1_token_route_issues_an_access_and_refresh_pair(alice):
    response = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": "alice-pass"},
                                format="json")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert bearer(body["access"]).get("/api/v1/jobs/").status_code == 200
    alice.refresh_from_db()
    assert alice.last_login is not None


@pytest.mark.django_db
def test_the_v1_token_route_rejects_a_wrong_password(alice):
    response = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": "nope"}, format="json")

    assert response.status_code == 401
    assert "access" not in response.json()
    assert OutstandingToken.objects.count() == 0


@pytest.mark.django_db
def test_the_v1_refresh_rotates_and_blacklists_the_old_refresh_token(alice):
    pair = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": "alice-pass"},
                            format="json").json()

    rotated = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")

    assert rotated.status_code == 200
    body = rotated.json()
    assert set(body) == {"access", "refresh"}
    assert body["refresh"] != pair["refresh"]
    assert bearer(body["access"]).get("/api/v1/jobs/").status_code == 200
    old_jti = jwt.decode(pair["refresh"], options={"verify_signature": False})["jti"]
    assert list(BlacklistedToken.objects.values_list("token__jti", flat=True)) == [old_jti]

    reused = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")

    assert reused.status_code == 401
    assert reused.json()["code"] == "token_not_valid"
    assert "access" not in reused.json()


@pytest.mark.django_db
def test_the_refresh_token_from_seed_login_works_on_the_v1_refresh_route(alice):
    pair = login(APIClient(), {"username": "alice", "password": "alice-pass"}).json()

    response = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh_token"]}, format="json")

    assert response.status_code == 200
    assert AccessToken(response.json()["access"])["user_id"] == str(alice.pk)


@pytest.mark.django_db
def test_the_v1_refresh_route_rejects_an_access_token(alice):
    access = str(AccessToken.for_user(alice))

    response = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": access}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


# --- integration tokens (management commands) -----------------------------------------------

@pytest.mark.django_db
def test_an_issued_integration_token_opens_the_job_list(bob):
    token, jti = issue_integration_token("bob", "--days", "30", "--label", "erp")

    response = bearer(token).get("/jobs")

    assert response.status_code == 200
    record = IntegrationToken.objects.get()
    assert record.jti == jti
    assert record.user == bob
    assert record.label == "erp"
    assert record.revoked_at is None
    assert abs(record.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert AccessToken(token)["exp"] == pytest.approx(record.expires_at.timestamp(), abs=60)


@pytest.mark.django_db
def test_an_integration_token_defaults_to_a_year(bob):
    issue_integration_token("bob")

    record = IntegrationToken.objects.get()
    assert abs(record.expires_at - (timezone.now() + timedelta(days=365))) < timedelta(minutes=1)


@pytest.mark.django_db
def test_the_integration_token_itself_is_never_stored(bob):
    token, _ = issue_integration_token("bob")

    stored = IntegrationToken.objects.values().get()
    assert token not in [str(value) for value in stored.values()]


@pytest.mark.django_db
def test_a_revoked_integration_token_gets_401(bob):
    token, jti = issue_integration_token("bob")
    assert bearer(token).get("/jobs").status_code == 200
    out = StringIO()

    call_command("revoke_integration_token", jti, stdout=out)

    assert "Revoked 1 token(s)." in out.getvalue()
    assert IntegrationToken.objects.get(jti=jti).revoked_at is not None
    assert_invalid_token(bearer(token).get("/jobs"))
    assert_invalid_token(bearer(token).get("/auth/tokenRefresh"))


@pytest.mark.django_db
def test_revoking_by_user_revokes_only_that_users_tokens(bob, charlie):
    bob_first, _ = issue_integration_token("bob")
    bob_second, _ = issue_integration_token("bob")
    charlie_token, _ = issue_integration_token("charlie")
    out = StringIO()

    call_command("revoke_integration_token", "--user", "bob", stdout=out)

    assert "Revoked 2 token(s)." in out.getvalue()
    assert_invalid_token(bearer(bob_first).get("/jobs"))
    assert_invalid_token(bearer(bob_second).get("/jobs"))
    assert bearer(charlie_token).get("/jobs").status_code == 200


@pytest.mark.django_db
def test_an_integration_token_past_its_record_expiry_gets_401(bob):
    token, jti = issue_integration_token("bob")
    IntegrationToken.objects.filter(jti=jti).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_invalid_token(bearer(token).get("/jobs"))


@pytest.mark.django_db
def test_an_integration_token_whose_record_was_deleted_gets_401(bob):
    token, jti = issue_integration_token("bob")
    IntegrationToken.objects.filter(jti=jti).delete()

    assert_invalid_token(bearer(token).get("/jobs"))


@pytest.mark.django_db
def test_issuing_for_an_unknown_user_fails_and_stores_nothing():
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("issue_integration_token", "ghost", stdout=StringIO(), stderr=StringIO())

    assert IntegrationToken.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("days", ["0", "-5"])
def test_issuing_with_less_than_a_day_fails_and_stores_nothing(bob, days):
    with pytest.raises(CommandError, match="--days must be at least 1"):
        call_command("issue_integration_token", "bob", "--days", days, stdout=StringIO(), stderr=StringIO())

    assert IntegrationToken.objects.count() == 0


@pytest.mark.django_db
def test_revoking_for_an_unknown_user_fails(bob):
    token, _ = issue_integration_token("bob")

    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("revoke_integration_token", "--user", "ghost", stdout=StringIO())

    assert bearer(token).get("/jobs").status_code == 200


@pytest.mark.django_db
def test_revoking_an_unknown_jti_fails_and_changes_nothing(bob):
    token, _ = issue_integration_token("bob")

    with pytest.raises(CommandError, match="No active token matched"):
        call_command("revoke_integration_token", "no-such-jti", stdout=StringIO())

    assert IntegrationToken.objects.filter(revoked_at__isnull=False).count() == 0
    assert bearer(token).get("/jobs").status_code == 200


@pytest.mark.django_db
def test_revoking_twice_says_nothing_matched_the_second_time(bob):
    _, jti = issue_integration_token("bob")
    call_command("revoke_integration_token", jti, stdout=StringIO())

    with pytest.raises(CommandError, match="No active token matched"):
        call_command("revoke_integration_token", jti, stdout=StringIO())


@pytest.mark.django_db
def test_revoking_without_a_jti_or_user_fails():
    with pytest.raises(CommandError, match="jti or --user"):
        call_command("revoke_integration_token", stdout=StringIO())
