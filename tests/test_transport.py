"""Both transports (websockets and the compiled picows) against a loopback websockets server."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator

import pytest
import trustme
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from reverb import ConnectionError, ReverbClient
from reverb.protocol.signing import channel_auth
from reverb.testing import BackgroundServer
from reverb.transport import (
    TransportClosed,
    TransportFactory,
    TransportOptions,
    connect_websockets,
)
from tests.support.http_proxy import HttpConnectProxy, use_proxy
from tests.support.soketi import free_port


def picows_factory() -> TransportFactory:
    pytest.importorskip("picows")
    from reverb.transport.picows import connect_picows

    return connect_picows


@pytest.fixture(params=["websockets", "picows"])
def connect(request: pytest.FixtureRequest) -> TransportFactory:
    """Each transport's factory in turn (picows' is skipped where it is not installed)."""
    return connect_websockets if request.param == "websockets" else picows_factory()


def text(frame: str | bytes) -> str:
    """websockets returns text frames as str, picows as UTF-8 bytes."""
    return frame if isinstance(frame, str) else frame.decode()


async def echo_then_close(ws: ServerConnection) -> None:
    async for raw in ws:
        message = raw if isinstance(raw, str) else raw.decode()
        if message == "close-4200":
            await ws.close(4200, "generic")
            return
        if message == "drop":
            ws.transport.abort()
            return
        if message == "fragmented":
            await ws.send(["frag", "men", "ted"])
            continue
        if message.startswith("flood-"):
            for number in range(int(message.removeprefix("flood-"))):
                await ws.send(f"n{number}")
            continue
        if message == "big":
            await ws.send("x" * 100_000)
            continue
        await ws.send(f"echo:{message}")


def reject_unknown_paths(connection: ServerConnection, request: Request) -> Response | None:
    if request.path.startswith("/missing"):
        return connection.respond(404, "Not found.")
    return None


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve(
        echo_then_close, "127.0.0.1", 0, process_request=reject_unknown_paths
    ) as running:
        yield running


def url_of(server: Server, path: str = "/app/key") -> str:
    host, port = next(iter(server.sockets)).getsockname()[:2]
    return f"ws://{host}:{port}{path}"


async def test_send_and_receive_text(server: Server, connect: TransportFactory) -> None:
    transport = await connect(url_of(server), TransportOptions())
    await transport.send("hello")
    assert text(await transport.recv()) == "echo:hello"
    assert transport.is_open
    await transport.close()
    assert not transport.is_open


async def test_close_frame_code_is_reported(server: Server, connect: TransportFactory) -> None:
    transport = await connect(url_of(server), TransportOptions())
    await transport.send("close-4200")
    with pytest.raises(TransportClosed) as caught:
        await transport.recv()
    assert caught.value.code == 4200
    assert not transport.is_open
    with pytest.raises(TransportClosed):
        await transport.send("after close")


async def test_dropped_tcp_reports_no_code(server: Server, connect: TransportFactory) -> None:
    transport = await connect(url_of(server), TransportOptions())
    await transport.send("drop")
    with pytest.raises(TransportClosed) as caught:
        await transport.recv()
    assert caught.value.code is None


async def test_abort_ends_the_connection_at_once(server: Server, connect: TransportFactory) -> None:
    transport = await connect(url_of(server), TransportOptions())
    transport.abort()
    with pytest.raises(TransportClosed):
        async with asyncio.timeout(2):
            await transport.recv()


async def test_refused_upgrade_is_a_connection_error(
    server: Server, connect: TransportFactory
) -> None:
    with pytest.raises(ConnectionError, match="HTTP 404"):
        await connect(url_of(server, "/missing/app/key"), TransportOptions())


async def test_nothing_listening_is_a_connection_error(connect: TransportFactory) -> None:
    with pytest.raises(ConnectionError, match="could not open"):
        await connect(f"ws://127.0.0.1:{free_port()}/app/k", TransportOptions())


async def test_extra_headers_reach_the_server(connect: TransportFactory) -> None:
    seen: list[Headers] = []

    def record(connection: ServerConnection, request: Request) -> None:
        seen.append(request.headers)

    async with serve(echo_then_close, "127.0.0.1", 0, process_request=record) as running:
        options = TransportOptions(headers={"Origin": "https://app.test"})
        transport = await connect(url_of(running), options)
        await transport.close()
    assert seen[0]["Origin"] == "https://app.test"
    assert seen[0]["User-Agent"].startswith("python-reverb/")


async def test_a_fragmented_message_arrives_whole(
    server: Server, connect: TransportFactory
) -> None:
    transport = await connect(url_of(server), TransportOptions())
    await transport.send("fragmented")
    assert text(await transport.recv()) == "fragmented"
    await transport.close()


async def test_a_flood_arrives_in_order(server: Server, connect: TransportFactory) -> None:
    transport = await connect(url_of(server), TransportOptions())
    await transport.send("flood-10000")  # past picows' read pause threshold
    await asyncio.sleep(0.2)  # let the frames pile up before reading
    for number in range(10_000):
        assert text(await transport.recv()) == f"n{number}"
    await transport.send("after")
    assert text(await transport.recv()) == "echo:after"
    await transport.close()


async def test_a_frame_over_max_size_closes_with_1009(
    server: Server, connect: TransportFactory
) -> None:
    transport = await connect(url_of(server), TransportOptions(max_size=1000))
    await transport.send("big")
    with pytest.raises(TransportClosed):
        async with asyncio.timeout(3):
            await transport.recv()
    assert not transport.is_open


async def test_a_silent_server_times_out_the_open(connect: TransportFactory) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    listener = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        with pytest.raises(ConnectionError, match="timed out"):
            await connect(f"ws://127.0.0.1:{port}/app/k", TransportOptions(open_timeout=0.3))
    finally:
        listener.close()


async def test_close_sends_the_code_to_the_server(connect: TransportFactory) -> None:
    codes: asyncio.Queue[int | None] = asyncio.Queue()

    async def record(ws: ServerConnection) -> None:
        await ws.wait_closed()
        codes.put_nowait(ws.close_code)

    async with serve(record, "127.0.0.1", 0) as running:
        transport = await connect(url_of(running), TransportOptions())
        await transport.close(4000, "bye")
        assert await asyncio.wait_for(codes.get(), 5) == 4000


async def test_wss_with_a_private_ca(connect: TransportFactory) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    async with serve(echo_then_close, "localhost", 0, ssl=server_context) as running:
        port = next(iter(running.sockets)).getsockname()[1]
        url = f"wss://localhost:{port}/app/key"
        with pytest.raises(ConnectionError, match=r"certificate|CERTIFICATE"):
            await connect(url, TransportOptions())
        trusting = ssl.create_default_context()
        ca.configure_trust(trusting)
        transport = await connect(url, TransportOptions(ssl=trusting))
        await transport.send("over tls")
        assert text(await transport.recv()) == "echo:over tls"
        await transport.close()


def tls_pair() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context for ``localhost`` and a client context that trusts it."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    return server_context, client_context


async def test_an_http_proxy_from_the_environment_carries_the_websocket(
    server: Server, connect: TransportFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with HttpConnectProxy() as proxy:
        use_proxy(monkeypatch, proxy.url)
        transport = await connect(url_of(server), TransportOptions())
        await transport.send("through the proxy")
        assert text(await transport.recv()) == "echo:through the proxy"
        await transport.close()
    port = next(iter(server.sockets)).getsockname()[1]
    assert [request.target for request in proxy.requests] == [f"127.0.0.1:{port}"]


async def test_wss_through_a_proxy_with_credentials_in_its_url(
    connect: TransportFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_context, client_context = tls_pair()
    async with (
        serve(echo_then_close, "localhost", 0, ssl=server_context) as running,
        HttpConnectProxy(credentials=("proxy-user", "proxy-pass")) as proxy,
    ):
        use_proxy(monkeypatch, proxy.url)
        port = next(iter(running.sockets)).getsockname()[1]
        transport = await connect(
            f"wss://localhost:{port}/app/key", TransportOptions(ssl=client_context)
        )
        await transport.send("tls in the tunnel")
        assert text(await transport.recv()) == "echo:tls in the tunnel"
        await transport.close()
    (request,) = proxy.requests
    assert request.target == f"localhost:{port}"
    assert request.headers["proxy-authorization"] == "Basic cHJveHktdXNlcjpwcm94eS1wYXNz"


async def test_a_proxy_refusing_the_tunnel_is_a_connection_error(
    server: Server, connect: TransportFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with HttpConnectProxy(credentials=("proxy-user", "proxy-pass")) as proxy:
        use_proxy(monkeypatch, proxy.url.replace("proxy-pass", "wrong"))
        with pytest.raises(ConnectionError, match="407"):
            await connect(url_of(server), TransportOptions(open_timeout=3))
    assert len(proxy.requests) == 1


async def test_no_proxy_goes_around_the_proxy(
    server: Server, connect: TransportFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with HttpConnectProxy() as proxy:
        use_proxy(monkeypatch, proxy.url, no_proxy="127.0.0.1")
        transport = await connect(url_of(server), TransportOptions())
        await transport.send("direct")
        assert text(await transport.recv()) == "echo:direct"
        await transport.close()
    assert proxy.requests == []


@pytest.mark.parametrize("name", ["websockets", "picows"])
async def test_debug_logs_of_either_transport_show_no_signature(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    if name == "picows":
        pytest.importorskip("picows")
    caplog.set_level(logging.DEBUG)
    with BackgroundServer() as server:
        async with ReverbClient(**server.client_settings(), transport=name) as client:
            await client.subscribe("private-logged")
            socket_id = client.socket_id
            assert socket_id is not None
            signature = channel_auth(
                server.app_key, server.app_secret, socket_id, "private-logged"
            ).split(":")[1]
    assert caplog.records
    assert signature not in caplog.text
    assert signature[-20:] not in caplog.text
    assert server.app_secret not in caplog.text
