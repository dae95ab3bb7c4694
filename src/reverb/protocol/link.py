"""One websocket as the core sees it: its Pusher session, its keepalive, the meaning of its end.

The asyncio layer feeds :meth:`Link.receive` every frame with the time it arrived, sends what
comes back as a :class:`~reverb.protocol.actions.SendFrame` (the answer to ``pusher:ping``),
sleeps until :meth:`Link.wake_at`, asks :meth:`Link.poll`, and reports the transport's close
code through :meth:`Link.close_code`.
"""

from __future__ import annotations

import math
from typing import Any

from ..exceptions import ProtocolError
from ..messages import Event, decode_parsed, decode_received
from .actions import SendFrame
from .keepalive import Keepalive, KeepaliveAction
from .session import (
    Dropped,
    Established,
    PingReceived,
    PusherSession,
    SessionEvent,
    SessionPhase,
)

__all__ = ["NOT_PARSED", "Link"]

NOT_PARSED: Any = object()
"""``Link.receive``'s ``parsed`` when nothing parsed the frame before it."""
_OPEN = SessionPhase.OPEN
_PONG = SendFrame(PusherSession.pong_frame())
_PING = SendFrame(PusherSession.ping_frame())


class Link:
    """The protocol state of one websocket, from its opening to its end.

    Args:
        activity_timeout: the client's setting; the server's lower value wins once known.
        pong_timeout: how long to wait for any frame after a ping.
    """

    __slots__ = ("_activity_timeout", "_pong_timeout", "keepalive", "session")

    def __init__(self, activity_timeout: float, pong_timeout: float) -> None:
        self._activity_timeout = activity_timeout
        self._pong_timeout = pong_timeout
        self.session = PusherSession()
        self.keepalive: Keepalive | None = None
        """Started by ``pusher:connection_established``."""

    def __repr__(self) -> str:
        return f"<Link {self.session.phase.value} socket_id={self.session.socket_id!r}>"

    def receive(
        self, text: str | bytes, now: float, parsed: Any = NOT_PARSED
    ) -> SessionEvent | SendFrame | None:
        """Interpret a frame that arrived at ``now``.

        ``parsed`` is the frame as :func:`~reverb.messages.decoder` already parsed it (or the
        :class:`~reverb.messages.Event` made of it), when a compiled sink did: the frame is
        decoded once either way.

        Returns the session's event, a frame to send back (the pong), or ``None``.
        """
        keepalive = self.keepalive
        if keepalive is not None:
            keepalive.activity(now)
        try:
            if parsed is NOT_PARSED:
                received = decode_received(text)
            elif parsed.__class__ is Event:
                received = parsed
            else:
                received = decode_parsed(parsed)
        except ProtocolError as exc:
            return Dropped(str(exc))
        session = self.session
        if received.__class__ is Event and session.phase is _OPEN:
            return received  # the hot path: a channel's event
        event = session.interpret(received)
        if event.__class__ is PingReceived:
            return _PONG
        if event.__class__ is Established:
            server = event.activity_timeout or math.inf
            interval = min(self._activity_timeout, server)
            self.keepalive = Keepalive(interval, self._pong_timeout, now)
        return event

    def activity(self, at: float) -> None:
        """A frame that arrived at ``at`` is reported late (read by a compiled sink).

        Only newer news counts: an earlier time moves nothing back, and answers only a ping
        sent before it.
        """
        keepalive = self.keepalive
        if keepalive is not None:
            keepalive.activity(at)

    def wake_at(self, now: float) -> float:
        """When the keepalive needs :meth:`poll` next (never, before establishment)."""
        keepalive = self.keepalive
        return math.inf if keepalive is None else keepalive.wake_at(now)

    def poll(self, now: float) -> SendFrame | KeepaliveAction:
        """At ``now``: a ping to send, ``DEAD`` (abort the socket), or ``WAIT``."""
        keepalive = self.keepalive
        if keepalive is None:
            return KeepaliveAction.WAIT
        action = keepalive.poll(now)
        return _PING if action is KeepaliveAction.SEND_PING else action

    def close_code(self, transport_code: int | None) -> int | None:
        """What the socket's end means: 4201 if the keepalive declared it dead."""
        keepalive = self.keepalive
        return transport_code if keepalive is None else keepalive.close_code(transport_code)

    def close(self) -> None:
        """The socket is gone."""
        self.session.close()
