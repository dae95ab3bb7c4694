"""A TCP fault proxy for tests, on asyncio streams.

``FaultProxy(target_host, target_port)`` listens on a free loopback port and forwards each
connection to the target (a real Soketi, or the local server). A test then breaks the network
between a client and that server the ways that matter to a websocket client:

- :meth:`FaultProxy.reset`: drop every current connection with a TCP RST (SO_LINGER 0, close);
- :meth:`FaultProxy.black_hole`: on current connections, silently discard what one direction
  or both carry (half-open: the sockets stay open, no FIN, no RST is sent by the proxy);
- :meth:`FaultProxy.set_latency`, :meth:`FaultProxy.set_throttle`: delay every chunk (order
  kept), or cap the bytes per second, in both directions;
- :meth:`FaultProxy.cut_next_frame`: forward only the first bytes of the next server→client
  frame, then reset;
- :meth:`FaultProxy.refuse`: refuse new connections (accept and RST at once, close the
  listener, or accept and forward nothing);
- :meth:`FaultProxy.inject_close`, :meth:`FaultProxy.inject_text`: send the client a WebSocket
  close frame with a code (then drop both sides), or a text frame, as if the server had;
- :meth:`FaultProxy.intercept_subscribe`: swallow the client's next ``pusher:subscribe`` of a
  channel and answer it with a given frame instead; :meth:`FaultProxy.reset_on_subscribe`:
  reset the connection on it;
- :meth:`FaultProxy.heal`: forward normally again.

It knows just enough WebSocket to do this: it forwards the HTTP upgrade as it comes and then
whole frames, so injected frames never land inside another one. It also keeps the TCP life
cycle observable: when one side closes (FIN) or resets, the other side is closed or reset too,
black hole or not, so a test can count open connection pairs (:attr:`FaultProxy.open_pairs`)
and see that nothing leaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Literal

from tests.faults.signals import Signal

__all__ = [
    "Direction",
    "FaultProxy",
    "Frame",
    "ProxyConnection",
    "RefuseMode",
    "close_frame",
    "server_frame",
    "text_frame",
]

Direction = Literal["up", "down", "both"]
"""``up`` is client→server, ``down`` server→client."""

RefuseMode = Literal["reset", "close", "stall"]
"""``reset``: accept new connections and reset them at once; ``close``: stop listening;
``stall``: accept them and forward nothing either way (they hang until a side gives up)."""

READ_SIZE = 64 * 1024
EOF_LINGER = 3.0
"""Seconds a connection may stay half-closed (one side ended) before the proxy closes it."""
_LINGER_ZERO = struct.pack("ii", 1, 0)
_HEAD_END = b"\r\n\r\n"
_MAX_HEAD = 64 * 1024

OPCODE_TEXT = 0x1
OPCODE_CLOSE = 0x8


def server_frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked (server→client) WebSocket frame with FIN set."""
    header = bytearray([0x80 | opcode])
    length = len(payload)
    if length < 126:
        header.append(length)
    elif length < 1 << 16:
        header.append(126)
        header += length.to_bytes(2, "big")
    else:
        header.append(127)
        header += length.to_bytes(8, "big")
    return bytes(header) + payload


def close_frame(code: int, reason: str = "") -> bytes:
    """A server close frame: ``0x88``, length, the 2-byte code, the UTF-8 reason."""
    return server_frame(OPCODE_CLOSE, code.to_bytes(2, "big") + reason.encode())


def text_frame(text: str) -> bytes:
    """A server text frame."""
    return server_frame(OPCODE_TEXT, text.encode())


@dataclass(frozen=True, slots=True)
class Frame:
    """One whole WebSocket frame as it crossed the proxy.

    Attributes:
        raw: the frame's bytes, header included.
        opcode: 1 text, 2 binary, 8 close, 9 ping, 10 pong, 0 continuation.
        fin: whether it ends a message.
        payload_offset: where the payload starts in ``raw``.
        mask: the masking key of a client frame, ``None`` for a server frame.
    """

    raw: bytes
    opcode: int
    fin: bool
    payload_offset: int
    mask: bytes | None

    @property
    def payload(self) -> bytes:
        """The unmasked payload."""
        data = self.raw[self.payload_offset :]
        if self.mask is None:
            return data
        mask = self.mask
        return bytes(byte ^ mask[index % 4] for index, byte in enumerate(data))


def parse_frame(buffer: bytes | bytearray) -> Frame | None:
    """The whole frame at the start of ``buffer``, or ``None`` if it has not all arrived."""
    if len(buffer) < 2:
        return None
    first, second = buffer[0], buffer[1]
    length = second & 0x7F
    offset = 2
    if length == 126:
        if len(buffer) < 4:
            return None
        length = int.from_bytes(buffer[2:4], "big")
        offset = 4
    elif length == 127:
        if len(buffer) < 10:
            return None
        length = int.from_bytes(buffer[2:10], "big")
        offset = 10
    mask: bytes | None = None
    if second & 0x80:
        if len(buffer) < offset + 4:
            return None
        mask = bytes(buffer[offset : offset + 4])
        offset += 4
    end = offset + length
    if len(buffer) < end:
        return None
    return Frame(bytes(buffer[:end]), first & 0x0F, bool(first & 0x80), offset, mask)


class _Mode(StrEnum):
    HEAD = "head"
    FRAMES = "frames"
    RAW = "raw"


class _Splitter:
    """Cuts one direction's bytes into units: the HTTP head whole, then whole frames.

    Anything that is not a websocket (not HTTP, no upgrade requested, or not ``101``) passes
    raw, as it comes.
    """

    def __init__(self, *, response: bool) -> None:
        self._response = response
        self._buffer = bytearray()
        self.mode = _Mode.HEAD

    def feed(self, data: bytes) -> list[bytes | Frame]:
        if self.mode is _Mode.RAW:
            return [data]
        self._buffer += data
        units: list[bytes | Frame] = []
        if self.mode is _Mode.HEAD:
            start = b"HTTP/" if self._response else b"GET "
            seen = bytes(self._buffer[: len(start)])
            if not start.startswith(seen):  # not HTTP at all: plain TCP
                self.mode = _Mode.RAW
                units.append(bytes(self._buffer))
                self._buffer.clear()
                return units
            end = self._buffer.find(_HEAD_END)
            if end < 0:
                if len(self._buffer) > _MAX_HEAD:
                    self.mode = _Mode.RAW
                    units.append(bytes(self._buffer))
                    self._buffer.clear()
                return units
            head = bytes(self._buffer[: end + len(_HEAD_END)])
            del self._buffer[: end + len(_HEAD_END)]
            units.append(head)
            if self._response:
                websocket = head.startswith((b"HTTP/1.1 101", b"HTTP/1.0 101"))
            else:
                websocket = b"upgrade: websocket" in head.lower()
            if not websocket:
                self.mode = _Mode.RAW
                if self._buffer:
                    units.append(bytes(self._buffer))
                    self._buffer.clear()
                return units
            self.mode = _Mode.FRAMES
        while (frame := parse_frame(self._buffer)) is not None:
            del self._buffer[: len(frame.raw)]
            units.append(frame)
        return units


class _Action(StrEnum):
    DATA = "data"
    EOF = "eof"
    RESET = "reset"
    CLOSED_BY_SERVER = "closed_by_server"


@dataclass(slots=True)
class _Item:
    due: float
    action: _Action
    data: bytes = b""
    done: asyncio.Future[float] | None = None


class _Flow:
    """One direction of a connection pair: read from ``source``, write to ``dest``."""

    def __init__(
        self, name: str, source: asyncio.StreamReader, dest: asyncio.StreamWriter, *, down: bool
    ) -> None:
        self.name = name
        self.source = source
        self.dest = dest
        self.splitter = _Splitter(response=down)
        self.queue: asyncio.Queue[_Item] = asyncio.Queue()
        self.black_holed = False
        self.ended = False

    def put(self, item: _Item) -> None:
        self.queue.put_nowait(item)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST: SO_LINGER 0, then close at once."""
    transport = writer.transport
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
    transport.abort()


def _subscribed_channel(frame: Frame) -> str | None:
    """The channel of a client ``pusher:subscribe`` frame, else ``None``."""
    if frame.opcode != OPCODE_TEXT or not frame.fin:
        return None
    try:
        message = json.loads(frame.payload)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("event") != "pusher:subscribe":
        return None
    data = message.get("data")
    channel = data.get("channel") if isinstance(data, dict) else None
    return channel if isinstance(channel, str) else None


class ProxyConnection:
    """One client connection and its upstream connection to the target, while both are open."""

    def __init__(
        self,
        proxy: FaultProxy,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        server: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        self._proxy = proxy
        self._client_writer = client[1]
        self._server_writer = server[1]
        self.up = _Flow("up", client[0], server[1], down=False)
        self.down = _Flow("down", server[0], client[1], down=True)
        self.client_address: tuple[str, int] = client[1].get_extra_info("peername")
        self._finished: asyncio.Future[tuple[bool, bool]] = (
            asyncio.get_running_loop().create_future()
        )
        self._linger: asyncio.TimerHandle | None = None

    def __repr__(self) -> str:
        return f"<ProxyConnection from {self.client_address}>"

    @property
    def established(self) -> bool:
        """Whether the websocket upgrade went through (frames flow)."""
        return self.down.splitter.mode is _Mode.FRAMES

    @property
    def finishing(self) -> bool:
        """Whether the pair is being torn down (nothing more is forwarded)."""
        return self._finished.done()

    def reset(self) -> None:
        """Reset both sides now."""
        self._finish(reset_client=True, reset_server=True)

    def black_hole(self, direction: Direction) -> None:
        """Discard what ``direction`` carries from now on."""
        if direction in ("up", "both"):
            self.up.black_holed = True
        if direction in ("down", "both"):
            self.down.black_holed = True

    def heal(self) -> None:
        """Stop discarding."""
        self.up.black_holed = self.down.black_holed = False

    def inject(self, data: bytes, *, then_close: bool = False) -> None:
        """Send ``data`` to the client after what is already queued; with ``then_close``,
        end the client side with a FIN and reset the server side right after it.
        """
        loop = asyncio.get_running_loop()
        due = loop.time() + self._proxy.latency
        self.down.put(_Item(due, _Action.DATA, data))
        if then_close:
            self.down.put(_Item(due, _Action.CLOSED_BY_SERVER))

    async def run(self) -> None:
        """Forward both ways until either side ends or a fault ends the pair."""
        tasks = [
            asyncio.create_task(self._read(self.up), name="fault-proxy-read-up"),
            asyncio.create_task(self._write(self.up), name="fault-proxy-write-up"),
            asyncio.create_task(self._read(self.down), name="fault-proxy-read-down"),
            asyncio.create_task(self._write(self.down), name="fault-proxy-write-down"),
        ]
        reset_client, reset_server = True, True
        try:
            reset_client, reset_server = await self._finished
        finally:
            if self._linger is not None:
                self._linger.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for writer, reset in (
                (self._client_writer, reset_client),
                (self._server_writer, reset_server),
            ):
                if reset:
                    _reset(writer)
                else:
                    writer.close()
            for writer in (self._client_writer, self._server_writer):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(writer.wait_closed(), 1)

    def _finish(self, *, reset_client: bool, reset_server: bool) -> None:
        if not self._finished.done():
            self._finished.set_result((reset_client, reset_server))

    async def _read(self, flow: _Flow) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await flow.source.read(READ_SIZE)
                if not data:
                    flow.put(_Item(loop.time() + self._proxy.latency, _Action.EOF))
                    return
                was_upgraded = flow.splitter.mode is _Mode.FRAMES
                for unit in flow.splitter.feed(data):
                    self._proxy._route(self, flow, unit)
                if flow is self.down and not was_upgraded and self.established:
                    self._proxy.changed.notify()
        except OSError:  # that side reset: pass it on
            self._finish(reset_client=True, reset_server=True)

    async def _write(self, flow: _Flow) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                item = await flow.queue.get()
                wait = item.due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if item.action is _Action.DATA:
                    if not (flow.black_holed or flow.ended):
                        await self._send(flow.dest, item.data)
                elif item.action is _Action.EOF:
                    self._end(flow)
                elif item.action is _Action.CLOSED_BY_SERVER:
                    # The close frame went out: FIN to the client, RST to the server, and
                    # whatever the client still sends (its close frame) goes nowhere.
                    self.up.black_holed = True
                    _reset(self._server_writer)
                    self._end(flow)
                else:  # a cut: the partial frame went out, now reset
                    self._finish(reset_client=True, reset_server=True)
                    if item.done is not None and not item.done.done():
                        item.done.set_result(loop.time())
                    return
        except OSError:
            self._finish(reset_client=True, reset_server=True)

    def _end(self, flow: _Flow) -> None:
        """The source of ``flow`` ended: pass the FIN on; when both have, the pair is done."""
        flow.ended = True
        dest = flow.dest
        if not dest.transport.is_closing() and dest.can_write_eof():
            with contextlib.suppress(OSError):
                dest.write_eof()
        if self.up.ended and self.down.ended:
            self._finish(reset_client=False, reset_server=False)
        elif self._linger is None:
            self._linger = asyncio.get_running_loop().call_later(
                EOF_LINGER, lambda: self._finish(reset_client=False, reset_server=False)
            )

    async def _send(self, dest: asyncio.StreamWriter, data: bytes) -> None:
        rate = self._proxy.throttle
        if rate is None:
            dest.write(data)
            await dest.drain()
            return
        step = max(1, int(rate * 0.02))  # 20 ms worth of bytes at a time
        for start in range(0, len(data), step):
            part = data[start : start + step]
            dest.write(part)
            await dest.drain()
            await asyncio.sleep(len(part) / rate)


class FaultProxy:
    """A TCP proxy to ``target_host:target_port`` that injects network and server faults.

    Use it as an async context manager, or call :meth:`start` and :meth:`close`. Every control
    is meant to be called from the test's event loop.

    Args:
        target_host: where to forward to.
        target_port: the target's port.
        host: the interface to listen on (a free port is picked once and kept).
    """

    def __init__(self, target_host: str, target_port: int, *, host: str = "127.0.0.1") -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.host = host
        self._port = 0
        self._server: asyncio.Server | None = None
        self._connections: set[ProxyConnection] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._refusing: RefuseMode | None = None
        self._cut: tuple[int, asyncio.Future[float]] | None = None
        self._intercepts: dict[str, tuple[bytes | None, asyncio.Future[float]]] = {}
        self._closed = False
        self.changed = Signal()
        """Notified whenever a connection pair opens, is upgraded to a websocket, or closes."""
        self.latency = 0.0
        """Seconds added to every chunk, in both directions."""
        self.throttle: float | None = None
        """Bytes per second per direction, or ``None`` for no limit."""
        self.accepted = 0
        """Connection pairs opened so far."""
        self.refused = 0
        """Connections refused (reset on arrival, or stalled)."""
        self.upstream_failures = 0
        """Connections reset because the target could not be reached."""

    def __repr__(self) -> str:
        return (
            f"<FaultProxy {self.host}:{self._port} -> {self.target_host}:{self.target_port} "
            f"open={self.open_pairs}>"
        )

    async def __aenter__(self) -> FaultProxy:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def port(self) -> int:
        """The port clients connect to."""
        return self._port

    @property
    def connections(self) -> tuple[ProxyConnection, ...]:
        """The connection pairs open now."""
        return tuple(self._connections)

    @property
    def open_pairs(self) -> int:
        """How many connection pairs are open now."""
        return len(self._connections)

    async def start(self) -> None:
        """Start listening."""
        self._closed = False
        await self._listen()

    async def close(self) -> None:
        """Stop listening, reset every connection and wait for the pairs to end."""
        self._closed = True
        self._stop_listening()
        for connection in list(self._connections):
            connection.reset()
        handlers = list(self._handlers)
        if handlers:
            await asyncio.wait(handlers, timeout=5)

    async def wait_for_open_pairs(self, count: int, timeout: float = 5.0) -> None:
        """Wait until exactly ``count`` connection pairs are open.

        Raises:
            TimeoutError: not within ``timeout`` seconds.
        """
        await self.changed.wait_for(lambda: self.open_pairs == count, timeout)

    # -- faults ---------------------------------------------------------------------------------

    def reset(self) -> int:
        """Reset every current connection (RST to both sides); returns how many."""
        connections = list(self._connections)
        for connection in connections:
            connection.reset()
        return len(connections)

    def black_hole(self, direction: Direction = "both") -> int:
        """Silently discard ``direction``'s bytes on every current connection.

        New connections are not affected. Returns how many connections now discard.
        """
        connections = list(self._connections)
        for connection in connections:
            connection.black_hole(direction)
        return len(connections)

    def set_latency(self, seconds: float) -> None:
        """Delay every chunk by ``seconds`` in both directions, order kept (0 for none)."""
        self.latency = max(0.0, seconds)

    def set_throttle(self, bytes_per_second: float | None) -> None:
        """Cap each direction of each connection at ``bytes_per_second`` (``None``: no cap)."""
        self.throttle = bytes_per_second

    def cut_next_frame(self, after: int) -> asyncio.Future[float]:
        """Forward only the first ``after`` bytes (at least 1, never the whole frame) of the
        next server→client frame on any connection, then reset that connection.

        Returns:
            A future resolved with the loop time at which the connection was cut.
        """
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._cut = (after, done)
        return done

    async def refuse(self, mode: RefuseMode = "reset") -> None:
        """Refuse new connections until :meth:`heal`: reset each one as it is accepted,
        close the listener (clients then get "connection refused"), or stall them (accepted,
        then black-holed both ways; :meth:`heal` lets them through again)."""
        self._refusing = mode
        if mode == "close":
            self._stop_listening()

    def inject_close(self, code: int, reason: str = "") -> int:
        """Send every established connection's client a close frame with ``code``, then end
        the client side (FIN) and reset the server side. Returns how many."""
        connections = [c for c in self._connections if c.established]
        for connection in connections:
            connection.inject(close_frame(code, reason), then_close=True)
        return len(connections)

    def inject_text(self, text: str) -> int:
        """Send every established connection's client a text frame. Returns how many."""
        connections = [c for c in self._connections if c.established]
        for connection in connections:
            connection.inject(text_frame(text))
        return len(connections)

    def intercept_subscribe(self, channel: str, reply: str) -> asyncio.Future[float]:
        """Swallow the next client ``pusher:subscribe`` of ``channel`` (the server never sees
        it) and answer it with the text frame ``reply``.

        Returns:
            A future resolved with the loop time at which the subscribe was intercepted.
        """
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._intercepts[channel] = (text_frame(reply), done)
        return done

    def reset_on_subscribe(self, channel: str) -> asyncio.Future[float]:
        """Reset the connection on which the client next subscribes to ``channel`` (the
        subscribe never reaches the server).

        Returns:
            A future resolved with the loop time of the reset.
        """
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._intercepts[channel] = (None, done)
        return done

    async def heal(self) -> None:
        """Back to normal: no latency or throttle, nothing discarded, armed cuts and
        intercepts dropped, new connections accepted."""
        self.latency = 0.0
        self.throttle = None
        self._cut = None
        self._intercepts.clear()
        self._refusing = None
        for connection in self._connections:
            connection.heal()
        if self._server is None and not self._closed:
            await self._listen()

    # -- plumbing -------------------------------------------------------------------------------

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while True:
            try:
                self._server = await asyncio.start_server(
                    self._accept, self.host, self._port, reuse_address=True
                )
                break
            except OSError:  # the port was taken meanwhile: it is ours again soon, or never
                if self._port == 0 or loop.time() > deadline:
                    raise
                await asyncio.sleep(0.05)
        self._port = int(self._server.sockets[0].getsockname()[1])

    def _stop_listening(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            if self._closed or self._refusing in ("reset", "close"):
                self.refused += 1
                _reset(writer)
                return
            try:
                upstream = await asyncio.open_connection(self.target_host, self.target_port)
            except OSError:
                self.upstream_failures += 1
                _reset(writer)
                return
            connection = ProxyConnection(self, (reader, writer), upstream)
            if self._refusing == "stall":
                self.refused += 1
                connection.black_hole("both")
            self._connections.add(connection)
            self.accepted += 1
            self.changed.notify()
            try:
                await connection.run()
            finally:
                self._connections.discard(connection)
                self.changed.notify()
        finally:
            self._handlers.discard(task)

    def _route(self, connection: ProxyConnection, flow: _Flow, unit: bytes | Frame) -> None:
        """Queue one unit read from ``flow``'s source, applying armed faults."""
        if connection.finishing:  # reset or closed: nothing more gets through
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + self.latency
        if isinstance(unit, bytes):
            flow.put(_Item(due, _Action.DATA, unit))
            return
        if flow is connection.up and self._intercepts:
            channel = _subscribed_channel(unit)
            if channel is not None and channel in self._intercepts:
                reply, done = self._intercepts.pop(channel)
                if reply is None:
                    connection.reset()
                else:
                    connection.down.put(_Item(due, _Action.DATA, reply))
                if not done.done():
                    done.set_result(loop.time())
                return
        if flow is connection.down and self._cut is not None:
            after, done = self._cut
            self._cut = None
            keep = max(1, min(after, len(unit.raw) - 1))
            flow.put(_Item(due, _Action.DATA, unit.raw[:keep]))
            flow.put(_Item(due, _Action.RESET, done=done))
            return
        flow.put(_Item(due, _Action.DATA, unit.raw))
