"""Waiting on conditions with a deadline, never on a guessed delay."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until ``predicate()`` holds, checking every few milliseconds, at most ``timeout`` s.

    Raises:
        TimeoutError: it did not hold in time.
    """
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - the state spans several objects
            await asyncio.sleep(0.005)
