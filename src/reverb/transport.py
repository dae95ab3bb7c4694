"""The narrow seam between python-reverb and a websocket library.

The connection needs five things from a websocket: open it, send text, receive text, close it
politely, abort it. :class:`Transport` names them; :func:`connect_websockets` provides them with
the ``websockets`` library. Another implementation (a compiled one, or a scripted fake in tests)
plugs in through ``ReverbClient(transport_factory=...)``. Library exceptions are translated here
and nowhere else.
"""

from __future__ import annotations

import logging
import ssl as ssl_module
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.protocol import State

from ._version import __version__
from .exceptions import ConnectionError, ReverbError
from .redaction import RedactingLogger

__all__ = [
    "Transport",
    "TransportClosed",
    "TransportFactory",
    "TransportOptions",
    "WebsocketsTransport",
    "connect_websockets",
]


_WEBSOCKETS_LOGGER = RedactingLogger(logging.getLogger("websockets.client"))


class TransportClosed(ReverbError):
    """The websocket is closed; ``code`` is the close code received, ``None`` if none was.

    Transports raise it from ``send`` and ``recv``; the client turns it into a
    :class:`~reverb.exceptions.ConnectionError` (or a reconnect) and never lets it out.
    """

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"websocket closed ({code if code is not None else 'no close frame'})")
        self.code = code
        self.reason = reason


class Transport(Protocol):
    """An open websocket carrying text frames."""

    @property
    def is_open(self) -> bool:
        """Whether the websocket itself is still open."""
        ...

    async def send(self, text: str) -> None:
        """Send one text frame. Raises :class:`TransportClosed` once closed."""
        ...

    async def recv(self) -> str | bytes:
        """Wait for the next frame. Raises :class:`TransportClosed` once closed."""
        ...

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with a close handshake, waiting a bounded time for the peer."""
        ...

    def abort(self) -> None:
        """Drop the connection at once, without a handshake (for dead peers)."""
        ...


@dataclass(frozen=True, slots=True)
class TransportOptions:
    """How to open the websocket.

    Attributes:
        open_timeout: seconds for TCP, TLS and the HTTP upgrade together.
        ssl: a TLS context for ``wss`` URLs (for a private CA); ``None`` uses the default.
        headers: extra HTTP headers for the upgrade request (an ``Origin`` for Reverb apps
            that restrict origins, for example).
        max_size: the largest frame accepted from the server, in bytes.
    """

    open_timeout: float = 10.0
    ssl: ssl_module.SSLContext | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    max_size: int | None = 64 * 1024 * 1024


TransportFactory = Callable[[str, TransportOptions], Awaitable[Transport]]
"""Opens a :class:`Transport` to a URL, raising :class:`reverb.ConnectionError` on failure."""


class WebsocketsTransport:
    """:class:`Transport` over a ``websockets`` asyncio client connection."""

    __slots__ = ("_ws",)

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws

    @property
    def is_open(self) -> bool:
        """Whether the websocket is in the OPEN state (it may have closed on its own)."""
        return self._ws.state is State.OPEN

    async def send(self, text: str) -> None:
        """Send one text frame."""
        try:
            await self._ws.send(text)
        except ConnectionClosed as exc:
            raise _closed(exc) from exc

    async def recv(self) -> str | bytes:
        """Receive one frame."""
        try:
            return await self._ws.recv()
        except ConnectionClosed as exc:
            raise _closed(exc) from exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close politely."""
        await self._ws.close(code, reason)

    def abort(self) -> None:
        """Drop the TCP connection now."""
        self._ws.transport.abort()


def _closed(exc: ConnectionClosed) -> TransportClosed:
    received = exc.rcvd
    if received is None:
        return TransportClosed(None)
    return TransportClosed(received.code, received.reason)


async def connect_websockets(url: str, options: TransportOptions) -> WebsocketsTransport:
    """Open a websocket with the ``websockets`` library.

    Pusher-level pings replace websockets' own keepalive, and compression is off (Reverb does
    not negotiate it). Proxies from the environment are honoured by ``websockets`` itself.

    Raises:
        ConnectionError: the connection, TLS or upgrade failed or timed out; ``code`` is the
            HTTP status of a refused upgrade.
    """
    kwargs = {"ssl": options.ssl} if options.ssl is not None and url.startswith("wss:") else {}
    try:
        ws = await connect(
            url,
            additional_headers=dict(options.headers) or None,
            user_agent_header=f"python-reverb/{__version__}",
            compression=None,
            open_timeout=options.open_timeout,
            ping_interval=None,
            close_timeout=2.0,
            max_size=options.max_size,
            logger=_WEBSOCKETS_LOGGER,
            **kwargs,  # type: ignore[arg-type]
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        raise ConnectionError(f"server refused the websocket upgrade with HTTP {status}") from exc
    except TimeoutError as exc:
        raise ConnectionError(
            f"timed out after {options.open_timeout} s opening the websocket"
        ) from exc
    except (OSError, WebSocketException) as exc:
        raise ConnectionError(f"could not open the websocket: {exc}") from exc
    return WebsocketsTransport(ws)
