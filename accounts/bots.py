"""The verbs of bot credentials: create, rotate, disable, authenticate, and the throttle of failed
attempts. A token reads `cbot_<bot_id>_<secret>`: it names its bot, so a bearer token alone can be
looked up, and it has no dots, so it is never mistaken for a JWT (three dot-separated parts)."""

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError

from accounts.models import BOT_SCOPES, Bot, User
from jobs.queues import redis_connection

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "cbot_"
BOT_ID_RE = re.compile(r"^[0-9a-f]{16}$")
TOKEN_RE = re.compile(r"^cbot_(?P<bot_id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})$")
LAST_SEEN_EVERY = timedelta(minutes=1)
# Compared against when the bot id is unknown, so that both answers take the same work.
_DUMMY_HASH = hashlib.sha256(b"no such bot").hexdigest()


class BotAuthError(Exception):
    """A refused bot credential. `category` is machine-readable; the message is for the bot's owner."""

    status = 401

    def __init__(self, category: str, message: str, *, status: int | None = None, counts: bool = True):
        super().__init__(message)
        self.category = category
        self.message = message
        self.counts = counts  # a failed guess, for the throttle
        if status is not None:
            self.status = status


class BotAuthThrottled(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"Muitas tentativas de autenticação sem sucesso. Tente de novo em {retry_after} s.")
        self.retry_after = retry_after


class BotScopeError(ValueError):
    pass


@dataclass(frozen=True)
class IssuedToken:
    bot: Bot
    token: str
    previous_token_valid_until: datetime | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token(bot_id: str) -> str:
    return f"{TOKEN_PREFIX}{bot_id}_{secrets.token_urlsafe(32)}"


def bot_scopes_clean(scopes) -> list[str]:
    """The scopes in a fixed order; BotScopeError names the unknown ones and the valid ones."""
    if isinstance(scopes, str):
        scopes = [s for s in (part.strip() for part in scopes.split(",")) if s]
    unknown = sorted(set(scopes) - set(BOT_SCOPES))
    if unknown:
        raise BotScopeError(
            f"Escopo(s) desconhecido(s): {', '.join(unknown)}. Escopos válidos: {', '.join(BOT_SCOPES)}."
        )
    return [scope for scope in BOT_SCOPES if scope in scopes]


def bot_create(*, name: str, scopes, owner: User | None = None, team: str = "") -> IssuedToken:
    """Create a bot; the returned token is the only copy there will ever be."""
    clean = bot_scopes_clean(scopes)
    name = name.strip()
    if not name:
        raise ValueError("O nome do bot não pode ser vazio.")
    bot_id = secrets.token_hex(8)
    token = _new_token(bot_id)
    bot = Bot.objects.create(bot_id=bot_id, name=name[:100], owner=owner, team=team, scopes=clean,
                             token_hash=_hash(token))
    return IssuedToken(bot=bot, token=token)


def bot_rotate(*, bot: Bot) -> IssuedToken:
    """Issue a new token; the current one keeps working for BOT_TOKEN_ROTATION_GRACE_SECONDS."""
    now = timezone.now()
    token = _new_token(bot.bot_id)
    with transaction.atomic():
        bot = Bot.objects.select_for_update().get(pk=bot.pk)
        bot.previous_token_hash = bot.token_hash
        bot.previous_token_expires_at = now + timedelta(seconds=settings.BOT_TOKEN_ROTATION_GRACE_SECONDS)
        bot.token_hash = _hash(token)
        bot.token_rotated_at = now
        bot.save(update_fields=["previous_token_hash", "previous_token_expires_at", "token_hash",
                                "token_rotated_at", "updated_at"])
    return IssuedToken(bot=bot, token=token, previous_token_valid_until=bot.previous_token_expires_at)


def bot_disable(*, bot: Bot) -> Bot:
    bot.is_active = False
    bot.save(update_fields=["is_active", "updated_at"])
    return bot


def bot_token_bot_id(token: str) -> str | None:
    match = TOKEN_RE.match(token)
    return match["bot_id"] if match else None


def bot_authenticate(*, bot_id: str | None, token: str, address: str | None) -> Bot:
    """The bot these credentials belong to, or BotAuthError saying what is wrong (an unknown bot
    and a wrong token get the same answer). BotAuthThrottled while too many failures came for
    this bot id or from this address; a failure counts, a success does not."""
    embedded = bot_token_bot_id(token)
    bot_id = bot_id or embedded
    keys = _throttle_keys(bot_id=bot_id if bot_id and BOT_ID_RE.match(bot_id) else None, address=address)
    _throttle_check(keys)
    try:
        bot = _authenticate(bot_id=bot_id, embedded=embedded, token=token)
    except BotAuthError as error:
        if error.counts:
            _throttle_count(keys)
        raise
    bot_seen(bot=bot, address=address)
    return bot


def _authenticate(*, bot_id: str | None, embedded: str | None, token: str) -> Bot:
    if embedded is None or not bot_id or not BOT_ID_RE.match(bot_id):
        raise BotAuthError("malformed", "Credencial de bot malformada: o token tem a forma "
                                        "cbot_<id do bot>_<segredo> e o x-bot-id, 16 caracteres hexadecimais.")
    bot = Bot.objects.filter(bot_id=bot_id).first() if embedded == bot_id else None
    given = _hash(token)
    current = hmac.compare_digest(given, bot.token_hash if bot else _DUMMY_HASH)
    previous = bool(bot and bot.previous_token_hash) and hmac.compare_digest(given, bot.previous_token_hash)
    if bot is None or not (current or previous):
        raise BotAuthError("invalid", "Bot ou token inválido.")
    if previous and not current:
        expires = bot.previous_token_expires_at
        if expires is None or expires <= timezone.now():
            raise BotAuthError(
                "token_expired",
                "Este token foi substituído e seu período de carência terminou"
                + (f" em {timezone.localtime(expires):%Y-%m-%d %H:%M %Z}" if expires else "")
                + ". Use o token novo.",
            )
    if not bot.is_active:
        raise BotAuthError("disabled", "Este bot está desativado.", status=403, counts=False)
    return bot


def bot_seen(*, bot: Bot, address: str | None) -> None:
    """Record when and from where the bot last called, at most once a minute."""
    now = timezone.now()
    if bot.last_seen_at and now - bot.last_seen_at < LAST_SEEN_EVERY:
        return
    # Conditional, so that concurrent requests of one bot write once.
    Bot.objects.filter(pk=bot.pk).filter(
        Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=now - LAST_SEEN_EVERY)
    ).update(last_seen_at=now, last_seen_address=address)
    bot.last_seen_at, bot.last_seen_address = now, address


def _throttle_keys(*, bot_id: str | None, address: str | None) -> list[str]:
    keys = []
    if bot_id:
        keys.append(f"bot-auth-failures:bot:{bot_id}")
    if address:
        keys.append(f"bot-auth-failures:addr:{address}")
    return keys


def _throttle_check(keys: list[str]) -> None:
    if not keys:
        return
    try:
        redis = redis_connection()
        pipe = redis.pipeline()
        for key in keys:
            pipe.get(key)
            pipe.ttl(key)
        values = pipe.execute()
    except RedisError:
        logger.warning("Bot authentication throttle skipped: Redis unavailable", exc_info=True)
        return
    for count, ttl in zip(values[::2], values[1::2], strict=True):
        if count is not None and int(count) >= settings.BOT_AUTH_FAILURE_LIMIT:
            raise BotAuthThrottled(retry_after=max(1, int(ttl)) if ttl and ttl > 0 else 1)


def _throttle_count(keys: list[str]) -> None:
    """One more failure; the window starts at the first failure (a fixed window per key)."""
    try:
        pipe = redis_connection().pipeline()
        for key in keys:
            pipe.set(key, 0, ex=settings.BOT_AUTH_FAILURE_WINDOW_SECONDS, nx=True)
            pipe.incr(key)
        pipe.execute()
    except RedisError:
        logger.warning("Bot authentication failure not counted: Redis unavailable", exc_info=True)
