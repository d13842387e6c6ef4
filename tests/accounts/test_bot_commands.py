"""bot_create, bot_rotate and bot_disable: one JSON line on stdout with --json, errors on stderr."""

import hashlib
import json
import os
import subprocess
import sys
from datetime import datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts import bots
from accounts.models import Bot

BASE_DIR = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_bot_create_prints_one_json_line_and_keeps_only_the_hash(bob):
    out, err = run("bot_create", "Vendas", "--scopes", "usage:write,events:write,status:read",
                   "--owner", "bob", "--json")
    assert out.endswith("\n") and out.count("\n") == 1 and err == ""
    data = json.loads(out)
    assert set(data) == {"bot_id", "token"}
    bot = Bot.objects.get(bot_id=data["bot_id"])
    assert bot.owner == bob and bot.scopes == ["usage:write", "events:write", "status:read"]
    assert bot.token_hash == hashlib.sha256(data["token"].encode()).hexdigest()


def test_bot_create_without_json_says_it_in_a_sentence():
    out, _ = run("bot_create", "Vendas", "--scopes", "status:read")
    assert out.startswith("Bot 'Vendas' created: id ") and "shown only now" in out


def test_bot_create_names_the_valid_scopes_for_an_unknown_one():
    with pytest.raises(CommandError, match="Escopos válidos: usage:write, events:write, status:read"):
        run("bot_create", "Vendas", "--scopes", "usage:write,tudo", "--json")
    assert not Bot.objects.exists()


def test_bot_create_refuses_an_unknown_owner():
    with pytest.raises(CommandError, match="No user named 'ninguem'"):
        run("bot_create", "Vendas", "--scopes", "status:read", "--owner", "ninguem", "--json")


def test_bot_rotate_prints_the_new_token_and_the_end_of_the_grace(settings):
    settings.BOT_TOKEN_ROTATION_GRACE_SECONDS = 3600
    issued = bots.bot_create(name="Vendas", scopes=["status:read"])
    out, err = run("bot_rotate", issued.bot.bot_id, "--json")
    assert out.count("\n") == 1 and err == ""
    data = json.loads(out)
    assert set(data) == {"bot_id", "token", "previous_token_valid_until"}
    bot = Bot.objects.get(pk=issued.bot.pk)
    assert bot.token_hash == hashlib.sha256(data["token"].encode()).hexdigest()
    assert bot.previous_token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    assert datetime.fromisoformat(data["previous_token_valid_until"]) == bot.previous_token_expires_at


def test_bot_disable_prints_active_false():
    issued = bots.bot_create(name="Vendas", scopes=["status:read"])
    out, _ = run("bot_disable", issued.bot.bot_id, "--json")
    assert json.loads(out) == {"bot_id": issued.bot.bot_id, "active": False}
    assert not Bot.objects.get(pk=issued.bot.pk).is_active


@pytest.mark.parametrize("command", ["bot_rotate", "bot_disable"])
def test_an_unknown_bot_id_is_an_error(command):
    with pytest.raises(CommandError, match="No bot with id 'feedfeedfeedfeed'"):
        run(command, "feedfeedfeedfeed", "--json")


def test_manage_py_bot_create_json_prints_exactly_one_json_line(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, capture_output=True, cwd=BASE_DIR)
    result = subprocess.run([*manage, "bot_create", "Vendas", "--scopes", "usage:write,status:read", "--json"],
                            env=env, capture_output=True, text=True, cwd=BASE_DIR)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert len(lines) == 2 and lines[1] == ""
    assert set(json.loads(lines[0])) == {"bot_id", "token"}

    bad = subprocess.run([*manage, "bot_create", "Vendas", "--scopes", "tudo", "--json"],
                         env=env, capture_output=True, text=True, cwd=BASE_DIR)
    assert bad.returncode != 0 and bad.stdout == ""
    assert "Escopos válidos: usage:write, events:write, status:read" in bad.stderr
