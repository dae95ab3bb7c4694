"""Fixtures for tests against a real Soketi (from npm, started here) and a pusher-js peer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from reverb import ReverbClient
from tests.support import http_api
from tests.support.soketi import SoketiServer


@pytest.fixture(scope="session")
def soketi() -> Iterator[SoketiServer]:
    """One Soketi for the session (tests that restart it use their own)."""
    with SoketiServer() as server:
        yield server


def client_for(server: SoketiServer, **settings: Any) -> ReverbClient:
    """A client of ``server`` with test-friendly timings."""
    options: dict[str, Any] = {
        "app_key": server.app_key,
        "app_secret": server.app_secret,
        "app_id": server.app_id,
        "host": server.host,
        "port": server.port,
        "scheme": "http",
        "reconnect_delay": 0.1,
        "reconnect_max_delay": 0.5,
        "connect_timeout": 5.0,
        "subscription_timeout": 5.0,
    }
    options.update(settings)
    return ReverbClient(**options)


@pytest.fixture
async def client(soketi: SoketiServer) -> AsyncIterator[ReverbClient]:
    async with client_for(soketi) as connected:
        yield connected


async def publish(
    server: SoketiServer,
    channel: str,
    event: str,
    data: Any,
    *,
    socket_id: str | None = None,
) -> None:
    """Publish to one channel through ``server``'s HTTP API."""
    await http_api.publish(
        base_url=f"http://{server.host}:{server.port}",
        app_id=server.app_id,
        key=server.app_key,
        secret=server.app_secret,
        channels=[channel],
        event=event,
        data=data,
        socket_id=socket_id,
    )
