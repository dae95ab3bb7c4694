"""What to do when a connection ends, and how long to wait before trying again.

The Pusher protocol groups its codes (used both as websocket close codes and as
``pusher:error`` codes) by the action a client should take:

==========  =====================================================================
4000-4099   refused: reconnecting unchanged cannot help (4001 unknown app key ...)
4100-4199   back off, then reconnect (4100 over capacity)
4200-4299   reconnect at once (4200 generic, 4201 pong not received, 4202 idle)
4300-4399   refused (4301 client events disabled / rate limited)
1002-1004   back off (protocol error, unsupported data)
other       back off (1006 dropped with no close frame, 1000/1001 server going away ...)
==========  =====================================================================
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Backoff", "CloseAction", "close_action"]


class CloseAction(StrEnum):
    """The client's response to the end of a connection."""

    REFUSED = "refused"
    """Give up: the server refused this client and will refuse it again."""
    BACKOFF = "backoff"
    """Reconnect after the next back-off delay."""
    RETRY_NOW = "retry_now"
    """Reconnect immediately."""


def close_action(code: int | None) -> CloseAction:
    """Map a websocket close code or ``pusher:error`` code to a :class:`CloseAction`.

    ``None`` (no code at all, as when the TCP connection simply drops) backs off.
    """
    if code is None:
        return CloseAction.BACKOFF
    if 4000 <= code <= 4099:
        return CloseAction.REFUSED
    if 4100 <= code <= 4199:
        return CloseAction.BACKOFF
    if 4200 <= code <= 4299:
        return CloseAction.RETRY_NOW
    if code >= 4300:
        return CloseAction.REFUSED
    return CloseAction.BACKOFF


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential back-off with a cap and up to ``jitter`` extra, as a fraction.

    The delay before reconnect attempt ``n`` (counting from 0 after each successful
    connection) is ``min(initial * multiplier**n, maximum)``, plus a random 0 to ``jitter``
    of itself. With the defaults: about 1, 2, 4, 8, 16, 30, 30 ... seconds, each up to 25 %
    longer.

    Attributes:
        initial: the first delay, in seconds.
        maximum: the cap before jitter, in seconds.
        multiplier: growth per attempt.
        jitter: the largest random addition, as a fraction of the delay.
        max_attempts: reconnect attempts before giving up; ``None`` never gives up.
    """

    initial: float = 1.0
    maximum: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.25
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < 0:
            raise ValueError("back-off delays must not be negative")
        if self.multiplier < 1:
            raise ValueError("back-off multiplier must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("back-off jitter must be between 0 and 1")
        if self.max_attempts is not None and self.max_attempts < 0:
            raise ValueError("max_attempts must not be negative")

    def base_delay(self, attempt: int) -> float:
        """The delay before attempt ``attempt``, without jitter."""
        if attempt < 0:
            raise ValueError("attempt must not be negative")
        if self.initial == 0 or self.multiplier == 1:
            return min(self.initial, self.maximum)
        try:
            grown = self.initial * float(self.multiplier) ** attempt
        except OverflowError:  # a positive delay grown past any float is past the cap
            return self.maximum
        return min(grown, self.maximum)

    def delay(self, attempt: int, random_fraction: Callable[[], float] = random.random) -> float:
        """The delay before attempt ``attempt``, with jitter drawn from ``random_fraction``.

        ``random_fraction`` returns a float in [0, 1); pass a seeded source for repeatable
        delays.
        """
        base = self.base_delay(attempt)
        return base + base * self.jitter * random_fraction()

    def exhausted(self, attempt: int) -> bool:
        """Whether attempt number ``attempt`` (0-based) is beyond ``max_attempts``."""
        return self.max_attempts is not None and attempt >= self.max_attempts
