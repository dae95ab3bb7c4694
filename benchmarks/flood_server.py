"""A flood server for the benchmarks, run in its own process.

It speaks just enough of Pusher protocol 7: ``pusher:connection_established``, ``pusher:ping``
/``pusher:pong``, ``pusher:subscribe`` (public, private and presence channels are all accepted
without checking signatures) and client events (relayed to the other subscribers of the channel).

Subscribing to ``flood-go-N`` starts a flood: the server writes N ``tick`` events on channel
``flood`` to that connection, as pre-encoded WebSocket frames in one ``transport.write`` (the
frames are built once per N and cached). Each event is about 100 bytes with double-encoded data,
as Laravel sends it; its data carries a sequence number ``seq`` from 0 to N - 1.

After each flood it prints one line to stdout, for the benchmark to show the server is not the
bottleneck::

    flood N WRITE_S DRAIN_S CPU_S

WRITE_S is the time spent in ``transport.write`` (encoding is cached), DRAIN_S the wall time until
the kernel took the last byte (the client's reading paces this), CPU_S the server process's CPU
time over that span.

    python benchmarks/flood_server.py [PORT]     # prints "port P" once listening
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

PAYLOAD_TAIL = {"order": {"id": 12345, "status": "shipped"}}
_frames: dict[int, bytes] = {}
_channels: dict[str, set[ServerConnection]] = {}


def event_text(seq: int) -> str:
    """One ~100-byte tick event on channel ``flood``, data double-encoded as Laravel sends it."""
    data = json.dumps({"seq": seq, **PAYLOAD_TAIL}, separators=(",", ":"))
    return json.dumps({"event": "tick", "data": data, "channel": "flood"}, separators=(",", ":"))


def text_frame(payload: bytes) -> bytes:
    """An unmasked, unfragmented server-to-client text frame."""
    size = len(payload)
    if size < 126:
        header = bytes([0x81, size])
    elif size < 65536:
        header = bytes([0x81, 126]) + size.to_bytes(2, "big")
    else:
        header = bytes([0x81, 127]) + size.to_bytes(8, "big")
    return header + payload


def flood_frames(count: int) -> bytes:
    if count not in _frames:
        _frames[count] = b"".join(text_frame(event_text(seq).encode()) for seq in range(count))
    return _frames[count]


def cpu_seconds() -> float:
    return time.process_time()  # CLOCK_PROCESS_CPUTIME_ID: finer than os.times()' 10 ms ticks


async def flood(connection: ServerConnection, count: int) -> None:
    blob = flood_frames(count)
    cpu = cpu_seconds()
    start = time.perf_counter()
    connection.transport.write(blob)
    written = time.perf_counter()
    while connection.transport.get_write_buffer_size() > 0:  # noqa: ASYNC110 (polling)
        await asyncio.sleep(0.0005)
    drained = time.perf_counter()
    print(
        f"flood {count} {written - start:.6f} {drained - start:.6f} {cpu_seconds() - cpu:.6f}",
        flush=True,
    )


def reply(event: str, channel: str | None = None, data: Any = None) -> str:
    message: dict[str, Any] = {"event": event}
    if data is not None:
        message["data"] = data if isinstance(data, str) else json.dumps(data)
    if channel is not None:
        message["channel"] = channel
    return json.dumps(message)


async def handle(connection: ServerConnection) -> None:
    socket_id = f"{id(connection) % 1_000_000}.{os.getpid()}"
    await connection.send(
        reply(
            "pusher:connection_established",
            data={"socket_id": socket_id, "activity_timeout": 120},
        )
    )
    mine: set[str] = set()
    try:
        async for raw in connection:
            message = json.loads(raw)
            event = message.get("event")
            data = message.get("data") or {}
            if event == "pusher:ping":
                await connection.send(reply("pusher:pong", data={}))
            elif event == "pusher:subscribe":
                name = data["channel"]
                succeeded: Any = {}
                if name.startswith("presence-"):
                    member = json.loads(data.get("channel_data") or "{}")
                    user_id = str(member.get("user_id", socket_id))
                    info = member.get("user_info")
                    succeeded = {
                        "presence": {"ids": [user_id], "hash": {user_id: info}, "count": 1}
                    }
                await connection.send(
                    reply("pusher_internal:subscription_succeeded", name, succeeded)
                )
                _channels.setdefault(name, set()).add(connection)
                mine.add(name)
                if name.startswith("flood-go-"):
                    await flood(connection, int(name.removeprefix("flood-go-")))
            elif event == "pusher:unsubscribe":
                _channels.get(data.get("channel", ""), set()).discard(connection)
            elif isinstance(event, str) and event.startswith("client-"):
                name = message.get("channel", "")
                for other in _channels.get(name, ()):
                    if other is not connection:
                        await other.send(raw)
    except ConnectionClosed:
        pass
    finally:
        for name in mine:
            _channels.get(name, set()).discard(connection)


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def main(port: int) -> None:
    raise_fd_limit()
    async with serve(
        handle, "127.0.0.1", port, ping_interval=None, max_queue=None, backlog=4096
    ) as server:
        bound = next(iter(server.sockets)).getsockname()[1]
        print(f"port {bound}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
