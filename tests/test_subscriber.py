"""Subscriber: the core's actions carried out, against the in-memory fake server."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from reverb import ReverbClient
from reverb.protocol.signing import channel_auth
from reverb.subscriber import AUTHORIZATION_CONCURRENCY
from tests.support.fake_server import FakeServer

pytestmark = pytest.mark.usefixtures("receive_path")

SECRET = "subscriber-secret"


class GatedAuthenticator:
    """Signs like the local authenticator, but each call waits until the test opens its gate."""

    def __init__(self) -> None:
        self.running = 0
        self.most_at_once = 0
        self.calls: list[tuple[str, str]] = []
        self.gates: dict[str, asyncio.Event] = {}

    def gate(self, channel: str) -> asyncio.Event:
        return self.gates.setdefault(channel, asyncio.Event())

    async def authenticate(
        self, socket_id: str, channel_name: str, user_data: Mapping[str, Any] | None = None
    ) -> dict[str, str]:
        self.calls.append((socket_id, channel_name))
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await self.gate(channel_name).wait()
        finally:
            self.running -= 1
        return {"auth": channel_auth("app-key", SECRET, socket_id, channel_name)}


def client_of(server: FakeServer, authenticator: GatedAuthenticator) -> ReverbClient:
    return ReverbClient(
        app_key="app-key",
        host="127.0.0.1",
        scheme="http",
        authenticator=authenticator,
        transport_factory=server.connect,
        reconnect_delay=0.01,
    )


def subscribes(server: FakeServer) -> list[str]:
    return [frame["data"]["channel"] for frame in server.current.sent]


async def test_authorizations_run_concurrently_bounded_and_are_sent_in_order() -> None:
    server = FakeServer(secret=SECRET)
    authenticator = GatedAuthenticator()
    names = [f"private-c{index}" for index in range(AUTHORIZATION_CONCURRENCY * 2)]
    async with client_of(server, authenticator) as client:
        for name in names:
            authenticator.gate(name).set()
        channels = await asyncio.gather(*(client.subscribe(name) for name in names))
        assert all(channel.subscribed for channel in channels)
        for gate in authenticator.gates.values():
            gate.clear()
        authenticator.most_at_once = 0
        server.current.drop(4200)  # reconnect at once; every channel is authorized again
        await server.wait_for(
            lambda: authenticator.running == AUTHORIZATION_CONCURRENCY and len(server.sockets) == 2
        )
        assert subscribes(server) == []  # the first channel is not authorized yet
        for name in reversed(names):  # answers arrive in the reverse order...
            authenticator.gate(name).set()
            await asyncio.sleep(0)
        await server.wait_for(lambda: all(channel.subscribed for channel in channels))
        assert subscribes(server) == names  # ...and the subscribes still go out in order
        assert authenticator.most_at_once == AUTHORIZATION_CONCURRENCY
        socket_id = client.socket_id
        assert [call for call in authenticator.calls if call[0] == socket_id] == [
            (socket_id, name) for name in names
        ]


async def test_a_slow_authorization_for_a_lost_socket_is_never_sent() -> None:
    server = FakeServer(secret=SECRET)
    authenticator = GatedAuthenticator()
    async with client_of(server, authenticator) as client:
        pending = asyncio.ensure_future(client.subscribe("private-slow"))
        await server.wait_for(lambda: authenticator.running == 1)
        first = server.current
        first.drop(4200)
        await server.wait_for(lambda: len(server.sockets) == 2 and authenticator.running == 2)
        authenticator.gate("private-slow").set()
        channel = await asyncio.wait_for(pending, 2)
        assert channel.subscribed
        assert first.sent == []  # the old socket's authorization was dropped, not sent
        [frame] = server.current.sent
        assert frame["data"]["auth"] == channel_auth(
            "app-key", SECRET, server.current.socket_id, "private-slow"
        )
