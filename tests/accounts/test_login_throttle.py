"""Failed logins are throttled on every way in (django-axes): /auth/login, /api/v1/auth/token/,
the staff login page and the admin login. LOGIN_FAILURE_LIMIT failures for one username (from
any address) or from one address (for any usernames) lock it for LOGIN_LOCKOUT_MINUTES; while
locked even the right password is refused. The lock ends by itself, or an admin lifts it."""

from datetime import timedelta

import pytest
import requests
from axes.models import AccessAttempt
from django.core.management import call_command
from django.db.models import F
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts import selectors

LIMIT = 5
LOCKOUT_SECONDS = 15 * 60
LOCKED = {"detail": "Muitas tentativas de login sem sucesso para este usuário ou endereço. Tente de novo em "
                    "15 minutos ou peça a um administrador para desbloquear."}
ATTACKER = "10.0.0.66"
ELSEWHERE = "10.0.0.77"


def seed_login(username: str, password: str, address: str = ATTACKER):
    return APIClient().post("/auth/login", {"username": username, "password": password}, format="json",
                            REMOTE_ADDR=address)


def v1_login(username: str, password: str, address: str = ATTACKER):
    return APIClient().post("/api/v1/auth/token/", {"username": username, "password": password}, format="json",
                            REMOTE_ADDR=address)


def fail_logins(username: str = "alice", address: str = ATTACKER, count: int = LIMIT) -> None:
    for _ in range(count):
        seed_login(username, "wrong-password", address)


def assert_locked(response):
    assert response.status_code == 429
    assert response.json() == LOCKED
    assert response["Retry-After"] == str(LOCKOUT_SECONDS)


# --- the API routes -------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_seed_login_refuses_the_right_password_after_the_failure_limit(alice):
    for _ in range(LIMIT - 1):
        assert seed_login("alice", "wrong-password").status_code == 401

    assert_locked(seed_login("alice", "wrong-password"))
    assert_locked(seed_login("alice", "alice-pass"))
    assert OutstandingToken.objects.count() == 0


@pytest.mark.django_db
def test_the_v1_token_route_refuses_the_right_password_after_the_failure_limit(alice):
    for _ in range(LIMIT):
        v1_login("alice", "wrong-password")

    assert_locked(v1_login("alice", "alice-pass"))
    assert OutstandingToken.objects.count() == 0


@pytest.mark.django_db
def test_failures_on_one_route_count_on_the_other(alice):
    fail_logins("alice")

    assert_locked(v1_login("alice", "alice-pass"))


@pytest.mark.django_db
def test_a_username_is_locked_from_every_address_and_others_are_not(alice, bob):
    fail_logins("alice", ATTACKER)

    assert_locked(seed_login("alice", "alice-pass", ELSEWHERE))
    assert seed_login("bob", "bob-pass", ELSEWHERE).status_code == 200


@pytest.mark.django_db
def test_an_address_trying_many_usernames_is_locked_for_every_username(alice):
    for number in range(LIMIT):
        seed_login(f"guess-{number}", "wrong-password", ATTACKER)

    assert_locked(seed_login("alice", "alice-pass", ATTACKER))
    assert seed_login("alice", "alice-pass", ELSEWHERE).status_code == 200


@pytest.mark.django_db
def test_fewer_failures_than_the_limit_lock_nothing(alice):
    fail_logins("alice", count=LIMIT - 1)

    assert seed_login("alice", "alice-pass").status_code == 200


@pytest.mark.django_db
def test_the_lock_ends_by_itself_after_the_cool_off(alice):
    fail_logins("alice")
    assert_locked(seed_login("alice", "alice-pass"))

    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(seconds=LOCKOUT_SECONDS + 1))

    assert seed_login("alice", "alice-pass").status_code == 200


@pytest.mark.django_db
def test_the_limit_and_the_cool_off_follow_the_settings(alice, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
    fail_logins("alice", count=2)

    response = seed_login("alice", "alice-pass")

    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert "1 minuto " in response.json()["detail"]


@pytest.mark.django_db(transaction=True)
def test_the_served_application_locks_out_as_the_probe_tried_it(asgi_server, alice):
    """As against `make run`: daphne, many wrong passwords in a row, then the right one."""
    url = f"{asgi_server.url}/auth/login"
    answers = [requests.post(url, json={"username": "alice", "password": f"guess-{n}"}, timeout=10).status_code
               for n in range(3 * LIMIT)]

    right = requests.post(url, json={"username": "alice", "password": "alice-pass"}, timeout=10)

    assert answers == [401] * (LIMIT - 1) + [429] * (2 * LIMIT + 1)
    assert right.status_code == 429
    assert right.headers["Retry-After"] == str(LOCKOUT_SECONDS)
    assert right.json() == LOCKED


# --- the pages ------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_a_login_page_refuses_the_right_password_after_the_failure_limit_and_says_why(client, alice, path):
    for _ in range(LIMIT):
        client.post(path, {"username": "alice", "password": "wrong-password"}, REMOTE_ADDR=ATTACKER)

    page = client.post(path, {"username": "alice", "password": "alice-pass"}, REMOTE_ADDR=ATTACKER)

    assert page.status_code == 429
    assert "Muitas tentativas de login sem sucesso" in page.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_failures_on_the_api_lock_the_staff_login_page_too(client, alice):
    fail_logins("alice")

    page = client.post("/accounts/login/", {"username": "alice", "password": "alice-pass"}, REMOTE_ADDR=ELSEWHERE)

    assert page.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_no_password_is_kept_with_the_failed_attempts(client, alice):
    client.post("/accounts/login/", {"username": "alice", "password": "S3cret-Guess!",
                                     "csrfmiddlewaretoken": "csrf-token-value-123"}, REMOTE_ADDR=ATTACKER)
    seed_login("alice", "An0ther-Guess!")

    assert AccessAttempt.objects.exists()
    stored = " ".join(f"{a.get_data} {a.post_data}" for a in AccessAttempt.objects.all())
    for secret in ("S3cret-Guess!", "An0ther-Guess!", "csrf-token-value-123"):
        assert secret not in stored


# --- lifting a lock-out ---------------------------------------------------------------------

@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="root-pass"))
    return client


@pytest.mark.django_db
def test_an_admin_sees_the_failed_attempts_in_portuguese_without_form_data(admin_client, alice):
    fail_logins("alice")

    page = admin_client.get("/admin/accounts/loginattempt/").content.decode()

    assert "Tentativas de login" in page
    assert "alice" in page
    assert ATTACKER in page
    assert "Bloqueado" in page
    assert "wrong-password" not in page


@pytest.mark.django_db
def test_an_admin_lifts_a_lock_out_from_the_admin(admin_client, alice):
    fail_logins("alice")
    assert_locked(seed_login("alice", "alice-pass", ELSEWHERE))

    response = admin_client.post("/admin/accounts/loginattempt/", {
        "action": "unlock", "_selected_action": [a.pk for a in AccessAttempt.objects.filter(username="alice")],
    })

    assert response.status_code == 302
    assert seed_login("alice", "alice-pass", ELSEWHERE).status_code == 200
    assert seed_login("alice", "alice-pass", ATTACKER).status_code == 200


@pytest.mark.django_db
def test_staff_without_the_permission_cannot_lift_a_lock_out(client, alice, django_user_model):
    fail_logins("alice")
    client.force_login(django_user_model.objects.create_user("vera", password="x", is_staff=True))

    response = client.post("/admin/accounts/loginattempt/", {
        "action": "unlock", "_selected_action": [a.pk for a in AccessAttempt.objects.all()],
    })

    assert response.status_code == 403
    assert AccessAttempt.objects.count() == 1


@pytest.mark.django_db
def test_a_lock_out_is_lifted_from_the_command_line(alice):
    fail_logins("alice")
    assert_locked(seed_login("alice", "alice-pass", ELSEWHERE))

    call_command("axes_reset_username", "alice", verbosity=0)

    assert seed_login("alice", "alice-pass", ELSEWHERE).status_code == 200


@pytest.mark.django_db
def test_the_admin_marks_each_record_whose_username_or_address_is_locked(alice):
    for number in range(LIMIT):
        seed_login(f"guess-{number}", "wrong-password", ATTACKER)
    seed_login("alice", "wrong-password", ELSEWHERE)

    rows = selectors.login_attempts_with_lockout(AccessAttempt.objects.all())

    assert {(row.username, row.locked) for row in rows} == {
        *((f"guess-{number}", True) for number in range(LIMIT)), ("alice", False),
    }
