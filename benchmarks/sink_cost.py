"""What the receive path adds to an event, without a socket: the frame sink fed directly.

COUNT pre-encoded ~100-byte event frames (the flood server's shape) go straight into a live
socket's frame sink, as the transport would hand them over, with one counting handler bound on
the channel; no network, no event loop turns, so only python-reverb's own work is timed:
decoding, the ``Event``, the keepalive's clock, the dispatch and the handler call. The
baseline is the bare loops' work per event: two ``loads`` and a call. Rounds interleave the
rows; the median is shown.

    python benchmarks/sink_cost.py [--count 200000] [--rounds 7] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import Any

from _bench import median, save_results

from reverb import Event, compiled, messages
from reverb.dispatch import HandlerRegistry
from reverb.dispatcher import ClientStats, Dispatcher
from reverb.live_socket import LiveSocket
from reverb.protocol.link import Link

ESTABLISHED = '{"event":"pusher:connection_established","data":"{\\"socket_id\\":\\"1.1\\"}"}'


class Channel:
    """What the dispatcher needs of a channel: handlers that may be called inline."""

    _handled_inline = True
    _opens_events = False

    def __init__(self) -> None:
        self._handlers = HandlerRegistry()


def frames(count: int) -> list[bytes]:
    return [
        messages.encode_json(
            {
                "event": "tick",
                "channel": "flood",
                "data": messages.encode_json({"seq": seq, "pad": "x" * 40}),
            }
        ).encode()
        for seq in range(count)
    ]


def bare(loads: Callable[[bytes], Any], payloads: list[bytes]) -> float:
    received = 0

    def tick(seq: int) -> None:
        nonlocal received
        received += 1

    start = time.perf_counter()
    for payload in payloads:
        message = loads(payload)
        if message["event"] == "tick":
            tick(loads(message["data"])["seq"])
    return time.perf_counter() - start


async def through_sink(payloads: list[bytes], compiled_path: bool) -> float:
    saved = compiled.speedups
    if not compiled_path:
        compiled.speedups = None
    try:
        channel = Channel()
        received = 0

        def tick(event: Event) -> None:
            nonlocal received
            received += 1

        channel._handlers.bind("tick", tick)
        dispatcher = Dispatcher({"flood": channel}, HandlerRegistry(), ClientStats())  # type: ignore[dict-item]
        dispatcher.start()
        link = Link(activity_timeout=120, pong_timeout=30)
        link.receive(ESTABLISHED, time.monotonic())
        socket = LiveSocket(None, link, lambda event: None, dispatcher.event_sink)  # type: ignore[arg-type]
        sink = socket.sink
        start = time.perf_counter()
        for payload in payloads:
            sink(payload)
        elapsed = time.perf_counter() - start
        assert received == len(payloads), received
        return elapsed
    finally:
        compiled.speedups = saved


def measure(count: int, rounds: int) -> dict[str, Any]:
    payloads = frames(count)
    loads = messages.decoder()
    rows: dict[str, list[float]] = {"bare": [], "compiled": [], "python": []}
    for _ in range(rounds):
        rows["bare"].append(bare(loads, payloads))
        if compiled.speedups is not None:
            rows["compiled"].append(asyncio.run(through_sink(payloads, True)))
        rows["python"].append(asyncio.run(through_sink(payloads, False)))
    base = median(rows["bare"]) / count * 1e9
    results: dict[str, Any] = {"count": count, "rounds": rounds, "codec": messages.json_codec()}
    results["rows"] = [
        {
            "kind": kind,
            "ns_per_event": median(times) / count * 1e9,
            "added_ns": median(times) / count * 1e9 - base,
        }
        for kind, times in rows.items()
        if times
    ]
    return results


def table(results: dict[str, Any]) -> str:
    labels = {
        "bare": f"two `{results['codec']}` loads and a call (the bare loops' work)",
        "compiled": "python-reverb, compiled receive path (`reverb._speedups`)",
        "python": "python-reverb, pure-Python receive path",
    }
    lines = ["| frame sink | ns per event (median) | added to the bare work |", "|---|---|---|"]
    for row in results["rows"]:
        added = "-" if row["kind"] == "bare" else f"{row['added_ns']:,.0f} ns"
        lines.append(f"| {labels[row['kind']]} | {row['ns_per_event']:,.0f} | {added} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    results = measure(args.count, args.rounds)
    print(f"{args.count:,} events per round, {args.rounds} rounds, codec {results['codec']}")
    print(table(results))
    save_results(args.json, results)


if __name__ == "__main__":
    main()
