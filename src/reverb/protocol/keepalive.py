"""When to ping the server, and when its silence means the connection is dead.

Fed the time as a number; it never reads a clock. The I/O layer calls :meth:`Keepalive.activity`
for every frame received, sleeps until :meth:`Keepalive.wake_at`, then asks :meth:`poll`. Once
the verdict is ``DEAD``, :meth:`Keepalive.close_code` says what the socket's end means: 4201,
Pusher's "pong not received", whatever code the aborted transport reports.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["PONG_TIMEOUT_CODE", "Keepalive", "KeepaliveAction"]

PONG_TIMEOUT_CODE = 4201
"""The close code of a socket the keepalive declared dead (Pusher's "pong not received")."""


class KeepaliveAction(Enum):
    """What :meth:`Keepalive.poll` asks the I/O layer to do."""

    WAIT = "wait"
    """Nothing yet: sleep until the next deadline."""
    SEND_PING = "send_ping"
    """Silent for the activity timeout: send ``pusher:ping``."""
    DEAD = "dead"
    """No reply to the ping within the pong timeout: drop the connection and reconnect."""


class Keepalive:
    """Tracks silence on one connection.

    Args:
        activity_timeout: seconds of silence before a ping; the lower of the client's setting
            and the server's ``activity_timeout``.
        pong_timeout: seconds to wait for any frame after a ping.
        now: the current time, which starts the first silence.
    """

    __slots__ = ("_last_activity", "_ping_sent_at", "activity_timeout", "dead", "pong_timeout")

    def __init__(self, activity_timeout: float, pong_timeout: float, now: float) -> None:
        if activity_timeout <= 0 or pong_timeout <= 0:
            raise ValueError("keepalive timeouts must be positive")
        self.activity_timeout = activity_timeout
        self.pong_timeout = pong_timeout
        self._last_activity = now
        self._ping_sent_at: float | None = None
        self.dead = False
        """Whether :meth:`poll` has declared the connection dead."""

    def activity(self, now: float) -> None:
        """Record that a frame arrived at ``now``; any frame answers an outstanding ping.

        A time reported late, earlier than what is already known, changes nothing: it neither
        moves the last activity back nor answers a ping sent after it.
        """
        self._last_activity = max(self._last_activity, now)
        ping_sent_at = self._ping_sent_at
        if ping_sent_at is not None and now >= ping_sent_at:
            self._ping_sent_at = None

    @property
    def awaiting_pong(self) -> bool:
        """Whether a ping is out and unanswered."""
        return self._ping_sent_at is not None

    def deadline(self) -> float:
        """The time at which :meth:`poll` may next have something to do."""
        if self._ping_sent_at is not None:
            return self._ping_sent_at + self.pong_timeout
        return self._last_activity + self.activity_timeout

    def wake_at(self, now: float) -> float:
        """When to call :meth:`poll` next, asked at ``now``.

        While a ping is out this is at most one activity period away too: if the reply came
        early, the next ping is due one period after it, not after the pong timeout.
        """
        return min(self.deadline(), now + self.activity_timeout)

    def poll(self, now: float) -> KeepaliveAction:
        """Decide what to do at ``now``; ``SEND_PING`` also records the ping as sent."""
        if now < self.deadline():
            return KeepaliveAction.WAIT
        if self._ping_sent_at is not None:
            self.dead = True
            return KeepaliveAction.DEAD
        self._ping_sent_at = now
        return KeepaliveAction.SEND_PING

    def close_code(self, transport_code: int | None) -> int | None:
        """The code that explains the socket's end: 4201 once declared dead, else the
        transport's own.
        """
        return PONG_TIMEOUT_CODE if self.dead else transport_code
