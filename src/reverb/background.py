"""Tasks that nobody awaits, kept alive until they finish.

asyncio keeps only a weak reference to a running task, so a task started and forgotten can be
collected midway. :class:`BackgroundTasks` holds each one until it is done, and holds nothing
(not even an empty set) while none runs: many idle clients cost nothing here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

__all__ = ["BackgroundTasks"]


class BackgroundTasks:
    """The tasks one owner started and does not await."""

    __slots__ = ("_tasks",)

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] | None = None

    def __len__(self) -> int:
        return 0 if self._tasks is None else len(self._tasks)

    def start(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``work`` in a task of its own, held until it finishes."""
        task = asyncio.get_running_loop().create_task(work)
        tasks = self._tasks
        if tasks is None:
            tasks = self._tasks = set()
        tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def cancel(self) -> None:
        """Cancel every task still running."""
        for task in list(self._tasks or ()):
            task.cancel()

    def _finished(self, task: asyncio.Task[Any]) -> None:
        tasks = self._tasks
        if tasks is not None:
            tasks.discard(task)
            if not tasks:
                self._tasks = None
