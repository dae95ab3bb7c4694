"""ReverbClient over the in-memory fake server: the asyncio layer without sockets."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import reverb
from reverb import (
    AuthenticationError,
    ClientEventError,
    ConfigurationError,
    ConnectionError,
    ConnectionState,
    Event,
    PresenceChannel,
    PrivateChannel,
    ReverbClient,
    SubscriptionError,
)
from reverb.protocol.signing import channel_auth
from tests.support.fake_server import FakeServer, fake_client

pytestmark = pytest.mark.usefixtures("receive_path")

SECRET = "fake-s3cr3t-do-not-leak"


def make_client(server: FakeServer, **settings: Any) -> ReverbClient:
    options: dict[str, Any] = {
        "app_secret": SECRET,
        "reconnect_delay": 0.01,
        "reconnect_max_delay": 0.05,
    }
    return fake_client(server, **{**options, **settings})


@pytest.fixture
def server() -> FakeServer:
    return FakeServer(secret=SECRET)


@pytest.fixture
async def client(server: FakeServer) -> AsyncIterator[ReverbClient]:
    async with make_client(server) as connected:
        yield connected


class Recorder:
    """A handler that queues the events it gets, to wait on them with a timeout."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._queue: asyncio.Queue[Event] = asyncio.Queue()

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        self._queue.put_nowait(event)

    async def next(self, timeout: float = 2.0) -> Event:
        async with asyncio.timeout(timeout):
            return await self._queue.get()


def record_states(client: ReverbClient) -> list[ConnectionState]:
    states: list[ConnectionState] = []
    client.on_state_change(lambda previous, current: states.append(current))
    return states


# -- connecting -------------------------------------------------------------------------------


async def test_connect_uses_protocol_7_url_and_exposes_socket_id(
    server: FakeServer, client: ReverbClient
) -> None:
    url = urlsplit(server.current.url)
    assert (url.scheme, url.netloc, url.path) == ("ws", "127.0.0.1:6001", "/app/app-key")
    assert parse_qs(url.query) == {
        "protocol": ["7"],
        "client": ["python-reverb"],
        "version": [reverb.__version__],
    }
    assert client.socket_id == server.current.socket_id
    assert client.state is ConnectionState.CONNECTED
    assert client.is_connected


async def test_the_client_runs_the_receive_path_it_was_given(
    client: ReverbClient, receive_path: str
) -> None:
    """The ``receive_path`` fixture takes effect before the ``client`` fixture builds one."""
    live = client._connection._live
    assert live is not None
    sink_owner = live.sink.__self__  # type: ignore[attr-defined]
    in_use = (type(client._dispatcher.event_sink).__name__, type(sink_owner).__name__)
    if receive_path == "compiled":
        assert in_use == ("InlineDispatch", "FrameSink")
    else:
        assert in_use == ("method", "LiveSocket")  # Dispatcher.put, LiveSocket.receive


async def test_path_prefix_and_tls_scheme_shape_the_url(server: FakeServer) -> None:
    async with make_client(server, scheme="https", port=None, path="/ws/") as client:
        assert server.current.url.startswith("wss://127.0.0.1:443/ws/app/app-key?protocol=7")
        assert client.is_connected


async def test_is_connected_checks_the_websocket_itself(
    server: FakeServer, client: ReverbClient
) -> None:
    server.current.open = False  # closed underneath, read loop not told yet
    assert client.state is ConnectionState.CONNECTED
    assert not client.is_connected


async def test_unknown_app_key_raises_connection_error_without_retrying() -> None:
    server = FakeServer(refuse=4001)
    client = make_client(server)
    with pytest.raises(ConnectionError) as caught:
        await client.connect()
    assert caught.value.code == 4001
    assert server.attempts == 1
    assert client.state is ConnectionState.FAILED


async def test_connect_times_out_when_the_server_stays_down(server: FakeServer) -> None:
    server.unreachable = True
    client = make_client(server, connect_timeout=0.3)
    with pytest.raises(ConnectionError, match=r"within 0\.3 s"):
        await client.connect()
    assert server.attempts >= 2  # retried with back-off meanwhile
    assert client.state is ConnectionState.FAILED
    attempts = server.attempts
    await asyncio.sleep(0.1)  # a stopped client must not keep trying in the background
    assert server.attempts == attempts


async def test_subscribe_needs_a_connection(server: FakeServer) -> None:
    client = make_client(server)
    with pytest.raises(ConnectionError, match="connect"):
        await client.subscribe("orders")
    with pytest.raises(ConnectionError):
        await client.listen()


# -- subscriptions ----------------------------------------------------------------------------


async def test_public_private_and_presence_subscriptions(
    server: FakeServer, client: ReverbClient
) -> None:
    orders = await client.subscribe("orders")
    chat = await client.subscribe("private-chat.1")
    room = await client.subscribe(
        "presence-room.1", user_data={"user_id": 42, "user_info": {"name": "Alice"}}
    )
    assert orders.subscribed
    assert chat.subscribed
    assert room.subscribed
    assert isinstance(chat, PrivateChannel)
    assert isinstance(room, PresenceChannel)
    assert dict(room.members) == {"42": {"name": "Alice"}}
    assert room.me is not None
    assert room.me.user_id == "42"
    sent = {frame["data"]["channel"]: frame["data"] for frame in server.frames("pusher:subscribe")}
    assert sent["orders"] == {"channel": "orders"}
    socket_id = server.current.socket_id
    assert sent["private-chat.1"]["auth"] == channel_auth(
        "app-key", SECRET, socket_id, "private-chat.1"
    )
    assert json.loads(sent["presence-room.1"]["channel_data"]) == {
        "user_id": 42,
        "user_info": {"name": "Alice"},
    }
    assert await client.subscribe("orders") is orders
    assert set(client.channels) == {"orders", "private-chat.1", "presence-room.1"}


async def test_rejected_signature_raises_subscription_error_and_connection_survives() -> None:
    server = FakeServer(secret="the-server-secret")
    async with make_client(server) as client:
        with pytest.raises(SubscriptionError) as caught:
            await client.subscribe("private-chat.1")
        assert caught.value.channel == "private-chat.1"
        assert caught.value.code == 4009
        assert client.channel("private-chat.1") is None
        assert (await client.subscribe("orders")).subscribed
        assert client.stats.subscription_errors == 1


async def test_subscription_times_out_and_is_withdrawn() -> None:
    server = FakeServer(answer_subscribes=False)
    async with make_client(server) as client:
        with pytest.raises(SubscriptionError, match="no answer"):
            await client.subscribe("orders", timeout=0.1)
        assert client.channel("orders") is None
        await server.wait_for(lambda: bool(server.frames("pusher:unsubscribe")))
        assert server.frames("pusher:unsubscribe")[0]["data"] == {"channel": "orders"}


async def test_missing_secret_gives_authentication_error(server: FakeServer) -> None:
    async with make_client(server, app_secret=None) as client:
        with pytest.raises(AuthenticationError, match="REVERB_APP_SECRET"):
            await client.subscribe("private-chat.1")
        assert client.is_connected


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "empty"),
        ("has space", "may only contain"),
        ("x" * 201, "limit is 200"),
    ],
)
async def test_bad_channel_names_are_refused_before_sending(
    server: FakeServer, client: ReverbClient, name: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        await client.subscribe(name)
    assert server.frames("pusher:subscribe") == []


@pytest.mark.parametrize(
    ("name", "user_data", "message"),
    [
        ("presence-room", "alice", "must be a mapping"),
        ("orders", {"user_id": "1"}, "only for presence"),
    ],
)
async def test_bad_user_data_is_refused_before_sending(
    server: FakeServer, client: ReverbClient, name: str, user_data: Any, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        await client.subscribe(name, user_data=user_data)
    assert server.frames("pusher:subscribe") == []
    assert client.channel(name) is None


async def test_presence_resubscribe_with_other_user_data_is_refused(client: ReverbClient) -> None:
    await client.subscribe("presence-room", user_data={"user_id": "1"})
    same = await client.subscribe("presence-room", user_data={"user_id": "1"})
    assert same is client.channel("presence-room")
    with pytest.raises(ConfigurationError, match="other user_data"):
        await client.subscribe("presence-room", user_data={"user_id": "2"})


async def test_disconnect_fails_pending_subscriptions_at_once() -> None:
    server = FakeServer(answer_subscribes=False)
    client = make_client(server, subscription_timeout=30)
    await client.connect()
    pending = asyncio.ensure_future(client.subscribe("orders"))
    await server.wait_for(lambda: bool(server.frames("pusher:subscribe")))
    await client.disconnect()
    with pytest.raises(ConnectionError, match="disconnected"):
        await asyncio.wait_for(pending, 2)
    assert client.channel("orders") is None


async def test_unsubscribe_tells_the_server_and_drops_handlers(
    server: FakeServer, client: ReverbClient
) -> None:
    orders = await client.subscribe("orders")
    orders.bind("OrderShipped", Recorder())
    await client.unsubscribe("orders")
    assert server.frames("pusher:unsubscribe") == [
        {"event": "pusher:unsubscribe", "data": {"channel": "orders"}}
    ]
    assert client.channel("orders") is None
    assert len(orders._handlers) == 0
    await client.unsubscribe("never-subscribed")  # ignored


# -- events and handlers ----------------------------------------------------------------------


async def test_channel_client_and_global_handlers_all_receive(
    server: FakeServer, client: ReverbClient
) -> None:
    orders = await client.subscribe("orders")
    on_channel, on_client, on_all = Recorder(), Recorder(), Recorder()
    decorated: list[Event] = []
    orders.bind("OrderShipped", on_channel)
    client.bind("OrderShipped", on_client)
    client.bind_global(on_all)

    @orders.on("OrderShipped")
    async def shipped(event: Event) -> None:
        decorated.append(event)

    server.broadcast("orders", "OrderShipped", {"id": 7})
    event = await on_client.next()
    assert event == Event("OrderShipped", "orders", {"id": 7})
    assert on_channel.events == [event]
    assert [e for e in on_all.events if e.name == "OrderShipped"] == [event]
    assert decorated == [event]


async def test_unbind_by_handle_by_handler_and_by_event(
    server: FakeServer, client: ReverbClient
) -> None:
    orders = await client.subscribe("orders")
    first, second, sentinel = Recorder(), Recorder(), Recorder()
    binding = orders.bind("OrderShipped", first)
    orders.bind("OrderShipped", second)
    orders.bind("Done", sentinel)
    binding.unbind()
    server.broadcast("orders", "OrderShipped", 1)
    server.broadcast("orders", "Done", None)
    await sentinel.next()
    assert first.events == []
    assert [event.data for event in second.events] == [1]
    orders.unbind("OrderShipped")
    server.broadcast("orders", "OrderShipped", 2)
    server.broadcast("orders", "Done", None)
    await sentinel.next()
    assert [event.data for event in second.events] == [1]


async def test_a_raising_handler_is_isolated(
    server: FakeServer, client: ReverbClient, caplog: pytest.LogCaptureFixture
) -> None:
    orders = await client.subscribe("orders")
    after = Recorder()

    def broken(event: Event) -> None:
        raise RuntimeError("handler bug")

    async def broken_async(event: Event) -> None:
        raise ValueError("async handler bug")

    orders.bind("OrderShipped", broken)
    orders.bind("OrderShipped", broken_async)
    orders.bind("OrderShipped", after)
    server.broadcast("orders", "OrderShipped", {"id": 1})
    server.broadcast("orders", "OrderShipped", {"id": 2})
    assert (await after.next()).data == {"id": 1}
    assert (await after.next()).data == {"id": 2}
    assert client.stats.handler_errors == 4
    assert "handler bug" in caplog.text
    assert client.is_connected


async def test_events_reach_handlers_in_arrival_order(
    server: FakeServer, client: ReverbClient
) -> None:
    orders = await client.subscribe("orders")
    seen: list[int] = []
    done = asyncio.Event()

    async def slow_then_fast(event: Event) -> None:
        if event.data % 7 == 0:
            await asyncio.sleep(0)
        seen.append(event.data)
        if event.data == 199:
            done.set()

    orders.bind("Tick", slow_then_fast)
    for number in range(200):
        server.broadcast("orders", "Tick", number)
    async with asyncio.timeout(5):
        await done.wait()
    assert seen == list(range(200))


async def test_a_slow_handler_blocks_neither_reading_nor_keepalive(server: FakeServer) -> None:
    release = asyncio.Event()
    async with make_client(server, activity_timeout=0.05) as client:
        orders = await client.subscribe("orders")

        async def stuck(event: Event) -> None:
            await release.wait()

        orders.bind("Stuck", stuck)
        server.broadcast("orders", "Stuck", None)
        # The handler is stuck, yet subscriptions complete and pings go out.
        assert (await client.subscribe("other")).subscribed
        await server.wait_for(lambda: len(server.frames("pusher:ping")) >= 2)
        server.current.push({"event": "pusher:ping"})
        await server.wait_for(lambda: bool(server.frames("pusher:pong")))
        assert client.is_connected
        release.set()


async def test_data_that_is_not_json_arrives_as_the_raw_string(
    server: FakeServer, client: ReverbClient
) -> None:
    orders = await client.subscribe("orders")
    got = Recorder()
    orders.bind("Plain", got)
    orders.bind("Obj", got)
    server.current.push({"event": "Plain", "channel": "orders", "data": "not json {"})
    server.current.push({"event": "Obj", "channel": "orders", "data": {"a": 1}})
    assert (await got.next()).data == "not json {"
    assert (await got.next()).data == {"a": 1}


async def test_bad_frames_are_counted_and_dropped_not_fatal(
    server: FakeServer, client: ReverbClient, caplog: pytest.LogCaptureFixture
) -> None:
    orders = await client.subscribe("orders")
    got = Recorder()
    orders.bind("After", got)
    for garbage in [
        "not json",
        "[1,2]",
        '{"data":1}',
        '{"event":"x","channel":3}',
        '{"event":"y"}',
    ]:
        server.current.push(garbage)
    server.broadcast("orders", "After", "ok")
    assert (await got.next()).data == "ok"
    assert client.stats.frames_dropped == 5
    assert "dropped a frame" in caplog.text
    assert client.is_connected


async def test_connection_level_server_errors_reach_global_handlers(
    server: FakeServer, client: ReverbClient
) -> None:
    got = Recorder()
    client.bind("pusher:error", got)
    server.current.push(
        {"event": "pusher:error", "data": json.dumps({"code": 4200, "message": "Invalid"})}
    )
    event = await got.next()
    assert event.data == {"code": 4200, "message": "Invalid"}
    assert client.is_connected


# -- client events ------------------------------------------------------------------------------


async def test_trigger_sends_client_event_with_object_data(
    server: FakeServer, client: ReverbClient
) -> None:
    chat = await client.subscribe("private-chat.1")
    await chat.trigger("client-typing", {"user": "alice"})
    assert server.frames("client-typing") == [
        {"event": "client-typing", "channel": "private-chat.1", "data": {"user": "alice"}}
    ]


@pytest.mark.parametrize(
    ("channel", "event", "data", "message"),
    [
        ("private-chat.1", "typing", {}, "client-"),
        ("private-chat.1", "client-", {}, "client-"),
        ("orders", "client-typing", {}, "private and presence"),
        ("private-chat.1", "client-typing", "a string", "object or array"),
        ("private-chat.1", "client-typing", {"big": "x" * 20_000}, "max_message_size"),
        ("private-chat.1", "client-typing", {"bad": object()}, "JSON"),
    ],
)
async def test_invalid_client_events_raise_before_anything_is_sent(
    server: FakeServer,
    client: ReverbClient,
    channel: str,
    event: str,
    data: Any,
    message: str,
) -> None:
    target = await client.subscribe(channel)
    with pytest.raises(ClientEventError, match=message):
        await target.trigger(event, data)
    assert [f for f in server.frames() if str(f.get("event", "")).startswith("client")] == []


async def test_trigger_on_an_unsubscribed_channel_is_refused(
    server: FakeServer, client: ReverbClient
) -> None:
    chat = await client.subscribe("private-chat.1")
    await client.unsubscribe(chat)
    with pytest.raises(ClientEventError, match="not subscribed"):
        await chat.trigger("client-typing", {})
    assert server.frames("client-typing") == []


# -- presence -----------------------------------------------------------------------------------


async def test_members_are_updated_before_member_handlers_run(
    server: FakeServer, client: ReverbClient
) -> None:
    room = await client.subscribe("presence-room", user_data={"user_id": "1"})
    assert isinstance(room, PresenceChannel)
    seen = Recorder()
    snapshots: list[dict[str, Any]] = []

    def snapshot(event: Event) -> None:
        snapshots.append(dict(room.members))
        seen(event)

    room.bind("pusher:member_added", snapshot)
    room.bind("pusher:member_removed", snapshot)
    channel = "presence-room"
    added = {"user_id": 2, "user_info": {"name": "Bob"}}
    for _ in range(2):  # a second join of the same user is not a new member
        server.current.push(
            {"event": "pusher_internal:member_added", "channel": channel, "data": json.dumps(added)}
        )
    joined = await seen.next()
    assert joined.data == reverb.Member("2", {"name": "Bob"})
    assert snapshots[-1] == {"1": None, "2": {"name": "Bob"}}
    server.current.push(
        {"event": "pusher_internal:member_removed", "channel": channel, "data": '{"user_id":2}'}
    )
    left = await seen.next()
    assert left.name == "pusher:member_removed"
    assert left.data == reverb.Member("2", {"name": "Bob"})
    assert snapshots[-1] == {"1": None}
    assert [event.name for event in seen.events] == [
        "pusher:member_added",
        "pusher:member_removed",
    ]


# -- reconnecting -------------------------------------------------------------------------------


async def test_drop_resubscribes_everything_with_fresh_auth_and_keeps_handlers(
    server: FakeServer,
) -> None:
    disconnects: list[ConnectionError | None] = []
    async with make_client(server) as client:
        client.on_disconnect = disconnects.append
        orders = await client.subscribe("orders")
        chat = await client.subscribe("private-chat.1")
        room = await client.subscribe("presence-room", user_data={"user_id": "1"})
        got = Recorder()
        orders.bind("OrderShipped", got)
        first = server.current
        first.drop(None)  # like Reverb on restart: no close frame
        await server.wait_for(
            lambda: len(server.sockets) == 2 and len(server.current.channels) == 3
        )
        second = server.current
        assert second is not first
        await server.wait_for(lambda: chat.subscribed and room.subscribed and orders.subscribed)
        assert client.socket_id == second.socket_id
        auths = {f["data"]["channel"]: f["data"].get("auth") for f in second.sent}
        assert auths["private-chat.1"] == channel_auth(
            "app-key", SECRET, second.socket_id, "private-chat.1"
        )
        assert client.channel("orders") is orders
        assert isinstance(room, PresenceChannel)
        assert dict(room.members) == {"1": None}
        server.broadcast("orders", "OrderShipped", {"after": "reconnect"})
        assert (await got.next()).data == {"after": "reconnect"}
        assert client.reconnects == 1
        assert len(disconnects) == 1
        assert isinstance(disconnects[0], ConnectionError)
    assert disconnects[-1] is None


@pytest.mark.parametrize(
    ("close_code", "backs_off"),
    [(None, True), (1006, True), (4100, True), (4200, False), (4201, False)],
)
async def test_close_codes_choose_between_backoff_and_immediate_retry(
    server: FakeServer, close_code: int | None, backs_off: bool
) -> None:
    async with make_client(server) as client:
        states = record_states(client)
        server.current.drop(close_code)
        await server.wait_for(lambda: len(server.sockets) == 2)
        await server.wait_for(lambda: client.state is ConnectionState.CONNECTED)
        # State handlers run on the dispatcher; a subscription round trip flushes them.
        await client.subscribe("flush")
        went_unavailable = ConnectionState.UNAVAILABLE in states
        assert went_unavailable is backs_off, states


async def test_refusal_after_connecting_fails_for_good(server: FakeServer) -> None:
    async with make_client(server) as client:
        server.current.drop(4001)
        with pytest.raises(ConnectionError) as caught:
            await asyncio.wait_for(client.listen(), 2)
        assert caught.value.code == 4001
        assert client.state is ConnectionState.FAILED
        assert len(server.sockets) == 1


async def test_gives_up_after_max_attempts(server: FakeServer) -> None:
    async with make_client(server, reconnect_max_attempts=2) as client:
        server.unreachable = True
        server.current.drop(None)
        with pytest.raises(ConnectionError, match="gave up after 2"):
            await asyncio.wait_for(client.listen(), 2)
        assert server.attempts == 1 + 2  # the first connection, then two failed attempts


async def test_listen_returns_after_disconnect(server: FakeServer) -> None:
    async with make_client(server) as client:
        orders = await client.subscribe("orders")

        async def stop(event: Event) -> None:
            await client.disconnect()

        orders.bind("Stop", stop)
        server.broadcast("orders", "Stop", None)
        await asyncio.wait_for(client.listen(), 2)
        assert client.state is ConnectionState.DISCONNECTED


async def test_connect_again_after_disconnect_resubscribes(server: FakeServer) -> None:
    client = make_client(server)
    await client.connect()
    orders = await client.subscribe("orders")
    await client.disconnect()
    assert not orders.subscribed
    await client.connect()
    await server.wait_for(lambda: orders.subscribed)
    assert len(server.sockets) == 2
    await client.disconnect()


# -- keepalive ----------------------------------------------------------------------------------


async def test_pings_after_silence_and_reconnects_when_no_pong(server: FakeServer) -> None:
    server.answer_pings = False
    async with make_client(server, activity_timeout=0.05, pong_timeout=0.05) as client:
        await server.wait_for(lambda: len(server.sockets) == 2, timeout=3)
        assert server.sockets[0].sent[-1] == {"event": "pusher:ping", "data": {}}
        await server.wait_for(lambda: client.state is ConnectionState.CONNECTED)


async def test_server_activity_timeout_wins_when_lower(server: FakeServer) -> None:
    server.activity_timeout = 1  # seconds, from connection_established
    async with make_client(server, activity_timeout=120) as client:
        await server.wait_for(lambda: bool(server.frames("pusher:ping")), timeout=3)
        assert client.is_connected


async def test_server_ping_is_answered_with_pong(server: FakeServer, client: ReverbClient) -> None:
    server.current.push({"event": "pusher:ping"})
    await server.wait_for(lambda: bool(server.frames("pusher:pong")))
    assert server.frames("pusher:pong") == [{"event": "pusher:pong", "data": {}}]


# -- authenticators and custom channels ---------------------------------------------------------


class AsyncEndpointAuthenticator:
    """Stands in for an HTTP authorizer: async, and returns channel_data itself."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Mapping[str, Any] | None]] = []

    async def authenticate(
        self, socket_id: str, channel_name: str, user_data: Mapping[str, Any] | None = None
    ) -> dict[str, str]:
        self.calls.append((socket_id, channel_name, user_data))
        await asyncio.sleep(0)
        channel_data = '{"user_id":"9","user_info":{"name":"Endpoint"}}'
        auth = channel_auth("app-key", SECRET, socket_id, channel_name, channel_data)
        return {"auth": auth, "channel_data": channel_data}


async def test_async_authenticator_replaces_local_signing(server: FakeServer) -> None:
    authenticator = AsyncEndpointAuthenticator()
    async with make_client(server, app_secret=None, authenticator=authenticator) as client:
        room = await client.subscribe("presence-room")
        assert isinstance(room, PresenceChannel)
        assert room.me == reverb.Member("9", {"name": "Endpoint"})
        assert authenticator.calls == [(client.socket_id, "presence-room", None)]


async def test_sync_authenticator_failure_is_an_authentication_error(server: FakeServer) -> None:
    class Broken:
        def authenticate(
            self, socket_id: str, channel_name: str, user_data: Any = None
        ) -> dict[str, str]:
            raise PermissionError("token abc123 expired")

    async with make_client(server, authenticator=Broken()) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.subscribe("private-chat.1")
        assert "abc123" not in str(caught.value)
        assert client.is_connected


class ReversingChannel(PrivateChannel):
    """The seed's extension example: a channel that transforms payloads before handlers."""

    def __init__(self, name: str, client: ReverbClient, key: str) -> None:
        super().__init__(name, client)
        self.key = key

    async def _handle_event(self, event: Event, data: Any) -> None:
        if isinstance(data, str):
            data = data[::-1] + self.key
        await super()._handle_event(event, data)


async def test_custom_channel_class_hooks_into_handling(
    server: FakeServer, client: ReverbClient
) -> None:
    custom = ReversingChannel("private-custom", client, "!")
    assert await client.subscribe(custom) is custom
    got = Recorder()
    custom.bind("Secret", got)
    server.broadcast("private-custom", "Secret", "olleh")
    assert (await got.next()).data == "hello!"


# -- secrets ------------------------------------------------------------------------------------


async def test_secret_and_signatures_never_reach_logs_or_reprs(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with make_client(server) as client:
        chat = await client.subscribe("private-chat.1")
        room = await client.subscribe("presence-room", user_data={"user_id": "1"})
        signatures = [f["data"]["auth"].split(":")[1] for f in server.frames("pusher:subscribe")]
        texts = [caplog.text, repr(client), repr(client.config), str(client.config), repr(chat)]
        texts += [repr(room), repr(client._authenticator)]
        for text in texts:
            assert SECRET not in text
            for signature in signatures:
                assert signature not in text


async def test_replacing_the_authenticator_on_the_client_works_as_the_seed_shows(
    server: FakeServer,
) -> None:
    authenticator = AsyncEndpointAuthenticator()
    async with make_client(server, app_secret=None) as client:
        client._authenticator = authenticator
        room = await client.subscribe("presence-seed")
        assert isinstance(room, PresenceChannel)
        assert room.me == reverb.Member("9", {"name": "Endpoint"})
        assert len(authenticator.calls) == 1


async def test_cache_miss_reaches_the_channel(server: FakeServer, client: ReverbClient) -> None:
    cache = await client.subscribe("cache-prices")
    got = Recorder()
    cache.bind("pusher:cache_miss", got)
    server.current.push({"event": "pusher:cache_miss", "channel": "cache-prices"})
    event = await got.next()
    assert event == Event("pusher:cache_miss", "cache-prices", None)


class KeyKeepingChannel(PrivateChannel):
    """Overrides _subscribe, as an encrypted channel will: keep shared_secret, never send it."""

    key: str | None = None

    async def _subscribe(self, socket_id: str) -> Mapping[str, str]:
        authorization = await self._authorize(socket_id, None)
        self.key = authorization.get("shared_secret")
        return {"channel": self.name, "auth": authorization["auth"]}


async def test_custom_channel_overriding_subscribe(server: FakeServer) -> None:
    class WithSharedSecret:
        def authenticate(
            self, socket_id: str, channel_name: str, user_data: Any = None
        ) -> dict[str, str]:
            auth = channel_auth("app-key", SECRET, socket_id, channel_name)
            return {"auth": auth, "shared_secret": "c2VjcmV0LWtleQ=="}

    async with make_client(server, authenticator=WithSharedSecret()) as client:
        channel = KeyKeepingChannel("private-encrypted-orders", client)
        assert await client.subscribe(channel) is channel
        assert channel.key == "c2VjcmV0LWtleQ=="
        sent = server.frames("pusher:subscribe")[-1]["data"]
        assert set(sent) == {"channel", "auth"}
        server.current.drop(None)
        await server.wait_for(lambda: len(server.sockets) == 2 and channel.subscribed)
        assert server.current.sent[-1]["data"]["channel"] == "private-encrypted-orders"


async def test_falling_behind_is_warned_and_nothing_is_lost(
    server: FakeServer, client: ReverbClient, caplog: pytest.LogCaptureFixture
) -> None:
    orders = await client.subscribe("orders")
    release = asyncio.Event()
    seen: list[int] = []

    async def slow(event: Event) -> None:
        await release.wait()
        seen.append(event.data)

    orders.bind("Tick", slow)
    for number in range(10_050):
        server.broadcast("orders", "Tick", number)
    await server.wait_for(lambda: "events behind" in caplog.text, timeout=10)
    release.set()
    await server.wait_for(lambda: len(seen) == 10_050, timeout=20)
    assert seen == list(range(10_050))


async def test_subscribing_a_channel_object_keeps_its_type(
    server: FakeServer, client: ReverbClient
) -> None:
    room = await client.subscribe(PresenceChannel("presence-typed", client, {"user_id": "1"}))
    assert dict(room.members) == {"1": None}  # typed as PresenceChannel: no isinstance needed
    assert room.me == reverb.Member("1", None)


async def test_the_confirmation_reaches_handlers_bound_beforehand_before_subscribe_returns(
    client: ReverbClient,
) -> None:
    seen: list[str] = []
    orders = reverb.PublicChannel("orders", client)
    orders.bind("pusher:subscription_succeeded", lambda event: seen.append("confirmed"))
    assert await client.subscribe(orders) is orders
    seen.append("returned")
    assert seen == ["confirmed", "returned"]
