"""BackgroundTasks: tasks nobody awaits, held until done, and nothing held while none runs."""

from __future__ import annotations

import asyncio
import gc

from reverb.background import BackgroundTasks
from tests.support.waiting import wait_until


async def test_a_task_is_held_until_it_finishes_then_nothing_is_kept() -> None:
    tasks = BackgroundTasks()
    release = asyncio.Event()
    done: list[str] = []

    async def work() -> None:
        await release.wait()
        done.append("finished")

    task = tasks.start(work())
    del task
    gc.collect()  # only BackgroundTasks holds the task now
    assert len(tasks) == 1
    release.set()
    await wait_until(lambda: len(tasks) == 0, timeout=5)
    assert done == ["finished"]
    assert tasks._tasks is None  # no empty set left behind


async def test_cancel_stops_every_task_still_running() -> None:
    tasks = BackgroundTasks()
    started = [tasks.start(asyncio.sleep(60)) for _ in range(3)]
    tasks.cancel()
    results = await asyncio.gather(*started, return_exceptions=True)
    assert all(isinstance(result, asyncio.CancelledError) for result in results)
    assert len(tasks) == 0
