"""The price in force at a moment, and what a record costs at that price (USD)."""

from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from accounts.models import ModelPrice

MILLION = Decimal(1_000_000)


class PriceBook:
    """The prices of a few models, loaded once for a batch or a recomputation."""

    def __init__(self, prices: Iterable[ModelPrice]):
        self._by_model: dict[str, list[ModelPrice]] = {}
        for price in sorted(prices, key=lambda p: (p.model, p.valid_from)):
            self._by_model.setdefault(price.model, []).append(price)
        self._starts = {model: [p.valid_from for p in rows] for model, rows in self._by_model.items()}

    @classmethod
    def for_models(cls, models: Iterable[str]) -> "PriceBook":
        return cls(ModelPrice.objects.filter(model__in=set(models)))

    def at(self, model: str, moment: datetime) -> ModelPrice | None:
        """The price of `model` in force at `moment`: the latest that started at or before it."""
        starts = self._starts.get(model)
        if not starts:
            return None
        position = bisect_right(starts, moment)
        return self._by_model[model][position - 1] if position else None


def usage_cost(price: ModelPrice, *, prompt_tokens: int, completion_tokens: int, cached_tokens: int,
               reasoning_tokens: int) -> Decimal:
    """Cached tokens are part of the prompt and reasoning tokens part of the completion, each at
    its own price (the ordinary one when it has none)."""
    cached_price = price.cached_input_per_million if price.cached_input_per_million is not None \
        else price.input_per_million
    reasoning_price = price.reasoning_per_million if price.reasoning_per_million is not None \
        else price.output_per_million
    total = (
        (prompt_tokens - cached_tokens) * price.input_per_million
        + cached_tokens * cached_price
        + (completion_tokens - reasoning_tokens) * price.output_per_million
        + reasoning_tokens * reasoning_price
    )
    return (total / MILLION).quantize(Decimal("0.0000000001"))
