"""The admin as a first-time operator meets it: the console's title, Portuguese names, the
permission groups, integration tokens issued from it, and an Admin link only for who has
something to do there."""

import re

import jwt
import pytest
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from accounts.models import IntegrationToken

GROUPS = ("Operadores", "Leitura", "Administradores")
ENGLISH_ENTRIES = ("Django_Rq", "Django-RQ", "Token Blacklist", "Outstanding", "Blacklisted", "Django administration",
                   "Administração do Django")


@pytest.fixture
def superuser_client(client, alice):
    alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    return client


def page_text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def staff_in(django_user_model, name: str, *groups: str):
    user = django_user_model.objects.create_user(name, password="x", is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=groups))
    return user


# --- names ----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_admin_carries_the_consoles_own_title(superuser_client):
    response = superuser_client.get("/admin/")

    html = response.content.decode()
    assert "<title>Administração | Console de Operações — administração</title>" in html
    assert "Console de Operações — administração" in html
    assert 'href="/painel/"' in html  # "Ver o site" leads to the dashboard


@pytest.mark.django_db
def test_the_index_names_every_entry_in_portuguese(superuser_client):
    text = page_text(superuser_client.get("/admin/"))

    for english in ENGLISH_ENTRIES:
        assert english not in text
    for entry in ("Filas de execução (rq)", "Painel das filas", "Tokens JWT emitidos", "Tokens JWT revogados",
                  "Tokens de integração", "Jobs de automação", "Entregas ao processo (outbox)"):
        assert entry in text


@pytest.mark.parametrize("app_label", ["accounts", "jobs"])
def test_every_model_and_field_of_ours_has_a_portuguese_name(app_label):
    same_in_portuguese = {"id", "status", "job", "bot"}
    unnamed = []
    for model in apps.get_app_config(app_label).get_models():
        if "verbose_name" not in model._meta.original_attrs:
            unnamed.append(model._meta.label)
        inherited = {f.name for parent in model._meta.get_parent_list() for f in parent._meta.fields}
        for field in model._meta.fields:
            if field.name in same_in_portuguese or field.name in inherited or model._meta.proxy:
                continue
            if str(field.verbose_name) == field.name.replace("_", " "):
                unnamed.append(f"{model._meta.label}.{field.name}")
    assert unnamed == []


# --- permission groups ----------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_a_migration_creates_the_three_groups_and_undoes_them(latest_schema_afterwards):
    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0003_portuguese_names_and_jwt_proxies")])
    assert not Group.objects.filter(name__in=GROUPS).exists()

    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0004_permission_groups")])

    permissions = {
        group.name: {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        for group in Group.objects.filter(name__in=GROUPS)
    }
    viewing = {"jobs.view_job", "jobs.view_joblog", "jobs.view_jobartifact", "jobs.view_callbackdelivery",
               "jobs.view_callbackattempt"}
    assert permissions["Leitura"] == viewing
    assert permissions["Operadores"] == viewing | {"jobs.add_job", "jobs.change_callbackdelivery"}
    assert {"accounts.add_user", "accounts.change_user", "accounts.add_integrationtoken", "auth.change_group",
            "jobs.add_job", "django_rq.admin"} <= permissions["Administradores"]


@pytest.mark.django_db
def test_group_members_can_do_what_their_group_says(django_user_model):
    reader = staff_in(django_user_model, "leo", "Leitura")
    operator = staff_in(django_user_model, "olga", "Operadores")
    administrator = staff_in(django_user_model, "ana", "Administradores")

    assert reader.has_perm("jobs.view_job") and not reader.has_perm("jobs.add_job")
    assert operator.has_perm("jobs.add_job") and not operator.has_perm("accounts.change_user")
    assert administrator.has_perm("accounts.change_user") and administrator.has_perm("accounts.add_integrationtoken")


# --- integration tokens ---------------------------------------------------------------------

ISSUE = "/admin/accounts/integrationtoken/add/"


@pytest.mark.django_db
def test_an_integration_token_is_issued_from_the_admin_and_shown_once(superuser_client, bob):
    form = superuser_client.get(ISSUE)
    assert form.status_code == 200 and "Emitir token" in form.content.decode()

    response = superuser_client.post(ISSUE, {"user": bob.pk, "label": "frontend de faturas", "days": 30})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert " style=" not in response.content.decode()  # the Content-Security-Policy would block it
    token = re.search(r'<textarea id="issued-token"[^>]*>([^<]+)</textarea>', response.content.decode()).group(1)
    claims = jwt.decode(token, options={"verify_signature": False})
    record = IntegrationToken.objects.get()
    assert (record.jti, record.user, record.label) == (claims["jti"], bob, "frontend de faturas")
    assert 29 <= (record.expires_at - record.created_at).days <= 30

    # The token works as the user, and nothing kept anywhere holds it.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/jobs").status_code == 200
    stored = [IntegrationToken.objects.values_list(), LogEntry.objects.values_list()]
    assert token not in repr([list(rows) for rows in stored])
    change_page = superuser_client.get(f"/admin/accounts/integrationtoken/{record.pk}/change/")
    assert token not in change_page.content.decode()
    assert record.jti in change_page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("fields, field", [
    ({"label": "x", "days": 0}, "days"),
    ({"label": "x", "days": 99999}, "days"),
    ({"label": "", "days": 30}, "label"),
    ({"label": "x", "days": "abc"}, "days"),
])
def test_a_bad_issue_form_names_the_field_and_issues_nothing(superuser_client, bob, fields, field):
    response = superuser_client.post(ISSUE, {"user": bob.pk, **fields})

    assert response.status_code == 200
    assert re.search(rf'class="form-row errors field-{field}"', response.content.decode())
    assert "Corrija os campos indicados abaixo." in response.content.decode()
    assert IntegrationToken.objects.count() == 0


@pytest.mark.django_db
def test_staff_without_the_permission_cannot_issue_tokens(client, django_user_model, bob):
    client.force_login(staff_in(django_user_model, "olga", "Operadores"))

    assert client.get(ISSUE).status_code == 403
    assert client.post(ISSUE, {"user": bob.pk, "label": "x", "days": 30}).status_code == 403
    assert IntegrationToken.objects.count() == 0


@pytest.mark.django_db
def test_the_jwt_records_never_show_a_refresh_token(superuser_client, bob):
    login = APIClient().post("/auth/login", {"username": "bob", "password": "bob-pass"}, format="json").json()
    refresh = login["refresh_token"]

    listing = superuser_client.get("/admin/accounts/issuedjwt/")
    assert listing.status_code == 200 and refresh not in listing.content.decode()
    record = re.search(r'href="/admin/accounts/issuedjwt/(\d+)/change/', listing.content.decode()).group(1)
    page = superuser_client.get(f"/admin/accounts/issuedjwt/{record}/change/").content.decode()
    assert refresh not in page
    assert 'name="_save"' not in page
    assert "Identificador (jti)" in page


# --- the dashboard's Admin link -------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("groups, superuser, shown", [
    ((), False, False),
    (("Leitura",), False, True),
    (("Operadores",), False, True),
    ((), True, True),
])
def test_the_admin_link_shows_only_to_who_has_something_there(client, django_user_model, groups, superuser, shown):
    user = staff_in(django_user_model, "sam", *groups)
    user.is_superuser = superuser
    user.save()
    client.force_login(user)

    page = client.get("/painel/jobs/").content.decode()

    assert ('href="/admin/"' in page) is shown


@pytest.mark.django_db
def test_permissions_read_in_portuguese_where_groups_and_users_are_edited(superuser_client, bob):
    operators = Group.objects.get(name="Operadores")

    group_page = superuser_client.get(f"/admin/auth/group/{operators.pk}/change/").content.decode()
    user_page = superuser_client.get(f"/admin/accounts/user/{bob.pk}/change/").content.decode()

    for page in (group_page, user_page):
        assert ">Jobs de automação | job | Pode adicionar job<" in page
        assert ">Jobs de automação | linha de log | Pode ver linha de log<" in page
        assert ">Filas de execução (rq) | painel das filas | Pode abrir o painel das filas<" in page
        assert ">Tokens JWT | token JWT emitido | Pode excluir token JWT emitido<" in page
        assert ">Contas e acesso | token de integração | Pode alterar token de integração<" in page
        assert ">Bloqueio de logins (axes) | tentativa de login | Pode excluir tentativa de login<" in page
        assert "Can view" not in page and "Can add" not in page and "Access admin page" not in page
