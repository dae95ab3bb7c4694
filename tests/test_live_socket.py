"""LiveSocket: an established socket's frame sink, keepalive timer and pongs, both paths."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from reverb.live_socket import LiveSocket
from reverb.messages import Event
from reverb.protocol.link import Link
from reverb.protocol.session import Established
from tests.support.waiting import wait_until

pytestmark = pytest.mark.usefixtures("receive_path")

ESTABLISHED = json.dumps(
    {"event": "pusher:connection_established", "data": json.dumps({"socket_id": "1.1"})}
)
TICK = json.dumps({"event": "tick", "channel": "flood", "data": json.dumps({"seq": 1})})


class Wire:
    """The socket's far end: what was sent, and whether it was aborted."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.pinged = asyncio.Event()
        self.aborted = False

    async def send(self, text: str) -> None:
        self.sent.append(json.loads(text))
        if self.sent[-1]["event"] == "pusher:ping":
            self.pinged.set()

    def abort(self) -> None:
        self.aborted = True


def live_socket(activity_timeout: float) -> tuple[LiveSocket, Wire, list[Event], list[Any]]:
    link = Link(activity_timeout=activity_timeout, pong_timeout=5)
    assert isinstance(link.receive(ESTABLISHED, asyncio.get_running_loop().time()), Established)
    wire = Wire()
    events: list[Event] = []
    others: list[Any] = []
    socket = LiveSocket(wire, link, others.append, events.append)  # type: ignore[arg-type]
    return socket, wire, events, others


async def test_events_keep_the_keepalive_quiet_and_silence_brings_a_ping() -> None:
    socket, wire, events, _ = live_socket(activity_timeout=0.3)
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + 0.9  # three activity periods of events, one every 50 ms
    while loop.time() < stop_at:
        socket.sink(TICK)
        await asyncio.sleep(0.05)
    assert wire.sent == []  # the events were activity, on either path
    assert len(events) == socket.frames_received > 10
    async with asyncio.timeout(2):
        await wire.pinged.wait()  # then silence: a ping one period later
    assert wire.sent == [{"event": "pusher:ping", "data": {}}]
    socket.close()


async def test_a_ping_is_answered_and_other_frames_go_to_on_event() -> None:
    socket, wire, events, others = live_socket(activity_timeout=30)
    socket.sink('{"event":"pusher:ping"}')
    socket.sink('{"event":"pusher:error","data":{"code":4301,"message":"x"}}')
    socket.sink(TICK)
    await wait_until(lambda: bool(wire.sent), timeout=2)  # the pong goes out from a task of its own
    assert wire.sent == [{"event": "pusher:pong", "data": {}}]
    assert events == [Event("tick", "flood", {"seq": 1})]
    assert len(others) == 1
    assert socket.frames_received == 3
    socket.close()
    assert socket._link.session.phase.value == "closed"
