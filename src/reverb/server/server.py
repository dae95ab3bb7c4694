"""The asyncio side of the local server: sockets, HTTP, websockets, keepalive sweeps.

One listening port serves both the websocket endpoint ``[/path]/app/{key}`` and the HTTP API,
like Reverb. HTTP requests are parsed here; websocket upgrades are handed to ``websockets``'
sans-I/O :class:`~websockets.server.ServerProtocol`, driven by this module's read loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import random
from dataclasses import dataclass, field
from ssl import SSLContext
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

from ..redaction import RedactingLogger
from .channels import ChannelManager
from .config import AppConfig, Dialect, ServerConfig
from .frames import FrameWriter
from .handler import handle_message
from .http_api import ApiRequest, ApiResponse, handle_api_request

__all__ = ["ReverbServer", "ServerPeer"]

logger = logging.getLogger("reverb.server")
_WEBSOCKETS_LOGGER = RedactingLogger(logging.getLogger("websockets.server"))

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
}


def _socket_id() -> str:
    return f"{random.randint(1, 1_000_000_000)}.{random.randint(1, 1_000_000_000)}"


@dataclass(eq=False)
class ServerPeer:
    """One websocket client of the server (what tests can inspect, drop or stall)."""

    socket_id: str
    app: AppConfig
    protocol: ServerProtocol
    writer: asyncio.StreamWriter
    last_seen: float
    pinged: bool = False
    uses_control_pings: bool = False
    stalled: bool = False
    closed: bool = False
    received: list[str] = field(default_factory=list)

    def send(self, text: str) -> None:
        """Queue a text frame (dropped silently once closed or while stalled)."""
        if self.closed or self.stalled:
            return
        self.protocol.send_text(text.encode())
        self._flush()

    def _flush(self) -> None:
        data = self.protocol.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(b"".join(data))

    def terminate(self) -> None:
        """Drop the TCP connection with no close frame, as Reverb does."""
        if not self.closed:
            self.closed = True
            transport = self.writer.transport
            transport.abort()

    def close(self, code: int, reason: str = "") -> None:
        """Send a close frame, then end the connection."""
        if not self.closed:
            self.protocol.send_close(code, reason)
            self._flush()
            self.closed = True
            self.writer.close()


class ReverbServer:
    """A Reverb-compatible development server.

    Args:
        config: apps, address, dialect.
        ssl: serve ``wss://`` and ``https://`` with this TLS context (for testing TLS setups).
    """

    def __init__(self, config: ServerConfig, *, ssl: SSLContext | None = None) -> None:
        self.config = config
        self.ssl = ssl
        self.frames = FrameWriter(config.dialect)
        self.managers: dict[str, ChannelManager] = {
            app.id: ChannelManager(app, self.frames) for app in config.apps
        }
        self.peers: dict[str, ServerPeer] = {}
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"<ReverbServer {self.config.dialect} {self.url} peers={len(self.peers)}>"

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening (``port`` 0 picks a free port; see :attr:`port`)."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._serve_connection,
            self.config.host,
            self.config.port,
            limit=max(self.config.max_request_size, 65536),
            ssl=self.ssl,
        )
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())
        logger.info("listening on %s (%s dialect)", self.url, self.config.dialect)

    async def stop(self) -> None:
        """Stop listening and drop every connection."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for peer in list(self.peers.values()):
            peer.terminate()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        with contextlib.suppress(Exception):
            await server.wait_closed()

    async def __aenter__(self) -> ReverbServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def serve_forever(self) -> None:
        """Start, then serve until cancelled."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    @property
    def host(self) -> str:
        """The host the server listens on."""
        return self.config.host

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        if self._server is None or not self._server.sockets:
            return self.config.port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        """Base websocket URL (``/app/{key}`` follows)."""
        scheme = "wss" if self.ssl else "ws"
        return f"{scheme}://{self.host}:{self.port}{self.config.path}"

    @property
    def http_url(self) -> str:
        """Base URL of the HTTP API."""
        scheme = "https" if self.ssl else "http"
        return f"{scheme}://{self.host}:{self.port}{self.config.path}"

    # -- helpers for tests and tools ------------------------------------------------------------

    def manager(self, app_id: str | None = None) -> ChannelManager:
        """The channel state of an app (the first app by default)."""
        return self.managers[app_id or self.config.apps[0].id]

    def trigger(self, channel: str, event: str, data: str, app_id: str | None = None) -> None:
        """Broadcast directly, as the HTTP API would (``data`` is the string delivered)."""
        self.manager(app_id).broadcast(channel, event, data)

    def drop(self, socket_id: str) -> None:
        """Drop a client's TCP connection with no close frame (a crash or network reset)."""
        self.peers[socket_id].terminate()

    def stall(self, socket_id: str, stalled: bool = True) -> None:
        """Stop (or resume) answering a client: its frames are ignored, nothing is sent."""
        self.peers[socket_id].stalled = stalled

    def connection_count(self, app: AppConfig) -> int:
        """Sockets of ``app`` subscribed to at least one channel (Reverb's count)."""
        manager = self.managers[app.id]
        return sum(
            1
            for peer in self.peers.values()
            if peer.app is app and manager.is_subscribed(peer.socket_id)
        )

    # -- connections ----------------------------------------------------------------------------

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:
            logger.exception("connection handler failed")
        finally:
            self._handlers.discard(task)
            if not writer.is_closing():
                writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            await self._respond(writer, ApiResponse.text(413, "Payload too large."))
            return
        if len(head) > self.config.max_request_size:
            await self._respond(writer, ApiResponse.text(413, "Payload too large."))
            return
        try:
            method, target, headers = _parse_head(head)
        except ValueError:
            await self._respond(writer, ApiResponse.text(400, "Bad request."))
            return
        url = urlsplit(target)
        prefix = self.config.path
        if prefix and not (url.path == prefix or url.path.startswith(prefix + "/")):
            await self._respond(writer, ApiResponse.text(404, "Not found."))
            return
        path = url.path[len(prefix) :] or "/"
        if headers.get("upgrade", "").lower() == "websocket":
            parts = path.strip("/").split("/")
            if method != "GET" or len(parts) != 2 or parts[0] != "app":
                await self._respond(writer, ApiResponse.text(404, "Not found."))
                return
            await self._serve_websocket(head, parts[1], headers, reader, writer)
            return
        raw_length = headers.get("content-length", "0") or "0"
        if not raw_length.isdigit():
            await self._respond(writer, ApiResponse.text(400, "Bad request."))
            return
        length = int(raw_length)
        if len(head) + length > self.config.max_request_size:
            await self._respond(writer, ApiResponse.text(413, "Payload too large."))
            return
        body = await reader.readexactly(length) if length else b""
        query = _query(url.query)
        response = handle_api_request(
            ApiRequest(method, path, query, body),
            self.config.app_by_id,
            lambda app: self.managers[app.id],
            self.connection_count,
        )
        await self._respond(writer, response)

    @staticmethod
    async def _respond(writer: asyncio.StreamWriter, response: ApiResponse) -> None:
        reason = _REASONS.get(response.status, "Error")
        head = (
            f"HTTP/1.1 {response.status} {reason}\r\n"
            f"Content-Type: {response.content_type}\r\n"
            f"Content-Length: {len(response.body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        writer.write(head.encode() + response.body)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    # -- websockets -----------------------------------------------------------------------------

    async def _serve_websocket(
        self,
        head: bytes,
        key: str,
        headers: dict[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        app = self.config.app_by_key(key)
        protocol = ServerProtocol(
            max_size=app.max_message_size if app else None, logger=_WEBSOCKETS_LOGGER
        )
        protocol.receive_data(head)
        request = next(
            (event for event in protocol.events_received() if isinstance(event, Request)), None
        )
        if request is None:
            await self._respond(writer, ApiResponse.text(400, "Bad request."))
            return
        response = protocol.accept(request)
        response.headers["X-Powered-By"] = "Laravel Reverb"
        protocol.send_response(response)
        writer.write(b"".join(protocol.data_to_send()))
        if protocol.state is not State.OPEN:
            writer.close()
            return
        loop = asyncio.get_running_loop()
        if app is None:
            self._refuse_unknown_app(key, protocol, writer)
            return
        peer = ServerPeer(_socket_id(), app, protocol, writer, loop.time())
        if not self._origin_allowed(app, headers.get("origin")):
            peer.send(self.frames.error(4009, "Origin not allowed"))
        elif app.max_connections is not None and self.connection_count(app) >= app.max_connections:
            peer.send(self.frames.error(4004, "Application is over connection quota"))
        else:
            self.peers[peer.socket_id] = peer
            peer.send(self.frames.connection_established(peer.socket_id, app.activity_timeout))
        try:
            await self._read_frames(peer, reader, loop)
        finally:
            peer.closed = True
            self.peers.pop(peer.socket_id, None)
            self.managers[app.id].unsubscribe_all(peer)

    def _refuse_unknown_app(
        self, key: str, protocol: ServerProtocol, writer: asyncio.StreamWriter
    ) -> None:
        message = (
            f"App key {key} does not exist."
            if self.frames.is_soketi
            else ("Application does not exist")
        )
        protocol.send_text(self.frames.error(4001, message).encode())
        if self.config.dialect is Dialect.SOKETI:
            protocol.send_close(4001, message)
            writer.write(b"".join(protocol.data_to_send()))
            writer.close()
        else:
            writer.write(b"".join(protocol.data_to_send()))
            writer.transport.abort()

    @staticmethod
    def _origin_allowed(app: AppConfig, origin: str | None) -> bool:
        if "*" in app.allowed_origins:
            return True
        if not origin:
            return False
        host = urlsplit(origin).hostname or ""
        return any(fnmatch.fnmatchcase(host, pattern) for pattern in app.allowed_origins)

    async def _read_frames(
        self, peer: ServerPeer, reader: asyncio.StreamReader, loop: asyncio.AbstractEventLoop
    ) -> None:
        protocol = peer.protocol
        manager = self.managers[peer.app.id]
        fragments: list[bytes] = []
        while not peer.closed:
            data = await reader.read(65536)
            if not data:
                protocol.receive_eof()
                return
            if peer.stalled:
                continue
            protocol.receive_data(data)
            for frame in protocol.events_received():
                if not isinstance(frame, Frame):
                    continue
                opcode = frame.opcode
                if opcode in (Opcode.PING, Opcode.PONG):
                    peer.uses_control_pings = True
                    peer.last_seen, peer.pinged = loop.time(), False
                    continue
                if opcode not in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                    continue
                fragments.append(bytes(frame.data))
                if not frame.fin:
                    continue
                message, fragments = b"".join(fragments), []
                peer.last_seen, peer.pinged = loop.time(), False
                text = message.decode("utf-8", errors="replace")
                peer.received.append(text)
                handle_message(manager, peer, text)
            peer._flush()
            if protocol.state is State.CLOSED or protocol.close_expected():
                return

    # -- keepalive ------------------------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.config.prune_interval)
            self.sweep(loop.time())

    def sweep(self, now: float) -> None:
        """Prune stale sockets, then ping inactive ones (Reverb's minute job).

        Only sockets subscribed to a channel are checked. Inactive: silent for the app's
        ``ping_interval``. Stale: inactive and already pinged at an earlier sweep; it gets
        4201 and is dropped with no close frame.
        """
        for peer in list(self.peers.values()):
            manager = self.managers[peer.app.id]
            if peer.closed or not manager.is_subscribed(peer.socket_id):
                continue
            if now < peer.last_seen + peer.app.ping_interval:
                continue
            if peer.pinged:
                peer.send(self.frames.error(4201, "Pong reply not received in time"))
                manager.unsubscribe_all(peer)
                peer.terminate()
                continue
            peer.pinged = True
            if peer.uses_control_pings:
                peer.protocol.send_ping(b"")
                peer._flush()
            else:
                peer.send(self.frames.ping())


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    if not version.startswith("HTTP/1."):
        raise ValueError("not HTTP/1.x")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method.upper(), target, headers


def _query(raw: str) -> dict[str, str]:
    values: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        values.setdefault(name.removesuffix("[]"), []).append(value)
    return {name: ",".join(items) for name, items in values.items()}
