"""Recovery: how fast one client has all its channels back after the server restarts.

One python-reverb client subscribes to CHANNELS channels (a third each public, private and
presence) on the local server running in its own process (``reverb serve``). The server is
killed (SIGKILL) and started again on the same port. Measured: from the moment the new server's
port first accepts a TCP connection (polled every millisecond) to every channel confirmed again,
and from the moment the client's new connection is established (its state turns ``connected``)
to every channel confirmed. Back-off waits are excluded by ``reconnect_delay=0`` (no jitter): the
client retries at once while the server is down.

    python benchmarks/recovery.py [--channels 100] [--rounds 5] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from typing import Any

from _bench import LocalServer, median

from reverb import ConnectionState, ReverbClient


def names(count: int) -> list[str]:
    kinds = ("recover-{}", "private-recover-{}", "presence-recover-{}")
    return [kinds[i % 3].format(i) for i in range(count)]


async def until(predicate: Any, timeout: float = 30.0) -> float:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.0005)
    return time.perf_counter()


async def measure(channels: int, rounds: int) -> dict[str, Any]:
    server = LocalServer()
    await asyncio.to_thread(server.start)
    from_accept: list[float] = []
    from_open: list[float] = []
    try:
        async with ReverbClient(
            app_id=server.app_id,
            app_key=server.app_key,
            app_secret=server.app_secret,
            host=server.host,
            port=server.port,
            scheme="http",
            reconnect_delay=0,
            reconnect_max_delay=0,
            reconnect_jitter=0,
        ) as client:
            opened: list[float] = []

            def on_state(previous: ConnectionState, current: ConnectionState) -> None:
                if current is ConnectionState.CONNECTED:
                    opened.append(time.perf_counter())

            client.on_state_change(on_state)
            subscribed = await asyncio.gather(
                *(
                    client.subscribe(
                        name, user_data={"user_id": f"u{i}", "user_info": {"name": "bench"}}
                    )
                    if name.startswith("presence-")
                    else client.subscribe(name)
                    for i, name in enumerate(names(channels))
                )
            )
            for _ in range(rounds):
                server.kill()
                await until(lambda: not any(c.subscribed for c in subscribed))
                opened.clear()
                accepted = await asyncio.to_thread(server.start)
                done = await until(lambda: all(c.subscribed for c in subscribed))
                from_accept.append(done - accepted)
                from_open.append(done - opened[-1])
    finally:
        server.kill()
    return {
        "channels": channels,
        "rounds": rounds,
        "from_accept_ms": [1000 * v for v in from_accept],
        "from_open_ms": [1000 * v for v in from_open],
        "median_from_accept_ms": 1000 * median(from_accept),
        "median_from_open_ms": 1000 * median(from_open),
    }


def table(results: dict[str, Any]) -> str:
    accept, opened = results["from_accept_ms"], results["from_open_ms"]
    return "\n".join(
        [
            f"| {results['channels']} channels, {results['rounds']} restarts | median | min-max |",
            "|---|---|---|",
            f"| server accepting again -> all confirmed | {median(accept):.1f} ms"
            f" | {min(accept):.1f}-{max(accept):.1f} ms |",
            f"| new connection established -> all confirmed | {median(opened):.1f} ms"
            f" | {min(opened):.1f}-{max(opened):.1f} ms |",
        ]
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    logging.getLogger("reverb").setLevel(logging.ERROR)  # each restart logs a lost connection
    results = asyncio.run(measure(args.channels, args.rounds))
    print(table(results))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=1)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
