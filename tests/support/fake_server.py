"""An in-memory, scriptable Pusher server behind the client's transport seam.

It speaks Reverb's dialect by default (string ``data`` on server events, channel-less 4009 on
a bad signature, pong without data) and records every frame the client sends, so tests of the
asyncio layer can run without sockets and can inject drops, refusals and silence at will.

The same server also listens on real TCP (:meth:`FakeServer.serve`), for tests that must run
the client's real transports (websockets, picows): there :meth:`FakeSocket.push_many` writes
its frames in one TCP write, so the client parses them in one batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

from reverb import ReverbClient
from reverb.transport import TransportClosed, TransportOptions
from tests.support.waiting import wait_until


class FakeSocket:
    """One client connection: implements :class:`reverb.transport.Transport`."""

    def __init__(self, server: FakeServer, url: str, socket_id: str) -> None:
        self.server = server
        self.url = url
        self.socket_id = socket_id
        self.inbox: asyncio.Queue[str | TransportClosed] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.open = True
        self.channels: set[str] = set()

    @property
    def is_open(self) -> bool:
        return self.open

    async def send(self, text: str) -> None:
        if not self.open:
            raise TransportClosed(None)
        frame = json.loads(text)
        self.sent.append(frame)
        self.server._handle(self, frame)

    async def recv(self) -> str:
        item = await self.inbox.get()
        if isinstance(item, TransportClosed):
            self.open = False
            self.inbox.put_nowait(item)
            raise item
        return item

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self._end(code)

    def abort(self) -> None:
        self._end(None)

    def _end(self, code: int | None) -> None:
        if self.open:
            self.open = False
            self.inbox.put_nowait(TransportClosed(code))

    def push(self, frame: dict[str, Any] | str) -> None:
        """Deliver a frame to the client."""
        self.inbox.put_nowait(frame if isinstance(frame, str) else json.dumps(frame))

    def push_many(self, frames: Sequence[dict[str, Any] | str]) -> None:
        """Deliver frames in one go: all are queued before the client reads the first."""
        for frame in frames:
            self.push(frame)

    def drop(self, code: int | None = None) -> None:
        """End the connection from the server side (``None``: no close frame, like Reverb)."""
        self._end(code)


class WireSocket(FakeSocket):
    """One client connection over real TCP (made by :meth:`FakeServer.serve`).

    The server side of it only: ``push``, ``push_many``, ``drop``, ``sent``, ``channels``. The
    client talks to it with a real transport, never with :class:`FakeSocket`'s methods.
    """

    def __init__(
        self,
        server: FakeServer,
        url: str,
        socket_id: str,
        protocol: ServerProtocol,
        writer: asyncio.StreamWriter,
    ) -> None:
        super().__init__(server, url, socket_id)
        self._protocol = protocol
        self._writer = writer

    def push(self, frame: dict[str, Any] | str) -> None:
        """Send a frame to the client, in a TCP write of its own."""
        self.push_many([frame])

    def push_many(self, frames: Sequence[dict[str, Any] | str]) -> None:
        """Send frames in ONE TCP write, so the client parses them in one batch."""
        if not self.open:
            return
        for frame in frames:
            text = frame if isinstance(frame, str) else json.dumps(frame)
            self._protocol.send_text(text.encode())
        self._flush()

    def drop(self, code: int | None = None) -> None:
        """End the connection: ``None`` resets TCP with no close frame (as Reverb does)."""
        if not self.open:
            return
        self.open = False
        if code is None:
            self._writer.transport.abort()
        else:
            self._protocol.send_close(code, "")
            self._flush()
            self._writer.close()

    def _flush(self) -> None:
        data = b"".join(self._protocol.data_to_send())
        if data and not self._writer.is_closing():
            self._writer.write(data)


def event_frame(channel: str, event: str, data: Any) -> dict[str, Any]:
    """A broadcast frame as the server sends it (``data`` JSON-encoded in a string)."""
    return FakeServer._server_event(event, data, channel)


class FakeServer:
    """A scriptable server; pass :meth:`connect` as ``transport_factory``, or connect real
    transports to the address :meth:`serve` yields.

    Args:
        secret: verify subscription signatures with this secret (``None``: accept any).
        activity_timeout: sent in ``connection_established``.
        refuse: a ``pusher:error`` code to answer every connection with (e.g. 4001).
        answer_pings: reply ``pusher:pong`` to ``pusher:ping``.
        answer_subscribes: confirm subscriptions (or refuse bad signatures) automatically.
    """

    def __init__(
        self,
        *,
        secret: str | None = None,
        activity_timeout: int = 30,
        refuse: int | None = None,
        answer_pings: bool = True,
        answer_subscribes: bool = True,
    ) -> None:
        self.secret = secret
        self.activity_timeout = activity_timeout
        self.refuse = refuse
        self.answer_pings = answer_pings
        self.answer_subscribes = answer_subscribes
        self.sockets: list[FakeSocket] = []
        self.attempts = 0
        self.unreachable = False
        self._ids = itertools.count(1)
        self.on_frame: Callable[[FakeSocket, dict[str, Any]], None] | None = None
        self._confirmations: dict[str, list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]] = {}

    # -- the transport factory --------------------------------------------------------------

    async def connect(self, url: str, options: TransportOptions) -> FakeSocket:
        from reverb.exceptions import ConnectionError

        self.attempts += 1
        if self.unreachable:
            raise ConnectionError("connection refused (fake server down)")
        socket = FakeSocket(self, url, f"{next(self._ids)}.{next(self._ids)}")
        self.sockets.append(socket)
        self._greet(socket)
        return socket

    # -- real TCP ------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def serve(self, host: str = "127.0.0.1") -> AsyncIterator[tuple[str, int]]:
        """Listen for real websocket clients; yields ``(host, port)``.

        Each connection is a :class:`WireSocket` in :attr:`sockets`; the server behaves as
        with :meth:`connect` (``unreachable`` aside).
        """
        handlers: set[asyncio.Task[None]] = set()

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            try:
                await self._serve_wire(reader, writer, host)
            finally:
                handlers.discard(task)

        listener = await asyncio.start_server(accept, host, 0)
        port = listener.sockets[0].getsockname()[1]
        try:
            yield host, port
        finally:
            listener.close()
            for socket in self.sockets:
                if isinstance(socket, WireSocket):
                    socket.drop(None)
            for task in list(handlers):
                task.cancel()
            if handlers:
                await asyncio.wait(handlers, timeout=2)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await listener.wait_closed()

    async def _serve_wire(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str
    ) -> None:
        protocol = ServerProtocol(max_size=None)
        socket: WireSocket | None = None
        try:
            request: Request | None = None
            while request is None:
                data = await reader.read(65536)
                if not data:
                    return
                protocol.receive_data(data)
                request = next(
                    (e for e in protocol.events_received() if isinstance(e, Request)), None
                )
            protocol.send_response(protocol.accept(request))
            self.attempts += 1
            port = writer.get_extra_info("sockname")[1]
            socket = WireSocket(
                self,
                f"ws://{host}:{port}{request.path}",
                f"{next(self._ids)}.{next(self._ids)}",
                protocol,
                writer,
            )
            self.sockets.append(socket)
            self._greet(socket)  # the upgrade response and the greeting: one write
            while socket.open:
                data = await reader.read(65536)
                if not data:
                    protocol.receive_eof()
                else:
                    protocol.receive_data(data)
                for event in protocol.events_received():
                    if isinstance(event, Frame) and event.opcode is Opcode.TEXT and socket.open:
                        frame = json.loads(bytes(event.data))
                        socket.sent.append(frame)
                        self._handle(socket, frame)
                socket._flush()  # pongs and close replies
                if not data or protocol.state in (State.CLOSING, State.CLOSED):
                    break
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            if socket is not None:
                socket.open = False
            writer.close()

    def _greet(self, socket: FakeSocket) -> None:
        if self.refuse is not None:
            socket.push(self._server_event("pusher:error", {"code": self.refuse, "message": "no"}))
            socket.drop(None)
        else:
            socket.push(
                self._server_event(
                    "pusher:connection_established",
                    {"socket_id": socket.socket_id, "activity_timeout": self.activity_timeout},
                )
            )

    # -- observing ----------------------------------------------------------------------------

    @property
    def current(self) -> FakeSocket:
        """The most recent connection."""
        return self.sockets[-1]

    def frames(self, event: str | None = None) -> list[dict[str, Any]]:
        """Every frame the client sent, over all sockets, optionally of one event."""
        return [
            frame
            for socket in self.sockets
            for frame in socket.sent
            if event is None or frame.get("event") == event
        ]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` holds, re-checking every few milliseconds.

        Raises:
            TimeoutError: it did not hold within ``timeout`` seconds.
        """
        await wait_until(predicate, timeout)

    # -- behaviour ----------------------------------------------------------------------------

    @staticmethod
    def _server_event(event: str, data: Any, channel: str | None = None) -> dict[str, Any]:
        frame: dict[str, Any] = {"event": event, "data": json.dumps(data)}
        if channel is not None:
            frame["channel"] = channel
        return frame

    def confirm_with(
        self,
        channel: str,
        *,
        before: Sequence[dict[str, Any]] = (),
        after: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Send ``before``, the next ``subscription_succeeded`` of ``channel``, then ``after``,
        all in one go (one TCP write on a :class:`WireSocket`). Calls queue up: each one
        shapes one confirmation, in order.
        """
        self._confirmations.setdefault(channel, []).append((list(before), list(after)))

    def broadcast(self, channel: str, event: str, data: Any) -> None:
        """Send an API-style event (double-encoded data) to subscribers of ``channel``."""
        for socket in self.sockets:
            if socket.open and channel in socket.channels:
                socket.push(self._server_event(event, data, channel))

    def _handle(self, socket: FakeSocket, frame: dict[str, Any]) -> None:
        if self.on_frame is not None:
            self.on_frame(socket, frame)
        event = frame.get("event")
        if event == "pusher:ping" and self.answer_pings:
            socket.push({"event": "pusher:pong"})
        elif event == "pusher:subscribe" and self.answer_subscribes:
            self._subscribe(socket, frame["data"])
        elif event == "pusher:unsubscribe":
            socket.channels.discard(frame["data"]["channel"])

    def _subscribe(self, socket: FakeSocket, data: dict[str, Any]) -> None:
        channel = data["channel"]
        if channel.startswith(("private-", "presence-")) and self.secret is not None:
            subject = f"{socket.socket_id}:{channel}"
            if "channel_data" in data:
                subject += f":{data['channel_data']}"
            expected = hmac.new(self.secret.encode(), subject.encode(), hashlib.sha256).hexdigest()
            signature = str(data.get("auth", "")).partition(":")[2]
            if not hmac.compare_digest(expected, signature):
                socket.push(
                    self._server_event(
                        "pusher:error", {"code": 4009, "message": "Connection is unauthorized"}
                    )
                )
                return
        socket.channels.add(channel)
        payload: Any = {}
        if channel.startswith("presence-"):
            member = json.loads(data.get("channel_data", "{}"))
            members = {
                str(member["user_id"]): member.get("user_info"),
            }
            payload = {"presence": {"count": len(members), "ids": list(members), "hash": members}}
        succeeded = self._server_event("pusher_internal:subscription_succeeded", payload, channel)
        queued = self._confirmations.get(channel)
        if queued:
            before, after = queued.pop(0)
            socket.push_many([*before, succeeded, *after])
        else:
            socket.push(succeeded)


def fake_client(server: FakeServer, **settings: Any) -> ReverbClient:
    """A client of ``server`` with short test timings; ``settings`` add to or override them."""
    options: dict[str, Any] = {
        "app_key": "app-key",
        "host": "127.0.0.1",
        "port": 6001,
        "scheme": "http",
        "subscription_timeout": 2.0,
        "connect_timeout": 2.0,
    }
    options.update(settings)
    return ReverbClient(transport_factory=server.connect, **options)
