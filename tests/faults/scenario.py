"""One long-lived client behind a fault proxy, and what must hold after every fault.

:class:`Scenario` sets up, against a real server (Soketi, or the local server):

- a :class:`~tests.faults.proxy.FaultProxy` in front of the server;
- a :class:`~reverb.ReverbClient` connected *through* the proxy with quick keepalive and
  reconnect timings, holding a public, a private and a presence channel (user ``py``), and
  signing through a :class:`RecordingAuthenticator`;
- a pusher-js peer connected *directly* to the server, on the same presence channel (user
  ``js``);
- an :class:`~reverb.api.ApiClient` that publishes probes and reads the server's own view of
  the presence channel.

:meth:`Scenario.inject` applies one fault (the catalogue is :mod:`tests.faults.kinds`), heals
it and checks what the client did; :meth:`Scenario.verify` is the after-fault check list. Only
the client's public API is used, so the suite holds across refactors of its internals.
"""

from __future__ import annotations

import asyncio
import gc
import linecache
import logging
import os
import secrets
import sys
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import _pytest
import pluggy
import websockets

import reverb
from reverb import (
    Authenticator,
    Authorization,
    ConnectionError,
    ConnectionState,
    Event,
    PresenceChannel,
    PrivateChannel,
    PublicChannel,
    ReverbClient,
    ReverbConfig,
)
from reverb.api import ApiClient, ApiError
from tests.faults.kinds import JS_USER, KINDS, MEMBER_ADDED, Fault
from tests.faults.proxy import FaultProxy
from tests.faults.report import FaultRecord
from tests.faults.signals import Signal
from tests.support.peer import PusherJsPeer
from tests.support.soketi import ServerUnderTest
from tests.support.waiting import wait_until

ACTIVITY_TIMEOUT = 2.0
"""The client pings after this much silence..."""
PONG_TIMEOUT = 1.0
"""...and gives the socket up when nothing answers within this."""
CONNECT_TIMEOUT = 2.0
"""A reconnect attempt that hangs (a stalled connection) is given up after this."""
SCHEDULING_MARGIN = 1.0
"""Slack for a loaded machine on top of the keepalive timings."""
DETECTION_BOUND = ACTIVITY_TIMEOUT + PONG_TIMEOUT + SCHEDULING_MARGIN
"""A silent fault (a black hole) must be noticed within this."""
IMMEDIATE_BOUND = 1.0
"""A fault the client is told about (RST, FIN, a close frame) must be noticed within this,
which is less than the keepalive path could ever take (``PONG_TIMEOUT`` at the least)."""
PROBE_TIMEOUT = 5.0
AGREEMENT_TIMEOUT = 30.0
"""Presence views may lag: a server drops a dead socket's member, pusher-js reconnects."""
LEAK_TIMEOUT = 5.0

PY_USER = {"user_id": "py", "user_info": {"name": "python-reverb"}}
EXPECTED_MEMBERS = frozenset({"py", "js"})
MEMBER_REMOVED = "pusher:member_removed"


@dataclass(frozen=True, slots=True)
class StateChange:
    """One ``on_state_change`` notification and when it arrived (loop time)."""

    at: float
    previous: ConnectionState
    current: ConnectionState


class RecordingAuthenticator:
    """Signs like :class:`reverb.Authenticator` and records each ``(socket_id, channel)``."""

    def __init__(self, app_key: str, app_secret: str) -> None:
        self._inner = Authenticator(app_key, app_secret)
        self.calls: list[tuple[str, str]] = []
        """Every authorization asked for, in order."""

    def authenticate(
        self, socket_id: str, channel_name: str, user_data: Mapping[str, Any] | None = None
    ) -> Authorization:
        """Record the call, then sign."""
        self.calls.append((socket_id, channel_name))
        return self._inner.authenticate(socket_id, channel_name, user_data)


TRACEBACK_FRAMES = 12
_REVERB = os.path.dirname(reverb.__file__)
CLIENT_MEMORY = [
    tracemalloc.Filter(True, f"{_REVERB}/*", all_frames=True),
    tracemalloc.Filter(True, f"{os.path.dirname(websockets.__file__)}/*", all_frames=True),
    *(
        tracemalloc.Filter(False, pattern, all_frames=True)
        for pattern in (
            tracemalloc.__file__,
            linecache.__file__,
            f"{os.path.dirname(logging.__file__)}/*",  # log records pytest keeps for its report
            f"{os.path.dirname(_pytest.__file__)}/*",
            f"{os.path.dirname(pluggy.__file__)}/*",
            f"{_REVERB}/server*",  # the local server, on its own thread
            f"{_REVERB}/testing*",
            f"{_REVERB}/api*",  # the scenario's HTTP API client
            f"{os.path.dirname(__file__)}/*",  # what the scenario itself records
        )
    ),
]
"""What memory checks count: allocations made by python-reverb's client code or `websockets`,
except where the test harness (pytest's log capture, the local server's thread, the HTTP API
client, the scenario's own records) allocates through them."""


@dataclass(frozen=True, slots=True)
class MemoryCheckpoint:
    """Traced memory at one point of a run.

    Attributes:
        snapshot: the traces :data:`CLIENT_MEMORY` selects.
        faults: how many faults had been injected.
    """

    snapshot: tracemalloc.Snapshot
    faults: int

    @property
    def size(self) -> int:
        """Traced bytes."""
        return sum(stat.size for stat in self.snapshot.statistics("filename"))

    def growth_since(self, earlier: MemoryCheckpoint, top: int = 8) -> tuple[int, str]:
        """Bytes more than at ``earlier``, and the allocation sites that grew most."""
        stats = self.snapshot.compare_to(earlier.snapshot, "lineno")[:top]
        return self.size - earlier.size, "\n".join(str(stat) for stat in stats)


def _task_kind(task: asyncio.Task[Any]) -> str:
    coroutine = task.get_coro()
    return str(getattr(coroutine, "__qualname__", repr(coroutine)))


def _task_census() -> Counter[str]:
    """The running tasks by coroutine name, the caller's own excluded."""
    current = asyncio.current_task()
    return Counter(_task_kind(task) for task in asyncio.all_tasks() if task is not current)


class Scenario:
    """A client behind a fault proxy before ``server``, with a pusher-js peer beside it.

    Use it as an async context manager from the test's own task (the task baseline is taken
    at the end of setup).

    Args:
        server: a running server (Soketi or the local one); the ``restart`` fault kills and
            starts it.
        transport: the client's ``transport`` setting (``websockets`` or ``picows``).
        track_memory: trace allocations from the end of setup on (for :meth:`memory_growth`).
    """

    def __init__(
        self, server: ServerUnderTest, *, transport: str = "auto", track_memory: bool = False
    ) -> None:
        self.server = server
        self.transport = transport
        self.track_memory = track_memory
        self.prefix = f"faults-{secrets.token_hex(4)}"
        self.public_name = self.prefix
        self.private_name = f"private-{self.prefix}"
        self.presence_name = f"presence-{self.prefix}"
        self.names = (self.public_name, self.private_name, self.presence_name)
        self.proxy = FaultProxy(server.host, server.port)
        self.authenticator = RecordingAuthenticator(server.app_key, server.app_secret)
        self.changed = Signal()
        """Notified by every handler and callback the scenario registers."""
        self.states: list[StateChange] = []
        self.disconnects: list[ConnectionError | None] = []
        self.subscriptions: dict[str | None, list[tuple[str, float]]] = defaultdict(list)
        """Per socket id: each ``pusher:subscription_succeeded`` handled, and when."""
        self.probes: dict[str, list[int]] = {name: [] for name in self.names}
        """Per channel: the probe sequence numbers its handler got, in order."""
        self.client_probes: list[tuple[str, int]] = []
        """What the client-level probe handler got: ``(channel, seq)``."""
        self.subscription_errors: list[tuple[str, int | None]] = []
        """``(channel, code)`` of each ``pusher:subscription_error`` the handlers got."""
        self.member_events: list[tuple[str, str]] = []
        """``(MEMBER_ADDED or MEMBER_REMOVED, user id)`` seen on the presence channel."""
        self.sent: list[int] = []
        """Probe sequence numbers published, each to all three channels."""
        self.records: list[FaultRecord] = []
        self.refused_subscriptions = 0
        self._client: ReverbClient | None = None
        self._peer: PusherJsPeer | None = None
        self._api: ApiClient | None = None
        self._room: PresenceChannel | None = None
        self._baseline_tasks: Counter[str] | None = None
        self.baseline_memory: MemoryCheckpoint | None = None
        """Traced memory at the end of setup (with ``track_memory``)."""

    async def __aenter__(self) -> Scenario:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # -- the parts ------------------------------------------------------------------------------

    @property
    def client(self) -> ReverbClient:
        """The client under test."""
        assert self._client is not None, "the scenario is not started"
        return self._client

    @property
    def peer(self) -> PusherJsPeer:
        """The pusher-js peer."""
        assert self._peer is not None, "the scenario is not started"
        return self._peer

    @property
    def api(self) -> ApiClient:
        """The server's HTTP API, reached directly."""
        assert self._api is not None, "the scenario is not started"
        return self._api

    @property
    def room(self) -> PresenceChannel:
        """The client's presence channel."""
        assert self._room is not None, "the scenario is not started"
        return self._room

    def client_settings(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for a ``ReverbClient`` reaching the server through the proxy."""
        return {
            "app_key": self.server.app_key,
            "app_secret": self.server.app_secret,
            "app_id": self.server.app_id,
            "host": self.proxy.host,
            "port": self.proxy.port,
            "scheme": "http",
            "activity_timeout": ACTIVITY_TIMEOUT,
            "pong_timeout": PONG_TIMEOUT,
            "reconnect_delay": 0.1,
            "reconnect_max_delay": 0.5,
            "connect_timeout": CONNECT_TIMEOUT,
            "subscription_timeout": 5.0,
            "transport": self.transport,
            **overrides,
        }

    # -- life cycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Set everything up, check the starting point, and take the baselines."""
        server = self.server
        await self.proxy.start()
        self._api = ApiClient(
            ReverbConfig(
                app_id=server.app_id,
                app_key=server.app_key,
                app_secret=server.app_secret,
                host=server.host,
                port=server.port,
                scheme="http",
            )
        )
        self._peer = await PusherJsPeer.start(
            server.host, server.port, server.app_key, server.app_secret
        )
        reply = await self._peer.command("subscribe", channel=self.presence_name, user_data=JS_USER)
        assert reply["ok"], reply
        client = self._client = ReverbClient(
            authenticator=self.authenticator,
            on_disconnect=self._on_disconnect,
            **self.client_settings(),
        )
        client.on_state_change(self._on_state_change)
        await client.connect()
        room = self._room = PresenceChannel(self.presence_name, client, PY_USER)
        channels = (
            PublicChannel(self.public_name, client),
            PrivateChannel(self.private_name, client),
            room,
        )
        for channel in channels:  # bound once, before subscribing; never again
            channel.bind("probe", self._on_probe)
            channel.bind("pusher:subscription_succeeded", self._on_subscribed)
            channel.bind("pusher:subscription_error", self._on_subscription_error)
        client.bind("probe", self._on_any_probe)
        room.bind(MEMBER_ADDED, self._on_member)
        room.bind(MEMBER_REMOVED, self._on_member)
        for channel in channels:
            assert await client.subscribe(channel) is channel
        socket_id = client.socket_id
        assert socket_id is not None
        await self.changed.wait_for(  # the handlers run after subscribe() returned
            lambda: {c for c, _ in self.subscriptions[socket_id]} >= set(self.names), PROBE_TIMEOUT
        )
        await self.verify(socket_id)
        self._baseline_tasks = _task_census()
        if self.track_memory:
            tracemalloc.start(TRACEBACK_FRAMES)
            self.baseline_memory = self.memory()

    async def close(self) -> None:
        """Disconnect the client and the peer, stop the proxy and the memory tracing."""
        if self.baseline_memory is not None:
            tracemalloc.stop()
        if self._client is not None:
            await self._client.disconnect()
        if self._peer is not None:
            await self._peer.close()
        if self._api is not None:
            await self._api.aclose()
        await self.proxy.close()

    # -- what the client reports ----------------------------------------------------------------

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _on_state_change(self, previous: ConnectionState, current: ConnectionState) -> None:
        self.states.append(StateChange(self._now(), previous, current))
        self.changed.notify()

    def _on_disconnect(self, error: ConnectionError | None) -> None:
        self.disconnects.append(error)
        self.changed.notify()

    def _channel(self, event: Event) -> str:
        # Keep our own copy of the name, not the one decoded from the frame, so that what
        # the scenario records holds on to nothing the client allocated.
        assert event.channel in self.names, event
        return self.names[self.names.index(event.channel)]

    def _on_subscribed(self, event: Event) -> None:
        self.subscriptions[self.client.socket_id].append((self._channel(event), self._now()))
        self.changed.notify()

    def _on_probe(self, event: Event) -> None:
        self.probes[self._channel(event)].append(int(event.data["seq"]))
        self.changed.notify()

    def _on_subscription_error(self, event: Event) -> None:
        code = event.data.get("code") if isinstance(event.data, Mapping) else None
        self.subscription_errors.append((self._channel(event), code))
        self.changed.notify()

    def _on_member(self, event: Event) -> None:
        kind = MEMBER_ADDED if event.name == MEMBER_ADDED else MEMBER_REMOVED
        self.member_events.append((kind, sys.intern(str(event.data.user_id))))
        self.changed.notify()

    def _on_any_probe(self, event: Event) -> None:
        self.client_probes.append((self._channel(event), int(event.data["seq"])))
        self.changed.notify()

    # -- one fault ------------------------------------------------------------------------------

    async def inject(self, fault: Fault) -> FaultRecord:
        """Apply ``fault``, heal it, and check the client, returning what it measured.

        A disruptive fault must be noticed (the client leaves ``connected``, seen through
        ``on_state_change``) within :data:`DETECTION_BOUND` of striking, or within
        :data:`IMMEDIATE_BOUND` when the client is told (RST, FIN, close frame); the client
        must then come back on a new socket id, after a back-off (state ``unavailable``) or at
        once as the close codes want, ``on_disconnect`` must have been called once per socket
        lost, with the expected codes, and :meth:`verify` must pass. A
        non-disruptive fault (latency, throttle, a refused subscription) must cost neither the
        socket nor a state change.
        """
        kind = KINDS[fault.kind]
        client = self.client
        assert client.state is ConnectionState.CONNECTED, f"before {fault}: {client.state}"
        before = client.socket_id
        states_mark, disconnects_mark = len(self.states), len(self.disconnects)
        errors_mark = len(self.subscription_errors)
        started = self._now()
        struck = await kind.apply(self, fault)
        detection = recovery = None
        if kind.disruptive:
            bound = IMMEDIATE_BOUND if kind.immediate else DETECTION_BOUND
            try:
                change = await self.changed.wait_for(
                    lambda: self._left_connected(states_mark),
                    max(0.0, struck + bound + SCHEDULING_MARGIN - self._now()),
                )
            except TimeoutError:
                raise AssertionError(
                    f"{fault}: the client did not notice within {bound} s "
                    f"(state {client.state}, changes {self.states[states_mark:]})"
                ) from None
            detection = change.at - struck
            assert detection <= bound, f"{fault}: noticed after {detection:.3f} s > {bound} s"
            await self.proxy.heal()
            socket_id = await self._recovered(before, fault, kind.recovery_timeout)
            recovery = max(at for _, at in self.subscriptions[socket_id]) - struck
            await self._check_disconnects(fault, disconnects_mark, kind.lost)
            waited = [
                c for c in self.states[states_mark:] if c.current is ConnectionState.UNAVAILABLE
            ]
            assert bool(waited) == kind.backs_off, (
                f"{fault}: {'no' if kind.backs_off else 'a'} back-off: {self.states[states_mark:]}"
            )
            if kind.settle is not None:
                await kind.settle(self)
        else:
            await self.proxy.heal()
            assert self.states[states_mark:] == [], f"{fault}: {self.states[states_mark:]}"
            assert client.socket_id == before, f"{fault} replaced the socket"
            assert len(self.disconnects) == disconnects_mark, f"{fault}: on_disconnect called"
            assert before is not None
            socket_id = before
        errors = self.subscription_errors[errors_mark:]
        assert len(errors) == kind.refusals, f"{fault}: subscription errors {errors}"
        await self.verify(socket_id)
        record = FaultRecord(fault.kind, str(fault), detection, recovery, self._now() - started)
        self.records.append(record)
        return record

    async def run(self, faults: list[Fault]) -> list[FaultRecord]:
        """Inject each fault in turn; returns their records."""
        return [await self.inject(fault) for fault in faults]

    def _left_connected(self, since: int) -> StateChange | None:
        for change in self.states[since:]:
            if change.previous is ConnectionState.CONNECTED:
                return change
        return None

    async def _recovered(self, before: str | None, fault: Fault, timeout: float) -> str:
        """Wait until connected on a new socket with every subscription confirmed to the
        handlers; return the new socket id."""

        def new_socket() -> str | None:
            socket_id = self.client.socket_id
            if self.client.state is not ConnectionState.CONNECTED or socket_id in (None, before):
                return None
            confirmed = {channel for channel, _ in self.subscriptions.get(socket_id, [])}
            return socket_id if confirmed >= set(self.names) else None

        try:
            return await self.changed.wait_for(new_socket, timeout)
        except TimeoutError:
            raise AssertionError(
                f"{fault}: not back within {timeout} s: state {self.client.state}, "
                f"socket {self.client.socket_id!r} (was {before!r}), channels "
                f"{ {name: str(c.state) for name, c in self.client.channels.items()} }"
            ) from None

    async def _check_disconnects(
        self, fault: Fault, since: int, expected: tuple[int | None, ...]
    ) -> None:
        """``on_disconnect`` was called once per socket lost, with the expected codes."""
        try:
            await self.changed.wait_for(
                lambda: len(self.disconnects) >= since + len(expected), PROBE_TIMEOUT
            )
        except TimeoutError:
            raise AssertionError(
                f"{fault}: on_disconnect called {len(self.disconnects) - since} times, "
                f"expected {len(expected)}"
            ) from None
        reasons = self.disconnects[since:]
        assert all(isinstance(reason, ConnectionError) for reason in reasons), reasons
        codes = tuple(reason.code for reason in reasons if reason is not None)
        assert codes == expected, f"{fault}: lost with codes {codes}, expected {expected}"

    # -- the checks -----------------------------------------------------------------------------

    async def verify(self, socket_id: str) -> None:
        """What must hold on a settled connection (after setup, and after every fault).

        - each channel confirmed to its handlers exactly once on this socket (handlers bound
          once, survived every reconnect);
        - the private and presence channels authorized exactly once for this socket id;
        - exactly the three channels registered, all subscribed, ``me`` is ``py``;
        - no handler raised (``stats.handler_errors``) and no frame was dropped as unusable
          (``stats.frames_dropped``: a cut frame must never reach the parser);
        - a probe published to the three channels arrives exactly once on each, and every
          earlier probe too, in order (:meth:`probe`);
        - the client's, the server's and pusher-js's presence views agree
          (:meth:`presence_agrees`);
        - nothing leaked: one proxied connection, and the same tasks as after setup
          (:meth:`no_leaks`).
        """
        client = self.client
        assert client.socket_id == socket_id
        confirmed = Counter(channel for channel, _ in self.subscriptions[socket_id])
        assert confirmed == dict.fromkeys(self.names, 1), f"on {socket_id}: {confirmed}"
        for name in (self.private_name, self.presence_name):
            count = self.authenticator.calls.count((socket_id, name))
            assert count == 1, f"{name} authorized {count} times for {socket_id}"
        assert sorted(client.channels) == sorted(self.names)
        assert all(client.channels[name].subscribed for name in self.names)
        assert client.stats.handler_errors == 0
        assert client.stats.frames_dropped == 0
        me = self.room.me
        assert me is not None
        assert me.user_id == PY_USER["user_id"]
        await self.probe()
        await self.presence_agrees()
        await self.no_leaks()

    async def probe(self) -> None:
        """Publish the next probe to the three channels through the HTTP API and wait until
        each channel's handler has it; every probe so far must have arrived exactly once.
        """
        seq = len(self.sent) + 1
        self.sent.append(seq)
        await self.api.trigger(list(self.names), "probe", {"seq": seq})
        expected = sorted((name, number) for name in self.names for number in self.sent)

        def arrived() -> bool:
            return all(seq in self.probes[name] for name in self.names) and sum(
                number == seq for _, number in self.client_probes
            ) == len(self.names)

        try:
            await self.changed.wait_for(arrived, PROBE_TIMEOUT)
        except TimeoutError:
            raise AssertionError(
                f"probe {seq} not delivered within {PROBE_TIMEOUT} s: {self.probes}"
            ) from None
        for name in self.names:
            assert self.probes[name] == self.sent, f"{name}: {self.probes[name]} != {self.sent}"
        assert sorted(self.client_probes) == expected

    async def server_members(self) -> set[str]:
        """The user ids the server itself lists on the presence channel."""
        try:
            reply = await self.api.users(self.presence_name)
        except ApiError as error:
            if error.status == 404:  # the local server: the channel is empty right now
                return set()
            raise
        return {str(user["id"]) for user in reply["users"]}

    async def wait_server_members(self, expected: set[str]) -> None:
        """Wait (bounded) until the server lists exactly ``expected`` on the presence channel.

        Raises:
            AssertionError: it did not within ``AGREEMENT_TIMEOUT``.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + AGREEMENT_TIMEOUT
        while (members := await self.server_members()) != expected:
            if loop.time() > deadline:
                raise AssertionError(f"the server lists {members}, expected {expected}")
            await asyncio.sleep(0.05)  # the server's view: poll it

    async def presence_agrees(self) -> None:
        """Wait (bounded) until the server's users, the client's members and pusher-js's
        members are all ``{py, js}``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + AGREEMENT_TIMEOUT
        while True:
            server = await self.server_members()
            client = set(self.room.members)
            reply = await self.peer.command("members", channel=self.presence_name)
            peer = set(reply.get("members") or {})
            if server == client == peer == EXPECTED_MEMBERS:
                return
            if loop.time() > deadline:
                raise AssertionError(
                    f"presence views disagree after {AGREEMENT_TIMEOUT} s: server {server}, "
                    f"client {client}, pusher-js {peer}"
                )
            await asyncio.sleep(0.05)  # views held by other processes: poll them

    async def no_leaks(self) -> None:
        """One proxied connection, and the tasks of the setup baseline (by coroutine)."""
        try:
            await self.proxy.wait_for_open_pairs(1, LEAK_TIMEOUT)
        except TimeoutError:
            raise AssertionError(
                f"{self.proxy.open_pairs} proxied connections open, expected 1"
            ) from None
        baseline = self._baseline_tasks
        if baseline is None:
            return
        try:
            await wait_until(lambda: _task_census() == baseline, LEAK_TIMEOUT)
        except TimeoutError:
            census = _task_census()
            raise AssertionError(
                f"tasks differ from the baseline: more {dict(census - baseline)}, "
                f"fewer {dict(baseline - census)}"
            ) from None

    def memory(self) -> MemoryCheckpoint:
        """What the client has allocated and still holds now (:data:`CLIENT_MEMORY`), after a
        full collection."""
        assert self.track_memory, "Scenario(track_memory=True) traces memory"
        gc.collect()
        snapshot = tracemalloc.take_snapshot().filter_traces(CLIENT_MEMORY)
        return MemoryCheckpoint(snapshot, len(self.records))
