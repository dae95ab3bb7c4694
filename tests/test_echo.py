"""reverb.echo over the in-memory fake server: Echo's names, chaining, presence, whispers,
notifications, errors and leaving."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from reverb import ConfigurationError, ReverbClient, SubscriptionError
from reverb.echo import (
    NOTIFICATION_EVENT,
    Echo,
    EchoChannel,
    EchoPresenceChannel,
    EventFormatter,
    js_key_order,
)
from reverb.encryption import encrypt_data
from reverb.protocol.presence import Member
from reverb.protocol.signing import channel_auth, channel_shared_secret
from tests.support.fake_server import FakeServer, FakeSocket, fake_client
from tests.support.waiting import wait_until

SECRET = "echo-s3cr3t"
MASTER_KEY = bytes(range(32))


def make_client(server: FakeServer, **settings: Any) -> ReverbClient:
    options: dict[str, Any] = {
        "app_secret": SECRET,
        "reconnect_delay": 0.01,
        "reconnect_max_delay": 0.05,
        "encryption_master_key_base64": base64.b64encode(MASTER_KEY).decode(),
    }
    return fake_client(server, **{**options, **settings})


@pytest.fixture
def server() -> FakeServer:
    return FakeServer(secret=SECRET)


@pytest.fixture
async def client(server: FakeServer) -> AsyncIterator[ReverbClient]:
    async with make_client(server) as connected:
        yield connected


@pytest.fixture
def echo(client: ReverbClient) -> Echo:
    return Echo(client, user_data={"user_id": "1", "user_info": {"name": "Ada"}})


class Calls(list[tuple[Any, ...]]):
    """Callback calls in order, as (tag, *args)."""

    def recorder(self, tag: str) -> Any:
        def record(*args: Any) -> None:
            self.append((tag, *args))

        return record

    async def wait(self, count: int) -> None:
        await wait_until(lambda: len(self) >= count, 5)


def push(socket: FakeSocket, channel: str, event: str, data: Any) -> None:
    socket.push({"event": event, "channel": channel, "data": json.dumps(data)})


# -- naming ----------------------------------------------------------------------------------------

FORMATS = [
    ("App.Events", "OrderShipped", "App\\Events\\OrderShipped"),
    ("App.Events", "Orders.Shipped", "App\\Events\\Orders\\Shipped"),
    ("App.Events", "Orders\\Shipped", "App\\Events\\Orders\\Shipped"),
    ("App.Events", ".price.changed", "price.changed"),
    ("App.Events", "\\App\\Other\\Thing", "App\\Other\\Thing"),
    ("App.Events", "\\Foo.Bar", "Foo.Bar"),  # the prefix is stripped, nothing else changes
    ("App.Events", ".App\\Other\\Thing", "App\\Other\\Thing"),
    ("App.Events", "..double", ".double"),
    ("App.Events", ".client-typing", "client-typing"),
    ("App.Other.Namespace", "Thing", "App\\Other\\Namespace\\Thing"),
    ("App\\Domain", "Thing.Done", "App\\Domain\\Thing\\Done"),
    (None, "OrderShipped", "OrderShipped"),
    (None, "price.changed", "price\\changed"),  # dots still become backslashes
    (None, ".price.changed", "price.changed"),
    (False, "Orders.Shipped", "Orders\\Shipped"),
    ("", "OrderShipped", "OrderShipped"),
    (True, "OrderShipped", "App\\Events\\OrderShipped"),
]


@pytest.mark.parametrize(("namespace", "event", "expected"), FORMATS)
def test_event_names_follow_echos_formatter(
    namespace: str | bool | None, event: str, expected: str
) -> None:
    assert EventFormatter(namespace).format(event) == expected


SHORT_NAMES = [
    ("App.Events", "App\\Events\\OrderShipped", "OrderShipped"),
    ("App.Events", "App\\Events\\Orders\\Shipped", "Orders\\Shipped"),
    ("App.Events", "price.changed", ".price.changed"),
    ("App.Events", "client-typing", ".client-typing"),
    ("App.Events", "App\\EventsXY", "Y"),  # Echo compares prefixes only
    (None, "App\\Events\\OrderShipped", ".App\\Events\\OrderShipped"),
    (False, "OrderShipped", ".OrderShipped"),
]


@pytest.mark.parametrize(("namespace", "received", "expected"), SHORT_NAMES)
def test_listen_to_all_names_follow_echo(
    namespace: str | bool | None, received: str, expected: str
) -> None:
    formatter = EventFormatter(namespace)
    assert formatter.short_name(received) == expected
    if received != "App\\EventsXY":
        assert formatter.format(expected) == received  # the short name listens to it again


@pytest.mark.parametrize("bad", ["", None, 3])
def test_event_names_must_be_non_empty_strings(bad: Any) -> None:
    with pytest.raises(TypeError):
        EventFormatter().format(bad)


def test_members_are_listed_in_javascript_key_order() -> None:
    keys = ["10", "b", "9", "a", "01", "0", "4294967295", "4294967294"]
    assert js_key_order(keys) == ["0", "9", "10", "4294967294", "b", "a", "01", "4294967295"]


# -- channels and listeners ------------------------------------------------------------------------


async def test_a_channel_comes_back_at_once_and_subscribes_in_the_background(
    echo: Echo, client: ReverbClient, server: FakeServer
) -> None:
    orders = echo.channel("orders")
    assert isinstance(orders, EchoChannel)
    assert not orders.channel.subscribed
    assert echo.channel("orders") is orders
    assert await orders is orders
    assert await orders.subscribed() is orders
    assert client.channel("orders") is orders.channel
    assert [f["data"]["channel"] for f in server.frames("pusher:subscribe")] == ["orders"]
    assert dict(echo.channels) == {"orders": orders}


async def test_listen_uses_the_namespace_and_calls_back_with_the_data(
    echo: Echo, server: FakeServer
) -> None:
    calls = Calls()

    async def priced(data: Any) -> None:
        await asyncio.sleep(0)
        calls.append(("price", data))

    orders = await (
        echo.channel("orders")
        .listen("OrderShipped", calls.recorder("shipped"))
        .listen(".price.changed", priced)
        .listen("Orders.Cancelled", calls.recorder("cancelled"))
    )
    push(server.current, "orders", "OrderShipped", {"id": 0})  # not namespaced: not heard
    push(server.current, "orders", "App\\Events\\OrderShipped", {"id": 1})
    push(server.current, "orders", "price.changed", {"price": 5})
    push(server.current, "orders", "App\\Events\\Orders\\Cancelled", {"id": 2})
    await calls.wait(3)
    assert calls == [("shipped", {"id": 1}), ("price", {"price": 5}), ("cancelled", {"id": 2})]
    assert orders.name == "orders"


async def test_every_method_chains(echo: Echo) -> None:
    room = echo.join("room")
    noop = Calls().recorder("x")
    assert room.listen("A", noop) is room
    assert room.stop_listening("A", noop) is room
    assert room.listen_to_all(noop) is room
    assert room.stop_listening_to_all(noop) is room
    assert room.listen_for_whisper("typing", noop) is room
    assert room.stop_listening_for_whisper("typing", noop) is room
    assert room.notification(noop) is room
    assert room.stop_listening_for_notification(noop) is room
    assert room.here(noop).joining(noop).leaving(noop) is room
    assert room.error(noop).subscribed(noop) is room
    await room


async def test_stop_listening_removes_one_callback_or_all(echo: Echo, server: FakeServer) -> None:
    calls = Calls()
    first, second = calls.recorder("first"), calls.recorder("second")
    orders = await echo.channel("orders").listen("Shipped", first).listen("Shipped", second)
    orders.listen(".done", calls.recorder("done"))
    orders.stop_listening("Shipped", first)
    push(server.current, "orders", "App\\Events\\Shipped", 1)
    push(server.current, "orders", "done", None)
    await calls.wait(2)
    orders.stop_listening("Shipped")
    push(server.current, "orders", "App\\Events\\Shipped", 2)
    push(server.current, "orders", "done", None)
    await calls.wait(3)
    assert calls == [("second", 1), ("done", None), ("done", None)]


async def test_listen_to_all_gets_short_names_and_no_pusher_events(
    echo: Echo, server: FakeServer
) -> None:
    calls = Calls()
    everything = calls.recorder("all")
    orders = await echo.channel("orders").listen_to_all(everything)
    push(server.current, "orders", "App\\Events\\OrderShipped", {"id": 1})
    push(server.current, "orders", "price.changed", 5)
    push(server.current, "orders", "pusher:cache_miss", None)
    push(server.current, "orders", "Other\\Thing", [1])
    await calls.wait(3)
    orders.stop_listening_to_all(everything).listen(".end", calls.recorder("end"))
    push(server.current, "orders", "price.changed", 6)
    push(server.current, "orders", "end", None)
    await calls.wait(4)
    assert calls == [
        ("all", "OrderShipped", {"id": 1}),
        ("all", ".price.changed", 5),
        ("all", ".Other\\Thing", [1]),
        ("end", None),
    ]


async def test_without_a_namespace_names_are_used_as_given(
    client: ReverbClient, server: FakeServer
) -> None:
    calls = Calls()
    echo = Echo(client, namespace=None)
    await (
        echo.channel("orders")
        .listen("OrderShipped", calls.recorder("s"))
        .listen_to_all(calls.recorder("all"))
    )
    push(server.current, "orders", "OrderShipped", 1)
    await calls.wait(2)
    assert calls == [("all", ".OrderShipped", 1), ("s", 1)]  # catch-all first, as pusher-js


async def test_a_raising_callback_does_not_stop_the_others(echo: Echo, server: FakeServer) -> None:
    calls = Calls()

    def broken(data: Any) -> None:
        raise RuntimeError("boom")

    await echo.channel("orders").listen("A", broken).listen("A", calls.recorder("ok"))
    push(server.current, "orders", "App\\Events\\A", 1)
    await calls.wait(1)
    assert calls == [("ok", 1)]


# -- whispers and notifications --------------------------------------------------------------------


async def test_whispers_are_heard_and_sent(echo: Echo, server: FakeServer) -> None:
    calls = Calls()
    chat = echo.private("chat.1").listen_for_whisper("typing", calls.recorder("typing"))
    await chat.whisper("typing", {"name": "Ada"})  # waits for the subscription first
    assert server.frames("client-typing") == [
        {"event": "client-typing", "channel": "private-chat.1", "data": {"name": "Ada"}}
    ]
    server.current.push({"event": "client-typing", "channel": "private-chat.1", "data": {"n": 2}})
    await calls.wait(1)
    chat.stop_listening_for_whisper("typing").listen(".end", calls.recorder("end"))
    server.current.push({"event": "client-typing", "channel": "private-chat.1", "data": {"n": 3}})
    push(server.current, "private-chat.1", "end", None)
    await calls.wait(2)
    assert calls == [("typing", {"n": 2}), ("end", None)]


async def test_notifications_arrive_with_their_id_and_type(echo: Echo, server: FakeServer) -> None:
    calls = Calls()
    user = await echo.private("App.Models.User.1").notification(calls.recorder("n"))
    assert user.name == "private-App.Models.User.1"
    data = {"id": "0b9a", "type": "App\\Notifications\\InvoicePaid", "amount": 12}
    push(server.current, user.name, NOTIFICATION_EVENT, data)
    await calls.wait(1)
    assert calls == [("n", data)]
    assert NOTIFICATION_EVENT == "Illuminate\\Notifications\\Events\\BroadcastNotificationCreated"


async def test_encrypted_channels_give_decrypted_data(echo: Echo, server: FakeServer) -> None:
    calls = Calls()
    secret = await echo.encrypted_private("vault").listen("Opened", calls.recorder("o"))
    assert secret.name == "private-encrypted-vault"
    key = channel_shared_secret(secret.name, MASTER_KEY)
    push(server.current, secret.name, "App\\Events\\Opened", encrypt_data({"gold": 3}, key))
    await calls.wait(1)
    assert calls == [("o", {"gold": 3})]


# -- presence --------------------------------------------------------------------------------------


def answer_presence(server: FakeServer, others: dict[str, Any]) -> None:
    """Confirm presence subscriptions listing ``others`` before the subscriber."""

    def on_frame(socket: FakeSocket, frame: dict[str, Any]) -> None:
        if frame.get("event") != "pusher:subscribe":
            return
        data = frame["data"]
        socket.channels.add(data["channel"])
        me = json.loads(data["channel_data"])
        members = {**others, str(me["user_id"]): me.get("user_info")}
        presence = {"count": len(members), "ids": list(members), "hash": members}
        push(
            socket,
            data["channel"],
            "pusher_internal:subscription_succeeded",
            {"presence": presence},
        )

    server.answer_subscribes = False
    server.on_frame = on_frame


async def test_here_joining_and_leaving_get_user_info(echo: Echo, server: FakeServer) -> None:
    calls = Calls()
    answer_presence(server, {"10": {"name": "Ten"}, "b": {"name": "Bee"}, "9": {"name": "Nine"}})
    room = echo.join("room.1")
    assert isinstance(room, EchoPresenceChannel)
    room.here(calls.recorder("here")).joining(calls.recorder("joining"))
    room.leaving(calls.recorder("leaving")).subscribed(calls.recorder("subscribed"))
    await room
    assert room.me is not None
    assert room.me.user_id == "1"
    push(server.current, "presence-room.1", "pusher_internal:member_added", {"user_id": 7})
    push(server.current, "presence-room.1", "pusher_internal:member_removed", {"user_id": "b"})
    added = {"user_id": "8", "user_info": {"name": "Eight"}}
    push(server.current, "presence-room.1", "pusher_internal:member_added", added)
    await calls.wait(5)
    assert calls == [
        ("here", [{"name": "Ada"}, {"name": "Nine"}, {"name": "Ten"}, {"name": "Bee"}]),
        ("subscribed",),
        ("joining", None),
        ("leaving", {"name": "Bee"}),
        ("joining", {"name": "Eight"}),
    ]
    assert set(room.members) == {"1", "7", "8", "9", "10"}


async def test_here_and_subscribed_are_called_again_after_a_reconnect(
    echo: Echo, server: FakeServer
) -> None:
    calls = Calls()
    answer_presence(server, {"2": {"name": "Bob"}})
    room = echo.join("room.1").here(calls.recorder("here")).subscribed(calls.recorder("sub"))
    await room
    await calls.wait(2)
    server.current.drop()
    await calls.wait(4)
    here = ("here", [{"name": "Ada"}, {"name": "Bob"}])
    assert calls == [here, ("sub",), here, ("sub",)]


async def test_join_can_name_its_own_member(client: ReverbClient, server: FakeServer) -> None:
    echo = Echo(client)
    room = await echo.join("room.2", user_data={"user_id": "5", "user_info": None})
    assert room.me is not None
    assert room.me.user_id == "5"


class AppDecides:
    """An authenticator standing in for Laravel's /broadcasting/auth: the app picks the member."""

    async def authenticate(
        self, socket_id: str, channel_name: str, user_data: Any = None
    ) -> dict[str, str]:
        assert user_data is None  # Echo sends none: the app knows who is asking
        channel_data = json.dumps({"user_id": 77, "user_info": {"name": "From the app"}})
        auth = channel_auth("app-key", SECRET, socket_id, channel_name, channel_data)
        return {"auth": auth, "channel_data": channel_data}


async def test_join_with_an_authenticator_needs_no_member(server: FakeServer) -> None:
    calls = Calls()
    async with make_client(server, authenticator=AppDecides()) as client:
        room = await Echo(client).join("room.3").here(calls.recorder("here"))
        await calls.wait(1)
        assert calls == [("here", [{"name": "From the app"}])]
        assert room.me == Member("77", {"name": "From the app"})


# -- errors ----------------------------------------------------------------------------------------


async def test_a_refused_subscription_calls_error_and_fails_the_wait(server: FakeServer) -> None:
    calls = Calls()
    async with make_client(server, app_secret="wrong") as client:
        echo = Echo(client)
        chat = echo.private("chat.1").error(calls.recorder("error"))
        chat.subscribed(calls.recorder("subscribed"))
        with pytest.raises(SubscriptionError):
            await chat
        assert calls == [
            ("error", {"type": "SubscriptionError", "error": str(chat_error(chat)), "code": 4009})
        ]
        assert "private-chat.1" not in echo.channels
        assert client.channel("private-chat.1") is None
        assert echo.private("chat.1") is not chat  # a fresh attempt


def chat_error(channel: EchoChannel) -> BaseException:
    error = channel._ready.exception()
    assert error is not None
    return error


async def test_a_refused_resubscription_calls_error(echo: Echo, server: FakeServer) -> None:
    calls = Calls()
    chat = await echo.private("chat.1").error(calls.recorder("error"))
    assert calls == []
    server.secret = "rotated"
    server.current.drop()
    await calls.wait(1)
    assert calls[0][0] == "error"
    assert calls[0][1]["code"] == 4009
    assert echo.channels["private-chat.1"] is chat


async def test_a_raising_error_callback_does_not_stop_the_others(server: FakeServer) -> None:
    calls = Calls()

    async def broken(data: Any) -> None:
        raise RuntimeError("boom")

    async with make_client(server, app_secret="wrong") as client:
        chat = Echo(client).private("x").error(broken).error(calls.recorder("error"))
        with pytest.raises(SubscriptionError):
            await chat.subscribed()
        assert [tag for tag, _ in calls] == ["error"]
        assert client.stats.handler_errors == 1


async def test_names_are_checked_at_once(echo: Echo) -> None:
    with pytest.raises(ConfigurationError):
        echo.channel("no spaces")
    echo.channel("presence-x")
    with pytest.raises(ConfigurationError, match="already open"):
        echo.join("x")


# -- leaving and the connection --------------------------------------------------------------------


async def test_leave_leaves_every_variant(
    echo: Echo, client: ReverbClient, server: FakeServer
) -> None:
    opened = [echo.channel("x"), echo.private("x"), echo.encrypted_private("x"), echo.join("x")]
    other = echo.channel("y")
    for channel in [*opened, other]:
        await channel
    await echo.leave("x")
    assert list(echo.channels) == ["y"]
    assert list(client.channels) == ["y"]
    left = [frame["data"]["channel"] for frame in server.frames("pusher:unsubscribe")]
    assert left == ["x", "private-x", "private-encrypted-x", "presence-x"]
    await echo.leave_channel("y")
    assert not echo.channels
    assert not client.channels


async def test_leave_all_channels(echo: Echo, client: ReverbClient) -> None:
    await echo.channel("a")
    await echo.private("b")
    await echo.leave_all_channels()
    assert not echo.channels
    assert not client.channels


async def test_channels_opened_before_connecting_subscribe_once_connected(
    server: FakeServer,
) -> None:
    calls = Calls()
    client = make_client(server)
    echo = Echo(client)
    orders = echo.channel("orders").subscribed(calls.recorder("subscribed"))
    leaving = echo.channel("never")
    await echo.leave_channel("never")
    with pytest.raises(SubscriptionError, match="left"):
        await leaving
    assert echo.connection_status() == "disconnected"
    async with client:
        await orders
        assert calls == [("subscribed",)]
        assert [f["data"]["channel"] for f in server.frames("pusher:subscribe")] == ["orders"]


async def test_an_existing_subscription_is_reused(client: ReverbClient) -> None:
    direct = await client.subscribe("orders")
    echo = Echo(client)
    assert (await echo.channel("orders")).channel is direct


async def test_socket_id_and_connection_status(server: FakeServer) -> None:
    statuses: list[str] = []
    client = make_client(server)
    echo = Echo(client)
    stop = echo.on_connection_change(statuses.append)
    assert echo.socket_id() is None
    async with client:
        assert echo.socket_id() == client.socket_id is not None
        assert echo.connection_status() == "connected"
        await wait_until(lambda: "connected" in statuses)
        stop()
    assert statuses == ["connecting", "connected"]
    assert echo.connection_status() == "disconnected"


async def test_listen_shortcut(echo: Echo, server: FakeServer) -> None:
    calls = Calls()
    await echo.listen("orders", "Shipped", calls.recorder("s"))
    push(server.current, "orders", "App\\Events\\Shipped", 3)
    await calls.wait(1)
    assert calls == [("s", 3)]
    assert "Echo" in repr(echo)
    assert "orders" in repr(echo.channel("orders"))


def test_the_example_runs() -> None:
    example = Path(__file__).parent.parent / "examples" / "echo_listener.py"
    result = subprocess.run(
        [sys.executable, str(example)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "here: [{'name': 'Ada'}]",
        "toOthers header: True",
        "OrderShipped: {'id': 42}",
        "price.changed: {'price': 9.5}",
        "notification: {'id': '0b5d', 'type': 'App\\\\Notifications\\\\InvoicePaid', 'amount': 12}",
        "joining: {'name': 'Bob'}",
        "whisper typing: {'name': 'Bob'}",
        "leaving: {'name': 'Bob'}",
    ]
