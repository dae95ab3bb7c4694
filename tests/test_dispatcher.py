"""Dispatcher: handlers called at once while nothing waits, queued behind whatever must wait."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from reverb.channels import PublicChannel
from reverb.dispatch import HandlerRegistry
from reverb.dispatcher import ClientStats, Dispatcher
from reverb.messages import Event
from tests.support.waiting import wait_until

pytestmark = pytest.mark.usefixtures("receive_path")


class Host:
    """The little of a client a channel needs here."""

    def __init__(self, stats: ClientStats) -> None:
        self.stats = stats
        self.socket_id = "1.1"


class Opening(PublicChannel):
    """Transforms each event first (as encrypted channels decrypt): never handled inline."""

    _opens_events = True

    async def _open_event(self, event: Event) -> Event | None:
        await asyncio.sleep(0)
        return Event(event.name, event.channel, f"opened {event.data}")


class CustomHandling(PublicChannel):
    """Overrides the extension point: its own _handle_event must run."""

    async def _handle_event(self, event: Event, data: Any) -> None:
        await super()._handle_event(event, f"custom {data}")


@pytest.fixture
def stats() -> ClientStats:
    return ClientStats()


@pytest.fixture
def client_handlers() -> HandlerRegistry:
    return HandlerRegistry()


@pytest.fixture
def channels(stats: ClientStats) -> dict[str, PublicChannel]:
    host: Any = Host(stats)
    return {
        "orders": PublicChannel("orders", host),
        "opening": Opening("opening", host),
        "custom": CustomHandling("custom", host),
    }


@pytest.fixture
def dispatcher(
    channels: dict[str, PublicChannel], client_handlers: HandlerRegistry, stats: ClientStats
) -> Dispatcher:
    dispatcher = Dispatcher(channels, client_handlers, stats)
    dispatcher.start()
    return dispatcher


def event(data: Any, channel: str = "orders", name: str = "E") -> Event:
    return Event(name, channel, data)


async def test_sync_handlers_run_at_once_and_no_task_is_made(
    dispatcher: Dispatcher, channels: dict[str, PublicChannel], stats: ClientStats
) -> None:
    seen: list[Any] = []
    channels["orders"].bind("E", lambda e: seen.append(e.data))
    dispatcher.event_sink(event(1))
    dispatcher.event_sink(event(2))
    assert seen == [1, 2]  # before any await
    assert dispatcher.task is None
    assert stats.events_dispatched == 2


async def test_client_wide_handlers_come_after_the_channels_and_see_channel_less_events(
    dispatcher: Dispatcher, channels: dict[str, PublicChannel], client_handlers: HandlerRegistry
) -> None:
    seen: list[str] = []
    channels["orders"].bind("E", lambda e: seen.append("channel"))
    client_handlers.bind_global(lambda e: seen.append(f"client {e.channel}"))
    dispatcher.event_sink(event(1))
    dispatcher.event_sink(Event("pusher:error", None, {}))
    assert seen == ["channel", "client orders", "client None"]


async def test_an_async_handler_keeps_later_events_waiting_until_it_finishes(
    dispatcher: Dispatcher, channels: dict[str, PublicChannel], stats: ClientStats
) -> None:
    gate = asyncio.get_running_loop().create_future()
    seen: list[str] = []

    async def slow(e: Event) -> None:
        seen.append(f"slow {e.data} start")
        await gate
        seen.append(f"slow {e.data} end")

    channels["orders"].bind("slow", slow)
    channels["orders"].bind("E", lambda e: seen.append(f"sync {e.data}"))
    dispatcher.event_sink(event(1, name="slow"))
    dispatcher.event_sink(event(2))
    assert seen == []  # the coroutine runs on the dispatcher's task, now made
    assert dispatcher.task is not None
    await wait_until(lambda: seen == ["slow 1 start"])
    await asyncio.sleep(0)
    assert seen == ["slow 1 start"]
    gate.set_result(None)
    await wait_until(lambda: len(seen) == 3)
    assert seen == ["slow 1 start", "slow 1 end", "sync 2"]
    await wait_until(lambda: stats.events_dispatched == 2)
    dispatcher.event_sink(event(3))  # drained: handled at once again
    assert seen[-1] == "sync 3"


async def test_the_handlers_after_an_async_one_run_once_it_is_done(
    dispatcher: Dispatcher, channels: dict[str, PublicChannel], client_handlers: HandlerRegistry
) -> None:
    seen: list[str] = []

    async def middle(e: Event) -> None:
        await asyncio.sleep(0)
        seen.append("B")

    channel = channels["orders"]
    channel.bind("E", lambda e: seen.append("A"))
    channel.bind("E", middle)
    channel.bind("E", lambda e: seen.append("C"))
    client_handlers.bind("E", lambda e: seen.append("D"))
    dispatcher.event_sink(event(1))
    dispatcher.event_sink(event(2))
    await wait_until(lambda: len(seen) == 8)
    assert seen == ["A", "B", "C", "D", "A", "B", "C", "D"]


async def test_handler_errors_are_counted_and_logged_and_the_others_still_run(
    dispatcher: Dispatcher,
    channels: dict[str, PublicChannel],
    stats: ClientStats,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[int] = []

    def broken(e: Event) -> None:
        raise RuntimeError("boom")

    async def broken_later(e: Event) -> None:
        await asyncio.sleep(0)
        raise RuntimeError("later")

    channels["orders"].bind("E", broken)
    channels["orders"].bind("E", broken_later)
    channels["orders"].bind("E", lambda e: seen.append(e.data))
    with caplog.at_level(logging.ERROR, logger="reverb.dispatch"):
        dispatcher.event_sink(event(1))
        await wait_until(lambda: seen == [1])
    assert stats.handler_errors == 2
    assert [str(r.exc_info[1]) for r in caplog.records if r.exc_info] == ["boom", "later"]


async def test_a_hold_keeps_later_events_waiting_but_not_earlier_ones(
    dispatcher: Dispatcher, channels: dict[str, PublicChannel]
) -> None:
    seen: list[int] = []
    channels["orders"].bind("E", lambda e: seen.append(e.data))
    hold = asyncio.get_running_loop().create_future()
    dispatcher.event_sink(event(1))
    dispatcher.hold_until(hold)
    dispatcher.event_sink(event(2))
    dispatcher.event_sink(event(3))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert seen == [1]
    hold.set_result(None)
    await wait_until(lambda: seen == [1, 2, 3])


async def test_a_hold_that_ends_with_nothing_waiting_leaves_no_task(
    dispatcher: Dispatcher, channels: dict[str, PublicChannel]
) -> None:
    seen: list[int] = []
    channels["orders"].bind("E", lambda e: seen.append(e.data))
    hold = asyncio.get_running_loop().create_future()
    dispatcher.hold_until(hold)
    hold.set_result(None)
    await asyncio.sleep(0)  # the hold's done-callback runs
    dispatcher.event_sink(event(1))
    assert seen == [1]
    assert dispatcher.task is None


async def test_channels_that_open_their_events_are_handled_on_the_task(
    dispatcher: Dispatcher, channels: dict[str, PublicChannel], client_handlers: HandlerRegistry
) -> None:
    seen: list[Any] = []
    channels["opening"].bind("E", lambda e: seen.append(e.data))
    client_handlers.bind("E", lambda e: seen.append(f"client {e.data}"))
    dispatcher.event_sink(event(1, channel="opening"))
    assert seen == []
    await wait_until(lambda: len(seen) == 2)
    assert seen == ["opened 1", "client opened 1"]


async def test_a_custom_handle_event_is_called_not_bypassed(
    dispatcher: Dispatcher, channels: dict[str, PublicChannel]
) -> None:
    assert PublicChannel._handled_inline
    assert not CustomHandling._handled_inline
    assert not Opening._handled_inline
    seen: list[Any] = []
    channels["custom"].bind("E", lambda e: seen.append(e.data))
    dispatcher.event_sink(event(1, channel="custom"))
    await wait_until(lambda: seen == ["custom 1"])


async def test_events_before_start_and_after_stop_are_dropped(
    channels: dict[str, PublicChannel], client_handlers: HandlerRegistry, stats: ClientStats
) -> None:
    seen: list[int] = []
    channels["orders"].bind("E", lambda e: seen.append(e.data))
    dispatcher = Dispatcher(channels, client_handlers, stats)
    dispatcher.event_sink(event(1))
    dispatcher.start()
    dispatcher.event_sink(event(2))
    await dispatcher.stop()
    dispatcher.event_sink(event(3))
    dispatcher.put_call(lambda: asyncio.sleep(0))
    assert seen == [2]
    assert dispatcher.task is None


async def test_stop_lets_the_queued_work_finish_first(
    dispatcher: Dispatcher, channels: dict[str, PublicChannel]
) -> None:
    seen: list[int] = []

    async def handler(e: Event) -> None:
        await asyncio.sleep(0)
        seen.append(e.data)

    channels["orders"].bind("E", handler)
    for number in range(5):
        dispatcher.event_sink(event(number))
    await dispatcher.stop()
    assert seen == [0, 1, 2, 3, 4]


async def test_callbacks_run_in_order_with_the_events(
    dispatcher: Dispatcher, channels: dict[str, PublicChannel]
) -> None:
    seen: list[Any] = []
    channels["orders"].bind("E", lambda e: seen.append(e.data))

    async def call() -> None:
        seen.append("call")

    dispatcher.event_sink(event(1))
    dispatcher.put_call(call)
    dispatcher.event_sink(event(2))
    await wait_until(lambda: len(seen) == 3)
    assert seen == [1, "call", 2]
