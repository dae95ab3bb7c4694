"""The websockets transport against a real (loopback) websockets server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from reverb import ConnectionError
from reverb.transport import TransportClosed, TransportOptions, connect_websockets
from tests.support.soketi import free_port


async def echo_then_close(ws: ServerConnection) -> None:
    async for raw in ws:
        message = raw if isinstance(raw, str) else raw.decode()
        if message == "close-4200":
            await ws.close(4200, "generic")
            return
        if message == "drop":
            ws.transport.abort()
            return
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


async def test_send_and_receive_text(server: Server) -> None:
    transport = await connect_websockets(url_of(server), TransportOptions())
    await transport.send("hello")
    assert await transport.recv() == "echo:hello"
    assert transport.is_open
    await transport.close()
    assert not transport.is_open


async def test_close_frame_code_is_reported(server: Server) -> None:
    transport = await connect_websockets(url_of(server), TransportOptions())
    await transport.send("close-4200")
    with pytest.raises(TransportClosed) as caught:
        await transport.recv()
    assert caught.value.code == 4200
    assert not transport.is_open
    with pytest.raises(TransportClosed):
        await transport.send("after close")


async def test_dropped_tcp_reports_no_code(server: Server) -> None:
    transport = await connect_websockets(url_of(server), TransportOptions())
    await transport.send("drop")
    with pytest.raises(TransportClosed) as caught:
        await transport.recv()
    assert caught.value.code is None


async def test_abort_ends_the_connection_at_once(server: Server) -> None:
    transport = await connect_websockets(url_of(server), TransportOptions())
    transport.abort()
    with pytest.raises(TransportClosed):
        async with asyncio.timeout(2):
            await transport.recv()


async def test_refused_upgrade_is_a_connection_error(server: Server) -> None:
    with pytest.raises(ConnectionError, match="HTTP 404"):
        await connect_websockets(url_of(server, "/missing/app/key"), TransportOptions())


async def test_nothing_listening_is_a_connection_error() -> None:
    with pytest.raises(ConnectionError, match="could not open"):
        await connect_websockets(f"ws://127.0.0.1:{free_port()}/app/k", TransportOptions())


async def test_extra_headers_reach_the_server() -> None:
    seen: list[Headers] = []

    def record(connection: ServerConnection, request: Request) -> None:
        seen.append(request.headers)

    async with serve(echo_then_close, "127.0.0.1", 0, process_request=record) as running:
        options = TransportOptions(headers={"Origin": "https://app.test"})
        transport = await connect_websockets(url_of(running), options)
        await transport.close()
    assert seen[0]["Origin"] == "https://app.test"
    assert seen[0]["User-Agent"].startswith("python-reverb/")
