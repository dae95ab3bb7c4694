"""private-encrypted- channels against the in-memory FakeServer: keys, decryption, the one
re-authorization, order, the on_error hook, stats, and no ciphertext or key leaking out."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import reverb.channels as channels_module
from reverb import (
    AuthenticationError,
    Authenticator,
    ClientEventError,
    DecryptionError,
    EncryptedChannel,
    Event,
    PrivateChannel,
    ReverbClient,
    ReverbError,
)
from reverb.encryption import encrypt_data
from reverb.protocol.signing import channel_auth, channel_shared_secret
from tests.support.fake_server import FakeServer, fake_client

pytestmark = pytest.mark.usefixtures("receive_path")

SECRET = "fake-s3cr3t-do-not-leak"
MASTER = bytes(range(32))
MASTER_B64 = base64.b64encode(MASTER).decode()
CHANNEL = "private-encrypted-orders"
KEY = channel_shared_secret(CHANNEL, MASTER)
KEY_B64 = base64.b64encode(KEY).decode()
WRONG_B64 = base64.b64encode(b"w" * 32).decode()


def make_client(server: FakeServer, **settings: Any) -> ReverbClient:
    options: dict[str, Any] = {
        "app_secret": SECRET,
        "encryption_master_key_base64": MASTER_B64,
        "_env_file": None,
    }
    return fake_client(server, **{**options, **settings})


def encrypted(data: Any, key: bytes = KEY) -> Any:
    """The decoded ``{"nonce", "ciphertext"}`` object a server relays as the event's data."""
    return json.loads(encrypt_data(data, key))


class KeyServer:
    """An authenticator that signs correctly and hands out the shared secrets it is given, one
    per call (the last one repeats)."""

    def __init__(self, *secrets: str | None, gate: asyncio.Event | None = None) -> None:
        self.secrets = list(secrets)
        self.calls: list[str] = []
        self.gate = gate

    async def authenticate(
        self, socket_id: str, channel_name: str, user_data: Mapping[str, Any] | None = None
    ) -> dict[str, str]:
        self.calls.append(socket_id)
        if self.gate is not None and len(self.calls) > 1:
            await self.gate.wait()
        secret = self.secrets.pop(0) if len(self.secrets) > 1 else self.secrets[0]
        result = {"auth": channel_auth("app-key", SECRET, socket_id, channel_name)}
        if secret is not None:
            result["shared_secret"] = secret
        return result


@pytest.fixture
def server() -> FakeServer:
    return FakeServer(secret=SECRET)


@pytest.fixture
async def client(server: FakeServer) -> AsyncIterator[ReverbClient]:
    async with make_client(server) as connected:
        yield connected


async def collect(queue: asyncio.Queue[Any], count: int) -> list[Any]:
    async with asyncio.timeout(2):
        return [await queue.get() for _ in range(count)]


async def test_subscribing_by_name_decrypts_for_channel_and_client_handlers(
    server: FakeServer, client: ReverbClient
) -> None:
    channel = await client.subscribe(CHANNEL)
    assert isinstance(channel, EncryptedChannel)
    assert isinstance(channel, PrivateChannel)
    (frame,) = server.frames("pusher:subscribe")
    assert set(frame["data"]) == {"channel", "auth"}  # the shared secret stays here
    assert KEY_B64 not in json.dumps(server.frames())
    on_channel: asyncio.Queue[Event] = asyncio.Queue()
    on_client: asyncio.Queue[Event] = asyncio.Queue()
    channel.bind("OrderShipped", on_channel.put_nowait)
    client.bind("OrderShipped", on_client.put_nowait)
    client.bind("Note", on_client.put_nowait)
    server.broadcast(CHANNEL, "OrderShipped", encrypted({"id": 42}))
    server.broadcast(CHANNEL, "Note", encrypted("plain words"))
    assert (await collect(on_channel, 1))[0] == Event("OrderShipped", CHANNEL, {"id": 42})
    seen = await collect(on_client, 2)
    assert [(e.name, e.data) for e in seen] == [
        ("OrderShipped", {"id": 42}),
        ("Note", "plain words"),
    ]
    assert client.stats.decryption_errors == 0
    assert KEY_B64 not in repr(channel)
    assert MASTER_B64 not in repr(client)


async def test_pusher_events_on_the_channel_are_not_decrypted(
    server: FakeServer, client: ReverbClient
) -> None:
    channel = await client.subscribe(CHANNEL)
    seen: asyncio.Queue[Event] = asyncio.Queue()
    channel.bind("pusher:cache_miss", seen.put_nowait)
    server.broadcast(CHANNEL, "pusher:cache_miss", {})
    assert (await collect(seen, 1))[0] == Event("pusher:cache_miss", CHANNEL, {})
    assert client.stats.decryption_errors == 0


async def test_without_a_key_the_subscription_fails_naming_the_setting(
    server: FakeServer,
) -> None:
    async with make_client(server, encryption_master_key_base64=None) as client:
        with pytest.raises(AuthenticationError, match="REVERB_ENCRYPTION_MASTER_KEY_BASE64"):
            await client.subscribe(CHANNEL)
        assert server.frames("pusher:subscribe") == []
        assert client.is_connected


async def test_a_bad_shared_secret_fails_the_subscription_without_showing_it(
    server: FakeServer,
) -> None:
    async with make_client(server, authenticator=KeyServer("c2hvcnQ=")) as client:
        with pytest.raises(AuthenticationError, match="bad shared_secret") as failure:
            await client.subscribe(CHANNEL)
        assert "c2hvcnQ=" not in str(failure.value)


async def test_a_custom_authenticator_supplies_the_key(server: FakeServer) -> None:
    keys = KeyServer(KEY_B64)
    async with make_client(server, encryption_master_key_base64=None, authenticator=keys) as client:
        channel = await client.subscribe(CHANNEL)
        seen: asyncio.Queue[Event] = asyncio.Queue()
        channel.bind("E", seen.put_nowait)
        server.broadcast(CHANNEL, "E", encrypted([1, 2]))
        assert (await collect(seen, 1))[0].data == [1, 2]
        assert keys.calls == [client.socket_id]


async def test_a_stale_key_is_refreshed_once_and_the_event_delivered(server: FakeServer) -> None:
    keys = KeyServer(WRONG_B64, KEY_B64)
    async with make_client(server, authenticator=keys) as client:
        channel = await client.subscribe(CHANNEL)
        seen: asyncio.Queue[Event] = asyncio.Queue()
        channel.bind("E", seen.put_nowait)
        server.broadcast(CHANNEL, "E", encrypted({"n": 1}))
        server.broadcast(CHANNEL, "E", encrypted({"n": 2}))
        assert [e.data for e in await collect(seen, 2)] == [{"n": 1}, {"n": 2}]
        assert keys.calls == [client.socket_id, client.socket_id]  # one re-authorization
        assert client.stats.decryption_errors == 0


async def test_events_behind_a_reauthorization_keep_their_order(server: FakeServer) -> None:
    gate = asyncio.Event()
    keys = KeyServer(WRONG_B64, KEY_B64, gate=gate)
    async with make_client(server, authenticator=keys) as client:
        channel = await client.subscribe(CHANNEL)
        public = await client.subscribe("orders")
        seen: asyncio.Queue[tuple[str | None, Any]] = asyncio.Queue()
        channel.bind("E", lambda e: seen.put_nowait((e.channel, e.data)))
        public.bind("E", lambda e: seen.put_nowait((e.channel, e.data)))
        server.broadcast(CHANNEL, "E", encrypted(1))
        await server.wait_for(lambda: len(keys.calls) == 2)
        server.broadcast(CHANNEL, "E", encrypted(2))
        server.broadcast("orders", "E", 3)
        server.broadcast(CHANNEL, "E", encrypted(4))
        await asyncio.sleep(0.05)
        assert seen.empty()  # everything waits behind the re-authorization
        gate.set()
        assert await collect(seen, 4) == [(CHANNEL, 1), (CHANNEL, 2), ("orders", 3), (CHANNEL, 4)]


async def test_an_event_the_fresh_key_cannot_open_is_withheld_and_reported(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    keys = KeyServer(WRONG_B64)
    async with make_client(server, authenticator=keys) as client:
        channel = await client.subscribe(CHANNEL)
        delivered: list[Event] = []
        errors: asyncio.Queue[ReverbError] = asyncio.Queue()
        channel.bind("E", delivered.append)
        client.bind("E", delivered.append)

        async def on_error(error: ReverbError) -> None:
            await errors.put(error)

        remove = client.on_error(on_error)
        payload = encrypted({"secret": "x"})
        with caplog.at_level(logging.DEBUG):
            server.broadcast(CHANNEL, "E", payload)
            (error,) = await collect(errors, 1)
        assert isinstance(error, DecryptionError)
        assert (error.channel, error.event) == (CHANNEL, "E")
        assert "fresh key" in str(error)
        assert delivered == []
        assert client.stats.decryption_errors == 1
        assert len(keys.calls) == 2
        records = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert any("withheld 'E'" in r.getMessage() for r in records)
        logged = caplog.text + str(error)
        for secret in (payload["ciphertext"], payload["nonce"], WRONG_B64, KEY_B64, MASTER_B64):
            assert secret not in logged

        remove()
        remove()  # twice is harmless
        server.broadcast(CHANNEL, "E", encrypted({"n": 2}))
        await server.wait_for(lambda: client.stats.decryption_errors == 2)
        assert errors.empty()
        assert delivered == []


async def test_error_handlers_are_isolated_and_run_in_order(
    server: FakeServer,
) -> None:
    async with make_client(server, authenticator=KeyServer(WRONG_B64)) as client:
        await client.subscribe(CHANNEL)
        calls: list[str] = []

        def broken(error: ReverbError) -> None:
            calls.append("broken")
            raise RuntimeError("boom")

        client.on_error(broken)
        client.on_error(lambda error: calls.append("second"))
        server.broadcast(CHANNEL, "E", "not encrypted at all")
        await server.wait_for(lambda: len(calls) == 2)
        assert calls == ["broken", "second"]
        assert client.stats.handler_errors == 1
        assert client.stats.decryption_errors == 1
        with pytest.raises(TypeError):
            client.on_error("nope")  # type: ignore[arg-type]


async def test_client_events_are_refused(server: FakeServer, client: ReverbClient) -> None:
    channel = await client.subscribe(CHANNEL)
    with pytest.raises(ClientEventError):
        await channel.trigger("client-typing", {})
    assert server.frames("client-typing") == []


async def test_a_reconnect_authorizes_again_and_keeps_decrypting(
    server: FakeServer, client: ReverbClient
) -> None:
    channel = await client.subscribe(CHANNEL)
    seen: asyncio.Queue[Event] = asyncio.Queue()
    channel.bind("E", seen.put_nowait)
    first = server.current
    first.drop(4200)
    await server.wait_for(
        lambda: server.current is not first and CHANNEL in server.current.channels
    )
    server.broadcast(CHANNEL, "E", encrypted("after"))
    assert (await collect(seen, 1))[0].data == "after"


def test_the_local_authenticator_derives_the_shared_secret() -> None:
    signer = Authenticator("app-key", SECRET, encryption_master_key=MASTER)
    result = signer.authenticate("1.2", CHANNEL)
    assert result["shared_secret"] == KEY_B64
    assert result["auth"] == channel_auth("app-key", SECRET, "1.2", CHANNEL)
    assert "shared_secret" not in signer.authenticate("1.2", "private-orders")
    assert "shared_secret" not in Authenticator("app-key", SECRET).authenticate("1.2", CHANNEL)
    assert MASTER_B64 not in repr(signer)
    assert repr(MASTER) not in repr(signer)
    with pytest.raises(ValueError, match="32 bytes"):
        Authenticator("app-key", SECRET, encryption_master_key=b"short")


def test_the_example_runs() -> None:
    example = Path(__file__).parent.parent / "examples" / "encrypted_channel.py"
    result = subprocess.run(
        [sys.executable, str(example)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "OrderShipped on private-encrypted-orders: {'id': 42}" in result.stdout


async def test_a_reauthorization_that_hangs_is_given_up(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(channels_module, "REAUTHORIZATION_TIMEOUT", 0.1)
    keys = KeyServer(WRONG_B64, KEY_B64, gate=asyncio.Event())  # never opens
    async with make_client(server, authenticator=keys) as client:
        channel = await client.subscribe(CHANNEL)
        public = await client.subscribe("orders")
        seen: asyncio.Queue[Event] = asyncio.Queue()
        channel.bind("E", seen.put_nowait)
        public.bind("E", seen.put_nowait)
        errors: list[ReverbError] = []
        client.on_error(errors.append)
        server.broadcast(CHANNEL, "E", encrypted(1))
        server.broadcast("orders", "E", 2)
        assert [e.data for e in await collect(seen, 1)] == [2]
        assert client.stats.decryption_errors == 1
        assert "no fresh key within 0.1 s" in str(errors[0])
