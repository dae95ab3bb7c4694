"""Fixtures for tests against real servers: Soketi (from npm, started here) and python-reverb's
own local server, each test running once per server; and a pusher-js peer. Tests run over the
websockets transport, and those of PICOWS_MODULES over picows too (where it is installed): all
of them twice would add some 45 s to the suite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from reverb import ReverbClient, ReverbConfig
from reverb.api import ApiClient
from reverb.testing import BackgroundServer
from tests.support.soketi import ServerUnderTest, SoketiServer

SERVERS = ["soketi", "local"]
TRANSPORTS = ["websockets", "picows"]
#: The modules that also run over picows: connect, subscribe, receive, client events, close codes,
#: presence, a server restart. (tests/faults and tests/test_tls.py use the default, which is
#: picows when installed; tests/test_transport.py runs both.)
PICOWS_MODULES = frozenset({"test_client_against_servers", "test_restart", "test_pusher_js_peer"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the picows runs of integration tests outside PICOWS_MODULES."""
    keep: list[pytest.Item] = []
    left_out: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        transport = callspec.params.get("transport") if callspec is not None else None
        module = item.path.stem
        integration = "integration" in item.path.parts
        if integration and transport == "picows" and module not in PICOWS_MODULES:
            left_out.append(item)
        else:
            keep.append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = keep


@pytest.fixture(autouse=True, params=TRANSPORTS)
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every client the test makes uses this transport (through ``REVERB_TRANSPORT``)."""
    if request.param == "picows":
        pytest.importorskip("picows")
    monkeypatch.setenv("REVERB_TRANSPORT", request.param)
    return str(request.param)


def new_server(kind: str) -> ServerUnderTest:
    """A stopped server of the given kind."""
    return SoketiServer() if kind == "soketi" else BackgroundServer()


@pytest.fixture(scope="session", params=SERVERS)
def server(request: pytest.FixtureRequest) -> Iterator[ServerUnderTest]:
    """One server of each kind for the session (tests that restart one use their own)."""
    with new_server(request.param) as running:
        yield running


def client_for(server: ServerUnderTest, **settings: Any) -> ReverbClient:
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
async def client(server: ServerUnderTest) -> AsyncIterator[ReverbClient]:
    async with client_for(server) as connected:
        yield connected


async def publish(
    server: ServerUnderTest,
    channel: str,
    event: str,
    data: Any,
    *,
    socket_id: str | None = None,
) -> None:
    """Publish to one channel through ``server``'s HTTP API, as Laravel's broadcaster does."""
    config = ReverbConfig(
        app_id=server.app_id,
        app_key=server.app_key,
        app_secret=server.app_secret,
        host=server.host,
        port=server.port,
        scheme="http",
    )
    async with ApiClient(config) as api:
        await api.trigger([channel], event, data, socket_id=socket_id)
