"""What each task type accepts in its `config`, with the limits a user is told about by name.

`config_errors` returns every problem as (key, sentence); `config_with_defaults` fills in what
was left out, so a run always sees the whole configuration it ran with.
"""

import string
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from sellerbot.models import TaskType

PLACEHOLDERS = ("nome", "produto")
MAX_TEMPLATES = 20
MAX_TEMPLATE_CHARS = 500
MAX_STOCK_ITEMS = 500
MAX_SKU_CHARS = 64
MAX_QUANTITY = 100_000


@dataclass(frozen=True)
class Number:
    minimum: float
    maximum: float
    default: float | None
    whole: bool = True

    def problem(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "deve ser um número inteiro" if self.whole else "deve ser um número"
        if self.whole and value != int(value):
            return "deve ser um número inteiro"
        if not self.minimum <= value <= self.maximum:
            return f"deve estar entre {_n(self.minimum)} e {_n(self.maximum)} (recebido: {_n(value)})"
        return None


REPLY_KEYS = {
    "max_replies": Number(1, 500, 50),
    "delay_seconds": Number(0, 300, 5, whole=False),
}
NUMBERS: dict[str, dict[str, Number]] = {
    TaskType.REPLY_COMMENTS: REPLY_KEYS,
    TaskType.REPLY_MESSAGES: REPLY_KEYS,
    TaskType.SYNC_ORDERS: {"max_orders": Number(1, 1000, 200)},
    TaskType.UPDATE_STOCK: {},
}
OTHER_KEYS = {
    TaskType.REPLY_COMMENTS: ("templates",),
    TaskType.REPLY_MESSAGES: ("templates",),
    TaskType.SYNC_ORDERS: (),
    TaskType.UPDATE_STOCK: ("items",),
}


def config_errors(task_type: str, config: Any) -> list[tuple[str, str]]:
    """Every problem of `config` for `task_type`, as (key, sentence in Portuguese)."""
    if not isinstance(config, dict):
        return [("config", "deve ser um objeto JSON")]
    known = (*NUMBERS[task_type], *OTHER_KEYS[task_type])
    errors = [
        (key, f"chave desconhecida para {task_type}; as válidas são: {', '.join(known) or 'nenhuma'}")
        for key in config if key not in known
    ]
    for key, rule in NUMBERS[task_type].items():
        if key in config and (problem := rule.problem(config[key])):
            errors.append((key, problem))
    if "templates" in config:
        errors += [("templates", problem) for problem in _templates_problems(config["templates"])]
    if task_type in (TaskType.REPLY_COMMENTS, TaskType.REPLY_MESSAGES) and not errors:
        errors += _pace_problems(config_with_defaults(task_type, config))
    if task_type == TaskType.UPDATE_STOCK:
        errors += [("items", problem) for problem in _items_problems(config.get("items"))]
    return errors


def config_with_defaults(task_type: str, config: dict) -> dict:
    filled = {key: rule.default for key, rule in NUMBERS[task_type].items() if rule.default is not None}
    filled.update(config)
    return filled


def _pace_problems(config: dict) -> list[tuple[str, str]]:
    """The pauses alone must fit in one job's time limit, or every run would end as a timeout."""
    pauses = (config["max_replies"] - 1) * config["delay_seconds"]
    if pauses < settings.RPA_JOB_TIMEOUT * 0.8:
        return []
    return [("delay_seconds", (
        f"com max_replies {config['max_replies']}, as pausas somam {_n(pauses)} s, perto ou além do tempo "
        f"limite de uma execução ({settings.RPA_JOB_TIMEOUT} s, RPA_JOB_TIMEOUT): diminua delay_seconds "
        "ou max_replies"
    ))]


def _templates_problems(templates: Any) -> list[str]:
    if not isinstance(templates, list) or not templates:
        return ["deve ser uma lista não vazia de textos"]
    if len(templates) > MAX_TEMPLATES:
        return [f"aceita no máximo {MAX_TEMPLATES} modelos (recebidos: {len(templates)})"]
    problems = []
    for number, template in enumerate(templates, start=1):
        if not isinstance(template, str) or not template.strip():
            problems.append(f"o modelo {number} deve ser um texto não vazio")
        elif len(template) > MAX_TEMPLATE_CHARS:
            problems.append(f"o modelo {number} passa de {MAX_TEMPLATE_CHARS} caracteres")
        elif unknown := _unknown_placeholders(template):
            problems.append(
                f"o modelo {number} usa {', '.join('{' + name + '}' for name in unknown)}; "
                f"os marcadores aceitos são {{nome}} e {{produto}}"
            )
    return problems


def _unknown_placeholders(template: str) -> list[str]:
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
    except ValueError:
        return ["(chave mal fechada)"]
    return sorted({field for field in fields if field not in PLACEHOLDERS})


def _items_problems(items: Any) -> list[str]:
    if items is None:
        return ["é obrigatório: a lista de {sku, quantity} a gravar no estoque"]
    if not isinstance(items, list) or not items:
        return ["deve ser uma lista não vazia de {sku, quantity}"]
    if len(items) > MAX_STOCK_ITEMS:
        return [f"aceita no máximo {MAX_STOCK_ITEMS} itens (recebidos: {len(items)})"]
    problems = []
    quantity_rule = Number(0, MAX_QUANTITY, None)
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or set(item) != {"sku", "quantity"}:
            problems.append(f"o item {number} deve ter exatamente as chaves sku e quantity")
            continue
        sku = item["sku"]
        if not isinstance(sku, str) or not sku.strip() or len(sku) > MAX_SKU_CHARS:
            problems.append(f"o sku do item {number} deve ser um texto de 1 a {MAX_SKU_CHARS} caracteres")
        if problem := quantity_rule.problem(item["quantity"]):
            problems.append(f"quantity do item {number} {problem}")
    return problems


def _n(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
