"""reverb.to_others: the X-Socket-ID header for Laravel's toOthers(), from the live client."""

from __future__ import annotations

import httpx
import pytest

from reverb import ReverbClient
from reverb.echo import Echo
from reverb.to_others import (
    HEADER,
    RequestsSocketIdAuth,
    SocketIdAuth,
    httpx_async_hook,
    httpx_hook,
    socket_id_headers,
)
from tests.support.fake_server import FakeServer


class Source:
    """A stand-in client whose socket id the test sets."""

    def __init__(self, socket_id: str | None) -> None:
        self.socket_id = socket_id


def echo_header(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"socket": request.headers.get(HEADER)})


def test_headers_only_while_connected() -> None:
    source = Source(None)
    assert socket_id_headers(source) == {}
    source.socket_id = "123.456"
    assert socket_id_headers(source) == {"X-Socket-ID": "123.456"}
    assert socket_id_headers(lambda: "1.2") == {"X-Socket-ID": "1.2"}
    assert socket_id_headers(lambda: None) == {}


async def test_from_a_live_client_and_echo() -> None:
    server = FakeServer()
    client = ReverbClient(
        app_key="k", host="127.0.0.1", port=1, scheme="http", transport_factory=server.connect
    )
    echo = Echo(client)
    assert socket_id_headers(client) == {}
    assert socket_id_headers(echo) == {}
    async with client:
        assert client.socket_id is not None
        assert socket_id_headers(client) == {HEADER: client.socket_id}
        assert socket_id_headers(echo) == {HEADER: client.socket_id}
        assert socket_id_headers(echo.socket_id) == {HEADER: client.socket_id}


def test_httpx_auth_reads_the_id_on_every_request() -> None:
    source = Source("1.1")
    with httpx.Client(
        transport=httpx.MockTransport(echo_header), auth=SocketIdAuth(source)
    ) as http:
        assert http.get("http://app.test/orders").json() == {"socket": "1.1"}
        source.socket_id = "2.2"  # reconnected
        assert http.post("http://app.test/orders").json() == {"socket": "2.2"}
        source.socket_id = None
        assert http.get("http://app.test/orders").json() == {"socket": None}


async def test_httpx_auth_and_hooks_on_async_clients() -> None:
    source = Source("3.3")
    transport = httpx.MockTransport(echo_header)
    async with httpx.AsyncClient(transport=transport, auth=SocketIdAuth(source)) as http:
        assert (await http.get("http://app.test/")).json() == {"socket": "3.3"}
    hooks = {"request": [httpx_async_hook(source)]}
    async with httpx.AsyncClient(
        transport=transport, event_hooks=hooks, auth=("user", "pass")
    ) as http:
        response = await http.get("http://app.test/")
        assert response.json() == {"socket": "3.3"}
        assert response.request.headers["authorization"].startswith("Basic ")


def test_httpx_sync_hook_keeps_other_auth() -> None:
    source = Source("4.4")
    with httpx.Client(
        transport=httpx.MockTransport(echo_header),
        event_hooks={"request": [httpx_hook(source)]},
        auth=("user", "pass"),
    ) as http:
        response = http.get("http://app.test/")
    assert response.json() == {"socket": "4.4"}
    assert response.request.headers["authorization"].startswith("Basic ")


def test_requests_auth() -> None:
    requests = pytest.importorskip("requests")
    source = Source("5.5")
    request = requests.Request("POST", "http://app.test/orders", auth=RequestsSocketIdAuth(source))
    assert request.prepare().headers[HEADER] == "5.5"
    source.socket_id = None
    assert HEADER not in request.prepare().headers
