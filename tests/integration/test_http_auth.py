"""HttpAuthenticator against a real HTTP app (a Laravel ``/broadcasting/auth`` look-alike) and
real servers (Soketi and the local server): the servers check every signature the app made."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from reverb import (
    AuthenticationError,
    AuthorizationFailed,
    Event,
    HttpAuthenticator,
    PresenceChannel,
    ReverbClient,
    SignInError,
    SubscriptionError,
)
from reverb.protocol.state import ConnectionState
from reverb.testing import BackgroundServer
from tests.integration.conftest import client_for, new_server, publish
from tests.support.laravel_app import LaravelApp, User
from tests.support.soketi import ServerUnderTest

ALICE = User(1, "Alice")
BOB = User(2, "Bob")


@pytest.fixture
def app(server: ServerUnderTest) -> Iterator[LaravelApp]:
    with LaravelApp(server.app_key, server.app_secret) as running:
        yield running


def http_client(server: ServerUnderTest, auth: HttpAuthenticator, **settings: Any) -> ReverbClient:
    # No app secret: every signature must come from the app.
    return client_for(server, app_secret=None, authenticator=auth, **settings)


async def test_private_and_presence_channels_with_a_bearer_token(
    server: ServerUnderTest, app: LaravelApp
) -> None:
    async with (
        HttpAuthenticator(app.url, bearer_token=app.issue_token(ALICE)) as auth,
        http_client(server, auth) as client,
    ):
        chat = await client.subscribe("private-chat.1")
        received: asyncio.Queue[Event] = asyncio.Queue()
        chat.bind("OrderShipped", received.put_nowait)
        room = await client.subscribe("presence-room.1", user_data={"user_id": "ignored"})
        assert isinstance(room, PresenceChannel)
        assert room.me is not None
        assert room.me.user_id == "1"  # the app decided who the user is
        assert dict(room.members) == {"1": {"id": 1, "name": "Alice"}}
        await publish(server, "private-chat.1", "OrderShipped", {"id": 42})
        assert (await asyncio.wait_for(received.get(), 5)).data == {"id": 42}
    assert {r.form["channel_name"] for r in app.requests} == {"private-chat.1", "presence-room.1"}
    assert all(r.headers["accept"] == "application/json" for r in app.requests)


async def test_channel_data_with_odd_spacing_reaches_the_server_unchanged(
    server: ServerUnderTest, app: LaravelApp
) -> None:
    app.odd_channel_data = True
    async with (
        HttpAuthenticator(app.url, bearer_token=app.issue_token(BOB)) as auth,
        http_client(server, auth) as client,
    ):
        # The signature covers the exact bytes: re-serializing them would be refused.
        room = await client.subscribe("presence-odd.1")
        assert isinstance(room, PresenceChannel)
        assert dict(room.members) == {"2": {"name": "Bob", "id": 2}}


async def test_session_cookie_and_csrf_token(server: ServerUnderTest, app: LaravelApp) -> None:
    session, csrf = app.open_session(ALICE)
    cookies = {"laravel_session": session}
    async with (
        HttpAuthenticator(app.url, cookies=cookies, csrf_token="stale") as stale,
        HttpAuthenticator(app.url, cookies=cookies, csrf_token=csrf) as fresh,
        http_client(server, stale) as client,
    ):
        with pytest.raises(SubscriptionError) as caught:
            await client.subscribe("private-orders")
        assert isinstance(caught.value, AuthorizationFailed)
        assert caught.value.status == 419
        assert "CSRF" in str(caught.value)
        assert "stale" not in str(caught.value)
        assert session not in str(caught.value)
        client._authenticator = fresh
        assert (await client.subscribe("private-orders")).subscribed
    assert app.requests[-1].headers["cookie"] == f"laravel_session={session}"


async def test_rotating_tokens_come_from_the_provider_on_every_authorization(
    server: ServerUnderTest, app: LaravelApp
) -> None:
    issued: list[str] = []

    async def credentials() -> dict[str, str]:
        issued.append(app.issue_token(ALICE, uses=1))  # each token works exactly once
        return {"Authorization": f"Bearer {issued[-1]}"}

    async with (
        HttpAuthenticator(app.url, credentials=credentials) as auth,
        http_client(server, auth) as client,
    ):
        for name in ("private-a", "private-b", "presence-c"):
            assert (await client.subscribe(name)).subscribed
    assert [r.headers["authorization"] for r in app.requests] == [f"Bearer {t}" for t in issued]
    assert len(set(issued)) == 3


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("no credentials", 401, "Unauthenticated."),
        ("used-up token", 401, "not authenticated"),
        ("denied channel", 403, "This action is unauthorized."),
        ("server error", 500, "boom"),
    ],
)
async def test_refusals_fail_the_subscription_and_the_connection_stays_up(
    server: ServerUnderTest, app: LaravelApp, case: str, status: int, words: str
) -> None:
    token = app.issue_token(ALICE)
    url, options, channel = app.url, {}, "private-ok"
    if case == "used-up token":
        options = {"bearer_token": app.issue_token(ALICE, uses=0)}
    elif case == "denied channel":
        app.denied.add("private-ok")
        options = {"bearer_token": token}
    elif case == "server error":
        url, options = app.url_for("500"), {"bearer_token": token}
    async with (
        HttpAuthenticator(url, **options) as failing,  # type: ignore[arg-type]
        HttpAuthenticator(app.url, bearer_token=token) as working,
        http_client(server, failing) as client,
    ):
        with pytest.raises(SubscriptionError) as caught:
            await client.subscribe(channel)
        error = caught.value
        assert isinstance(error, AuthorizationFailed)
        assert isinstance(error.__cause__, AuthenticationError)
        assert error.status == error.__cause__.status == status
        assert words in str(error)
        assert "\n" not in str(error)
        assert len(str(error)) < 400
        assert token not in str(error)  # the 500 page quotes the request headers
        if case == "server error":
            assert "boom (Bearer <hidden>" in str(error)
        assert client.is_connected
        app.denied.clear()
        client._authenticator = working
        assert (await client.subscribe("private-later")).subscribed


async def test_a_redirect_to_another_origin_sends_no_credentials_there(
    server: ServerUnderTest, app: LaravelApp
) -> None:
    token = app.issue_token(ALICE)
    with LaravelApp(server.app_key, server.app_secret) as elsewhere:
        app.redirect_to = f"{elsewhere.origin}/collect"
        async with (
            HttpAuthenticator(app.url_for("redirect"), bearer_token=token, csrf_token="c1") as a,
            http_client(server, a) as client,
        ):
            with pytest.raises(AuthenticationError, match="another origin") as caught:
                await client.subscribe("private-orders")
            assert caught.value.status == 302
            assert client.is_connected
        assert elsewhere.requests == []  # never followed
    assert app.requests[0].headers["authorization"] == f"Bearer {token}"


async def test_a_slow_endpoint_times_out(server: ServerUnderTest, app: LaravelApp) -> None:
    app.latency = 2.0
    url = app.url_for("slow")
    async with (
        HttpAuthenticator(url, bearer_token=app.issue_token(ALICE), timeout=0.3) as auth,
        http_client(server, auth) as client,
    ):
        started = time.monotonic()
        with pytest.raises(AuthenticationError, match=r"did not answer within 0.3 s"):
            await client.subscribe("private-slow")
        assert time.monotonic() - started < 1.5
        assert client.is_connected


class Reconfirmed:
    """Waits until every channel is confirmed again after the next reconnect.

    Events and state changes reach handlers in order, so confirmations queued before the
    reconnect (the first ones) are told apart from those after it.
    """

    def __init__(self, client: ReverbClient, names: list[str]) -> None:
        self.names = set(names)
        self.seen: set[str] = set()
        self.reconnected_at: float | None = None
        self.done = asyncio.Event()
        client.on_state_change(self._state)
        for name in names:
            channel = client.channel(name)
            assert channel is not None
            channel.bind("pusher:subscription_succeeded", self._confirmed)

    def _state(self, previous: ConnectionState, current: ConnectionState) -> None:
        if current is ConnectionState.CONNECTED and self.reconnected_at is None:
            self.reconnected_at = time.monotonic()

    def _confirmed(self, event: Event) -> None:
        if self.reconnected_at is not None and event.channel in self.names:
            self.seen.add(event.channel)
            if self.seen == self.names:
                self.done.set()

    async def wait(self) -> float:
        """Seconds from the reconnect until the last confirmation."""
        await asyncio.wait_for(self.done.wait(), 15)
        assert self.reconnected_at is not None
        return time.monotonic() - self.reconnected_at


@pytest.mark.parametrize("kind", ["soketi", "local"])
async def test_many_channels_are_authorized_concurrently_after_a_reconnect(kind: str) -> None:
    channels, latency = 30, 0.2
    with new_server(kind) as own, LaravelApp(own.app_key, own.app_secret) as app:
        app.latency = latency
        url = app.url_for("slow")
        async with (
            HttpAuthenticator(url, bearer_token=app.issue_token(ALICE), max_concurrency=16) as a,
            http_client(own, a) as client,
        ):
            names = [f"private-many.{i}" for i in range(channels)]
            await asyncio.gather(*(client.subscribe(name) for name in names))
            reconfirmed = Reconfirmed(client, names)
            app.requests.clear()
            own.kill()
            own.start()
            elapsed = await reconfirmed.wait()
        assert len(app.requests) == channels
        # One at a time would take 30 x 0.2 s = 6 s; 16 at once, about 0.4 s.
        assert elapsed < channels * latency / 3, elapsed


async def test_the_local_servers_own_broadcasting_auth_stand_in() -> None:
    with BackgroundServer() as local:
        token = local.issue_token(
            5, channels=["orders.*", "presence-room.{id}"], info={"name": "Eve"}
        )
        async with (
            HttpAuthenticator(local.auth_url, bearer_token=token) as auth,
            http_client(local, auth) as client,
        ):
            assert (await client.subscribe("private-orders.1")).subscribed
            room = await client.subscribe("presence-room.1")
            assert isinstance(room, PresenceChannel)
            assert dict(room.members) == {"5": {"name": "Eve"}}
            with pytest.raises(AuthorizationFailed) as caught:
                await client.subscribe("private-payroll")
            assert caught.value.status == 403
            assert client.is_connected
            # Its /broadcasting/user-auth answers, but Reverb's dialect has no sign-in.
            assert (await auth.authenticate_user(str(client.socket_id)))["user_data"]
            with pytest.raises(SignInError, match="does not support user sign-in"):
                await client.signin()


async def test_no_credential_reaches_any_log_at_debug(
    server: ServerUnderTest, app: LaravelApp, caplog: pytest.LogCaptureFixture
) -> None:
    token, (session, csrf) = app.issue_token(ALICE), app.open_session(BOB)
    app.denied.add("private-denied")
    with caplog.at_level(logging.DEBUG):  # every logger: reverb, httpx, httpcore, websockets
        async with (
            HttpAuthenticator(app.url, bearer_token=token) as bearer,
            HttpAuthenticator(
                app.url, cookies={"laravel_session": session}, csrf_token=csrf
            ) as web,
            HttpAuthenticator(app.url_for("500"), bearer_token=token) as broken,
            http_client(server, bearer) as client,
        ):
            await client.subscribe("private-ok")
            for auth, channel in ((bearer, "private-denied"), (broken, "private-x")):
                client._authenticator = auth
                with pytest.raises(AuthorizationFailed):
                    await client.subscribe(channel)
            client._authenticator = web
            await client.subscribe("presence-web")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "POST http://127.0.0.1" in logged  # DEBUG records were captured
    for secret in (token, session, csrf):
        assert secret not in logged


@pytest.mark.parametrize("kind", ["soketi", "local"])
async def test_single_use_tokens_from_the_provider_survive_a_reconnect(kind: str) -> None:
    with new_server(kind) as own, LaravelApp(own.app_key, own.app_secret) as app:
        issued: list[str] = []

        def credentials() -> dict[str, str]:  # a sync provider; each token works once
            issued.append(app.issue_token(ALICE, uses=1))
            return {"Authorization": f"Bearer {issued[-1]}"}

        async with (
            HttpAuthenticator(app.url, credentials=credentials) as auth,
            http_client(own, auth) as client,
        ):
            names = ["private-a", "presence-b"]
            channels = [await client.subscribe(name) for name in names]
            reconfirmed = Reconfirmed(client, names)
            own.kill()
            own.start()
            await reconfirmed.wait()
            assert all(channel.subscribed for channel in channels)
        assert len(set(issued)) == 4  # two channels, authorized twice, each time a new token
        sent = sorted(r.headers["authorization"] for r in app.requests)  # concurrent: any order
        assert sent == sorted(f"Bearer {t}" for t in issued)
