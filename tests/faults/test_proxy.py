"""The fault proxy itself, against an echo server, a scripted websocket server and `websockets`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tests.faults.proxy import FaultProxy, close_frame, parse_frame, server_frame, text_frame
from tests.support.soketi import free_port

pytestmark = pytest.mark.faults

QUIET = 0.3
"""How long "nothing arrives" is watched for (a negative check can only hold for a while)."""


@dataclass
class EchoServer:
    """Echoes what it reads; records it, and how each connection ended."""

    port: int = 0
    received: bytearray = field(default_factory=bytearray)
    endings: list[str] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                self.received += data
                writer.write(data)
                await writer.drain()
            self.endings.append("eof")
        except OSError as error:
            self.endings.append(type(error).__name__)
        finally:
            writer.close()
            self.ended.set()


@pytest.fixture
async def echo() -> AsyncIterator[EchoServer]:
    server = EchoServer()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield server


@pytest.fixture
async def proxy(echo: EchoServer) -> AsyncIterator[FaultProxy]:
    async with FaultProxy("127.0.0.1", echo.port) as running:
        yield running


async def open_client(proxy: FaultProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    connection = await asyncio.open_connection(proxy.host, proxy.port)
    await proxy.wait_for_open_pairs(1)
    return connection


async def read_exactly(reader: asyncio.StreamReader, size: int) -> bytes:
    async with asyncio.timeout(5):
        return await reader.readexactly(size)


async def nothing_arrives(reader: asyncio.StreamReader) -> None:
    """Assert that neither data nor an end arrives for a while."""
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(1), QUIET)


async def ends_with_reset(reader: asyncio.StreamReader) -> bytes:
    """Read until the connection ends; assert it was reset; return what came before."""
    got = bytearray()
    with pytest.raises(ConnectionResetError):  # noqa: PT012 - reads until the reset
        async with asyncio.timeout(5):
            while data := await reader.read(65536):
                got += data
    return bytes(got)


# -- plain TCP -----------------------------------------------------------------------------------


async def test_forwards_both_ways_and_counts_pairs(proxy: FaultProxy, echo: EchoServer) -> None:
    reader, writer = await open_client(proxy)
    writer.write(b"hello")
    assert await read_exactly(reader, 5) == b"hello"
    assert proxy.open_pairs == 1
    assert proxy.accepted == 1
    writer.close()
    await proxy.wait_for_open_pairs(0)
    await asyncio.wait_for(echo.ended.wait(), 5)
    assert echo.endings == ["eof"]  # a FIN is passed on as a FIN


async def test_reset_sends_rst_both_ways(proxy: FaultProxy, echo: EchoServer) -> None:
    reader, writer = await open_client(proxy)
    writer.write(b"x")
    assert await read_exactly(reader, 1) == b"x"
    assert proxy.reset() == 1
    assert await ends_with_reset(reader) == b""
    await asyncio.wait_for(echo.ended.wait(), 5)
    assert echo.endings == ["ConnectionResetError"]
    await proxy.wait_for_open_pairs(0)
    writer.close()


async def test_client_reset_is_passed_to_the_server(proxy: FaultProxy, echo: EchoServer) -> None:
    _, writer = await open_client(proxy)
    sock = writer.transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
    await asyncio.wait_for(echo.ended.wait(), 5)
    assert echo.endings == ["ConnectionResetError"]
    await proxy.wait_for_open_pairs(0)


@pytest.mark.parametrize("direction", ["up", "down", "both"])
async def test_black_hole_discards_silently_and_heals(
    proxy: FaultProxy, echo: EchoServer, direction: str
) -> None:
    reader, writer = await open_client(proxy)
    assert proxy.black_hole(direction) == 1  # type: ignore[arg-type]
    writer.write(b"lost")
    await nothing_arrives(reader)  # no data, and no FIN or RST either
    assert bytes(echo.received) == (b"lost" if direction == "down" else b"")
    assert proxy.open_pairs == 1
    assert echo.endings == []
    await proxy.heal()
    writer.write(b"back")
    assert await read_exactly(reader, 4) == b"back"
    writer.close()


async def test_black_hole_spares_new_connections(proxy: FaultProxy) -> None:
    old_reader, old_writer = await open_client(proxy)
    proxy.black_hole("both")
    new_reader, new_writer = await asyncio.open_connection(proxy.host, proxy.port)
    new_writer.write(b"new")
    assert await read_exactly(new_reader, 3) == b"new"
    old_writer.write(b"old")
    await nothing_arrives(old_reader)
    for writer in (old_writer, new_writer):
        writer.close()
    await proxy.wait_for_open_pairs(0)


async def test_latency_delays_each_chunk_in_order(proxy: FaultProxy) -> None:
    reader, writer = await open_client(proxy)
    proxy.set_latency(0.15)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for index in range(5):
        writer.write(b"%d" % index)
        await writer.drain()
    assert await read_exactly(reader, 5) == b"01234"
    elapsed = loop.time() - started
    assert 0.3 <= elapsed < 2.0  # 0.15 s each way, chunks pipelined rather than queued
    await proxy.heal()
    started = loop.time()
    writer.write(b"z")
    assert await read_exactly(reader, 1) == b"z"
    assert loop.time() - started < 0.3
    writer.close()


async def test_throttle_caps_bytes_per_second(proxy: FaultProxy) -> None:
    reader, writer = await open_client(proxy)
    proxy.set_throttle(10_000)
    payload = os.urandom(3_000)
    loop = asyncio.get_running_loop()
    started = loop.time()
    writer.write(payload)
    assert await read_exactly(reader, len(payload)) == payload
    assert loop.time() - started >= 0.28  # 3,000 bytes at 10,000 B/s, at least one way
    writer.close()


@pytest.mark.parametrize("mode", ["reset", "close"])
async def test_refuse_then_heal(proxy: FaultProxy, mode: str) -> None:
    await proxy.refuse(mode)  # type: ignore[arg-type]
    if mode == "reset":
        reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
        assert await ends_with_reset(reader) == b""
        writer.close()
        assert proxy.refused == 1
    else:
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(proxy.host, proxy.port)
    assert proxy.accepted == 0
    await proxy.heal()
    reader, writer = await open_client(proxy)  # same port as before
    writer.write(b"ok")
    assert await read_exactly(reader, 2) == b"ok"
    writer.close()


async def test_stalled_connections_hang_until_healed(proxy: FaultProxy) -> None:
    await proxy.refuse("stall")
    reader, writer = await open_client(proxy)
    writer.write(b"held")
    await nothing_arrives(reader)
    assert proxy.refused == 1
    await proxy.heal()
    writer.write(b"back")
    assert await read_exactly(reader, 4) == b"back"  # what was sent while stalled is gone
    writer.close()
    await proxy.wait_for_open_pairs(0)


async def test_unreachable_target_resets_the_client() -> None:
    async with FaultProxy("127.0.0.1", free_port()) as proxy:
        reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
        assert await ends_with_reset(reader) == b""
        writer.close()
        assert proxy.upstream_failures == 1
        assert proxy.open_pairs == 0


# -- websocket framing ---------------------------------------------------------------------------

REQUEST = (
    b"GET /app/key HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
RESPONSE = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"


def client_frame(text: str, mask: bytes = b"\x01\x02\x03\x04") -> bytes:
    """A masked client text frame."""
    payload = bytes(byte ^ mask[index % 4] for index, byte in enumerate(text.encode()))
    assert len(payload) < 126
    return bytes([0x81, 0x80 | len(payload)]) + mask + payload


@dataclass
class ScriptedServer:
    """Answers the upgrade, then sends what the test tells it to and records what it reads."""

    port: int = 0
    writers: asyncio.Queue[asyncio.StreamWriter] = field(default_factory=asyncio.Queue)
    received: bytearray = field(default_factory=bytearray)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(RESPONSE)
            await writer.drain()
            self.writers.put_nowait(writer)
            while data := await reader.read(65536):
                self.received += data
                self.arrived.set()
        writer.close()


@pytest.fixture
async def scripted() -> AsyncIterator[tuple[ScriptedServer, FaultProxy]]:
    server = ScriptedServer()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    async with listener, FaultProxy("127.0.0.1", server.port) as proxy:
        yield server, proxy


async def upgraded(
    server: ScriptedServer, proxy: FaultProxy
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
    writer.write(REQUEST)
    assert await read_exactly(reader, len(RESPONSE)) == RESPONSE
    server_writer = await asyncio.wait_for(server.writers.get(), 5)
    assert proxy.connections[0].established
    return reader, writer, server_writer


def test_frames_are_built_and_parsed() -> None:
    assert close_frame(4200, "go") == b"\x88\x04\x10\x68go"
    assert text_frame("hi") == b"\x81\x02hi"
    long = server_frame(1, b"a" * 300)
    assert long[:4] == b"\x81\x7e\x01\x2c"
    frame = parse_frame(long + b"tail")
    assert frame is not None
    assert (frame.raw, frame.payload, frame.opcode, frame.fin) == (long, b"a" * 300, 1, True)
    assert parse_frame(long[:-1]) is None
    masked = parse_frame(client_frame('{"a":1}'))
    assert masked is not None
    assert masked.payload == b'{"a":1}'
    huge = parse_frame(b"\x82\x7f" + (70_000).to_bytes(8, "big") + b"b" * 70_000)
    assert huge is not None
    assert len(huge.payload) == 70_000


async def test_injected_close_frame_then_fin(scripted: tuple[ScriptedServer, FaultProxy]) -> None:
    server, proxy = scripted
    reader, writer, _ = await upgraded(server, proxy)
    assert proxy.inject_close(4100, "over capacity") == 1
    expected = close_frame(4100, "over capacity")
    assert await read_exactly(reader, len(expected)) == expected
    assert await asyncio.wait_for(reader.read(1), 5) == b""  # a FIN, as a server closing
    writer.close()
    await proxy.wait_for_open_pairs(0)


async def test_injected_text_never_lands_inside_a_frame(
    scripted: tuple[ScriptedServer, FaultProxy],
) -> None:
    server, proxy = scripted
    reader, writer, server_writer = await upgraded(server, proxy)
    original = text_frame('{"event":"slow","data":"' + "x" * 200 + '"}')
    server_writer.write(original[:10])
    await server_writer.drain()
    await asyncio.sleep(0.05)  # hold: let the first half reach the proxy
    assert proxy.inject_text('{"event":"injected"}') == 1
    server_writer.write(original[10:])
    injected = text_frame('{"event":"injected"}')
    assert await read_exactly(reader, len(injected) + len(original)) == injected + original
    writer.close()


async def test_cut_forwards_part_of_the_next_frame_then_resets(
    scripted: tuple[ScriptedServer, FaultProxy],
) -> None:
    server, proxy = scripted
    reader, writer, server_writer = await upgraded(server, proxy)
    cut = proxy.cut_next_frame(5)
    frame = text_frame('{"event":"cut me"}')
    server_writer.write(frame + text_frame('{"event":"never"}'))
    assert await ends_with_reset(reader) == frame[:5]
    assert cut.done()
    writer.close()
    await proxy.wait_for_open_pairs(0)


async def test_intercepted_subscribe_never_reaches_the_server(
    scripted: tuple[ScriptedServer, FaultProxy],
) -> None:
    server, proxy = scripted
    reader, writer, _ = await upgraded(server, proxy)
    reply = json.dumps({"event": "pusher:error", "data": {"code": 4009}})
    intercepted = proxy.intercept_subscribe("private-x", reply)
    other = client_frame('{"event":"pusher:subscribe","data":{"channel":"other"}}')
    swallowed = client_frame('{"event":"pusher:subscribe","data":{"channel":"private-x"}}')
    writer.write(swallowed + other)
    expected = text_frame(reply)
    assert await read_exactly(reader, len(expected)) == expected
    assert intercepted.done()
    async with asyncio.timeout(5):
        while len(server.received) < len(other):
            server.arrived.clear()
            await server.arrived.wait()
    assert bytes(server.received) == other
    writer.close()


async def test_reset_on_subscribe(scripted: tuple[ScriptedServer, FaultProxy]) -> None:
    server, proxy = scripted
    reader, writer, _ = await upgraded(server, proxy)
    armed = proxy.reset_on_subscribe("presence-x")
    writer.write(client_frame('{"event":"pusher:subscribe","data":{"channel":"presence-x"}}'))
    assert await ends_with_reset(reader) == b""
    assert armed.done()
    assert bytes(server.received) == b""  # the subscribe never reached the server
    writer.close()
    await proxy.wait_for_open_pairs(0)


async def test_nothing_gets_through_a_connection_being_reset(
    scripted: tuple[ScriptedServer, FaultProxy],
) -> None:
    server, proxy = scripted
    reader, writer, server_writer = await upgraded(server, proxy)
    server_writer.write(text_frame("late"))
    await server_writer.drain()
    proxy.reset()
    cut = proxy.cut_next_frame(1)  # armed after the reset: for the next connection
    assert await ends_with_reset(reader) in (b"", text_frame("late"))  # sent before, or never
    writer.close()
    await proxy.wait_for_open_pairs(0)
    assert not cut.done()
    reader, writer, server_writer = await upgraded(server, proxy)
    server_writer.write(text_frame("first"))
    assert await ends_with_reset(reader) == text_frame("first")[:1]
    assert cut.done()
    writer.close()


async def test_a_websockets_client_sees_the_injected_close_code() -> None:
    async def echo(websocket: ServerConnection) -> None:
        async for message in websocket:
            await websocket.send(message)

    async with (
        serve(echo, "127.0.0.1", 0) as server,
        FaultProxy("127.0.0.1", server.sockets[0].getsockname()[1]) as proxy,
    ):
        async with connect(f"ws://{proxy.host}:{proxy.port}/", close_timeout=2) as websocket:
            await websocket.send("ping")
            assert await asyncio.wait_for(websocket.recv(), 5) == "ping"
            proxy.inject_close(4201, "pong not received")
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(websocket.recv(), 5)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4201, "pong not received")
        await proxy.wait_for_open_pairs(0)
