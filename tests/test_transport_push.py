"""Frames handed to a sink: pushed by picows' frame reader, or read by a recv loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

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
from tests.support.waiting import wait_until


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
async def scripted_server() -> AsyncIterator[tuple[str, asyncio.Queue[list[Any] | int]]]:
    """A websocket server sending what the test queues: frames (a text, bytes for a binary
    frame, a tuple of texts for one fragmented message), then a close code."""
    script: asyncio.Queue[list[Any] | int] = asyncio.Queue()

    async def handler(connection: ServerConnection) -> None:
        while True:
            step = await script.get()
            if isinstance(step, int):
                await connection.close(step)
                return
            for frame in step:
                await connection.send(list(frame) if isinstance(frame, tuple) else frame)

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/app/k", script


@pytest.mark.parametrize("transport_name", ["websockets", "picows"])
async def test_every_frame_reaches_the_sink_in_order_then_the_close_code(
    scripted_server: tuple[str, asyncio.Queue[list[Any] | int]], transport_name: str
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


@pytest.mark.parametrize("transport_name", ["websockets", "picows"])
async def test_fragmented_and_binary_messages_reach_the_sink_whole(
    scripted_server: tuple[str, asyncio.Queue[list[Any] | int]],
    transport_name: str,
    receive_path: str,
) -> None:
    """Over picows with the compiled path, whole text frames skip the transport's Python
    ``on_ws_frame``; fragments and binary frames still go through it."""
    url, script = scripted_server
    transport: Any
    if transport_name == "picows":
        pytest.importorskip("picows")
        from reverb.transport.picows import connect_picows

        transport = await connect_picows(url, TransportOptions())
    else:
        transport = await connect_websockets(url, TransportOptions())
    seen: list[bytes] = []
    delivering = asyncio.create_task(
        deliver_frames(
            transport,
            lambda text: seen.append(bytes(text, "utf-8") if isinstance(text, str) else text),
        )
    )
    await script.put(["one", ("frag", "men", "ted"), b"\x00binary", "two"])
    await wait_until(lambda: len(seen) == 4, timeout=5)
    if transport_name == "picows":
        owner = type(transport.on_ws_frame.__self__).__name__
        assert owner == ("PicowsFrames" if receive_path == "compiled" else "PicowsTransport")
    await script.put(4200)
    async with asyncio.timeout(5):
        assert await delivering == 4200
    assert seen == [b"one", b"fragmented", b"\x00binary", b"two"]
    if transport_name == "picows":
        assert transport.on_ws_frame == transport._on_frame  # its own again once delivery ends
