"""One throughput client run against benchmarks/flood_server.py (run by throughput.py).

    python benchmarks/throughput_client.py KIND PORT COUNT [wait]

Subscribes to ``flood`` with a ``tick`` handler bound, then to ``flood-go-COUNT`` (which makes the
server write COUNT events); the handler counts events and checks their sequence numbers. Prints
one JSON line ``{"received": N, "in_order": bool, "seconds": S}``, S from just before
asking for the flood to the last event (so a client that decodes a batch before calling its
handlers is timed fairly). With ``wait`` (the bare loops only), it prints ``ready`` once subscribed
to ``flood`` and asks for the flood only after a line on stdin, so that several clients can be
started together; the JSON line then also has ``first`` and ``last``, the ``time.perf_counter()``
(CLOCK_MONOTONIC, shared by every process) of the two ends, and ``running`` and ``queued``: the
seconds of that span the client's thread spent on a core and waiting in the run queue for one
(``/proc/thread-self/schedstat``); the rest it was asleep, waiting for data.

KIND is one of the names in ``KINDS``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

HOST = "127.0.0.1"
KEY = "app-key"
WAIT = len(sys.argv) > 4 and sys.argv[4] == "wait"


class Counter:
    """Counts tick events, checks order, and times first to last."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.received = 0
        self.in_order = True
        self.first = 0.0
        self.last = 0.0
        self.done = threading.Event()
        self.sched = (0, 0)

    def start(self) -> None:
        """Called just before asking for the flood (clients that batch can't hide decoding)."""
        self.first = time.perf_counter()
        if WAIT:
            self.sched = schedstat()

    def tick(self, seq: int) -> None:
        if seq != self.received:
            self.in_order = False
        self.received += 1
        if self.received == self.count:
            self.last = time.perf_counter()
            if WAIT:
                running, queued = schedstat()
                self.sched = (running - self.sched[0], queued - self.sched[1])
            self.done.set()

    def result(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "in_order": self.in_order,
            "seconds": self.last - self.first,
            "first": self.first,
            "last": self.last,
            "running": self.sched[0] / 1e9,
            "queued": self.sched[1] / 1e9,
        }


def schedstat() -> tuple[int, int]:
    """This thread's nanoseconds on a core and waiting in the run queue (0, 0 if unknown)."""
    try:
        with open("/proc/thread-self/schedstat") as stat:
            running, queued = stat.read().split()[:2]
    except (OSError, ValueError):
        return 0, 0
    return int(running), int(queued)


async def gate() -> None:
    """With ``wait``: say ``ready`` and wait for a line on stdin before asking for the flood."""
    if WAIT:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)


def subscribe_frame(channel: str) -> str:
    return json.dumps({"event": "pusher:subscribe", "data": {"channel": channel}})


async def bare_websockets(port: int, counter: Counter, loads: Callable[[Any], Any]) -> None:
    from websockets.asyncio.client import connect

    async with connect(f"ws://{HOST}:{port}/app/{KEY}", max_queue=None) as ws:
        await ws.recv()  # connection_established
        await ws.send(subscribe_frame("flood"))
        await gate()
        counter.start()
        await ws.send(subscribe_frame(f"flood-go-{counter.count}"))
        tick = counter.tick
        while counter.received < counter.count:
            message = loads(await ws.recv())
            if message["event"] == "tick":
                tick(loads(message["data"])["seq"])


async def bare_aiohttp(port: int, counter: Counter) -> None:
    import aiohttp
    import orjson

    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"ws://{HOST}:{port}/app/{KEY}", autoping=False) as ws,
    ):
        await ws.receive()
        await ws.send_str(subscribe_frame("flood"))
        await gate()
        counter.start()
        await ws.send_str(subscribe_frame(f"flood-go-{counter.count}"))
        loads = orjson.loads
        tick = counter.tick
        while counter.received < counter.count:
            message = loads((await ws.receive()).data)
            if message["event"] == "tick":
                tick(loads(message["data"])["seq"])


async def bare_picows(port: int, counter: Counter) -> None:
    import orjson
    import picows

    loads = orjson.loads
    tick = counter.tick
    loop = asyncio.get_running_loop()
    connected = loop.create_future()
    finished = loop.create_future()

    class Listener(picows.WSListener):
        def on_ws_connected(self, transport: Any) -> None:
            transport.send(picows.WSMsgType.TEXT, subscribe_frame("flood").encode())
            connected.set_result(None)

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type != picows.WSMsgType.TEXT:
                return
            message = loads(frame.get_payload_as_bytes())
            if message["event"] == "tick":
                tick(loads(message["data"])["seq"])
                if counter.received == counter.count and not finished.done():
                    finished.set_result(None)

    transport, _ = await picows.ws_connect(Listener, f"ws://{HOST}:{port}/app/{KEY}")
    await connected
    await gate()
    go = subscribe_frame(f"flood-go-{counter.count}").encode()
    counter.start()
    transport.send(picows.WSMsgType.TEXT, go)
    await finished
    transport.disconnect()


async def python_reverb(port: int, counter: Counter) -> None:
    from reverb import Event, ReverbClient

    def tick(event: Event) -> None:
        counter.tick(event.data["seq"])

    async with ReverbClient(
        app_key=KEY, app_secret="app-secret", host=HOST, port=port, scheme="http"
    ) as client:
        channel = await client.subscribe("flood")
        channel.bind("tick", tick)
        counter.start()
        await client.subscribe(f"flood-go-{counter.count}")
        while not counter.done.is_set():  # noqa: ASYNC110 (timing ends in the handler)
            await asyncio.sleep(0.01)


async def asyncpusher_client(port: int, counter: Counter) -> None:
    import logging

    from asyncpusher.pusher import Pusher  # type: ignore[import-untyped]

    async def tick(data: Any) -> None:
        counter.tick(json.loads(data)["seq"] if isinstance(data, str) else data["seq"])

    pusher = Pusher(
        KEY,
        custom_host=HOST,
        custom_port=port,
        secure=False,
        log=logging.getLogger("asyncpusher"),
    )
    await pusher.connect()
    channel = await pusher.subscribe("flood")
    channel.bind("tick", tick)
    counter.start()
    await pusher.subscribe(f"flood-go-{counter.count}")
    while not counter.done.is_set():  # noqa: ASYNC110 (timing ends in the handler)
        await asyncio.sleep(0.01)
    await pusher.disconnect()


def pysher_client(port: int, counter: Counter) -> None:
    import logging

    import pysher  # type: ignore[import-untyped]

    pusher = pysher.Pusher(
        KEY, custom_host=HOST, port=port, secure=False, log_level=logging.WARNING
    )

    def tick(data: Any) -> None:
        counter.tick(json.loads(data)["seq"])

    def connected(_: Any) -> None:
        pusher.subscribe("flood").bind("tick", tick)
        counter.start()
        pusher.subscribe(f"flood-go-{counter.count}")

    pusher.connection.bind("pusher:connection_established", connected)
    pusher.connect()
    counter.done.wait(120)
    # pusher.disconnect() waits ~100 s for pysher's thread; the process exits at once instead.


def run(kind: str, port: int, count: int) -> dict[str, Any]:
    counter = Counter(count)
    if kind == "ws-json":
        asyncio.run(bare_websockets(port, counter, json.loads))
    elif kind == "ws-orjson":
        import orjson

        asyncio.run(bare_websockets(port, counter, orjson.loads))
    elif kind == "aiohttp-orjson":
        asyncio.run(bare_aiohttp(port, counter))
    elif kind == "picows-orjson":
        asyncio.run(bare_picows(port, counter))
    elif kind.startswith("python-reverb"):
        hidden = {
            "python-reverb": ("orjson", "picows"),
            "python-reverb-orjson": ("picows",),
            "python-reverb-fast-pure": ("reverb._speedups",),
        }
        for module in hidden.get(kind, ()):
            sys.modules[module] = None  # type: ignore[assignment]  # import raises ImportError
        asyncio.run(python_reverb(port, counter))
    elif kind == "asyncpusher":
        asyncio.run(asyncpusher_client(port, counter))
    elif kind == "pysher":
        pysher_client(port, counter)
    else:
        raise SystemExit(f"unknown kind {kind}")
    return counter.result()


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))), flush=True)
    os._exit(0)  # without waiting for client threads (pysher's)
