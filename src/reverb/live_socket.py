"""One established socket, served until it ends: its frames, its keepalive timer, its pongs.

:class:`~reverb.connection.Connection` opens sockets and decides what happens between them;
:class:`LiveSocket` serves one while it lives. It decides nothing itself either:

* every frame goes to ``Link.receive``, and what comes back to the owner's callbacks (a
  channel's event to ``on_channel_event``, any other session event to ``on_event``), or back
  to the server (the pong); with :mod:`reverb.compiled`'s speedups a compiled sink takes the
  channels' events first, the same way;
* a timer (not a task) wakes at ``Link.wake_at`` and carries out ``Link.poll``'s verdict: send
  a ping, or abort a socket declared dead;
* pongs and pings go out from tasks of their own; a socket closed meanwhile is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import compiled
from .background import BackgroundTasks
from .messages import Event, decoder
from .protocol.actions import SendFrame
from .protocol.keepalive import KeepaliveAction
from .protocol.link import NOT_PARSED, Link
from .protocol.session import SessionEvent, SessionPhase
from .transport import Transport, TransportClosed

if TYPE_CHECKING:
    from ._speedups import FrameSink

__all__ = ["LiveSocket"]

logger = logging.getLogger("reverb.connection")


class LiveSocket:
    """One established socket while it lives: its frame sink (:attr:`sink`), keepalive timer
    and pongs. The owner reads the socket into :attr:`sink` (``deliver_frames``) and calls
    :meth:`close` when it ended.

    Args:
        transport: the open socket.
        link: its protocol state, established.
        on_event: takes the session's events (quickly: it runs in the frame reader).
        on_channel_event: takes the channels' events, likewise.
    """

    __slots__ = (
        "_compiled_sink",
        "_counted",
        "_keepalive",
        "_link",
        "_loop",
        "_on_channel_event",
        "_on_event",
        "_sends",
        "_transport",
        "sink",
    )

    def __init__(
        self,
        transport: Transport,
        link: Link,
        on_event: Callable[[SessionEvent], None],
        on_channel_event: Callable[[Event], None],
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._transport = transport
        self._link = link
        self._on_event = on_event
        self._on_channel_event = on_channel_event
        self._counted = 0
        """Frames read, but for those the compiled sink counts itself."""
        self._compiled_sink: FrameSink | None = None
        self._sends = BackgroundTasks()
        """Sends in flight that nobody awaits (pongs, pings)."""
        self.sink = self._frame_sink()
        """What each frame goes to, synchronously, with no ``await`` of its own."""
        self._keepalive = _KeepaliveTimer(self, link, self._compiled_sink)

    @property
    def frames_received(self) -> int:
        """Frames read from this socket so far."""
        sink = self._compiled_sink
        return self._counted + (0 if sink is None else sink.events)

    def close(self) -> None:
        """The socket ended: stop the keepalive's timer and end the session."""
        self._keepalive.stop()
        self._link.close()

    def receive(self, text: str | bytes, parsed: Any = NOT_PARSED) -> None:
        """The pure-Python frame sink: the link, then the owner's callbacks.

        ``parsed``: what the compiled sink already made of the frame (see ``Link.receive``).
        """
        self._counted += 1
        event: object = None
        try:
            event = self._link.receive(text, self._loop.time(), parsed)
            if event.__class__ is Event:
                self._on_channel_event(event)
            elif event.__class__ is SendFrame:
                self.send_soon(event.text)
            elif event is not None:
                self._on_event(event)  # type: ignore[arg-type]
        except Exception:
            logger.exception("event listener raised on %r", event)

    def _frame_sink(self) -> Callable[[str | bytes], None]:
        """:meth:`receive`; with the speedups, a compiled sink that takes the channels' events
        (the link's hot path) and passes every other frame to :meth:`receive`.
        """
        receive = self.receive
        speedups = compiled.speedups
        if speedups is None:
            return receive
        loop = self._loop
        # The loop's clock is time.monotonic unless the loop says otherwise; the sink reads
        # that one without a call.
        clock = time.monotonic if type(loop).time is asyncio.BaseEventLoop.time else loop.time
        sink: FrameSink = speedups.FrameSink(
            self._link.session, SessionPhase.OPEN, decoder(), clock, self._on_channel_event, receive
        )
        self._compiled_sink = sink
        return sink.feed

    def send_soon(self, text: str) -> None:
        """Send ``text`` (a pong, a ping) from a task of its own."""
        self._sends.start(_send_quietly(self._transport, text))


async def _send_quietly(transport: Transport, text: str) -> None:
    with contextlib.suppress(TransportClosed):
        await transport.send(text)


class _KeepaliveTimer:
    """Wakes at the keepalive's deadlines (a timer, not a task) and carries out its verdict:
    send a ping, or abort a socket declared dead.
    """

    __slots__ = ("_compiled_sink", "_link", "_reported", "_socket", "_timer")

    def __init__(self, socket: LiveSocket, link: Link, compiled_sink: FrameSink | None) -> None:
        self._socket = socket
        self._link = link
        self._compiled_sink = compiled_sink
        """Stamps its events' arrival itself; the link hears of the latest at each wake."""
        self._reported = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._schedule()

    def _schedule(self) -> None:
        loop = self._socket._loop
        wake_at = self._link.wake_at(loop.time())
        self._timer = None if wake_at == math.inf else loop.call_at(wake_at, self._wake)

    def _wake(self) -> None:
        sink = self._compiled_sink
        if sink is not None and sink.last_event_at > self._reported:
            self._reported = sink.last_event_at
            self._link.activity(self._reported)
        verdict = self._link.poll(self._socket._loop.time())
        if isinstance(verdict, SendFrame):
            logger.debug("> pusher:ping after silence")
            self._socket.send_soon(verdict.text)
        elif verdict is KeepaliveAction.DEAD:
            logger.warning("no reply to a ping in time: dropping the connection")
            self._timer = None
            self._socket._transport.abort()
            return
        self._schedule()

    def stop(self) -> None:
        """The socket ended."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
