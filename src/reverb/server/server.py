"""The local server: one listening port for websockets and the HTTP API, keepalive sweeps.

:class:`ReverbServer` owns the :class:`~reverb.server.state.ServerState` and the asyncio
server. Each connection's head is read (:mod:`~reverb.server.http11`) and routed
(:mod:`~reverb.server.routing`) to the websocket endpoint (:mod:`~reverb.server.websocket`)
or the HTTP API (:mod:`~reverb.server.http_api`), or the Laravel ``/broadcasting/auth``
stand-in (:mod:`~reverb.server.broadcasting`); sweeps run in
:mod:`~reverb.server.keepalive`. A connection's failure never reaches the server: network
errors end the connection quietly, anything else is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from ssl import SSLContext
from types import TracebackType

from .broadcasting import handle_broadcasting_request, is_broadcasting_path
from .channels import ChannelManager
from .config import AppConfig, ServerConfig
from .frames import FrameWriter
from .http11 import read_body, read_head, respond
from .http_api import ApiResponse, handle_api_request
from .keepalive import sweep, sweep_forever
from .peer import ServerPeer
from .routing import ApiRoute, route
from .state import ServerState
from .websocket import serve_websocket

__all__ = ["ReverbServer", "ServerPeer"]

logger = logging.getLogger("reverb.server")


class ReverbServer:
    """A Reverb-compatible development server.

    Args:
        config: apps, address, dialect.
        ssl: serve ``wss://`` and ``https://`` with this TLS context (for testing TLS setups).
    """

    def __init__(self, config: ServerConfig, *, ssl: SSLContext | None = None) -> None:
        self.config = config
        self.ssl = ssl
        self.state = ServerState(config)
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"<ReverbServer {self.config.dialect} {self.url} peers={len(self.peers)}>"

    @property
    def frames(self) -> FrameWriter:
        """Builds the frames of the server's dialect."""
        return self.state.frames

    @property
    def managers(self) -> dict[str, ChannelManager]:
        """Channels per app id."""
        return self.state.managers

    @property
    def peers(self) -> dict[str, ServerPeer]:
        """Established sockets by socket id."""
        return self.state.peers

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
        self._sweeper = asyncio.get_running_loop().create_task(sweep_forever(self.state))
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
        return self.state.manager(app_id)

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
        return self.state.connection_count(app)

    def sweep(self, now: float) -> None:
        """Prune stale sockets, then ping inactive ones (see :mod:`reverb.server.keepalive`)."""
        sweep(self.state, now)

    # -- connections ----------------------------------------------------------------------------

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError) as exc:
            logger.debug("connection ended: %r", exc)
        except Exception:
            logger.exception("connection handler failed")
        finally:
            self._handlers.discard(task)
            if not writer.is_closing():
                writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        config = self.config
        head = await read_head(reader, config.max_request_size)
        if isinstance(head, ApiResponse):
            await respond(writer, head)
            return
        target = route(head, config.path)
        if isinstance(target, ApiResponse):
            await respond(writer, target)
        elif isinstance(target, ApiRoute):
            body = await read_body(reader, head, config.max_request_size)
            if isinstance(body, ApiResponse):
                await respond(writer, body)
                return
            request = target.request(head.method, body, head.headers)
            if is_broadcasting_path(request.path):
                response = handle_broadcasting_request(request, config)
            else:
                response = handle_api_request(
                    request, config.app_by_id, self.state.manager_of, self.state.connection_count
                )
            await respond(writer, response)
        else:
            await serve_websocket(self.state, head, target.app_key, reader, writer)
