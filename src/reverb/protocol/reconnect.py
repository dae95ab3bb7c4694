"""The reconnect plan: after each failed attempt or lost socket, reconnect now, after a
delay, or give up with this error.

Pure: the random source is injected and the delay is returned, not slept.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from ..exceptions import ConnectionError
from .failures import AttemptsExhausted, SocketLost, to_exception
from .policy import Backoff, CloseAction, close_action

__all__ = ["Decision", "GiveUp", "ReconnectPlan", "RetryAfter", "RetryNow"]


@dataclass(frozen=True, slots=True)
class RetryNow:
    """Reconnect at once (a 42xx close: the server asked for it)."""


@dataclass(frozen=True, slots=True)
class RetryAfter:
    """Wait ``delay`` seconds, then make reconnect attempt number ``attempt`` (from 1)."""

    delay: float
    attempt: int


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Stop: the connection has failed for good with ``error``."""

    error: ConnectionError


Decision = RetryNow | RetryAfter | GiveUp
"""What :class:`ReconnectPlan` decides."""


class ReconnectPlan:
    """Counts attempts and decides what follows each failure.

    Args:
        backoff: the delays and the attempt limit.
        reconnect: whether to reconnect at all; without it every failure gives up.
        random_fraction: the jitter source, a float in [0, 1); seed it for repeatable delays.
    """

    __slots__ = ("_backoff", "_random_fraction", "_reconnect", "attempt", "established_count")

    def __init__(
        self,
        backoff: Backoff,
        *,
        reconnect: bool = True,
        random_fraction: Callable[[], float] = random.random,
    ) -> None:
        self._backoff = backoff
        self._reconnect = reconnect
        self._random_fraction = random_fraction
        self.attempt = 0
        """Back-off attempts since the last established socket."""
        self.established_count = 0
        """Sockets established so far."""

    @property
    def reconnects(self) -> int:
        """Sockets established after the first one."""
        return max(0, self.established_count - 1)

    def established(self) -> None:
        """A socket was established: the attempt count starts again."""
        self.attempt = 0
        self.established_count += 1

    def attempt_failed(self, error: ConnectionError) -> Decision:
        """A connection attempt failed with ``error`` before being established."""
        if close_action(error.code) is CloseAction.REFUSED or not self._reconnect:
            return GiveUp(error)
        return self._back_off(error)

    def socket_lost(self, code: int | None) -> tuple[ConnectionError, Decision]:
        """An established socket ended with ``code``: the error to report, and what next."""
        lost = to_exception(SocketLost(code))
        action = close_action(code)
        if action is CloseAction.REFUSED or not self._reconnect:
            return lost, GiveUp(lost)
        if action is CloseAction.RETRY_NOW:
            return lost, RetryNow()
        return lost, self._back_off(lost)

    def _back_off(self, last: ConnectionError) -> Decision:
        if self._backoff.exhausted(self.attempt):
            return GiveUp(to_exception(AttemptsExhausted(self.attempt, last)))
        delay = self._backoff.delay(self.attempt, self._random_fraction)
        self.attempt += 1
        return RetryAfter(delay, self.attempt)
