"""Waiting for a condition that callbacks change, woken by them rather than by a timer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Signal:
    """Something changed: code that changes state calls :meth:`notify` (a plain function, so
    sync callbacks can call it); waiters re-check their predicate on each notification.
    """

    def __init__(self) -> None:
        self._changed = asyncio.Event()

    def notify(self) -> None:
        """Wake every waiter so it checks its predicate again."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float) -> T:
        """Return the first truthy ``predicate()``, re-checked on every :meth:`notify`.

        Raises:
            TimeoutError: it stayed falsy for ``timeout`` seconds.
        """
        async with asyncio.timeout(timeout):
            while True:
                changed = self._changed
                result = predicate()
                if result:
                    return result
                await changed.wait()
