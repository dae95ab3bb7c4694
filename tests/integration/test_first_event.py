"""Zero lost events against real servers (Soketi and the local one), over both transports.

Events are published over the HTTP API the moment the channel's
``pusher_internal:subscription_succeeded`` leaves the server. The client talks to the server
through a byte-level TCP relay (:class:`Relay`) that reads the server's websocket frames, so
the client's own transport (websockets or picows, from ``REVERB_TRANSPORT``) runs unchanged.
Two timings:

* ``held``: the relay holds the confirmation until the events published for the channel have
  arrived too, then writes all of them to the client in ONE write: exactly what the client
  sees when the server's confirmation and its first events share a TCP segment (a fast server,
  or a client busy for a moment), made certain;
* ``racing``: the confirmation goes through at once while the events are published, as fast
  as the HTTP API goes.

Every test then publishes a fence event, waits for it (with a timeout) and asserts the exact
sequence numbers received: all N, in order, none twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest

from reverb import Channel, Event, PresenceChannel, PrivateChannel, PublicChannel, ReverbClient
from reverb.api import ApiClient
from tests.integration.conftest import api_config, client_for
from tests.support.soketi import ServerUnderTest

pytestmark = pytest.mark.integration

N = 5
SEQ = "Seq"
FENCE = "Fence"
SUCCEEDED = "pusher_internal:subscription_succeeded"
ME = {"user_id": "7", "user_info": {"name": "Seven"}}
KINDS = {"public": "orders", "private": "private-orders", "presence": "presence-orders"}
TEXT = 0x1


def unique(kind: str) -> str:
    """A channel name of ``kind`` no other test uses (the servers live for the session)."""
    return f"{KINDS[kind]}.{uuid.uuid4().hex[:10]}"


class Publisher:
    """Publishes through the server's HTTP API, one awaited request per event (so in order)."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    async def seqs(self, channel: str, first: int = 0, count: int = N) -> None:
        for number in range(first, first + count):
            await self._api.trigger([channel], SEQ, {"seq": number})

    async def fence(self, channel: str) -> None:
        await self._api.trigger([channel], FENCE, {})


@dataclass
class Plan:
    """What the relay does when ``channel``'s next confirmation comes from the server."""

    channel: str
    hold: bool
    lead: str | None = None
    """A channel whose event (published now too) goes ahead of the confirmation in the batch."""
    done: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the events are published (and, held, written to the client)."""


@dataclass
class Frame:
    raw: bytes
    message: dict[str, Any]
    """The decoded JSON of a whole text frame, else empty."""

    @property
    def event(self) -> Any:
        return self.message.get("event")

    @property
    def channel(self) -> Any:
        return self.message.get("channel")


def split_frames(buffer: bytes) -> tuple[list[Frame], bytes]:
    """The whole websocket frames at the start of ``buffer`` (server frames: unmasked), and
    what is left of it.
    """
    frames: list[Frame] = []
    at = 0
    while len(buffer) - at >= 2:
        first, second = buffer[at], buffer[at + 1]
        length, head = second & 0x7F, 2
        if length == 126:
            length, head = int.from_bytes(buffer[at + 2 : at + 4]), 4
        elif length == 127:
            length, head = int.from_bytes(buffer[at + 2 : at + 10]), 10
        if second & 0x80:
            head += 4  # a mask: not expected from a server, and then not decoded
        end = at + head + length
        if len(buffer) < end or head > len(buffer) - at:
            break
        message: dict[str, Any] = {}
        if first == 0x80 | TEXT and not second & 0x80:
            with contextlib.suppress(ValueError):
                decoded = json.loads(buffer[at + head : end])
                message = decoded if isinstance(decoded, dict) else {}
        frames.append(Frame(buffer[at:end], message))
        at = end
    return frames, buffer[at:]


class Relay:
    """A TCP relay between clients and ``server``, carrying out :class:`Plan` s."""

    def __init__(self, server: ServerUnderTest, publisher: Publisher) -> None:
        self._server = server
        self.publisher = publisher
        self.plans: dict[str, Plan] = {}
        self.links: list[RelayLink] = []
        self.background: set[asyncio.Task[None]] = set()
        self.port = 0
        self._listener: asyncio.Server | None = None

    async def start(self) -> None:
        self._listener = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._listener.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for link in self.links:
            link.drop()
        for task in list(self.background):
            task.cancel()
        if self.background:
            await asyncio.wait(self.background, timeout=2)
        if self._listener is not None:
            self._listener.close()

    def plan(self, channel: str, *, hold: bool = True, lead: str | None = None) -> Plan:
        plan = self.plans[channel] = Plan(channel, hold, lead)
        return plan

    def start_task(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self._server.host, self._server.port
            )
        except OSError:
            writer.transport.abort()
            return
        link = RelayLink(self, writer, up_writer)
        self.links.append(link)
        await link.run(reader, up_reader)


class RelayLink:
    """One client connection through the relay."""

    def __init__(
        self, relay: Relay, client: asyncio.StreamWriter, upstream: asyncio.StreamWriter
    ) -> None:
        self._relay = relay
        self._client = client
        self._upstream = upstream
        self._holding: Plan | None = None
        self._held: list[Frame] = []

    def drop(self) -> None:
        """Reset both connections: the client sees the TCP connection drop, no close frame."""
        self._client.transport.abort()
        self._upstream.transport.abort()

    async def run(self, reader: asyncio.StreamReader, upstream: asyncio.StreamReader) -> None:
        tasks = [
            asyncio.ensure_future(self._pipe(reader, self._upstream)),
            asyncio.ensure_future(self._downstream(upstream)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            self.drop()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)

    async def _downstream(self, upstream: asyncio.StreamReader) -> None:
        buffer = b""
        upgraded = False
        with contextlib.suppress(OSError):
            while data := await upstream.read(65536):
                buffer += data
                if not upgraded:
                    end = buffer.find(b"\r\n\r\n")
                    if end < 0:
                        continue
                    self._client.write(buffer[: end + 4])
                    buffer, upgraded = buffer[end + 4 :], True
                frames, buffer = split_frames(buffer)
                out = [raw for frame in frames for raw in self._route(frame)]
                if out:
                    self._client.write(b"".join(out))  # one write: one batch for the client

    def _route(self, frame: Frame) -> list[bytes]:
        """What to write to the client now, for ``frame``."""
        plan = self._holding
        if plan is not None:
            self._held.append(frame)
            return self._release_if_complete(plan)
        plan = self._relay.plans.get(frame.channel) if frame.event == SUCCEEDED else None
        if plan is None:
            return [frame.raw]
        del self._relay.plans[plan.channel]
        self._relay.start_task(self._publish(plan))
        if not plan.hold:
            return [frame.raw]
        self._holding, self._held = plan, [frame]
        return []

    async def _publish(self, plan: Plan) -> None:
        if plan.lead is not None:
            await self._relay.publisher.seqs(plan.lead, count=1)
        await self._relay.publisher.seqs(plan.channel)
        if not plan.hold:
            plan.done.set()

    def _release_if_complete(self, plan: Plan) -> list[bytes]:
        """Once the plan's events (and lead) are all held: the lead, the confirmation, the
        events, then whatever else came, in that order.
        """
        succeeded, *rest = self._held
        ours = [f for f in rest if f.event == SEQ and f.channel == plan.channel]
        leads = [f for f in rest if plan.lead is not None and f.channel == plan.lead]
        if len(ours) < N or len(leads) < (plan.lead is not None):
            return []
        others = [f for f in rest if f not in ours and f not in leads]
        self._holding, self._held = None, []
        plan.done.set()
        return [f.raw for f in (*leads, succeeded, *ours, *others)]


@dataclass
class Setup:
    server: ServerUnderTest
    publisher: Publisher
    relay: Relay

    def client(self) -> ReverbClient:
        return client_for(self.server, host="127.0.0.1", port=self.relay.port)


@pytest.fixture
async def setup(server: ServerUnderTest) -> AsyncIterator[Setup]:
    async with ApiClient(api_config(server)) as api:
        publisher = Publisher(api)
        relay = Relay(server, publisher)
        await relay.start()
        try:
            yield Setup(server, publisher, relay)
        finally:
            await relay.stop()


@dataclass
class Received:
    """Records the sequence numbers of ``channel``'s ``Seq`` events, and the fence."""

    channel: str
    seqs: list[int] = field(default_factory=list)
    _fence: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, event: Event) -> None:
        if event.channel != self.channel:
            return
        if event.name == SEQ:
            self.seqs.append(event.data["seq"])
        elif event.name == FENCE:
            self._fence.set()

    def bind_to(self, target: Channel | ReverbClient) -> None:
        target.bind(SEQ, self)
        target.bind(FENCE, self)

    async def fenced(self, setup: Setup, plan: Plan, timeout: float = 10.0) -> list[int]:
        """After the plan's events: publish the fence, wait for it, return what came before."""
        async with asyncio.timeout(timeout):
            await plan.done.wait()
            await setup.publisher.fence(self.channel)
            await self._fence.wait()
        return self.seqs


async def subscribe(client: ReverbClient, name: str) -> Channel:
    return await client.subscribe(name, user_data=ME if name.startswith("presence-") else None)


def channel_object(client: ReverbClient, name: str) -> Channel:
    if name.startswith("presence-"):
        return PresenceChannel(name, client, ME)
    if name.startswith("private-"):
        return PrivateChannel(name, client)
    return PublicChannel(name, client)


@pytest.mark.parametrize("timing", ["held", "racing"])
@pytest.mark.parametrize("kind", list(KINDS))
async def test_bound_right_after_subscribe_returns(setup: Setup, kind: str, timing: str) -> None:
    name = unique(kind)
    plan = setup.relay.plan(name, hold=timing == "held")
    async with setup.client() as client:
        channel = await subscribe(client, name)
        received = Received(name)
        received.bind_to(channel)
        assert await received.fenced(setup, plan) == list(range(N))


@pytest.mark.parametrize("kind", list(KINDS))
async def test_client_wide_handler_bound_before_subscribing(setup: Setup, kind: str) -> None:
    name = unique(kind)
    plan = setup.relay.plan(name)
    async with setup.client() as client:
        received = Received(name)
        received.bind_to(client)
        await subscribe(client, name)
        assert await received.fenced(setup, plan) == list(range(N))


@pytest.mark.parametrize("kind", list(KINDS))
async def test_bound_on_the_channel_object_before_subscribing(setup: Setup, kind: str) -> None:
    name = unique(kind)
    plan = setup.relay.plan(name)
    async with setup.client() as client:
        channel = channel_object(client, name)
        received = Received(name)
        received.bind_to(channel)
        assert await client.subscribe(channel) is channel
        assert await received.fenced(setup, plan) == list(range(N))


@pytest.mark.parametrize(
    "style",
    [
        "sync",
        "async",
    ],
)
@pytest.mark.parametrize("kind", list(KINDS))
async def test_bound_right_after_subscribe_when_another_channels_event_leads_the_batch(
    setup: Setup, kind: str, style: str
) -> None:
    name, other_name = unique(kind), unique("public")
    seen_other: list[int] = []

    def sync(event: Event) -> None:
        seen_other.append(event.data["seq"])

    async def yielding(event: Event) -> None:
        await asyncio.sleep(0)
        seen_other.append(event.data["seq"])

    async with setup.client() as client:
        other = await client.subscribe(other_name)
        other.bind(SEQ, sync if style == "sync" else yielding)
        plan = setup.relay.plan(name, lead=other_name)
        channel = await subscribe(client, name)
        received = Received(name)
        received.bind_to(channel)
        assert await received.fenced(setup, plan) == list(range(N))
        assert seen_other == [0]


@pytest.mark.parametrize("bound", ["after-subscribe", "client-wide"])
@pytest.mark.parametrize("kind", list(KINDS))
async def test_handler_bound_before_a_drop_sees_the_first_events_after_resubscribing(
    setup: Setup, kind: str, bound: str
) -> None:
    name = unique(kind)
    received = Received(name)
    async with setup.client() as client:
        if bound == "client-wide":
            received.bind_to(client)
            await subscribe(client, name)
        else:
            received.bind_to(await subscribe(client, name))
        plan = setup.relay.plan(name)
        setup.relay.links[-1].drop()  # the TCP connection drops, no close frame
        assert await received.fenced(setup, plan) == list(range(N))
        assert client.reconnects == 1
