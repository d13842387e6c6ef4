"""Sandbox of SAT (Sistema de Automação Tributária): a web portal and a token API for invoice uploads.

Web portal (a signed-cookie session, like the carrier portals):
/sandbox/sat/entrar              user + password
/sandbox/sat/envio               the upload form: nine fields and the PDF (validated server-side)
/sandbox/sat/envio/<protocolo>   the receipt with the protocol number
(nome_filtro 99999999 never gets past "Documento em processamento…": the timeout path)

API (seed 002: bearer tokens signed with a timestamp, SANDBOX_SAT_TOKEN_SECONDS long):
POST /sandbox/sat/api/auth/login          {username, password} → {access_token, expires_in}
GET  /sandbox/sat/api/auth/tokenRefresh   Authorization: Bearer … → a new {access_token, expires_in}
POST /sandbox/sat/api/envio               multipart, Bearer → {protocolo}; 401 {"detail": …} otherwise

Both store what they receive in Django storage: sandbox/sat/<protocolo>_<nome> (the file, byte for
byte) and sandbox/sat/<protocolo>.json (the fields), so tests can check what arrived.
"""

import asyncio
import json
import re
import secrets
from datetime import date, datetime

from asgiref.sync import sync_to_async
from django import forms
from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.text import get_valid_filename
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.generic import RedirectView

from carriers.sandbox import common
from project.jsonbody import json_loads_bounded

CARRIER = "SAT"
# The integration users SAT issued to this company: one for the portal and the API alike.
USERS = {"sat-integracao": "sandbox123"}
OPERADORAS = ("OI", "VIVO", "EMBRATEL", "DIGITALNET")
STORAGE_DIR = "sandbox/sat"
MAX_FILE_BYTES = 10 * 1024 * 1024
# Checking the document takes SAT a moment; the automation has to wait for the receipt.
PROCESSING_SECONDS = 0.6
TOKEN_SALT = "sandbox.sat.api.token"


class EnvioForm(forms.Form):
    """What SAT checks on an upload, for the portal and the API alike."""

    cnpj = forms.CharField(max_length=18, label="CNPJ")
    razao = forms.CharField(max_length=255, label="Razão social")
    operadora = forms.ChoiceField(choices=[("", "Selecione…"), *((o, o) for o in OPERADORAS)], label="Operadora")
    nome_filtro = forms.CharField(max_length=255, label="Nome do filtro")
    unidade = forms.CharField(max_length=255, label="Unidade")
    servico = forms.CharField(max_length=255, label="Serviço")
    dados_sat = forms.CharField(max_length=2000, label="Dados SAT", widget=forms.Textarea)
    nome_arquivo = forms.CharField(max_length=255, label="Nome do arquivo")
    data_vencimento = forms.CharField(max_length=10, label="Data de vencimento")
    arquivo = forms.FileField(label="Fatura (PDF)")

    def clean_cnpj(self) -> str:
        value = self.cleaned_data["cnpj"].strip()
        if not re.fullmatch(r"\d{14}|\d{2}\.\d{3}\.\d{3}/\d{4}-\d{2}", value):
            raise forms.ValidationError("CNPJ inválido: informe 14 dígitos, com ou sem pontuação.")
        return re.sub(r"\D", "", value)

    def clean_data_vencimento(self) -> str:
        value = self.cleaned_data["data_vencimento"].strip()
        try:
            if not re.fullmatch(r"\d{2}/\d{2}/\d{4}", value):
                raise ValueError(value)
            datetime.strptime(value, "%d/%m/%Y")
        except ValueError:
            raise forms.ValidationError("Data de vencimento inválida: use o formato DD/MM/AAAA.") from None
        return value

    def clean_arquivo(self):
        upload = self.cleaned_data["arquivo"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError("O arquivo excede o limite de 10 MB.")
        head = upload.read(5)
        upload.seek(0)
        if not upload.name.lower().endswith(".pdf") or head != b"%PDF-":
            raise forms.ValidationError("O arquivo enviado não é um PDF.")
        return upload

    def clean(self):
        data = super().clean()
        upload, name = data.get("arquivo"), data.get("nome_arquivo")
        if upload and name and upload.name != name:
            self.add_error("nome_arquivo", "O nome do arquivo não confere com o arquivo anexado.")
        return data


# --- web portal -----------------------------------------------------------------------------


@csrf_exempt
@require_http_methods(["GET", "POST"])
def login(request):
    if request.method == "GET":
        return render(request, "sandbox/sat/login.html")
    username = request.POST.get("usuario", "").strip()
    if USERS.get(username) is None or request.POST.get("senha") != USERS[username]:
        return render(
            request, "sandbox/sat/login.html", {"usuario_digitado": username, "erro": "Usuário ou senha inválidos."}
        )
    return common.session_start(HttpResponseRedirect(reverse("sandbox:sat-envio")), CARRIER, username)


@csrf_exempt
@require_http_methods(["GET", "POST"])
async def envio(request):
    username = common.session_login(request, CARRIER)
    if username not in USERS:
        return HttpResponseRedirect(reverse("sandbox:sat-login"))
    if request.method == "GET":
        return render(request, "sandbox/sat/envio.html", {"form": EnvioForm(), "usuario": username})
    await asyncio.sleep(PROCESSING_SECONDS)
    if request.POST.get("nome_filtro") == common.HANG_FILTRO:
        # SAT's queue is stuck: the page says it is processing and no receipt ever comes.
        return render(request, "sandbox/sat/processando.html", {"usuario": username})
    form = EnvioForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "sandbox/sat/envio.html", {"form": form, "usuario": username}, status=200)
    protocolo = await sync_to_async(envio_store)(form.cleaned_data, username)
    return HttpResponseRedirect(reverse("sandbox:sat-recibo", args=[protocolo]))


def recibo(request, protocolo: str):
    username = common.session_login(request, CARRIER)
    if username not in USERS:
        return HttpResponseRedirect(reverse("sandbox:sat-login"))
    received = envio_read(protocolo)
    if received is None or received["usuario"] != username:
        raise Http404("Protocolo não encontrado")
    context = {
        "envio": received,
        "protocolo": protocolo,
        "cnpj": common.format_cnpj(received["cnpj"]),
        "usuario": username,
    }
    return render(request, "sandbox/sat/recibo.html", context)


def logout(request):
    return common.session_end(HttpResponseRedirect(reverse("sandbox:sat-login")), CARRIER)


# --- API ------------------------------------------------------------------------------------


@csrf_exempt
@require_POST
def api_login(request):
    try:
        body = json_loads_bounded(request.body or b"{}")
    except ValueError:
        return JsonResponse({"detail": "Corpo JSON inválido"}, status=400)
    username = body.get("username") if isinstance(body, dict) else None
    if not isinstance(username, str) or USERS.get(username) is None or body.get("password") != USERS[username]:
        return JsonResponse({"detail": "Usuário ou senha inválidos"}, status=401)
    return JsonResponse(token_issue(username))


@require_GET
def api_token_refresh(request):
    username = token_user(request)
    if username is None:
        return _unauthorised()
    return JsonResponse(token_issue(username))


@csrf_exempt
@require_POST
def api_envio(request):
    username = token_user(request)
    if username is None:
        return _unauthorised()
    form = EnvioForm(request.POST, request.FILES)
    if not form.is_valid():
        errors = {field: [str(e) for e in messages] for field, messages in form.errors.items()}
        first = next(iter(errors.values()))[0]
        return JsonResponse({"detail": first, "erros": errors}, status=400)
    return JsonResponse({"protocolo": envio_store(form.cleaned_data, username)})


def token_issue(username: str) -> dict:
    # The nonce makes two tokens issued in the same second different.
    value = signing.TimestampSigner(salt=TOKEN_SALT).sign(f"{username}:{secrets.token_urlsafe(12)}")
    return {"access_token": value, "expires_in": token_lifetime()}


def token_user(request) -> str | None:
    """The user of a valid, unexpired bearer token; None for a missing, expired or forged one."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value:
        return None
    try:
        payload = signing.TimestampSigner(salt=TOKEN_SALT).unsign(value.strip(), max_age=token_lifetime())
    except signing.BadSignature:
        return None
    username = payload.split(":", 1)[0]
    return username if username in USERS else None


def token_lifetime() -> int:
    return int(getattr(settings, "SANDBOX_SAT_TOKEN_SECONDS", 3600))


def _unauthorised() -> JsonResponse:
    response = JsonResponse({"detail": "Token inválido ou expirado"}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="sat"'
    return response


# --- what SAT keeps -------------------------------------------------------------------------


def envio_store(data: dict, username: str) -> str:
    """Keep the file and its fields under a new protocol number; returns the number."""
    protocolo = _protocolo_new()
    upload = data["arquivo"]
    content = upload.read()
    name = f"{STORAGE_DIR}/{protocolo}_{get_valid_filename(upload.name)}"
    stored = default_storage.save(name, ContentFile(content))
    fields = {k: v for k, v in data.items() if k != "arquivo"}
    record = {
        **fields,
        "protocolo": protocolo,
        "usuario": username,
        "arquivo": stored,
        "tamanho": len(content),
        "recebido_em": datetime.now().strftime("%d/%m/%Y %H:%M:%S"),
    }
    default_storage.save(f"{STORAGE_DIR}/{protocolo}.json", ContentFile(json.dumps(record).encode()))
    return protocolo


def envio_read(protocolo: str) -> dict | None:
    if not re.fullmatch(r"SAT-\d{4}-\d{6}", protocolo):
        return None
    try:
        with default_storage.open(f"{STORAGE_DIR}/{protocolo}.json", "rb") as stored:
            return json.loads(stored.read())
    except FileNotFoundError:
        return None


def _protocolo_new() -> str:
    while True:
        protocolo = f"SAT-{date.today().year}-{secrets.randbelow(10**6):06d}"
        if not default_storage.exists(f"{STORAGE_DIR}/{protocolo}.json"):
            return protocolo


urlpatterns = [
    path("sat/", RedirectView.as_view(pattern_name="sandbox:sat-login"), name="sat-home"),
    path("sat/entrar", login, name="sat-login"),
    path("sat/sair", logout, name="sat-logout"),
    path("sat/envio", envio, name="sat-envio"),
    path("sat/envio/<str:protocolo>", recibo, name="sat-recibo"),
    path("sat/api/auth/login", api_login, name="sat-api-login"),
    path("sat/api/auth/tokenRefresh", api_token_refresh, name="sat-api-token-refresh"),
    path("sat/api/envio", api_envio, name="sat-api-envio"),
]
