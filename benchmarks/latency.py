"""Latency: publish -> handler, on loopback, through the local server and through Soketi.

Two ways to publish to the private channel ``private-latency``: the HTTP API
(``reverb.api.ApiClient.trigger``) and a client event (a whisper from a second python-reverb
client). Receivers, one at a time: python-reverb, a bare websockets + json loop, and pusher-js
(Node). The data carries ``time.monotonic_ns()`` taken just before publishing; the receiver
subtracts it from its own monotonic clock on arrival (same clock for Python and Node on Linux).
Samples are sequential (the next is published once the last arrived). The publisher runs in the
Python receivers' event loop; pusher-js runs in its own process.

    python benchmarks/latency.py [--samples 200] [--servers local,soketi] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager
from typing import Any

from _bench import HERE, NODE_MODULES, ROOT, LocalServer, percentile, private_auth, save_results

CHANNEL = "private-latency"
RECEIVERS = ("websockets", "python-reverb", "pusher-js")
LABELS = {
    "websockets": "bare websockets + json",
    "python-reverb": "python-reverb",
    "pusher-js": "pusher-js (Node)",
}


def settings(server: Any) -> dict[str, Any]:
    return {
        "app_id": server.app_id,
        "app_key": server.app_key,
        "app_secret": server.app_secret,
        "host": server.host,
        "port": server.port,
        "scheme": "http",
    }


@contextlib.asynccontextmanager
async def python_receiver(server: Any, arrived: asyncio.Queue[int]) -> AsyncIterator[None]:
    from reverb import Event, ReverbClient

    def on_ping(event: Event) -> None:
        arrived.put_nowait(time.monotonic_ns() - int(event.data["t"]))

    async with ReverbClient(**settings(server)) as client:
        channel = await client.subscribe(CHANNEL)
        channel.bind("ping", on_ping)
        channel.bind("client-ping", on_ping)
        yield


@contextlib.asynccontextmanager
async def bare_receiver(server: Any, arrived: asyncio.Queue[int]) -> AsyncIterator[None]:
    from websockets.asyncio.client import connect

    url = f"ws://{server.host}:{server.port}/app/{server.app_key}?protocol=7"
    async with connect(url) as ws:
        established = json.loads(await ws.recv())
        socket_id = json.loads(established["data"])["socket_id"]
        auth = private_auth(server.app_secret, server.app_key, socket_id, CHANNEL)
        frame = {"event": "pusher:subscribe", "data": {"channel": CHANNEL, "auth": auth}}
        await ws.send(json.dumps(frame))
        while json.loads(await ws.recv())["event"] != "pusher_internal:subscription_succeeded":
            pass

        async def loop() -> None:
            async for raw in ws:
                message = json.loads(raw)
                if message["event"] in ("ping", "client-ping"):
                    data = message["data"]
                    data = json.loads(data) if isinstance(data, str) else data
                    arrived.put_nowait(time.monotonic_ns() - int(data["t"]))

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def node_receiver(server: Any, arrived: asyncio.Queue[int]) -> AsyncIterator[None]:
    process = await asyncio.create_subprocess_exec(
        "node",
        str(HERE / "latency_pusher_js.js"),
        server.host,
        str(server.port),
        server.app_key,
        server.app_secret,
        CHANNEL,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stdin is not None
    line = await asyncio.wait_for(process.stdout.readline(), 20)
    if line.strip() != b"ready":
        raise RuntimeError(f"pusher-js receiver said {line!r}")

    async def loop() -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            parts = raw.split()
            if parts and parts[0] == b"lat":
                arrived.put_nowait(int(parts[1]))

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        process.stdin.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


Publish = Callable[[int], Awaitable[None]]


@contextlib.asynccontextmanager
async def publisher(server: Any, path: str) -> AsyncIterator[Publish]:
    from reverb import ReverbClient, ReverbConfig
    from reverb.api import ApiClient

    if path == "http":
        async with ApiClient(ReverbConfig(**settings(server))) as api:

            async def publish_http(t: int) -> None:
                await api.trigger(CHANNEL, "ping", {"t": t})

            yield publish_http
    else:
        async with ReverbClient(**settings(server)) as sender:
            channel = await sender.subscribe(CHANNEL)

            async def whisper(t: int) -> None:
                await channel.trigger("client-ping", {"t": t})

            yield whisper


async def measure_one(server: Any, receiver: str, path: str, samples: int) -> list[float]:
    arrived: asyncio.Queue[int] = asyncio.Queue()
    opener = {"python-reverb": python_receiver, "websockets": bare_receiver}.get(
        receiver, node_receiver
    )
    latencies: list[float] = []
    async with opener(server, arrived), publisher(server, path) as publish:
        await asyncio.sleep(0.2)  # the receiver is subscribed; let things settle
        for _ in range(samples + 5):  # the first five warm up
            await publish(time.monotonic_ns())
            latencies.append(await asyncio.wait_for(arrived.get(), 10) / 1e6)
            await asyncio.sleep(0.002)
    return latencies[5:]


def soketi() -> AbstractContextManager[Any] | str:
    sys.path.insert(0, str(ROOT))
    try:
        from tests.support.soketi import SoketiServer, soketi_available
    except ImportError as error:
        return f"tests.support.soketi not importable: {error}"
    if not soketi_available():
        return "Soketi not installed in tests/node"
    server: AbstractContextManager[Any] = SoketiServer()
    return server


async def measure(samples: int, servers: list[str]) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    node_ok = shutil.which("node") is not None and (NODE_MODULES / "pusher-js").exists()
    for name in servers:
        context: AbstractContextManager[Any] | str = LocalServer() if name == "local" else soketi()
        label = "local server (reverb serve)" if name == "local" else "Soketi"
        if isinstance(context, str):
            for path in ("http", "whisper"):
                for receiver in RECEIVERS:
                    rows.append(
                        {
                            "server": label,
                            "path": path,
                            "receiver": LABELS[receiver],
                            "status": f"n/a ({context})",
                        }
                    )
            continue
        with context as server:
            for path in ("http", "whisper"):
                for receiver in RECEIVERS:
                    row: dict[str, Any] = {
                        "server": label,
                        "path": path,
                        "receiver": LABELS[receiver],
                    }
                    if receiver == "pusher-js" and not node_ok:
                        row["status"] = "n/a (node or pusher-js not installed)"
                    else:
                        try:
                            values = await measure_one(server, receiver, path, samples)
                            row.update(
                                status="ok",
                                samples=len(values),
                                p50=percentile(values, 0.5),
                                p99=percentile(values, 0.99),
                            )
                        except (RuntimeError, TimeoutError, OSError) as error:
                            row["status"] = f"n/a (failed: {error!r})"
                    rows.append(row)
    by_key = {(r["server"], r["path"], r["receiver"]): r for r in rows}
    for row in rows:
        bare = by_key.get((row["server"], row["path"], LABELS["websockets"]))
        if row["status"] == "ok" and bare is not None and bare["status"] == "ok":
            row["p99_added"] = row["p99"] - bare["p99"]
            row["p50_added"] = row["p50"] - bare["p50"]
    return {"samples": samples, "rows": rows}


def table(results: dict[str, Any]) -> str:
    lines = [
        "| server | publish | receiver | p50 ms | p99 ms | p50 / p99 over the bare loop, ms |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        path = "HTTP API" if row["path"] == "http" else "client event (whisper)"
        if row["status"] != "ok":
            lines.append(f"| {row['server']} | {path} | {row['receiver']} | {row['status']} | | |")
            continue
        added = "-"
        if "p99_added" in row:
            added = f"{row['p50_added']:+.2f} / {row['p99_added']:+.2f}"
        lines.append(
            f"| {row['server']} | {path} | {row['receiver']} | {row['p50']:.2f}"
            f" | {row['p99']:.2f} | {added} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--servers", default="local,soketi")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    results = asyncio.run(measure(args.samples, args.servers.split(",")))
    print(f"{args.samples} samples per row")
    print(table(results))
    save_results(args.json, results)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
