"""One recovery client (run by recovery.py): subscribes to CHANNELS channels and reports in lines.

    python benchmarks/recovery_client.py KIND PORT CHANNELS

KIND is ``python-reverb``, ``asyncpusher`` or ``pysher``. The channels are recovery.py's
``names(CHANNELS)``: a third each public, private and presence, signed with the app secret.
Lines on stdout, each time a ``time.perf_counter()`` (CLOCK_MONOTONIC, shared by every process):

- ``ready`` once every channel is confirmed the first time;
- ``lost T`` when the connection is gone, ``retrying T`` when the client tries again (at once
  here: the back-off waits are set to zero, see below);
- ``open T`` when a new connection is established (``pusher:connection_established``);
- ``all T`` when every channel is confirmed again on it.

A line ``status`` on stdin answers ``count K``: how many channels are confirmed on the current
connection. The client exits when stdin closes.

Back-off: python-reverb runs with ``reconnect_delay=0`` and no jitter, pysher with
``reconnect_interval=0``; asyncpusher has no setting (it waits a random 1 to 2^n seconds, n the
failed attempts so far, not reset by a successful connection), so its
``Connection._get_wait_time`` is replaced by zero.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from _bench import LocalServer, private_auth
from recovery import names

HOST = LocalServer.host
KEY = LocalServer.app_key
SECRET = LocalServer.app_secret


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def user_data(name: str) -> dict[str, Any]:
    return {"user_id": f"u-{name}", "user_info": {"name": "bench"}}


class Tracker:
    """Which channels are confirmed on the current connection; says the lines above."""

    def __init__(self, channels: list[str]) -> None:
        self.channels = set(channels)
        self.confirmed: set[str] = set()
        self.connected = False
        self.ready = False
        self.complete = False
        self.lock = threading.Lock()

    def opened(self) -> None:
        now = time.perf_counter()
        with self.lock:
            self.confirmed.clear()
            self.complete = False
            self.connected = True
            if self.ready:
                say(f"open {now:.9f}")

    def lost(self) -> None:
        now = time.perf_counter()
        with self.lock:
            if not self.connected:
                return
            self.connected = False
            self.complete = False
            self.confirmed.clear()
            say(f"lost {now:.9f}")
            say(f"retrying {now:.9f}")

    def confirm(self, channel: str) -> None:
        now = time.perf_counter()
        with self.lock:
            if channel not in self.channels:
                return
            self.confirmed.add(channel)
            if self.complete or len(self.confirmed) < len(self.channels):
                return
            self.complete = True
            if self.ready:
                say(f"all {now:.9f}")
            else:
                self.ready = True
                say("ready")

    def count(self) -> int:
        with self.lock:
            return len(self.confirmed)


def serve_stdin(count: Callable[[], int]) -> None:
    """Answer ``status`` lines; exit the process when stdin closes."""
    for line in sys.stdin:
        if line.strip() == "status":
            say(f"count {count()}")
    os._exit(0)


async def python_reverb(port: int, tracker: Tracker, channels: list[str]) -> None:
    from reverb import ConnectionState, ReverbClient

    async with ReverbClient(
        app_key=KEY,
        app_secret=SECRET,
        host=HOST,
        port=port,
        scheme="http",
        reconnect_delay=0,
        reconnect_max_delay=0,
        reconnect_jitter=0,
    ) as client:

        def on_state(previous: ConnectionState, current: ConnectionState) -> None:
            if current is ConnectionState.CONNECTED:
                tracker.opened()
            elif previous is ConnectionState.CONNECTED:
                tracker.lost()

        client.on_state_change(on_state)
        tracker.opened()
        subscribed = await asyncio.gather(
            *(
                client.subscribe(name, user_data=user_data(name))
                if name.startswith("presence-")
                else client.subscribe(name)
                for name in channels
            )
        )
        # python-reverb has no callback per confirmation: poll the channels every 0.5 ms.
        while True:
            if tracker.connected:
                for channel in subscribed:
                    if channel.subscribed and channel.name not in tracker.confirmed:
                        tracker.confirm(channel.name)
            await asyncio.sleep(0.0005)


async def asyncpusher_client(port: int, tracker: Tracker, channels: list[str]) -> None:
    from asyncpusher.channel import Channel  # type: ignore[import-untyped]
    from asyncpusher.connection import Connection  # type: ignore[import-untyped]
    from asyncpusher.pusher import Pusher  # type: ignore[import-untyped]

    Connection._get_wait_time = staticmethod(lambda attempts: 0)  # no back-off (see above)
    log = logging.getLogger("asyncpusher")
    log.setLevel(logging.CRITICAL)  # every refused attempt logs a traceback otherwise

    async def authenticate(request: dict[str, Any]) -> dict[str, Any]:
        channel = request["channel_name"]
        data = json.dumps(user_data(channel)) if channel.startswith("presence-") else ""
        auth = private_auth(SECRET, KEY, request["socket_id"], channel, data)
        return {"auth": auth, "channel_data": data} if data else {"auth": auth}

    pusher = Pusher(
        KEY,
        custom_host=HOST,
        custom_port=port,
        secure=False,
        channel_authenticator=authenticate,
        auto_sub=True,
        log=log,
    )
    connection = pusher.connection

    async def opened(_: Any) -> None:
        tracker.opened()

    # First in line, before asyncpusher's own handlers resubscribe.
    established = connection._event_callbacks["pusher:connection_established"]
    connection._event_callbacks["pusher:connection_established"] = {
        opened: ((), {}),
        **established,
    }
    dispatch = connection._dispatch

    async def dispatch_then_lost(ws: Any) -> None:
        try:
            await dispatch(ws)
        finally:
            tracker.lost()

    connection._dispatch = dispatch_then_lost
    # Pusher.connect() polls for the connection once a second; wait for it directly instead.
    connected = asyncio.Event()

    async def first_connected(_: Any) -> None:
        connected.set()

    connection.bind("pusher:connection_established", first_connected)
    background = asyncio.get_running_loop().create_task(connection._run_forever())
    await connected.wait()
    for name in channels:

        async def confirmed(_: Any, name: str = name) -> None:
            tracker.confirm(name)

        # Registered and bound before the first subscribe is sent: Pusher.subscribe registers
        # the channel only after sending, so a quick reply could find no channel.
        channel = pusher.channels[name] = Channel(name, connection, log)
        channel.bind("pusher_internal:subscription_succeeded", confirmed)
        await pusher._subscribe(channel)
    await background


def pysher_client(port: int, tracker: Tracker, channels: list[str]) -> None:
    import pysher  # type: ignore[import-untyped]

    # pysher signs presence with one user_data for every channel (the client's, not per channel)
    pusher = pysher.Pusher(
        KEY,
        custom_host=HOST,
        port=port,
        secure=False,
        secret=SECRET,
        user_data={"user_id": "u-pysher", "user_info": {"name": "bench"}},
        auto_sub=True,
        reconnect_interval=0,
        log_level=logging.CRITICAL,
    )
    connection = pusher.connection
    first = threading.Event()

    def opened(_: Any) -> None:
        tracker.opened()

    def subscribe_all(_: Any) -> None:
        if first.is_set():
            return
        first.set()
        # On the socket's thread, after pysher took the socket id (it signs with it), so that
        # every channel exists before its reply is read.
        for name in channels:
            channel = pusher.subscribe(name)
            channel.bind(
                "pusher_internal:subscription_succeeded",
                lambda _data, name=name: tracker.confirm(name),
            )

    # First in line, before pysher's own handler resubscribes; the first subscribe last.
    connection.event_callbacks["pusher:connection_established"].insert(0, (opened, (), {}))
    connection.bind("pusher:connection_established", subscribe_all)
    on_close = connection._on_close

    def closed(*args: Any) -> None:
        tracker.lost()
        on_close(*args)

    connection._on_close = closed  # websocket-client takes it when pysher connects
    pusher.connect()
    threading.Event().wait()


def main(kind: str, port: int, count: int) -> None:
    channels = names(count)
    tracker = Tracker(channels)
    threading.Thread(target=serve_stdin, args=(tracker.count,), daemon=True).start()
    if kind == "python-reverb":
        logging.getLogger("reverb").setLevel(logging.CRITICAL)  # each restart logs a loss
        asyncio.run(python_reverb(port, tracker, channels))
    elif kind == "asyncpusher":
        asyncio.run(asyncpusher_client(port, tracker, channels))
    elif kind == "pysher":
        pysher_client(port, tracker, channels)
    else:
        raise SystemExit(f"unknown kind {kind}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
