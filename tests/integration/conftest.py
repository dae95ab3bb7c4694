"""Fixtures for tests against real servers: Soketi (from npm, started here) and python-reverb's
own local server, each test running once per server; and a pusher-js peer. Every test runs over
both transports, websockets and picows (the compiled one of the ``fast`` extra)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from reverb import ReverbClient, ReverbConfig
from reverb.api import ApiClient
from reverb.testing import BackgroundServer
from reverb.transport.websockets import WebsocketsTransport
from tests.support.soketi import ServerUnderTest, SoketiServer

SERVERS = ["soketi", "local"]
TRANSPORTS = ["websockets", "picows"]


@pytest.fixture(autouse=True, params=TRANSPORTS)
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Every client the test makes uses this transport (through ``REVERB_TRANSPORT``).

    The websockets the test's own process opens are counted by kind, so a run that silently
    used the other transport fails (CLI subprocesses inherit the variable).
    """
    if request.param == "picows":
        pytest.importorskip("picows")
        from reverb.transport.picows import PicowsTransport

        kinds: dict[str, type] = {"picows": PicowsTransport, "websockets": WebsocketsTransport}
    else:
        kinds = {"websockets": WebsocketsTransport}
    monkeypatch.setenv("REVERB_TRANSPORT", request.param)
    opened: set[str] = set()
    for name, kind in kinds.items():
        monkeypatch.setattr(kind, "__init__", _counting(vars(kind)["__init__"], name, opened))
    yield str(request.param)
    assert opened <= {request.param}, f"opened {sorted(opened)} in a {request.param} run"


def _counting(init: Callable[..., None], name: str, opened: set[str]) -> Callable[..., None]:
    def counted(self: object, *args: Any, **kwargs: Any) -> None:
        opened.add(name)
        init(self, *args, **kwargs)

    return counted


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


def api_config(server: ServerUnderTest) -> ReverbConfig:
    """Settings for ``server``'s HTTP API (publishing, as the Laravel app does)."""
    return ReverbConfig(
        app_id=server.app_id,
        app_key=server.app_key,
        app_secret=server.app_secret,
        host=server.host,
        port=server.port,
        scheme="http",
    )


async def publish(
    server: ServerUnderTest,
    channel: str,
    event: str,
    data: Any,
    *,
    socket_id: str | None = None,
) -> None:
    """Publish to one channel through ``server``'s HTTP API, as Laravel's broadcaster does."""
    async with ApiClient(api_config(server)) as api:
        await api.trigger([channel], event, data, socket_id=socket_id)
