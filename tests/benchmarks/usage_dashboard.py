"""`make bench`, last part: the usage dashboard at a million usage records (PostgreSQL).

    DATABASE_URL=postgres://… .venv/bin/python -m tests.benchmarks.usage_dashboard [--rows 1000000] [--requests 60]

What it does:

1. Migrates a throw-away PostgreSQL database (`<DATABASE_URL's name>_usagebench`, dropped at the
   end unless --keep) and fills it, in SQL, with --rows TokenUsage records spread over 90 days,
   12 bots and 8 models (6 priced), 20 calls to a conversation (--calls-per-conversation; 1 is the
   worst case for the conversations' rollup: a row per record), then sums the daily rollups from them
   the way the services keep them (accounts.usage.services.usage_rollups_rebuild, one SQL
   aggregate per table here, for speed).
2. Times, through Django's test client in this process (the whole middleware stack, a staff
   session), each page a person opens: the dashboard with its default range (the last 30 days),
   with 90 days, filtered by one bot, by one model; the usage API's first page; and, as the
   baseline, a trivial JSON view (the overview page beside it, for scale). Prints p50 / p95 / max per page and the
   ratio of each p95 to the baseline's. Target: p95 ≤ 150 ms. Nothing is asserted.
"""

import argparse
import os
import statistics
import sys
import time
from urllib.parse import urlsplit, urlunsplit

TARGET_P95_MS = 150.0


def main(argv=None) -> int:
    args = _parse(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        print("usage dashboard benchmark: needs PostgreSQL (DATABASE_URL=postgres://…); skipped.")
        return 0
    parts = urlsplit(url)
    bench_db = parts.path.lstrip("/") + "_usagebench"
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + bench_db))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.benchmarks.settings")
    _create_database(url, bench_db)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        _fill(args.rows, args.calls_per_conversation)
        _measure(args.requests)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _drop_database(url, bench_db)
    return 0


def _fill(rows: int, calls: int) -> None:
    """`calls` consecutive records make one conversation (one bot's chat with a customer), close
    in time; with --calls-per-conversation 1 every record is a conversation-day of its own, the
    worst case for the conversations' rollup."""
    from django.db import connection

    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_tokenusage")
        if cursor.fetchone()[0]:
            print("reusing the records already there (--keep); drop the database for other figures")
            return
    from django.utils import timezone

    from accounts import bots
    from accounts.models import ModelPrice

    # Consecutive records of a conversation lie a few seconds apart; conversations spread over 90 days.
    spread = 7 if calls > 1 else 7777
    bot_pks = [bots.bot_create(name=f"Bot {n:02d}", scopes="usage:write").bot.pk for n in range(12)]
    models = [f"model-{n}" for n in range(8)]
    for model in models[:6]:
        ModelPrice.objects.create(model=model, valid_from=timezone.now() - timezone.timedelta(days=400),
                                  input_per_million="0.5", output_per_million="1.5", cached_input_per_million="0.1")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_tokenusage (bot_id, model, prompt_tokens, completion_tokens, total_tokens,
                cached_tokens, reasoning_tokens, request_id, fingerprint, conversation_id, occurred_at, received_at,
                metadata, cost, price_id)
            SELECT (%s::bigint[])[1 + (i / %s) %% 12], 'model-' || (i %% 8), 1000 + i %% 500, 200 + i %% 300,
                   1200 + i %% 500 + i %% 300, i %% 100, 0, 'req-' || i, md5(i::text),
                   'conv-' || (i / %s), now() - ((i * %s) %% 7776000) * interval '1 second',
                   now() - ((i * %s) %% 7776000) * interval '1 second', '{}'::jsonb,
                   CASE WHEN i %% 8 < 6 THEN ((1000 + i %% 500 - i %% 100) * 0.5 + (i %% 100) * 0.1
                        + (200 + i %% 300) * 1.5) / 1000000 END,
                   NULL
            FROM generate_series(1::bigint, %s) AS i
            """,
            [bot_pks, calls, calls, spread, spread, rows],
        )
        cursor.execute("""
            INSERT INTO accounts_usagedaily (bot_id, model, day, records, prompt_tokens, completion_tokens,
                cached_tokens, reasoning_tokens, total_tokens, cost, unpriced_records)
            SELECT bot_id, model, (occurred_at AT TIME ZONE %s)::date, count(*), sum(prompt_tokens),
                   sum(completion_tokens), sum(cached_tokens), sum(reasoning_tokens), sum(total_tokens),
                   coalesce(sum(cost), 0), count(*) FILTER (WHERE cost IS NULL)
            FROM accounts_tokenusage GROUP BY 1, 2, 3
        """, [connection.timezone_name])
        cursor.execute("""
            INSERT INTO accounts_usageconversationdaily (bot_id, conversation_id, day, records, total_tokens, cost)
            SELECT bot_id, conversation_id, (occurred_at AT TIME ZONE %s)::date, count(*), sum(total_tokens),
                   coalesce(sum(cost), 0)
            FROM accounts_tokenusage WHERE conversation_id <> '' GROUP BY 1, 2, 3
        """, [connection.timezone_name])
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM accounts_usagedaily")
        daily = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM accounts_usageconversationdaily")
        conversations = cursor.fetchone()[0]
    print(f"filled {rows} usage records ({daily} daily rows, {conversations} conversation-day rows) "
          f"in {time.monotonic() - started:.1f} s")


def _measure(requests: int) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.test import Client

    from accounts.models import Bot

    user, _ = get_user_model().objects.get_or_create(username="bench-staff", defaults={"is_staff": True})
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="accounts",
                                                         codename__in=["view_tokenusage", "view_botevent"]))
    client = Client()
    client.force_login(user)
    bot_id = Bot.objects.order_by("pk").values_list("bot_id", flat=True).first()
    pages = [
        ("trivial JSON view (baseline)", "/bench/trivial"),
        ("overview page", "/painel/"),
        ("usage dashboard, last 30 days", "/painel/consumo/"),
        ("usage dashboard, 90 days", "/painel/consumo/?de={start90}"),
        ("usage dashboard, one bot", f"/painel/consumo/?bot={bot_id}"),
        ("usage dashboard, one model", "/painel/consumo/?modelo=model-3"),
        ("its top conversations (fetched after)", "/painel/consumo/?parte=conversas"),
        ("usage API, first page", "/api/v1/usage/"),
    ]
    from django.utils import timezone

    start90 = (timezone.localdate() - timezone.timedelta(days=89)).isoformat()
    print(f"\n{'page':36} {'p50':>9} {'p95':>9} {'max':>9} {'p95 ÷ baseline':>15}")
    baseline = None
    for name, path in pages:
        path = path.format(start90=start90)
        response = client.get(path)
        if response.status_code != 200:
            print(f"{name:36} HTTP {response.status_code} for {path}: skipped")
            continue
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(path)
            _ = response.content
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p50, p95 = statistics.median(times), times[int(len(times) * 0.95) - 1]
        baseline = baseline or p95
        print(f"{name:36} {p50:7.1f}ms {p95:7.1f}ms {times[-1]:7.1f}ms {p95 / baseline:14.1f}×")
    print(f"\ntarget: usage dashboard p95 ≤ {TARGET_P95_MS:.0f} ms at a million records")


def _create_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_admin_url(url), autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def _drop_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_admin_url(url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, choices=range(1000, 5_000_001), metavar="N")
    parser.add_argument("--requests", type=int, default=60, choices=range(5, 1001), metavar="N")
    parser.add_argument("--calls-per-conversation", type=int, default=20, choices=range(1, 1001), metavar="N",
                        help="records per conversation (1: the worst case for the conversations' rollup)")
    parser.add_argument("--keep", action="store_true", help="keep the database for another run")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
