"""What the sandbox portals share: their accounts, their invoices, their PDFs, their sessions.

Every portal accepts the documented demo account (README) plus accounts of its own, and makes
each error path reachable on purpose:

- a wrong password                  → the portal's login error (authentication);
- filtro 00000000 (or any unknown)  → "no invoice" (navigation, the invoice does not exist);
- filtro 99999999                   → the invoice never finishes loading (timeout);
- filtro 55555555                   → the download is not a PDF (file processing);
- login layout@empresa.com.br       → the portal's pages after a redesign (navigation: changed).
"""

from dataclasses import dataclass
from datetime import date

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse

DEMO_LOGIN = "cliente@empresa.com.br"
DEMO_PASSWORD = "sandbox123"
DEMO_FILTRO = "12345678"
DEMO_CNPJ = "12345678000195"

NO_INVOICE_FILTRO = "00000000"
HANG_FILTRO = "99999999"
NOT_PDF_FILTRO = "55555555"
LAYOUT_LOGIN = "layout@empresa.com.br"

# The months every account has invoices for, newest first; the automations take the newest.
MONTHS = ("202401", "202312", "202311")

SESSION_MAX_AGE = 3600


@dataclass(frozen=True)
class Account:
    login: str
    password: str
    cnpj: str  # digits
    filtros: tuple[str, ...]
    holder: str


def accounts_for(carrier: str, extra: tuple[Account, ...] = ()) -> dict[str, Account]:
    """The demo account, the redesigned-layout account and the carrier's own extra accounts."""
    base = (
        Account(DEMO_LOGIN, DEMO_PASSWORD, DEMO_CNPJ,
                (DEMO_FILTRO, HANG_FILTRO, NOT_PDF_FILTRO), "EMPRESA EXEMPLO LTDA"),
        Account(LAYOUT_LOGIN, DEMO_PASSWORD, DEMO_CNPJ, (DEMO_FILTRO,), "EMPRESA EXEMPLO LTDA"),
    )
    return {account.login: account for account in (*base, *extra)}


@dataclass(frozen=True)
class Invoice:
    carrier: str
    filtro: str
    cnpj: str
    holder: str
    reference: str  # YYYYMM

    @property
    def month_label(self) -> str:
        return f"{self.reference[4:]}/{self.reference[:4]}"

    @property
    def due_date(self) -> date:
        year, month = int(self.reference[:4]), int(self.reference[4:])
        month, year = (1, year + 1) if month == 12 else (month + 1, year)
        return date(year, month, 15)

    @property
    def amount(self) -> str:
        contract_digits = "".join(ch for ch in self.filtro if ch.isdigit())[-4:] or "0"
        cents = int(contract_digits) * 7 + int(self.reference[4:]) * 1931 + 10000
        return f"R$ {cents // 100:,}".replace(",", ".") + f",{cents % 100:02d}"

    @property
    def file_name(self) -> str:
        return f"fatura_{self.carrier.lower()}_{self.filtro}_{self.reference}.pdf"


def invoices_of(carrier: str, account: Account, filtro: str = "", cnpj: str = "") -> list[Invoice]:
    """The account's invoices, newest first, narrowed to `filtro` and `cnpj` when given."""
    cnpj_digits = "".join(ch for ch in cnpj if ch.isdigit())
    if cnpj_digits and cnpj_digits != account.cnpj:
        return []
    filtros = [f for f in account.filtros if not filtro or f == filtro]
    return [Invoice(carrier, f, account.cnpj, account.holder, month) for f in filtros for month in MONTHS]


def invoice_get(carrier: str, account: Account, filtro: str, reference: str) -> Invoice:
    """One invoice of the account by contract and month; 404 when there is none."""
    for invoice in invoices_of(carrier, account, filtro):
        if invoice.reference == reference:
            return invoice
    raise Http404("Fatura não encontrada")


def invoice_file_response(invoice: Invoice) -> HttpResponse:
    """The invoice as a download; filtro 55555555 gets an HTML error page dressed as the file."""
    if invoice.filtro == NOT_PDF_FILTRO:
        body, content_type = b"<html><body>Erro interno do portal</body></html>", "application/pdf"
    else:
        body, content_type = invoice_pdf(invoice), "application/pdf"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{invoice.file_name}"'
    return response


def invoice_pdf(invoice: Invoice) -> bytes:
    lines = [
        f"FATURA {invoice.carrier}",
        f"Cliente: {invoice.holder}",
        f"CNPJ: {format_cnpj(invoice.cnpj)}",
        f"Contrato / filtro: {invoice.filtro}",
        f"Referencia: {invoice.month_label}",
        f"Vencimento: {invoice.due_date:%d/%m/%Y}",
        f"Valor: {invoice.amount}",
    ]
    return text_pdf(lines)


def text_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with these lines of text (Helvetica, Latin-1), valid for any PDF reader."""
    text = ["BT", "/F1 14 Tf", "72 760 Td", "18 TL"]
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        text.append(f"({escaped}) Tj T*")
    text.append("ET")
    stream = "\n".join(text).encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def format_cnpj(digits: str) -> str:
    return f"{digits[:2]}.{digits[2:5]}.{digits[5:8]}/{digits[8:12]}-{digits[12:]}"


# --- sessions: a signed cookie per portal, apart from the console's own session --------------

def session_login(request: HttpRequest, carrier: str) -> str | None:
    """The login of the signed-in sandbox user of `carrier`, or None."""
    try:
        return request.get_signed_cookie(_cookie(carrier), salt=_cookie(carrier), max_age=SESSION_MAX_AGE)
    except (KeyError, signing.BadSignature):
        return None


def session_account(request: HttpRequest, carrier: str, accounts: dict[str, Account]) -> Account | None:
    """The signed-in sandbox account of `carrier`, or None."""
    login_value = session_login(request, carrier)
    return accounts.get(login_value) if login_value else None


def session_start(response: HttpResponse, carrier: str, login: str) -> HttpResponse:
    response.set_signed_cookie(_cookie(carrier), login, salt=_cookie(carrier), max_age=SESSION_MAX_AGE,
                               httponly=True, samesite="Lax")
    return response


def session_end(response: HttpResponse, carrier: str) -> HttpResponse:
    response.delete_cookie(_cookie(carrier))
    return response


def _cookie(carrier: str) -> str:
    return f"sandbox_{carrier.lower()}"
