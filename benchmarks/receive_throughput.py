"""How fast python-reverb receives and dispatches a burst of events, against pusher-js.

Both clients subscribe to a channel of the local server; the server writes COUNT events at once;
each client times its first to its last handler call. Prints events/s and the ratio
python-reverb / pusher-js (the baseline named in the project brief).

    .venv/bin/python benchmarks/receive_throughput.py [COUNT] [ROUNDS]
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from reverb import Event, ReverbClient
from reverb.testing import BackgroundServer

HERE = Path(__file__).resolve().parent
PAYLOAD = json.dumps({"order": {"id": 12345, "status": "shipped", "items": [1, 2, 3]}})


def burst(server: BackgroundServer, channel: str, count: int) -> None:
    """Have the server write ``count`` events in one go, on its own thread."""

    def write_all(reverb_server):  # type: ignore[no-untyped-def]
        manager = reverb_server.manager()
        for _ in range(count):
            manager.broadcast(channel, "tick", PAYLOAD)

    server._on_loop(write_all)


async def python_round(server: BackgroundServer, count: int) -> float:
    done = asyncio.Event()
    received = 0
    first = 0.0
    last = 0.0

    def tick(event: Event) -> None:
        nonlocal received, first, last
        if received == 0:
            first = time.perf_counter()
        received += 1
        if received == count:
            last = time.perf_counter()
            done.set()

    async with ReverbClient(**server.client_settings()) as client:
        channel = await client.subscribe("bench-python")
        channel.bind("tick", tick)
        burst(server, "bench-python", count)
        await asyncio.wait_for(done.wait(), 120)
    return count / (last - first)


async def pusher_js_round(server: BackgroundServer, count: int) -> float:
    process = await asyncio.create_subprocess_exec(
        "node",
        str(HERE / "pusher_js_receiver.js"),
        server.host,
        str(server.port),
        server.app_key,
        "bench-js",
        str(count),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert (await process.stdout.readline()).strip() == b"ready"
    burst(server, "bench-js", count)
    line = (await asyncio.wait_for(process.stdout.readline(), 120)).decode().split()
    await process.wait()
    return count / (float(line[1]) / 1000)


async def main(count: int, rounds: int) -> None:
    with BackgroundServer() as server:
        python = [await python_round(server, count) for _ in range(rounds)]
        node = [await pusher_js_round(server, count) for _ in range(rounds)]
    best_python, best_node = max(python), max(node)
    print(f"events per round: {count}, rounds: {rounds} (best and median shown)")
    print(f"python-reverb : {best_python:>10,.0f} ev/s  (median {statistics.median(python):,.0f})")
    print(f"pusher-js     : {best_node:>10,.0f} ev/s  (median {statistics.median(node):,.0f})")
    print(f"ratio python-reverb / pusher-js: {best_python / best_node:.2f}x")


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    asyncio.run(main(count, rounds))
