"""Zero lost events: the very first events of a subscription reach the handlers.

The requirement: a handler bound right after ``subscribe()`` returns, or bound on the channel
object before subscribing, or bound client-wide before subscribing, sees every event from the
first one on, in order, once.

The hard case is a server that sends ``pusher_internal:subscription_succeeded`` and the first
events in the same TCP segment: the client parses them in one batch, so ``subscribe()`` can only
return (and the caller bind) after all of them were read. Here the FakeServer listens on real
TCP and writes such batches in ONE write (``FakeServer.confirm_with`` / ``push_many``), and the
client runs its real transports, websockets and picows, each test once per transport.

Every test waits (with a timeout) for a *fence* event sent afterwards in a write of its own, then
asserts the exact sequence numbers received: a lost first event shows as a missing number, a
duplicate as a repeated one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from reverb import (
    Channel,
    Event,
    PresenceChannel,
    PrivateChannel,
    PublicChannel,
    ReverbClient,
)
from tests.support.fake_server import FakeServer, FakeSocket, event_frame

pytestmark = pytest.mark.usefixtures("receive_path")

SECRET = "first-event-s3cr3t"
N = 5
"""Events in each batch."""
SEQ = "Seq"
FENCE = "Fence"
ME = {"user_id": "7", "user_info": {"name": "Seven"}}
CHANNELS = {
    "public": "orders",
    "private": "private-orders",
    "presence": "presence-orders",
}
OTHER = "other"
"""An already-subscribed public channel whose event comes first in a batch."""


@dataclass
class Wire:
    """The FakeServer on real TCP, and clients of it over one transport."""

    server: FakeServer
    host: str
    port: int
    transport: str

    def client(self, **settings: Any) -> ReverbClient:
        options: dict[str, Any] = {
            "app_key": "app-key",
            "app_secret": SECRET,
            "host": self.host,
            "port": self.port,
            "scheme": "http",
            "transport": self.transport,
            "reconnect_delay": 0.01,
            "reconnect_max_delay": 0.05,
            "subscription_timeout": 3.0,
            "connect_timeout": 3.0,
        }
        options.update(settings)
        return ReverbClient(**options)

    def fence(self, channel: str) -> None:
        """Send the fence on ``channel``, in a write of its own after everything so far."""
        self.server.current.push(event_frame(channel, FENCE, {}))


@pytest.fixture(params=["websockets", "picows"])
async def wire(request: pytest.FixtureRequest) -> AsyncIterator[Wire]:
    if request.param == "picows":
        pytest.importorskip("picows")
    server = FakeServer(secret=SECRET)
    async with server.serve() as (host, port):
        yield Wire(server, host, port, str(request.param))


@dataclass
class Received:
    """A handler recording ``(channel, seq)`` of the ``Seq`` events of one channel, and fences."""

    channel: str
    seqs: list[int] = field(default_factory=list)
    others: list[Event] = field(default_factory=list)
    _fence: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, event: Event) -> None:
        if event.channel != self.channel:
            return  # a client-wide handler sees every channel
        if event.name == SEQ:
            self.seqs.append(event.data["seq"])
        elif event.name == FENCE:
            self._fence.set()
        else:
            self.others.append(event)

    def bind_to(self, target: Channel | ReverbClient) -> None:
        target.bind(SEQ, self)
        target.bind(FENCE, self)

    async def fenced(self, timeout: float = 5.0) -> list[int]:
        """Wait for the fence; return the sequence numbers received before it."""
        async with asyncio.timeout(timeout):
            await self._fence.wait()
        return self.seqs


def seq_frames(channel: str, first: int = 0, count: int = N) -> list[dict[str, Any]]:
    return [event_frame(channel, SEQ, {"seq": number}) for number in range(first, first + count)]


def succeeded_frame(channel: str) -> dict[str, Any]:
    return event_frame(channel, "pusher_internal:subscription_succeeded", {})


async def subscribe(client: ReverbClient, name: str) -> Channel:
    user_data = ME if name.startswith("presence-") else None
    return await client.subscribe(name, user_data=user_data)


def channel_object(client: ReverbClient, name: str) -> Channel:
    """An unsubscribed channel handle: the public way to bind before subscribing."""
    if name.startswith("presence-"):
        return PresenceChannel(name, client, ME)
    if name.startswith("private-"):
        return PrivateChannel(name, client)
    return PublicChannel(name, client)


# -- a. bound right after subscribe() returns; events in the confirmation's batch ---------------


@pytest.mark.parametrize("kind", list(CHANNELS))
async def test_bound_right_after_subscribe_returns_sees_the_batched_first_events(
    wire: Wire, kind: str
) -> None:
    name = CHANNELS[kind]
    wire.server.confirm_with(name, after=seq_frames(name))
    async with wire.client() as client:
        channel = await subscribe(client, name)
        received = Received(name)
        received.bind_to(channel)
        wire.fence(name)
        assert await received.fenced() == list(range(N))


@pytest.mark.parametrize("kind", list(CHANNELS))
async def test_client_wide_handler_bound_before_subscribing_sees_the_batched_first_events(
    wire: Wire, kind: str
) -> None:
    name = CHANNELS[kind]
    wire.server.confirm_with(name, after=seq_frames(name))
    async with wire.client() as client:
        received = Received(name)
        received.bind_to(client)
        await subscribe(client, name)
        wire.fence(name)
        assert await received.fenced() == list(range(N))


def other_handler(style: str, gate: asyncio.Event, seen: list[int]) -> Callable[[Event], Any]:
    """The other channel's handler: sync, async (yields a few times), or async and blocked on
    ``gate`` (the dispatcher is busy awaiting while ``subscribe()`` returns).
    """

    def sync(event: Event) -> None:
        seen.append(event.data["seq"])

    async def yielding(event: Event) -> None:
        for _ in range(3):
            await asyncio.sleep(0)
        seen.append(event.data["seq"])

    async def blocked(event: Event) -> None:
        await gate.wait()
        seen.append(event.data["seq"])

    return {"sync": sync, "async": yielding, "async-blocked": blocked}[style]


@pytest.mark.parametrize(
    "style",
    [
        "sync",
        "async",
        "async-blocked",
    ],
)
@pytest.mark.parametrize("kind", list(CHANNELS))
async def test_bound_right_after_subscribe_when_another_channels_event_leads_the_batch(
    wire: Wire, kind: str, style: str
) -> None:
    name = CHANNELS[kind]
    gate = asyncio.Event()
    seen_other: list[int] = []
    async with wire.client() as client:
        other = await client.subscribe(OTHER)
        other.bind(SEQ, other_handler(style, gate, seen_other))
        wire.server.confirm_with(name, before=seq_frames(OTHER, count=1), after=seq_frames(name))
        channel = await subscribe(client, name)
        received = Received(name)
        received.bind_to(channel)
        gate.set()
        wire.fence(name)
        assert await received.fenced() == list(range(N))
        assert seen_other == [0]


@pytest.mark.parametrize("kind", list(CHANNELS))
async def test_client_wide_handler_when_another_channels_event_leads_the_batch(
    wire: Wire, kind: str
) -> None:
    name = CHANNELS[kind]
    async with wire.client() as client:
        await client.subscribe(OTHER)
        received, other_received = Received(name), Received(OTHER)
        received.bind_to(client)
        other_received.bind_to(client)
        wire.server.confirm_with(name, before=seq_frames(OTHER, count=1), after=seq_frames(name))
        await subscribe(client, name)
        wire.fence(name)
        assert await received.fenced() == list(range(N))
        assert other_received.seqs == [0]


async def test_two_subscriptions_confirmed_in_one_batch_each_bound_after_its_subscribe(
    wire: Wire,
) -> None:
    first, second = "orders", "invoices"
    wire.server.answer_subscribes = False
    asked: list[tuple[FakeSocket, str]] = []

    def confirm_both_at_once(socket: FakeSocket, frame: dict[str, Any]) -> None:
        if frame.get("event") != "pusher:subscribe":
            return
        asked.append((socket, frame["data"]["channel"]))
        if {name for _, name in asked} == {first, second}:
            socket.channels.update({first, second})
            socket.push_many(
                [
                    succeeded_frame(first),
                    *seq_frames(first),
                    succeeded_frame(second),
                    *seq_frames(second),
                ]
            )

    wire.server.on_frame = confirm_both_at_once
    received = {first: Received(first), second: Received(second)}

    async def subscribe_then_bind(name: str) -> None:
        channel = await client.subscribe(name)
        received[name].bind_to(channel)

    async with wire.client() as client:
        await asyncio.gather(subscribe_then_bind(first), subscribe_then_bind(second))
        wire.fence(first)
        wire.fence(second)
        assert await received[first].fenced() == list(range(N))
        assert await received[second].fenced() == list(range(N))


# -- b. bound on the channel object before subscribing -------------------------------------------
# The API has no unsubscribed handle from the client (client.channel(name) is None until
# subscribe() registers it); the documented way is a channel object passed to subscribe().


@pytest.mark.parametrize("lead", ["alone", "after-another-channels-event"])
@pytest.mark.parametrize("kind", list(CHANNELS))
async def test_bound_on_the_channel_object_before_subscribing_sees_the_batched_first_events(
    wire: Wire, kind: str, lead: str
) -> None:
    name = CHANNELS[kind]
    async with wire.client() as client:
        before: list[dict[str, Any]] = []
        if lead != "alone":
            await client.subscribe(OTHER)
            before = seq_frames(OTHER, count=1)
        wire.server.confirm_with(name, before=before, after=seq_frames(name))
        channel = channel_object(client, name)
        received = Received(name)
        received.bind_to(channel)
        assert await client.subscribe(channel) is channel
        wire.fence(name)
        assert await received.fenced() == list(range(N))


# -- d. after a reconnect: the re-subscription's confirmation and first events in one batch -----


async def reconnected(wire: Wire, names: list[str]) -> None:
    """Wait until a second socket has every channel of ``names`` confirmed on it."""
    server = wire.server
    await server.wait_for(
        lambda: len(server.sockets) >= 2 and set(names) <= server.current.channels
    )


@pytest.mark.parametrize("bound", ["after-subscribe", "on-the-object", "client-wide"])
@pytest.mark.parametrize("kind", list(CHANNELS))
async def test_handler_bound_before_a_drop_sees_the_first_events_after_resubscribing(
    wire: Wire, kind: str, bound: str
) -> None:
    name = CHANNELS[kind]
    received = Received(name)
    async with wire.client() as client:
        if bound == "on-the-object":
            channel = channel_object(client, name)
            received.bind_to(channel)
            await client.subscribe(channel)
        elif bound == "client-wide":
            received.bind_to(client)
            await subscribe(client, name)
        else:
            received.bind_to(await subscribe(client, name))
        wire.server.confirm_with(name, after=seq_frames(name))
        wire.server.current.drop(None)  # as Reverb drops: no close frame
        await reconnected(wire, [name])
        wire.fence(name)
        assert await received.fenced() == list(range(N))
        assert client.reconnects == 1


@pytest.mark.parametrize("kind", list(CHANNELS))
async def test_after_a_drop_with_another_channels_event_leading_the_batch(
    wire: Wire, kind: str
) -> None:
    name = CHANNELS[kind]
    received = Received(name)
    seen_other: list[int] = []
    async with wire.client() as client:
        other = await client.subscribe(OTHER)  # subscribed first: re-subscribed first
        other.bind(SEQ, lambda event: seen_other.append(event.data["seq"]))
        received.bind_to(await subscribe(client, name))
        wire.server.confirm_with(name, before=seq_frames(OTHER, count=1), after=seq_frames(name))
        wire.server.current.drop(None)
        await reconnected(wire, [OTHER, name])
        wire.fence(name)
        assert await received.fenced() == list(range(N))
        assert seen_other == [0]


@pytest.mark.parametrize("kind", list(CHANNELS))
async def test_subscribe_in_flight_across_a_drop_then_bound_right_after_it_returns(
    wire: Wire, kind: str
) -> None:
    name = CHANNELS[kind]
    server = wire.server

    def drop_the_first_try(socket: FakeSocket, frame: dict[str, Any]) -> None:
        if frame.get("event") != "pusher:subscribe":
            return
        if socket is server.sockets[0]:
            socket.drop(None)  # before it could confirm (its answer is then never written)
        else:
            server.confirm_with(name, after=seq_frames(name))

    server.on_frame = drop_the_first_try
    async with wire.client() as client:
        channel = await subscribe(client, name)
        received = Received(name)
        received.bind_to(channel)
        wire.fence(name)
        assert await received.fenced() == list(range(N))
        assert client.reconnects == 1
