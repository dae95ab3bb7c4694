"""User sign-in (``pusher:signin``) against real Soketi with user authentication enabled, and
the clear refusal of the local server in Reverb's dialect (Reverb has no sign-in: 4200)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from reverb import Event, HttpAuthenticator, ReverbClient, SignInError, UserChannel
from reverb.protocol.state import ConnectionState
from reverb.testing import BackgroundServer
from tests.integration.conftest import client_for, publish
from tests.support.laravel_app import LaravelApp, User
from tests.support.soketi import SoketiServer

ALICE = User(1, "Alice")


class SoketiWithUsers(SoketiServer):
    """Soketi with the app's ``enableUserAuthentication`` on (off by default)."""

    def _environment(self) -> dict[str, str]:
        return {**super()._environment(), "SOKETI_DEFAULT_APP_USER_AUTHENTICATION": "true"}


@pytest.fixture(scope="module")
def soketi() -> Iterator[SoketiServer]:
    with SoketiWithUsers() as running:
        yield running


@pytest.fixture
def app(soketi: SoketiServer) -> Iterator[LaravelApp]:
    with LaravelApp(soketi.app_key, soketi.app_secret) as running:
        yield running


async def next_event(queue: asyncio.Queue[Event]) -> Event:
    return await asyncio.wait_for(queue.get(), 5)


async def test_signin_with_the_app_secret_receives_events_sent_to_the_user(
    soketi: SoketiServer,
) -> None:
    async with client_for(soketi) as client:
        user = await client.signin({"id": "7", "name": "Bot"})
        assert isinstance(user, UserChannel)
        assert client.user is user
        assert user.name == "#server-to-user-7"
        assert user.user_id == "7"
        assert user.user_data == {"id": "7", "name": "Bot"}
        assert user.subscribed
        received: asyncio.Queue[Event] = asyncio.Queue()
        user.bind("order-shipped", received.put_nowait)
        await publish(soketi, "#server-to-user-7", "order-shipped", {"id": 42})
        assert (await next_event(received)).data == {"id": 42}
        # Channels still work beside it.
        assert (await client.subscribe("private-orders")).subscribed


async def test_signin_through_the_apps_user_auth_endpoint(
    soketi: SoketiServer, app: LaravelApp
) -> None:
    token = app.issue_token(ALICE)
    async with (
        HttpAuthenticator(app.url, bearer_token=token) as auth,
        client_for(soketi, app_secret=None, authenticator=auth) as client,
    ):
        user = await client.signin()
        assert user.user_id == "1"  # the app decided who the user is
        assert user.user_data == {"id": "1", "name": "Alice"}
        (request,) = app.requests
        assert request.path == "/broadcasting/user-auth"
        assert request.form == {"socket_id": str(client.socket_id)}
        assert request.headers["authorization"] == f"Bearer {token}"


async def test_signin_again_after_a_reconnect_keeps_the_channel_and_handlers() -> None:
    with SoketiWithUsers() as soketi:
        async with client_for(soketi) as client:
            user = await client.signin({"id": "9"})
            received: asyncio.Queue[Event] = asyncio.Queue()
            user.bind("ping", received.put_nowait)
            # Handlers see events and state changes in order: a confirmation counts only
            # after the reconnect (the first one may still be queued).
            reconnected, resubscribed = asyncio.Event(), asyncio.Event()
            user.bind(
                "pusher:subscription_succeeded",
                lambda e: resubscribed.set() if reconnected.is_set() else None,
            )
            client.on_state_change(
                lambda old, new: reconnected.set() if new is ConnectionState.CONNECTED else None
            )
            first_socket = client.socket_id
            soketi.kill()
            soketi.start()
            await asyncio.wait_for(resubscribed.wait(), 15)
            assert client.socket_id != first_socket
            assert client.user is user
            await publish(soketi, "#server-to-user-9", "ping", {"n": 1})
            assert (await next_event(received)).data == {"n": 1}


async def test_a_failing_user_endpoint_is_a_sign_in_error_with_its_cause(
    soketi: SoketiServer, app: LaravelApp
) -> None:
    async with (
        HttpAuthenticator(app.url) as auth,  # no credentials: 401
        client_for(soketi, app_secret=None, authenticator=auth) as client,
    ):
        with pytest.raises(SignInError, match="Unauthenticated") as caught:
            await client.signin()
        assert caught.value.status == 401
        assert caught.value.__cause__ is not None
        assert client.is_connected
        assert client.user is None


async def test_the_local_server_in_reverbs_dialect_refuses_signin_clearly() -> None:
    with BackgroundServer() as local:
        async with client_for(local) as client:
            started = time.monotonic()
            with pytest.raises(SignInError, match="does not support user sign-in") as caught:
                await client.signin({"id": "7"})
            assert caught.value.code == 4200
            assert time.monotonic() - started < 2.0  # recognised, not timed out (5 s)
            assert client.is_connected
            assert (await client.subscribe("orders")).subscribed


async def test_signin_needs_a_way_to_sign(soketi: SoketiServer) -> None:
    async with client_for(soketi, app_secret=None) as client:
        with pytest.raises(SignInError, match="authenticate_user"):
            await client.signin({"id": "7"})
        assert client.is_connected


async def test_signin_before_connecting_is_a_connection_error(soketi: SoketiServer) -> None:
    client: ReverbClient = client_for(soketi)
    with pytest.raises(ConnectionError, match="connect"):
        await client.signin({"id": "7"})
