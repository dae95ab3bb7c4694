"""Connections: N subscribed clients in one process, each on its own channel.

For each client kind (python-reverb, bare websockets, pusher-js on Node), a worker process opens N
connections at once to benchmarks/flood_server.py (its own process), each subscribing to its own
channel and waiting for ``pusher_internal:subscription_succeeded``. It reports the time until all
are subscribed, memory per connection (RSS delta / N; for Python also tracemalloc's traced delta /
N, in a second run since tracing slows everything down) and the worker's CPU use while idle over a
few seconds with keepalive running.

    python benchmarks/connections.py [--count 1000] [--idle 3] [--json OUT]
    python benchmarks/connections.py --count 10000          # the full size
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import subprocess
import sys
import time
import tracemalloc
from typing import Any

from _bench import HERE, NODE_MODULES, PYTHON, flood_server, raise_fd_limit, save_results

HOST = "127.0.0.1"
KEY = "app-key"
IN_FLIGHT = 500  # connection attempts in flight at once, for every kind alike


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cpu_seconds() -> float:
    return time.process_time()  # CLOCK_PROCESS_CPUTIME_ID: finer than os.times()' 10 ms ticks


async def open_bare(port: int, index: int) -> Any:
    from websockets.asyncio.client import connect

    ws = await connect(f"ws://{HOST}:{port}/app/{KEY}")
    await ws.recv()
    frame = {"event": "pusher:subscribe", "data": {"channel": f"conn-{index}"}}
    await ws.send(json.dumps(frame))
    while json.loads(await ws.recv())["event"] != "pusher_internal:subscription_succeeded":
        pass
    return ws


async def open_reverb(port: int, index: int) -> Any:
    from reverb import ReverbClient

    client = ReverbClient(app_key=KEY, app_secret="app-secret", host=HOST, port=port, scheme="http")
    await client.connect()
    await client.subscribe(f"conn-{index}")
    return client


async def close_all(kind: str, held: list[Any]) -> None:
    if kind == "python-reverb":
        await asyncio.gather(*(client.disconnect() for client in held))
    else:
        await asyncio.gather(*(ws.close() for ws in held))


async def worker(kind: str, port: int, count: int, idle: float, traced: bool) -> dict[str, Any]:
    opener = open_reverb if kind == "python-reverb" else open_bare
    if kind == "python-reverb":
        import reverb  # noqa: F401  (imports before the baseline)
    import websockets.asyncio.client  # noqa: F401

    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(index: int) -> Any:
        async with gate:
            return await opener(port, index)

    gc.collect()
    if traced:
        tracemalloc.start()
    rss_before = rss_bytes()
    traced_before = tracemalloc.get_traced_memory()[0] if traced else 0
    start = time.perf_counter()
    held = await asyncio.gather(*(one(i) for i in range(count)))
    elapsed = time.perf_counter() - start
    gc.collect()
    result: dict[str, Any] = {"kind": kind, "count": count, "seconds": elapsed}
    if traced:
        result["traced_per_conn"] = (tracemalloc.get_traced_memory()[0] - traced_before) / count
        tracemalloc.stop()
    else:
        result["rss_per_conn"] = (rss_bytes() - rss_before) / count
        await asyncio.sleep(1)
        cpu, wall = cpu_seconds(), time.perf_counter()
        await asyncio.sleep(idle)
        result["idle_cpu_percent"] = 100 * (cpu_seconds() - cpu) / (time.perf_counter() - wall)
    await close_all(kind, held)
    return result


def run_worker(kind: str, port: int, count: int, idle: float, traced: bool) -> dict[str, Any]:
    if kind == "pusher-js":
        command = ["node", str(HERE / "connections_pusher_js.js"), HOST, str(port), KEY]
        command += [str(count), str(idle)]
    else:
        command = [PYTHON, str(HERE / "connections.py"), "--worker", kind, "--port", str(port)]
        command += ["--count", str(count), "--idle", str(idle)]
        command += ["--traced"] if traced else []
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"exit {done.returncode}: {tail[:160]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


LABELS = {
    "websockets": "bare websockets",
    "python-reverb": "python-reverb",
    "pusher-js": "pusher-js (Node)",
}


def measure(count: int, idle: float) -> dict[str, Any]:
    raise_fd_limit()
    rows: list[dict[str, Any]] = []
    with flood_server() as server:
        for kind in ("websockets", "python-reverb", "pusher-js"):
            row: dict[str, Any] = {"kind": kind, "label": LABELS[kind]}
            if kind == "pusher-js" and (
                shutil.which("node") is None or not (NODE_MODULES / "pusher-js").exists()
            ):
                row["status"] = "n/a (node or pusher-js not installed)"
                rows.append(row)
                continue
            try:
                row.update(run_worker(kind, server.port, count, idle, traced=False))
                if kind != "pusher-js":
                    traced = run_worker(kind, server.port, count, 0, traced=True)
                    row["traced_per_conn"] = traced["traced_per_conn"]
                row["status"] = "ok"
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                row["status"] = f"n/a (failed: {error})"
            rows.append(row)
    bare = next((r for r in rows if r["kind"] == "websockets" and r["status"] == "ok"), None)
    for row in rows:
        if bare and row["status"] == "ok":
            row["time_ratio"] = row["seconds"] / bare["seconds"]
    return {"count": count, "idle_seconds": idle, "in_flight": IN_FLIGHT, "rows": rows}


def table(results: dict[str, Any]) -> str:
    lines = [
        f"| {results['count']:,} connections | time until all subscribed | vs bare websockets"
        " | RSS per connection | traced (tracemalloc) per connection | idle CPU, % of a core |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        if row["status"] != "ok":
            lines.append(f"| {row['label']} | {row['status']} | | | | |")
            continue
        traced = row.get("traced_per_conn")
        lines.append(
            f"| {row['label']} | {row['seconds']:.2f} s | {row['time_ratio']:.2f}x"
            f" | {row['rss_per_conn'] / 1024:.1f} KiB"
            f" | {'-' if traced is None else f'{traced / 1024:.1f} KiB'}"
            f" | {row['idle_cpu_percent']:.2f} % |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of idle CPU sampling")
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        raise_fd_limit()
        result = asyncio.run(worker(args.worker, args.port, args.count, args.idle, args.traced))
        print(json.dumps(result), flush=True)
        return result
    results = measure(args.count, args.idle)
    print(table(results))
    save_results(args.json, results)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
