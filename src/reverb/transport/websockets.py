"""The default :class:`~reverb.transport.Transport`: the ``websockets`` library.

Its exceptions are translated here and nowhere else.
"""

from __future__ import annotations

import logging

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.protocol import State

from .._version import __version__
from ..exceptions import ConnectionError
from ..redaction import RedactingLogger
from .base import FrameSink, TransportClosed, TransportOptions

__all__ = ["WebsocketsTransport", "connect_websockets"]


_WEBSOCKETS_LOGGER = RedactingLogger(logging.getLogger("websockets.client"))


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

    async def deliver(self, sink: FrameSink) -> int | None:
        """Hand every message to ``sink`` until the websocket closes; return the close code."""
        recv = self._ws.recv
        try:
            while True:
                sink(await recv(False))  # text frames as UTF-8 bytes: the JSON decoder reads them
        except ConnectionClosed as exc:
            return _closed(exc).code

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
