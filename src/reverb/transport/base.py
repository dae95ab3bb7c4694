"""What every transport shares: the :class:`Transport` protocol, its options and its error."""

from __future__ import annotations

import ssl as ssl_module
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..exceptions import ReverbError

__all__ = [
    "FrameSink",
    "PushTransport",
    "Transport",
    "TransportClosed",
    "TransportFactory",
    "TransportOptions",
    "deliver_frames",
]


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


FrameSink = Callable[[str | bytes], None]
"""Takes one received message (``str``, or the UTF-8 ``bytes`` of a text frame); never awaits."""


@runtime_checkable
class PushTransport(Transport, Protocol):
    """A :class:`Transport` that can hand frames over as they are parsed, without a read task.

    The compiled transport does: its frame reader calls the sink directly, so a flood of
    events costs no ``await`` per frame. Transports without it are read with :meth:`recv`.
    """

    async def deliver(self, sink: FrameSink) -> int | None:
        """Hand every message to ``sink`` in order until the websocket closes.

        Messages already received but not yet taken by :meth:`recv` go first. Returns the
        close code received (``None`` without one).
        """
        ...


def deliver_frames(transport: Transport, sink: FrameSink) -> Coroutine[Any, Any, int | None]:
    """Hand every message of ``transport`` to ``sink`` until it closes; return the close code.

    Uses :meth:`PushTransport.deliver` when the transport has it (its own awaitable, with no
    coroutine around it: one per socket is kept), else a :meth:`recv` loop.
    """
    if isinstance(transport, PushTransport):
        return transport.deliver(sink)
    return _receive_loop(transport, sink)


async def _receive_loop(transport: Transport, sink: FrameSink) -> int | None:
    recv = transport.recv
    while True:
        try:
            text = await recv()
        except TransportClosed as exc:
            return exc.code
        sink(text)


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
