"""The same Echo scenarios through laravel-echo (on pusher-js, in Node) and through reverb.echo,
against each real server: the same callbacks must run in the same order with the same data."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from reverb.echo import NOTIFICATION_EVENT, EventFormatter
from reverb.testing import BackgroundServer
from tests.integration.conftest import client_for, publish
from tests.support.echo_peer import (
    Call,
    DeniedAuthenticator,
    EchoDriver,
    NodeEcho,
    PythonEcho,
    call,
    echo_call,
    open_channel,
    wait_calls,
)
from tests.support.soketi import ServerUnderTest, SoketiServer
from tests.test_echo import FORMATS

pytestmark = pytest.mark.integration

Scenario = Callable[[EchoDriver, ServerUnderTest, str], Awaitable[list[Call]]]
"""Drives one implementation (its runs differ only by the suffix ``js`` or ``py``) and returns
the calls it recorded, taken before any helper peer leaves."""


@contextlib.asynccontextmanager
async def driver_for(implementation: str, server: ServerUnderTest) -> AsyncIterator[EchoDriver]:
    driver: EchoDriver
    if implementation == "js":
        driver = await NodeEcho.start(server)
    else:
        client = client_for(
            server, authenticator=DeniedAuthenticator(server.app_key, server.app_secret)
        )
        await client.connect()
        driver = PythonEcho(client)
    try:
        yield driver
    finally:
        await driver.close()


async def run_both(server: ServerUnderTest, scenario: Scenario) -> tuple[list[Call], list[Call]]:
    """The calls recorded by laravel-echo, then by reverb.echo, for one scenario."""
    recorded: dict[str, list[Call]] = {}
    for implementation in ("js", "py"):
        async with driver_for(implementation, server) as driver:
            recorded[implementation] = await scenario(driver, server, implementation)
    return recorded["js"], recorded["py"]


# -- event names ---------------------------------------------------------------------------------


async def event_names(driver: EchoDriver, server: ServerUnderTest, run: str) -> list[Call]:
    orders = f"orders.{run}"
    await driver.run(
        open_channel("channel", orders),
        call("channel", orders, "listen", "OrderShipped", callback=("shipped", 1)),
        call("channel", orders, "listen", ".price.changed", callback=("price", 1)),
        call("channel", orders, "listen", "Orders.Cancelled", callback=("cancelled", 1)),
        call("channel", orders, "listenToAll", callback=("all", 2)),
        call("channel", orders, "subscribed", callback=("subscribed", 0)),
    )
    await wait_calls(driver, 1)
    await publish(server, orders, "App\\Events\\OrderShipped", {"id": 1})
    await publish(server, orders, "price.changed", {"price": 5})
    await publish(server, orders, "App\\Events\\Orders\\Cancelled", {"id": 2})
    await publish(server, orders, "OrderShipped", {"id": 3})  # no namespace: listenToAll only
    await wait_calls(driver, 8)
    await driver.run(
        call("channel", orders, "stopListening", "OrderShipped", callback_ref="shipped"),
        # Without the callback: laravel-echo 2.5's stopListeningToAll(callback) removes nothing
        # (it compares the callback with its own wrapper); reverb.echo's removes that callback.
        call("channel", orders, "stopListeningToAll"),
        call("channel", orders, "listen", ".done", callback=("done", 1)),
    )
    await publish(server, orders, "App\\Events\\OrderShipped", {"id": 4})  # nobody listens
    await publish(server, orders, "done", {"last": True})
    return list(await wait_calls(driver, 9))


async def test_namespaced_and_dot_prefixed_events(server: ServerUnderTest) -> None:
    js, py = await run_both(server, event_names)
    assert py == js
    assert js == [
        ("subscribed", []),
        ("all", ["OrderShipped", {"id": 1}]),
        ("shipped", [{"id": 1}]),
        ("all", [".price.changed", {"price": 5}]),
        ("price", [{"price": 5}]),
        ("all", ["Orders\\Cancelled", {"id": 2}]),
        ("cancelled", [{"id": 2}]),
        ("all", [".OrderShipped", {"id": 3}]),
        ("done", [{"last": True}]),
    ]


async def test_the_formatter_matches_laravel_echos(server: ServerUnderTest) -> None:
    table = [(namespace, event) for namespace, event, _ in FORMATS if namespace is not True]
    peer = await NodeEcho.start(server)
    try:
        for namespace, event in table:
            [theirs] = await peer.format(namespace, [event])
            assert EventFormatter(namespace).format(event) == theirs, (namespace, event)
    finally:
        await peer.close()


# -- whispers ------------------------------------------------------------------------------------


async def whispers(driver: EchoDriver, server: ServerUnderTest, run: str) -> list[Call]:
    chat = f"chat.{run}"
    async with client_for(server) as helper:
        other = await helper.subscribe("private-" + chat)
        heard: asyncio.Queue[object] = asyncio.Queue()
        other.bind("client-typing", lambda event: heard.put_nowait(event.data))
        await driver.run(
            open_channel("private", chat),
            call("private", chat, "listenForWhisper", "typing", callback=("typing", 1)),
            call("private", chat, "listenForWhisper", "done", callback=("done", 1)),
            call("private", chat, "subscribed", callback=("subscribed", 0)),
        )
        await wait_calls(driver, 1)
        await other.trigger("client-typing", {"from": "helper"})
        await wait_calls(driver, 2)
        await driver.run(call("private", chat, "whisper", "typing", {"from": "echo"}))
        async with asyncio.timeout(10):
            assert await heard.get() == {"from": "echo"}
        await driver.run(call("private", chat, "stopListeningForWhisper", "typing"))
        await other.trigger("client-typing", {"n": 2})  # nobody listens
        await other.trigger("client-done", {"n": 3})
        return list(await wait_calls(driver, 3))


async def test_whispers(server: ServerUnderTest) -> None:
    js, py = await run_both(server, whispers)
    assert py == js
    assert js == [("subscribed", []), ("typing", [{"from": "helper"}]), ("done", [{"n": 3}])]


# -- presence ------------------------------------------------------------------------------------


async def presence(driver: EchoDriver, server: ServerUnderTest, run: str) -> list[Call]:
    room = f"room.{run}"
    async with client_for(server) as first:
        await first.subscribe(
            "presence-" + room, user_data={"user_id": "10", "user_info": {"name": "Ten"}}
        )
        await driver.run(
            open_channel("join", room, {"user_id": "9", "user_info": {"name": "Nine"}}),
            call("join", room, "subscribed", callback=("subscribed", 0)),
            call("join", room, "here", callback=("here", 1)),
            call("join", room, "joining", callback=("joining", 1)),
            call("join", room, "leaving", callback=("leaving", 1)),
        )
        await wait_calls(driver, 2)
        async with client_for(server) as third:
            await third.subscribe(
                "presence-" + room, user_data={"user_id": "11", "user_info": {"name": "Eleven"}}
            )
            await wait_calls(driver, 3)
        return list(await wait_calls(driver, 4))  # before the first member leaves too


async def test_presence_here_joining_leaving(server: ServerUnderTest) -> None:
    js, py = await run_both(server, presence)
    assert py == js
    assert js == [
        ("subscribed", []),
        ("here", [[{"name": "Nine"}, {"name": "Ten"}]]),  # numeric ids in numeric order
        ("joining", [{"name": "Eleven"}]),
        ("leaving", [{"name": "Eleven"}]),
    ]


async def resubscription(driver: EchoDriver, server: ServerUnderTest, run: str) -> list[Call]:
    assert isinstance(server, BackgroundServer)
    room = f"room.{run}"
    async with client_for(server) as first:
        await first.subscribe(
            "presence-" + room, user_data={"user_id": "10", "user_info": {"name": "Ten"}}
        )
        await driver.run(
            open_channel("join", room, {"user_id": "9", "user_info": {"name": "Nine"}}),
            call("join", room, "subscribed", callback=("subscribed", 0)),
            call("join", room, "here", callback=("here", 1)),
            call("join", room, "joining", callback=("joining", 1)),
            call("join", room, "leaving", callback=("leaving", 1)),
        )
        await wait_calls(driver, 2)
        socket_id = await driver.socket_id()
        assert socket_id is not None
        server.drop(socket_id)  # a network reset: both reconnect and subscribe again
        return list(await wait_calls(driver, 4, timeout=20))


async def test_here_is_called_again_after_a_reconnect() -> None:
    with BackgroundServer() as server:
        js, py = await run_both(server, resubscription)
    assert py == js
    here = ("here", [[{"name": "Nine"}, {"name": "Ten"}]])
    assert js == [("subscribed", []), here, ("subscribed", []), here]


# -- errors ---------------------------------------------------------------------------------------


def denied_then_orders(count: int) -> Scenario:
    async def scenario(driver: EchoDriver, server: ServerUnderTest, run: str) -> list[Call]:
        await driver.run(
            open_channel("private", f"denied.{run}"),
            call("private", f"denied.{run}", "error", callback=("error", 1)),
            open_channel("channel", f"after.{run}"),
            call("channel", f"after.{run}", "subscribed", callback=("subscribed", 0)),
        )
        return sorted(await wait_calls(driver, count), key=lambda each: each[0])

    return scenario


async def test_a_refused_subscription_calls_error(server: ServerUnderTest) -> None:
    if isinstance(server, SoketiServer):  # refuses with pusher:subscription_error
        js, py = await run_both(server, denied_then_orders(2))
        assert [tag for tag, _ in py] == [tag for tag, _ in js] == ["error", "subscribed"]
        unauthorized = {"type": "AuthError", "error": "The connection is unauthorized."}
        assert js[0][1] == [{**unauthorized, "status": 401}]
        assert py[0][1][0]["type"] == "SubscriptionError"
        return

    # Reverb refuses with a channel-less pusher:error 4009, which pusher-js cannot route to the
    # channel, so laravel-echo's error callbacks never run there; reverb.echo's do.
    async def scenario(driver: EchoDriver, server: ServerUnderTest, run: str) -> list[Call]:
        return await denied_then_orders(1 if run == "js" else 2)(driver, server, run)

    js, py = await run_both(server, scenario)
    assert js == [("subscribed", [])]
    assert [tag for tag, _ in py] == ["error", "subscribed"]
    assert py[0][1][0]["code"] == 4009


# -- notifications -------------------------------------------------------------------------------

USER = "App.Models.User.1"
INVOICE_PAID = {
    "id": "5f0b7a52-4a4b-4c58-9d0e-2f1c9f4c1e77",
    "type": "App\\Notifications\\InvoicePaid",
    "invoice": {"id": 7, "amount": 4200},
}


async def notifications(driver: EchoDriver, server: ServerUnderTest, run: str) -> list[Call]:
    channel = "private-" + USER
    await driver.run(
        open_channel("private", USER),
        call("private", USER, "notification", callback=("notification", 1)),
        call("private", USER, "subscribed", callback=("subscribed", 0)),
    )
    await wait_calls(driver, 1)
    await publish(server, channel, NOTIFICATION_EVENT, INVOICE_PAID)
    await publish(server, channel, "App\\Events\\Unrelated", {})
    await wait_calls(driver, 2)
    await driver.run(
        call("private", USER, "stopListeningForNotification"),
        call("private", USER, "listen", ".done", callback=("done", 1)),
    )
    await publish(server, channel, NOTIFICATION_EVENT, {**INVOICE_PAID, "id": "second"})
    await publish(server, channel, "done", {})
    calls = list(await wait_calls(driver, 3))
    await driver.run(echo_call("leave", USER))
    return calls


async def test_notifications(server: ServerUnderTest) -> None:
    js, py = await run_both(server, notifications)
    assert py == js
    assert js == [("subscribed", []), ("notification", [INVOICE_PAID]), ("done", [{}])]
