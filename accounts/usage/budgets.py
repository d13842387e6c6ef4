"""A bot's monthly budget (calendar month in TIME_ZONE), in tokens or in cost: how much is used,
what is left, and the alerts raised once per month when it passes the warning threshold and when
it passes the limit. Usage over the limit is still recorded: the budget says, it does not drop."""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts import notifications
from accounts.models import Bot, BudgetAlert, BudgetUnit, UsageDaily

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BudgetState:
    unit: str
    budget: Decimal
    used: Decimal
    warning_percent: int

    @property
    def remaining(self) -> Decimal:
        return max(Decimal(0), self.budget - self.used)

    @property
    def over(self) -> bool:
        return self.used >= self.budget

    @property
    def warning(self) -> bool:
        return self.used * 100 >= self.budget * self.warning_percent

    def remaining_text(self) -> str:
        """For the X-Budget-Remaining header: whole tokens, or USD with six decimals."""
        if self.unit == BudgetUnit.TOKENS:
            return str(int(self.remaining))
        return f"{self.remaining:.6f}"

    def as_dict(self) -> dict:
        return {
            "unit": self.unit, "monthly": _number(self.budget, self.unit), "used": _number(self.used, self.unit),
            "remaining": _number(self.remaining, self.unit), "warning_percent": self.warning_percent,
            "warning": self.warning, "over_budget": self.over,
        }


def month_start(moment: datetime | None = None) -> date:
    return timezone.localdate(moment or timezone.now()).replace(day=1)


def month_after(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def budget_state(*, bot: Bot, month: date | None = None) -> BudgetState | None:
    """The bot's budget this month (or `month`), None when it has none."""
    if not bot.has_budget:
        return None
    month = month or month_start()
    next_month = month_after(month)
    field = "total_tokens" if bot.budget_unit == BudgetUnit.TOKENS else "cost"
    used = UsageDaily.objects.filter(bot=bot, day__gte=month, day__lt=next_month).aggregate(v=Sum(field))["v"]
    return BudgetState(unit=bot.budget_unit, budget=Decimal(bot.monthly_budget), used=Decimal(used or 0),
                       warning_percent=bot.budget_warning_percent)


def budget_check(*, bot: Bot) -> BudgetState | None:
    """The bot's budget after new usage; raise this month's alerts it has earned and not had.
    Call it inside the transaction that recorded the usage: alerts go out once it commits."""
    state = budget_state(bot=bot)
    if state is None:
        return None
    levels = [level for level, reached in ((BudgetAlert.Level.WARNING, state.warning),
                                           (BudgetAlert.Level.EXCEEDED, state.over)) if reached]
    for level in levels:
        if _alert_raise(bot=bot, level=level, state=state):
            logger.warning("bot %s passed its monthly budget %s: %s of %s %s", bot.bot_id, level,
                           state.used, state.budget, state.unit)
    return state


def _alert_raise(*, bot: Bot, level: str, state: BudgetState) -> bool:
    month = month_start()
    if BudgetAlert.objects.filter(bot=bot, month=month, level=level).exists():
        return False
    try:
        with transaction.atomic():
            alert = BudgetAlert.objects.create(bot=bot, month=month, level=level, used=state.used,
                                               budget=state.budget, unit=state.unit)
    except IntegrityError:  # a concurrent request raised it first
        return False
    transaction.on_commit(lambda: notifications.budget_alert_publish(alert))
    return True


def _number(value: Decimal, unit: str):
    return int(value) if unit == BudgetUnit.TOKENS else str(value.quantize(Decimal("0.000001")))

