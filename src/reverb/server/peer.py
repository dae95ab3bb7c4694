"""One websocket client of the server: what it sent, and how to send to it, close or drop it.

Sending is safe at any moment: once the connection is closing (a close frame was received or
sent in the same read as a message being answered), frames are dropped, as nothing may follow
a close frame.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from websockets.protocol import State
from websockets.server import ServerProtocol

from .config import AppConfig

__all__ = ["ServerPeer"]

_MAX_CLOSE_REASON = 123
"""Bytes of UTF-8 a close frame's reason may hold (RFC 6455 §5.5: 125 minus the code)."""


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

    @property
    def open(self) -> bool:
        """Whether frames can still be sent."""
        return not self.closed and self.protocol.state is State.OPEN

    def send(self, text: str) -> None:
        """Queue a text frame (dropped silently once closing or while stalled)."""
        if self.open and not self.stalled:
            self.protocol.send_text(text.encode())
            self.flush()

    def ping(self) -> None:
        """Send a websocket ping control frame."""
        if self.open:
            self.protocol.send_ping(b"")
            self.flush()

    def flush(self) -> None:
        """Write whatever the protocol has queued (frames, replies to pings, close frames)."""
        data = self.protocol.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(b"".join(data))

    def terminate(self) -> None:
        """Drop the TCP connection with no close frame, as Reverb does."""
        if not self.closed:
            self.closed = True
            self.writer.transport.abort()

    def close(self, code: int, reason: str = "") -> None:
        """Send a close frame, then end the connection."""
        if not self.closed:
            if self.protocol.state is State.OPEN:
                self.protocol.send_close(code, close_reason(reason))
                self.flush()
            self.closed = True
            self.writer.close()

    def fail(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 §7.1.7): a close frame, then no more reading."""
        self.protocol.fail(code, close_reason(reason))
        self.flush()


def close_reason(reason: str) -> str:
    """``reason``, cut to what a close frame can carry."""
    encoded = reason.encode()
    if len(encoded) <= _MAX_CLOSE_REASON:
        return reason
    return encoded[:_MAX_CLOSE_REASON].decode("utf-8", errors="ignore")
