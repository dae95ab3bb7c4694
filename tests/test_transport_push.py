"""Frames handed to a sink: pushed by picows' frame reader, or read by a recv loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.server import ServerConnection, serve

from reverb.transport import (
    PushTransport,
    Transport,
    TransportClosed,
    TransportOptions,
    connect_websockets,
    deliver_frames,
)


class RecvOnly:
    """A transport with recv() only, as custom transports may be."""

    def __init__(self, frames: list[str], code: int | None) -> None:
        self._frames = frames
        self._code = code
        self.is_open = True

    async def send(self, text: str) -> None: ...

    async def recv(self) -> str:
        await asyncio.sleep(0)
        if not self._frames:
            raise TransportClosed(self._code)
        return self._frames.pop(0)

    async def close(self, code: int = 1000, reason: str = "") -> None: ...

    def abort(self) -> None: ...


async def test_a_transport_without_deliver_is_read_with_recv() -> None:
    transport = RecvOnly(["a", "b", "c"], 4200)
    assert not isinstance(transport, PushTransport)
    seen: list[str | bytes] = []
    assert await deliver_frames(transport, seen.append) == 4200
    assert seen == ["a", "b", "c"]


@pytest.fixture
async def scripted_server() -> AsyncIterator[tuple[str, asyncio.Queue[list[str] | int]]]:
    """A websocket server sending what the test queues: frames, then a close code."""
    script: asyncio.Queue[list[str] | int] = asyncio.Queue()

    async def handler(connection: ServerConnection) -> None:
        while True:
            step = await script.get()
            if isinstance(step, int):
                await connection.close(step)
                return
            for frame in step:
                await connection.send(frame)

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/app/k", script


@pytest.mark.parametrize("transport_name", ["websockets", "picows"])
async def test_every_frame_reaches_the_sink_in_order_then_the_close_code(
    scripted_server: tuple[str, asyncio.Queue[list[str] | int]], transport_name: str
) -> None:
    url, script = scripted_server
    transport: Transport
    if transport_name == "picows":
        pytest.importorskip("picows")
        from reverb.transport.picows import connect_picows

        transport = await connect_picows(url, TransportOptions())
        assert isinstance(transport, PushTransport)
    else:
        transport = await connect_websockets(url, TransportOptions())
    await script.put(["handshake", "queued 1", "queued 2"])
    assert await transport.recv() in ("handshake", b"handshake")
    seen: list[str] = []
    got_three = asyncio.Event()

    def sink(text: str | bytes) -> None:
        seen.append(text.decode() if isinstance(text, bytes) else text)
        if len(seen) == 3:
            got_three.set()

    delivering = asyncio.create_task(deliver_frames(transport, sink))
    await script.put([f"pushed {n}" for n in range(1, 4)])
    await script.put(["last"])
    await script.put(4200)
    async with asyncio.timeout(5):
        assert await delivering == 4200
    assert seen == ["queued 1", "queued 2", "pushed 1", "pushed 2", "pushed 3", "last"]
    assert got_three.is_set()
