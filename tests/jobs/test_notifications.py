"""/ws/notifications: who may connect, subscriptions, who sees what, and frames it cannot use.

The whole ASGI application is under test (origin check, authentication, routing, consumer),
with the real Redis channel layer; events come from the producers' own functions.
"""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services as account_services
from jobs import events
from jobs.models import Job
from project import live
from project.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")
HOST = (b"host", b"testserver")


def run(scenario):
    """Drive one websocket scenario (a function returning a coroutine) to its end."""
    async def drive():
        return await scenario()

    async_to_sync(drive)()


def token_for(user) -> str:
    return str(RefreshToken.for_user(user).access_token)


async def connect(path="/ws/notifications", headers=(ORIGIN, HOST), expect_connected=True):
    communicator = WebsocketCommunicator(application, path, headers=list(headers))
    connected, _ = await communicator.connect(timeout=5)
    assert connected is expect_connected
    if connected:
        hello = await communicator.receive_json_from(timeout=5)
        assert hello["type"] == "connection"
    return communicator


async def connect_as(user):
    token = await sync_to_async(token_for)(user)
    return await connect(f"/ws/notifications?token={token}")


async def send(communicator, message) -> dict:
    await communicator.send_json_to(message)
    return await communicator.receive_json_from(timeout=5)


async def next_frames(communicator, count: int) -> list[dict]:
    return [await communicator.receive_json_from(timeout=5) for _ in range(count)]


async def publish(function, *args):
    """Publish as a worker would (the producer is synchronous) and wait until it has left."""
    def produce():
        function(*args)
        live.flush()

    await asyncio.get_running_loop().run_in_executor(None, produce)


def make_job(owner, kind="OI", status=Job.Status.RUNNING, progress=10) -> Job:
    return Job.objects.create(kind=kind, owner=owner, status=status, progress=progress, params={"filtro": "1"})


class TestHandshake:
    def test_without_credentials_the_handshake_is_refused(self):
        run(lambda: connect(expect_connected=False))

    @pytest.mark.parametrize("query", ["token=not-a-jwt", "token=", "ticket=unknown-ticket", "token=a.b.c"])
    def test_a_bad_token_or_ticket_is_refused(self, query):
        run(lambda: connect(f"/ws/notifications?{query}", expect_connected=False))

    def test_a_bad_token_is_refused_even_with_a_good_session(self, alice):
        cookie = session_cookie(alice)
        run(lambda: connect("/ws/notifications?token=forged", headers=(ORIGIN, HOST, cookie), expect_connected=False))

    def test_an_inactive_user_is_refused(self, bob):
        token = token_for(bob)
        bob.is_active = False
        bob.save()
        run(lambda: connect(f"/ws/notifications?token={token}", expect_connected=False))

    def test_a_valid_jwt_in_the_query_string_connects(self, bob):
        async def scenario():
            communicator = await connect_as(bob)
            await communicator.disconnect()

        run(scenario)

    def test_the_staff_session_cookie_connects(self, alice):
        cookie = session_cookie(alice)

        async def scenario():
            communicator = await connect(headers=(ORIGIN, HOST, cookie))
            await communicator.disconnect()

        run(scenario)

    def test_a_ticket_opens_one_connection_only(self, bob):
        ticket, lifetime = account_services.ws_ticket_issue(user=bob)
        assert lifetime > 0

        async def scenario():
            communicator = await connect(f"/ws/notifications?ticket={ticket}")
            await communicator.disconnect()
            await connect(f"/ws/notifications?ticket={ticket}", expect_connected=False)

        run(scenario)

    def test_another_sites_page_is_refused_even_with_a_token(self, bob):
        headers, token = ((b"origin", b"http://evil.example"), HOST), token_for(bob)
        run(lambda: connect(f"/ws/notifications?token={token}", headers=headers, expect_connected=False))


class TestOrigin:
    """The Origin must be the server's own — scheme, host and port — or a trusted origin."""

    @pytest.mark.parametrize(("origin", "host"), [
        ("http://127.0.0.1:9999", "127.0.0.1:8000"),  # another server on the same machine
        ("http://127.0.0.1", "127.0.0.1:8000"),
        ("http://127.0.0.1:8000", "127.0.0.1"),
        ("https://127.0.0.1:8000", "127.0.0.1:8000"),  # the connection is not TLS
        ("http://localhost:8000", "127.0.0.1:8000"),
        ("null", "127.0.0.1:8000"),
        ("http://127.0.0.1:8000", "evil.example:8000"),  # a host that is not ours
    ])
    def test_a_page_of_another_origin_is_refused_even_with_the_staff_session(self, alice, origin, host):
        headers = ((b"origin", origin.encode()), (b"host", host.encode()), session_cookie(alice))
        run(lambda: connect(headers=headers, expect_connected=False))

    def test_without_an_origin_the_handshake_is_refused(self, bob):
        token = token_for(bob)
        run(lambda: connect(f"/ws/notifications?token={token}", headers=(HOST,), expect_connected=False))

    @pytest.mark.parametrize(("origin", "host"), [
        ("http://127.0.0.1:8000", "127.0.0.1:8000"),
        ("http://LOCALHOST:8000", "localhost:8000"),
        ("http://localhost:80", "localhost"),
        ("http://[::1]:8000", "[::1]:8000"),
    ])
    def test_the_servers_own_origin_is_accepted(self, alice, origin, host):
        headers = ((b"origin", origin.encode()), (b"host", host.encode()), session_cookie(alice))

        async def scenario():
            communicator = await connect(headers=headers)
            await communicator.disconnect()

        run(scenario)

    def test_behind_a_tls_proxy_the_https_origin_is_accepted(self, alice, settings):
        settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
        headers = ((b"origin", b"https://testserver"), HOST, (b"x-forwarded-proto", b"https"), session_cookie(alice))

        async def scenario():
            communicator = await connect(headers=headers)
            await communicator.disconnect()
            await connect(headers=headers[:2] + headers[3:], expect_connected=False)

        run(scenario)

    def test_a_trusted_origin_is_accepted_by_scheme_host_and_port(self, alice, settings):
        settings.CSRF_TRUSTED_ORIGINS = ["https://console.example.com", "https://*.ops.example.com:8443"]
        cookie = session_cookie(alice)

        async def scenario():
            for origin in (b"https://console.example.com", b"https://a.ops.example.com:8443"):
                communicator = await connect(headers=((b"origin", origin), HOST, cookie))
                await communicator.disconnect()
            for origin in (b"http://console.example.com", b"https://console.example.com:8443",
                           b"https://a.ops.example.com", b"https://evil-ops.example.com:8443"):
                await connect(headers=((b"origin", origin), HOST, cookie), expect_connected=False)

        run(scenario)


class TestSubscriptions:
    def test_a_subscription_starts_with_the_jobs_state_then_follows_it(self, bob):
        job = make_job(bob, progress=10)

        async def scenario():
            communicator = await connect_as(bob)
            ack, state = await next_frames_after(communicator, {"action": "subscribe", "job_id": str(job.id)}, 2)
            assert ack == {"type": "subscribed", "job_id": str(job.id)}
            assert state == {"type": "job_update", "job_id": str(job.id),
                             "data": {"status": "RUNNING", "progress": 10, "operadora": "OI"}}

            job.progress = 75
            await publish(events.job_log_publish, job, "INFO", "Executando RPA para OI")
            await publish(events.job_update_publish, job)
            log, update = await next_frames(communicator, 2)
            assert log["type"] == "log" and log["job_id"] == str(job.id)
            assert (log["level"], log["message"]) == ("INFO", "Executando RPA para OI")
            assert update == {"type": "job_update", "job_id": str(job.id),
                              "data": {"status": "RUNNING", "progress": 75, "operadora": "OI"}}
            await communicator.disconnect()

        run(scenario)

    def test_after_unsubscribing_nothing_more_arrives(self, bob):
        job = make_job(bob)

        async def scenario():
            communicator = await connect_as(bob)
            await next_frames_after(communicator, {"action": "subscribe", "job_id": str(job.id)}, 2)
            assert await send(communicator, {"action": "unsubscribe", "job_id": str(job.id)}) == {
                "type": "unsubscribed", "job_id": str(job.id)}
            await publish(events.job_update_publish, job)
            assert await communicator.receive_nothing(timeout=0.5)
            await communicator.disconnect()

        run(scenario)

    def test_someone_elses_job_is_not_found(self, bob, charlie):
        job = make_job(charlie)

        async def scenario():
            communicator = await connect_as(bob)
            frame = await send(communicator, {"action": "subscribe", "job_id": str(job.id)})
            assert frame == {"type": "error", "detail": "Job não encontrado", "job_id": str(job.id)}
            await publish(events.job_update_publish, job)
            assert await communicator.receive_nothing(timeout=0.5)
            await communicator.disconnect()

        run(scenario)

    def test_all_jobs_means_the_jobs_one_may_see(self, alice, bob, charlie):
        bobs, charlies = make_job(bob, kind="VIVO"), make_job(charlie, kind="OI")

        async def scenario():
            bob_ws, alice_ws = await connect_as(bob), await connect_as(alice)
            for communicator in (bob_ws, alice_ws):
                assert await send(communicator, {"action": "subscribe", "job_id": "*"}) == {
                    "type": "subscribed", "job_id": "*"}
            await publish(events.job_update_publish, charlies)
            await publish(events.job_update_publish, bobs)
            assert [f["job_id"] for f in await next_frames(alice_ws, 2)] == [str(charlies.id), str(bobs.id)]
            assert (await bob_ws.receive_json_from(timeout=5))["job_id"] == str(bobs.id)
            assert await bob_ws.receive_nothing(timeout=0.5)
            for communicator in (bob_ws, alice_ws):
                await communicator.disconnect()

        run(scenario)

    def test_a_new_job_reaches_all_jobs_subscribers_marked_as_created(self, alice, bob):
        async def scenario():
            communicator = await connect_as(alice)
            await send(communicator, {"action": "subscribe", "job_id": "*"})
            job = await asyncio.get_running_loop().run_in_executor(None, make_job, bob, "SAT", Job.Status.PENDING, 0)
            await publish(events.job_created_publish, job)
            frame = await communicator.receive_json_from(timeout=5)
            assert frame == {"type": "job_update", "job_id": str(job.id), "created": True,
                             "data": {"status": "PENDING", "progress": 0, "operadora": "SAT"}}
            await communicator.disconnect()

        run(scenario)

    def test_one_job_and_all_jobs_together_deliver_each_event_once(self, alice):
        job = make_job(alice)

        async def scenario():
            communicator = await connect_as(alice)
            await next_frames_after(communicator, {"action": "subscribe", "job_id": str(job.id)}, 2)
            await send(communicator, {"action": "subscribe", "job_id": "*"})
            await publish(events.job_update_publish, job)
            assert (await communicator.receive_json_from(timeout=5))["job_id"] == str(job.id)
            assert await communicator.receive_nothing(timeout=0.5)
            # Leaving "*" keeps the single-job subscription.
            await send(communicator, {"action": "unsubscribe", "job_id": "*"})
            await publish(events.job_update_publish, job)
            assert (await communicator.receive_json_from(timeout=5))["job_id"] == str(job.id)
            await communicator.disconnect()

        run(scenario)

    def test_seller_bot_notifications_reach_only_their_user(self, bob, charlie):
        async def scenario():
            bob_ws, charlie_ws = await connect_as(bob), await connect_as(charlie)
            notification = {"type": "bot_task_completed", "payload": {"task_id": 7, "result": "ok"}}
            await publish(live.notify_user, bob.pk, notification)
            assert await bob_ws.receive_json_from(timeout=5) == notification
            assert await charlie_ws.receive_nothing(timeout=0.5)
            # A type the frontends do not know is not passed on.
            await publish(live.notify_user, bob.pk, {"type": "internal_debug", "payload": {}})
            assert await bob_ws.receive_nothing(timeout=0.5)
            for communicator in (bob_ws, charlie_ws):
                await communicator.disconnect()

        run(scenario)


TOO_DEEP = "Mensagem não é um JSON aceito: JSON aninhado demais: o limite é de 32 níveis de listas e objetos."


class TestBadFrames:
    @pytest.mark.parametrize(("frame", "detail"), [
        ("not json", "Mensagem não é um JSON válido."),
        ("[1, 2]", 'Envie um objeto JSON: {"action": "subscribe", "job_id": "…"}.'),
        ('{"action": "dance", "job_id": "*"}', "Ação desconhecida: 'dance'. Use 'subscribe' ou 'unsubscribe'."),
        ('{"job_id": "*"}', "Ação desconhecida: None. Use 'subscribe' ou 'unsubscribe'."),
        ('{"action": "subscribe"}', 'job_id inválido: None. Informe o id (UUID) de um job ou "*".'),
        ('{"action": "subscribe", "job_id": 42}', 'job_id inválido: 42. Informe o id (UUID) de um job ou "*".'),
        ('{"action": "subscribe", "job_id": "job-123"}',
         "job_id inválido: 'job-123'. Informe o id (UUID) de um job ou \"*\"."),
        ('{"action": "subscribe", "job_id": "' + "x" * 5000 + '"}',
         "Mensagem grande demais: o limite é de 4096 caracteres."),
        # Deep enough to exhaust Python's recursion limit, yet under the size limit.
        ("[" * 2000 + "]" * 2000, TOO_DEEP),
        ('{"action": "subscribe", "job_id": "*", "x": ' + "[" * 40 + "]" * 40 + "}", TOO_DEEP),
    ])
    def test_a_bad_frame_gets_an_error_and_the_connection_stays_usable(self, bob, frame, detail):
        job = make_job(bob)

        async def scenario():
            communicator = await connect_as(bob)
            await communicator.send_to(text_data=frame)
            assert await communicator.receive_json_from(timeout=5) == {"type": "error", "detail": detail}
            ack, _ = await next_frames_after(communicator, {"action": "subscribe", "job_id": str(job.id)}, 2)
            assert ack["type"] == "subscribed"
            await communicator.disconnect()

        run(scenario)

    def test_a_binary_frame_gets_an_error(self, bob):
        async def scenario():
            communicator = await connect_as(bob)
            await communicator.send_to(bytes_data=b"\x00\x01")
            assert await communicator.receive_json_from(timeout=5) == {
                "type": "error", "detail": "Envie mensagens de texto em JSON, não binárias."}
            await communicator.disconnect()

        run(scenario)


class TestTicketApi:
    def test_a_signed_in_user_gets_a_ticket(self, bob_api, bob):
        response = bob_api.post("/api/v1/ws-tickets/")
        assert response.status_code == 201
        body = response.json()
        assert body["expires_in"] == 30 and len(body["ticket"]) >= 40
        assert account_services.ws_ticket_redeem(ticket=body["ticket"]) == bob
        assert account_services.ws_ticket_redeem(ticket=body["ticket"]) is None

    def test_without_credentials_no_ticket(self, client):
        response = client.post("/api/v1/ws-tickets/")
        assert response.status_code == 401


async def next_frames_after(communicator, message: dict, count: int) -> list[dict]:
    await communicator.send_json_to(message)
    return await next_frames(communicator, count)


def session_cookie(user) -> tuple[bytes, bytes]:
    browser = Client()
    browser.force_login(user)
    return b"cookie", f"sessionid={browser.cookies['sessionid'].value}".encode()

