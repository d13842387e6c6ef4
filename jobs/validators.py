import re
from datetime import datetime

from rest_framework import serializers


def cnpj_digits(value: str) -> str:
    """Validate a CNPJ given with or without punctuation; return its 14 digits."""
    if not re.fullmatch(r"\d{14}|\d{2}\.\d{3}\.\d{3}/\d{4}-\d{2}", value.strip()):
        raise serializers.ValidationError(
            "CNPJ deve ter 14 dígitos, com ou sem pontuação (ex.: 12.345.678/0001-95)", code="value_error.cnpj"
        )
    digits = re.sub(r"\D", "", value)
    if len(set(digits)) == 1 or digits[12:] != _check_digits(digits[:12]):
        raise serializers.ValidationError("CNPJ inválido: dígitos verificadores não conferem", code="value_error.cnpj")
    return digits


def _check_digits(base: str) -> str:
    digits = base
    for weights in ([5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2], [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]):
        total = sum(int(d) * w for d, w in zip(digits, weights, strict=True))
        remainder = total % 11
        digits += "0" if remainder < 2 else str(11 - remainder)
    return digits[12:]


def due_date(value: str) -> str:
    """Validate a DD/MM/YYYY date (seed 003 §5.2) and return it unchanged."""
    try:
        datetime.strptime(value, "%d/%m/%Y")
    except ValueError:
        raise serializers.ValidationError(
            "data_vencimento deve ser uma data válida no formato DD/MM/YYYY", code="value_error.date"
        ) from None
    if not re.fullmatch(r"\d{2}/\d{2}/\d{4}", value):
        raise serializers.ValidationError("data_vencimento deve estar no formato DD/MM/YYYY", code="value_error.date")
    return value


INVOICE_NOT_USABLE = (
    "nome_arquivo deve ser uma fatura baixada por um job concluído que você pode ver "
    "(ex.: oi_202401.pdf ou faturas/oi_202401.pdf)"
)


def sat_invoice(value: str, *, user) -> str:
    """Validate that `user` may send the invoice `value` names to SAT; return it unchanged.

    One message for every refusal (another user's invoice, a job's failure evidence, a path
    outside the invoice folder, a file that is gone), so it reveals nothing about the file.
    """
    from jobs.selectors import invoice_path_for_user

    if invoice_path_for_user(user=user, nome_arquivo=value) is None:
        raise serializers.ValidationError(INVOICE_NOT_USABLE, code="value_error.nome_arquivo")
    return value
