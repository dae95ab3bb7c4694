"""private-encrypted- channels on real servers (Soketi and the local server): events encrypted by
the official ``pusher`` SDK and by ApiClient are decrypted identically by python-reverb and by
pusher-js; a wrong key is reported, never delivered; a stale key is refreshed once."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator, Mapping
from typing import Any

import pusher
import pytest

from reverb import (
    Authenticator,
    Authorization,
    DecryptionError,
    EncryptedChannel,
    Event,
    ReverbError,
)
from reverb.api import ApiClient
from reverb.http_auth import HttpAuthenticator
from reverb.protocol.signing import channel_shared_secret
from reverb.testing import BackgroundServer
from tests.integration.conftest import SERVERS, client_for
from tests.support.peer import PusherJsPeer
from tests.support.soketi import ServerUnderTest, SoketiServer

pytestmark = pytest.mark.integration

MASTER = bytes(range(32))
MASTER_B64 = base64.b64encode(MASTER).decode()
OTHER_MASTER_B64 = base64.b64encode(b"o" * 32).decode()
PAYLOAD = {"id": 42, "note": "héllo ✓", "items": [1, 2.5, None, True]}


def shared_secret(channel: str, master: bytes = MASTER) -> str:
    return base64.b64encode(channel_shared_secret(channel, master)).decode()


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest) -> Iterator[ServerUnderTest]:
    """Each server with a numeric app id, which the official SDK insists on."""
    running: ServerUnderTest
    if request.param == "soketi":
        running = SoketiServer(app_id="424242")
    else:
        running = BackgroundServer(app_id="424242")
    with running:
        yield running


def sdk_for(server: ServerUnderTest) -> pusher.Pusher:
    return pusher.Pusher(
        app_id=server.app_id,
        key=server.app_key,
        secret=server.app_secret,
        host=server.host,
        port=server.port,
        ssl=False,
        encryption_master_key_base64=MASTER_B64,
    )


async def start_peer(server: ServerUnderTest) -> PusherJsPeer:
    return await PusherJsPeer.start(server.host, server.port, server.app_key, server.app_secret)


async def next_event(queue: asyncio.Queue[Event]) -> Event:
    async with asyncio.timeout(5):
        return await queue.get()


class RotatingKeys:
    """Signs like the app would, handing out the given shared secrets in turn (the last one
    repeats)."""

    def __init__(self, server: ServerUnderTest, *secrets: str) -> None:
        self.signer = Authenticator(server.app_key, server.app_secret)
        self.secrets = list(secrets)
        self.calls = 0

    def authenticate(
        self, socket_id: str, channel_name: str, user_data: Mapping[str, Any] | None = None
    ) -> Authorization:
        self.calls += 1
        result = self.signer.authenticate(socket_id, channel_name)
        result["shared_secret"] = self.secrets.pop(0) if len(self.secrets) > 1 else self.secrets[0]
        return result


async def test_sdk_encrypted_events_decrypt_identically_in_python_and_pusher_js(
    server: ServerUnderTest,
) -> None:
    channel_name = "private-encrypted-sdk.1"
    async with await start_peer(server) as peer:
        assert (await peer.subscribe_encrypted(channel_name, shared_secret(channel_name)))["ok"]
        async with client_for(server, encryption_master_key_base64=MASTER_B64) as client:
            channel = await client.subscribe(channel_name)
            assert isinstance(channel, EncryptedChannel)
            heard: asyncio.Queue[Event] = asyncio.Queue()
            channel.bind("OrderShipped", heard.put_nowait)
            sdk = sdk_for(server)
            await asyncio.to_thread(sdk.trigger, channel_name, "OrderShipped", PAYLOAD)
            from_python = await next_event(heard)
            from_js = await peer.wait_for_event("OrderShipped", channel=channel_name)
            assert from_python.data == from_js["data"] == PAYLOAD
            await asyncio.to_thread(sdk.trigger, channel_name, "Note", "just words")
            note = await peer.wait_for_event("Note", channel=channel_name)
            assert note["data"] == "just words"
            assert client.stats.decryption_errors == 0


async def test_api_client_publishes_encrypted_for_both_clients(server: ServerUnderTest) -> None:
    channel_name = "private-encrypted-api.1"
    async with await start_peer(server) as peer:
        assert (await peer.subscribe_encrypted(channel_name, shared_secret(channel_name)))["ok"]
        async with client_for(server, encryption_master_key_base64=MASTER_B64) as client:
            channel = await client.subscribe(channel_name)
            heard: asyncio.Queue[Event] = asyncio.Queue()
            channel.bind("Published", heard.put_nowait)
            async with ApiClient(client.config) as api:
                await api.trigger(channel_name, "Published", PAYLOAD)
            assert (await next_event(heard)).data == PAYLOAD
            from_js = await peer.wait_for_event("Published", channel=channel_name)
            assert from_js["data"] == PAYLOAD


async def test_a_wrong_master_key_is_reported_and_never_delivered(
    server: ServerUnderTest,
) -> None:
    channel_name = "private-encrypted-wrong.1"
    async with client_for(server, encryption_master_key_base64=OTHER_MASTER_B64) as client:
        channel = await client.subscribe(channel_name)
        delivered: list[Event] = []
        channel.bind("Secret", delivered.append)
        client.bind("Secret", delivered.append)
        errors: asyncio.Queue[ReverbError] = asyncio.Queue()
        client.on_error(errors.put_nowait)
        await asyncio.to_thread(sdk_for(server).trigger, channel_name, "Secret", PAYLOAD)
        async with asyncio.timeout(5):
            error = await errors.get()
        assert isinstance(error, DecryptionError)
        assert (error.channel, error.event) == (channel_name, "Secret")
        assert client.stats.decryption_errors == 1
        assert delivered == []


async def test_a_stale_key_is_refreshed_once_by_python_and_pusher_js(
    server: ServerUnderTest,
) -> None:
    channel_name = "private-encrypted-rotated.1"
    wrong, right = shared_secret(channel_name, b"o" * 32), shared_secret(channel_name)
    async with await start_peer(server) as peer:
        assert (await peer.subscribe_encrypted(channel_name, wrong, right))["ok"]
        keys = RotatingKeys(server, wrong, right)
        async with client_for(server, authenticator=keys) as client:
            channel = await client.subscribe(channel_name)
            heard: asyncio.Queue[Event] = asyncio.Queue()
            channel.bind("Rotated", heard.put_nowait)
            await asyncio.to_thread(sdk_for(server).trigger, channel_name, "Rotated", PAYLOAD)
            assert (await next_event(heard)).data == PAYLOAD
            assert keys.calls == 2
            assert client.stats.decryption_errors == 0
            from_js = await peer.wait_for_event("Rotated", channel=channel_name)
            assert from_js["data"] == PAYLOAD
            assert await peer.authorizations(channel_name) == 2


async def test_the_key_comes_from_a_laravel_style_auth_endpoint() -> None:
    """No master key in the client: /broadcasting/auth (the local server's stand-in, as a
    Laravel app with encryption_master_key_base64 answers) hands out the shared_secret."""
    channel_name = "private-encrypted-orders.7"
    with BackgroundServer(encryption_master_key_base64=MASTER_B64) as local:
        token = local.issue_token(7, channels=["orders.{id}"])
        authenticator = HttpAuthenticator(local.auth_url, bearer_token=token)
        async with client_for(local, app_secret=None, authenticator=authenticator) as client:
            channel = await client.subscribe(channel_name)
            heard: asyncio.Queue[Event] = asyncio.Queue()
            channel.bind("OrderShipped", heard.put_nowait)
            channel.bind("Again", heard.put_nowait)
            await asyncio.to_thread(local.trigger, channel_name, "OrderShipped", PAYLOAD)
            assert (await next_event(heard)).data == PAYLOAD
            async with await start_peer(local) as peer:
                assert (await peer.subscribe_encrypted(channel_name, shared_secret(channel_name)))[
                    "ok"
                ]
                await asyncio.to_thread(local.trigger, channel_name, "Again", PAYLOAD)
                assert (await next_event(heard)).data == PAYLOAD
                assert (await peer.wait_for_event("Again", channel=channel_name))["data"] == PAYLOAD
        await authenticator.aclose()
