"""The catalogue of faults: how each one is applied, what the client must do about it, and how
random parameters are drawn for it.

Every kind here can be injected into a long-lived session again and again; the terminal 4001
close (the client gives up for good) is tested on its own, not here.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import pytest

from reverb import ConnectionState, SubscriptionError, SubscriptionState
from tests.faults.proxy import Direction, RefuseMode

if TYPE_CHECKING:
    from tests.faults.scenario import Scenario

JS_USER = {"user_id": "js", "user_info": {"name": "pusher-js"}}
"""The pusher-js peer's presence member (the scenario subscribes it with this)."""
MEMBER_ADDED = "pusher:member_added"

__all__ = ["KINDS", "Fault", "FaultKind", "random_faults"]

HOLD_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault to inject, with its parameters (zero when a kind does not use one).

    Attributes:
        kind: a key of :data:`KINDS`.
        duration: seconds the fault is held before healing (refusals, latency, throttle).
        latency: seconds added to every chunk.
        throttle: bytes per second.
        cut_after: bytes of the next server frame that get through before the reset.
    """

    kind: str
    duration: float = 0.0
    latency: float = 0.0
    throttle: float = 0.0
    cut_after: int = 0

    def __str__(self) -> str:
        parameters = [
            f"{field.name}={getattr(self, field.name):g}"
            for field in fields(self)
            if field.name != "kind" and getattr(self, field.name)
        ]
        return f"{self.kind}({', '.join(parameters)})"


Apply = Callable[["Scenario", Fault], Awaitable[float]]
"""Applies a fault; returns the loop time at which it struck."""


@dataclass(frozen=True, slots=True)
class FaultKind:
    """A kind of fault and what the client must do about it.

    Attributes:
        name: the kind's name (a key of :data:`KINDS`).
        apply: applies a fault of this kind (healing it itself if it is held).
        draw: makes a fault of this kind with random parameters.
        disruptive: whether the socket is lost (and must be noticed and replaced); if not,
            the client must keep its socket and never change state.
        immediate: whether the client is told (RST, FIN, close frame), so that it must notice
            at once rather than by keepalive.
        lost: the codes ``on_disconnect`` must report, one per established socket lost
            (``None``: no close frame; 4201: no reply to a ping).
        recovery_timeout: seconds allowed from healing to every subscription back.
        settle: runs once the client is back (a disruptive fault's own checks), before the
            after-fault checks.
        refusals: how many ``pusher:subscription_error`` events the scenario's channels get.
    """

    name: str
    apply: Apply
    draw: Callable[[random.Random], Fault]
    disruptive: bool = True
    immediate: bool = True
    lost: tuple[int | None, ...] = (None,)
    recovery_timeout: float = 10.0
    settle: Callable[[Scenario], Awaitable[None]] | None = None
    refusals: int = 0

    @property
    def backs_off(self) -> bool:
        """Whether the client must wait (state ``unavailable``) before reconnecting: unless
        every socket was lost with a 42xx code (or an unanswered ping, reported as 4201),
        which the documented policy retries at once."""
        return any(code is None or not 4200 <= code <= 4299 for code in self.lost)


def _now() -> float:
    return asyncio.get_running_loop().time()


# -- the network ---------------------------------------------------------------------------------


async def _reset(scenario: Scenario, fault: Fault) -> float:
    struck = _now()
    assert scenario.proxy.reset() == 1
    return struck


def _black_hole(direction: Direction) -> Apply:
    async def apply(scenario: Scenario, fault: Fault) -> float:
        struck = _now()
        assert scenario.proxy.black_hole(direction) == 1
        return struck

    return apply


async def _cut(scenario: Scenario, fault: Fault) -> float:
    cut = scenario.proxy.cut_next_frame(fault.cut_after)
    # Make the server send something now rather than at the next keepalive.
    await scenario.api.trigger([scenario.public_name], "cut-trigger", {"pad": "x" * 40})
    return await asyncio.wait_for(cut, HOLD_TIMEOUT)


async def _cut_handshake(scenario: Scenario, fault: Fault) -> float:
    """A reset, then the next connection cut inside its first frame (the server's
    ``pusher:connection_established``): that attempt fails and the client tries again."""
    struck = _now()
    assert scenario.proxy.reset() == 1
    cut = scenario.proxy.cut_next_frame(fault.cut_after)
    await asyncio.wait_for(cut, HOLD_TIMEOUT)
    return struck


async def _flap(scenario: Scenario, fault: Fault) -> float:
    """A reset, then the next connection reset too while the client re-subscribes (when it
    sends the presence subscribe; the public and private ones went through)."""
    flapped = scenario.proxy.reset_on_subscribe(scenario.presence_name)
    struck = _now()
    assert scenario.proxy.reset() == 1
    await asyncio.wait_for(flapped, HOLD_TIMEOUT)
    return struck


def _refuse(mode: RefuseMode) -> Apply:
    async def apply(scenario: Scenario, fault: Fault) -> float:
        proxy = scenario.proxy
        refused_before = proxy.refused
        mark = len(scenario.states)
        await proxy.refuse(mode)
        struck = _now()
        assert proxy.reset() == 1

        def attempts_failed() -> int:
            waits = [c for c in scenario.states[mark:] if c.current is ConnectionState.UNAVAILABLE]
            return len(waits)

        # At least one reconnect attempt must have been refused (the wait after the loss,
        # then the wait after a refused attempt) before healing: wait for it, then hold.
        await scenario.changed.wait_for(lambda: attempts_failed() >= 2, HOLD_TIMEOUT)
        if mode != "close":
            assert proxy.refused > refused_before
        await asyncio.sleep(max(0.0, struck + fault.duration - _now()))  # hold the refusal
        await proxy.heal()
        return struck

    return apply


async def _peer_churn(scenario: Scenario, fault: Fault) -> float:
    """While the client is away (its socket reset, new ones refused), the pusher-js peer
    leaves the presence channel; it comes back once the client has (:func:`_peer_rejoins`)."""
    proxy = scenario.proxy
    await proxy.refuse("reset")
    struck = _now()
    assert proxy.reset() == 1
    reply = await scenario.peer.command("unsubscribe", channel=scenario.presence_name)
    assert reply["ok"], reply
    await scenario.wait_server_members(set())  # py's dead socket dropped, js gone
    await proxy.heal()
    return struck


async def _peer_rejoins(scenario: Scenario) -> None:
    # The members were rebuilt from the server's list: js left while the client was away.
    assert set(scenario.room.members) == {"py"}
    mark = len(scenario.member_events)
    reply = await scenario.peer.command(
        "subscribe", channel=scenario.presence_name, user_data=JS_USER
    )
    assert reply["ok"], reply
    await scenario.changed.wait_for(
        lambda: (MEMBER_ADDED, "js") in scenario.member_events[mark:], HOLD_TIMEOUT
    )


async def _latency(scenario: Scenario, fault: Fault) -> float:
    scenario.proxy.set_latency(fault.latency)
    struck = _now()
    await scenario.probe()  # events keep flowing, in order, exactly once
    await asyncio.sleep(max(0.0, struck + fault.duration - _now()))  # hold the fault
    return struck


async def _throttle(scenario: Scenario, fault: Fault) -> float:
    scenario.proxy.set_throttle(fault.throttle)
    struck = _now()
    await scenario.probe()
    await asyncio.sleep(max(0.0, struck + fault.duration - _now()))  # hold the fault
    return struck


# -- the server ----------------------------------------------------------------------------------


async def _restart(scenario: Scenario, fault: Fault) -> float:
    struck = _now()
    await asyncio.to_thread(scenario.server.kill)
    await asyncio.to_thread(scenario.server.start)
    return struck


CLOSE_REASONS = {
    4001: "App key does not exist",
    4009: "Connection is unauthorized",
    4100: "Over capacity",
    4200: "Generic reconnect immediately",
    4201: "Pong reply not received in time",
    1009: "Message too big",
}


def _close(code: int) -> Apply:
    async def apply(scenario: Scenario, fault: Fault) -> float:
        struck = _now()
        assert scenario.proxy.inject_close(code, CLOSE_REASONS[code]) == 1
        return struck

    return apply


def reverb_error_frame(code: int) -> str:
    """A channel-less ``pusher:error`` in Reverb's shape (``data`` a JSON string)."""
    data = json.dumps({"code": code, "message": CLOSE_REASONS[code]})
    return json.dumps({"event": "pusher:error", "data": data})


async def _refused_subscription(scenario: Scenario, fault: Fault) -> float:
    """A private subscribe answered with Reverb's channel-less ``pusher:error`` 4009 (the
    server never sees the subscribe): that subscription fails, nothing else does."""
    scenario.refused_subscriptions += 1
    name = f"private-{scenario.prefix}-refused-{scenario.refused_subscriptions}"
    intercepted = scenario.proxy.intercept_subscribe(name, reverb_error_frame(4009))
    client = scenario.client
    errors_before = client.stats.subscription_errors
    struck = _now()
    with pytest.raises(SubscriptionError) as refused:
        await client.subscribe(name)
    assert refused.value.code == 4009, f"refused with {refused.value!r}"
    assert intercepted.done(), "the subscribe never reached the proxy"
    assert name not in client.channels
    assert client.stats.subscription_errors == errors_before + 1
    return struck


async def _refused_resubscription(scenario: Scenario, fault: Fault) -> float:
    """A reset, and on the next socket the private channel's re-subscription answered with
    4009: that channel alone fails (its handlers get ``pusher:subscription_error``), the
    others come back; the next reconnect (a second reset) must subscribe it again."""
    proxy, client = scenario.proxy, scenario.client
    refused = proxy.intercept_subscribe(scenario.private_name, reverb_error_frame(4009))
    errors_mark = len(scenario.subscription_errors)
    struck = _now()
    assert proxy.reset() == 1
    await asyncio.wait_for(refused, HOLD_TIMEOUT)
    await scenario.changed.wait_for(
        lambda: scenario.subscription_errors[errors_mark:], HOLD_TIMEOUT
    )
    assert scenario.subscription_errors[errors_mark:] == [(scenario.private_name, 4009)]
    socket_id = client.socket_id
    others = {scenario.public_name, scenario.presence_name}
    await scenario.changed.wait_for(
        lambda: {c for c, _ in scenario.subscriptions.get(socket_id, [])} >= others,
        HOLD_TIMEOUT,
    )
    assert client.state is ConnectionState.CONNECTED
    assert client.socket_id == socket_id
    assert client.channels[scenario.private_name].state is SubscriptionState.FAILED
    assert proxy.reset() == 1
    return struck


# -- the catalogue -------------------------------------------------------------------------------


def _plain(name: str) -> Callable[[random.Random], Fault]:
    return lambda rng: Fault(name)


KINDS: dict[str, FaultKind] = {
    kind.name: kind
    for kind in [
        FaultKind("reset", _reset, _plain("reset")),
        FaultKind(
            "blackhole-up",
            _black_hole("up"),
            _plain("blackhole-up"),
            immediate=False,
            lost=(4201,),
        ),
        FaultKind(
            "blackhole-down",
            _black_hole("down"),
            _plain("blackhole-down"),
            immediate=False,
            lost=(4201,),
        ),
        FaultKind(
            "blackhole-both",
            _black_hole("both"),
            _plain("blackhole-both"),
            immediate=False,
            lost=(4201,),
        ),
        FaultKind(
            "latency",
            _latency,
            lambda rng: Fault(
                "latency",
                duration=round(rng.uniform(0.3, 0.8), 2),
                latency=round(rng.uniform(0.02, 0.25), 3),
            ),
            disruptive=False,
        ),
        FaultKind(
            "throttle",
            _throttle,
            lambda rng: Fault(
                "throttle",
                duration=round(rng.uniform(0.3, 0.8), 2),
                throttle=rng.choice([2_000, 5_000, 20_000]),
            ),
            disruptive=False,
        ),
        FaultKind("cut", _cut, lambda rng: Fault("cut", cut_after=rng.randint(1, 60))),
        FaultKind(
            "cut-handshake",
            _cut_handshake,
            lambda rng: Fault("cut-handshake", cut_after=rng.randint(1, 60)),
        ),
        FaultKind("flap", _flap, _plain("flap"), lost=(None, None)),
        FaultKind("peer-churn", _peer_churn, _plain("peer-churn"), settle=_peer_rejoins),
        FaultKind(
            "refuse-stall",
            _refuse("stall"),
            lambda rng: Fault("refuse-stall", duration=round(rng.uniform(0.4, 1.2), 2)),
            recovery_timeout=15.0,
        ),
        FaultKind(
            "refuse-reset",
            _refuse("reset"),
            lambda rng: Fault("refuse-reset", duration=round(rng.uniform(0.4, 1.2), 2)),
        ),
        FaultKind(
            "refuse-close",
            _refuse("close"),
            lambda rng: Fault("refuse-close", duration=round(rng.uniform(0.4, 1.2), 2)),
        ),
        FaultKind("restart", _restart, _plain("restart"), recovery_timeout=45.0),
        FaultKind("close-4200", _close(4200), _plain("close-4200"), lost=(4200,)),
        FaultKind("close-4201", _close(4201), _plain("close-4201"), lost=(4201,)),
        FaultKind("close-4100", _close(4100), _plain("close-4100"), lost=(4100,)),
        FaultKind("close-1009", _close(1009), _plain("close-1009"), lost=(1009,)),
        FaultKind("error-4009", _refused_subscription, _plain("error-4009"), disruptive=False),
        FaultKind(
            "resubscribe-4009",
            _refused_resubscription,
            _plain("resubscribe-4009"),
            lost=(None, None),
            refusals=1,
        ),
    ]
}
"""Every repeatable fault kind, by name."""


def random_faults(count: int, seed: int) -> list[Fault]:
    """``count`` faults with random parameters, in a random order fixed by ``seed``.

    The kinds come in shuffled rounds of the whole catalogue, so every kind is used equally
    (give or take one) and a run of at least ``len(KINDS)`` faults uses each.
    """
    rng = random.Random(seed)

    def kinds() -> Iterator[str]:
        while True:
            round_ = sorted(KINDS)
            rng.shuffle(round_)
            yield from round_

    chosen = kinds()
    return [KINDS[next(chosen)].draw(rng) for _ in range(count)]
