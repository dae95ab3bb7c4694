"""Throughput: how fast each client receives a flood of events from a server in its own process.

benchmarks/flood_server.py (a separate process) writes COUNT pre-encoded ~100-byte events with
double-encoded data and sequence numbers, in one write, after the client subscribes. Each client
(its own subprocess, benchmarks/throughput_client.py or flood_pusher_js.js) counts the events in a
handler until the last one and checks their order; it is timed from just before it asks for
the flood to the last handler call. Rounds are interleaved (every client once per
round, in a rotated order); each client's rate is divided by the bare websockets + json loop's
rate in the same round. One untimed flood first builds the server's cached frames.

Then, to show the server is not what limits the fastest client, the fastest bare loop (picows +
orjson when installed, else websockets + orjson or json) runs alone and as two processes at once
against the same server process, PAIR_ROUNDS times each (alternating which goes first); both
are started, subscribed, and released together (``wait`` mode of throughput_client.py). The
aggregate is 2 x COUNT over the span from the first client asking to the last event received.

    python benchmarks/throughput.py [--count 20000] [--rounds 5] [--pair-rounds N]
        [--kinds k1,k2] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from _bench import (
    HERE,
    PYTHON,
    FloodServer,
    LineProcess,
    flood_server,
    median,
    save_results,
    unavailable,
)

FASTEST = ("picows-orjson", "ws-orjson", "ws-json")  # the first available one runs in the pair


@dataclass
class Kind:
    name: str
    label: str
    needs: tuple[str, ...] = ()
    rates: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)
    problem: str | None = None
    in_order: bool = True

    def unavailable(self) -> str | None:
        return unavailable(self.name, self.needs)


def all_kinds() -> list[Kind]:
    return [
        Kind("ws-json", "bare websockets + json (baseline)"),
        Kind("ws-orjson", "bare websockets + orjson", ("orjson",)),
        Kind("aiohttp-orjson", "bare aiohttp + orjson", ("aiohttp", "orjson")),
        Kind("picows-orjson", "bare picows + orjson", ("picows", "orjson")),
        Kind("python-reverb", "python-reverb, default install (orjson, picows hidden)"),
        Kind("python-reverb-orjson", "python-reverb, orjson importable", ("orjson",)),
        Kind(
            "python-reverb-fast", "python-reverb, orjson + picows importable", ("orjson", "picows")
        ),
        Kind(
            "python-reverb-fast-pure",
            "python-reverb, orjson + picows, reverb._speedups hidden",
            ("orjson", "picows"),
        ),
        Kind("pysher", "pysher (thread, websocket-client)", ("pysher",)),
        Kind("asyncpusher", "asyncpusher", ("asyncpusher",)),
        Kind("pusher-js", "pusher-js (Node)"),
    ]


def run_once(kind: Kind, server: FloodServer, count: int) -> dict[str, Any]:
    if kind.name == "pusher-js":
        command = ["node", str(HERE / "flood_pusher_js.js"), "127.0.0.1", str(server.port)]
        command += ["app-key", str(count)]
    else:
        command = [PYTHON, str(HERE / "throughput_client.py"), kind.name, str(server.port)]
        command.append(str(count))
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"exit {done.returncode}: {tail[:120]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def measure(
    count: int, rounds: int, names: list[str] | None = None, pair_rounds: int = 0
) -> dict[str, Any]:
    kinds = [k for k in all_kinds() if names is None or k.name in names or k.name == "ws-json"]
    for kind in kinds:
        kind.problem = kind.unavailable()
    active = [k for k in kinds if k.problem is None]
    server_reports: list[tuple[int, float, float, float]] = []
    pair: dict[str, Any] | None = None
    with flood_server() as server:
        run_once(kinds[0], server, count)  # untimed: the server builds and caches the frames
        server.reports()
        for round_no in range(rounds):
            shift = round_no % len(active)
            order = active[shift:] + active[:shift]
            rates: dict[str, float] = {}
            for kind in order:
                if kind.problem is not None:
                    continue
                try:
                    result = run_once(kind, server, count)
                except (RuntimeError, subprocess.TimeoutExpired) as error:
                    kind.problem = f"failed: {error}"
                    continue
                if result["received"] != count:
                    kind.problem = f"received {result['received']} of {count}"
                    continue
                kind.in_order = kind.in_order and bool(result["in_order"])
                rates[kind.name] = count / result["seconds"]
                kind.rates.append(rates[kind.name])
            baseline = rates.get("ws-json")
            for kind in active:
                if baseline and kind.name in rates:
                    kind.ratios.append(rates[kind.name] / baseline)
            server_reports += server.reports()
        if pair_rounds > 0:
            pair = measure_pair(server, count, pair_rounds)
    rows = []
    for kind in kinds:
        row: dict[str, Any] = {"kind": kind.name, "label": kind.label}
        if kind.problem is not None or not kind.rates:
            row["status"] = f"n/a ({kind.problem or 'no result'})"
        else:
            row.update(
                status="ok",
                in_order=kind.in_order,
                rates=kind.rates,
                median=median(kind.rates),
                min=min(kind.rates),
                max=max(kind.rates),
                ratio=median(kind.ratios) if kind.ratios else None,
                ratio_min=min(kind.ratios) if kind.ratios else None,
                ratio_max=max(kind.ratios) if kind.ratios else None,
            )
        rows.append(row)
    writes = [r[1] for r in server_reports] or [0.0]
    drains = [r[2] for r in server_reports] or [0.0]
    cpus = [r[3] for r in server_reports] or [0.0]
    return {
        "count": count,
        "rounds": rounds,
        "rows": rows,
        "server": {
            "floods": len(server_reports),
            "write_s_max": max(writes),
            "drain_s_max": max(drains),
            "cpu_s_max": max(cpus),
            "rate_min": count / max(max(drains), 1e-9),
        },
        "pair": pair,
    }


def run_together(kind: Kind, server: FloodServer, count: int, clients: int) -> list[dict[str, Any]]:
    """``clients`` processes of ``kind``, subscribed first, then asking for their floods at once."""
    command = [PYTHON, str(HERE / "throughput_client.py"), kind.name, str(server.port)]
    processes = [LineProcess([*command, str(count), "wait"]) for _ in range(clients)]
    try:
        for process in processes:
            process.expect("ready", 30)
        for process in processes:
            process.send("go")
        return [json.loads(process.expect("{", 300)) for process in processes]
    finally:
        for process in processes:
            process.close()


def measure_pair(server: FloodServer, count: int, rounds: int) -> dict[str, Any]:
    """The fastest bare loop alone and two of it at once, on the same flood server process."""
    kinds = {k.name: k for k in all_kinds()}
    kind = next((kinds[name] for name in FASTEST if kinds[name].unavailable() is None), None)
    assert kind is not None  # ws-json needs nothing optional
    alone: list[float] = []
    each: list[float] = []
    aggregate: list[float] = []
    span_ms: list[float] = []
    skew_ms: list[float] = []
    shares: dict[str, list[float]] = {"alone_running": [], "alone_queued": []}
    shares.update(pair_running=[], pair_queued=[])
    load = os.getloadavg()[0]
    in_order = True
    pair_cpu: list[float] = []
    problem = None
    server.reports()
    try:
        for round_no in range(rounds):
            for clients in (1, 2) if round_no % 2 == 0 else (2, 1):
                results = run_together(kind, server, count, clients)
                if any(r["received"] != count for r in results):
                    raise RuntimeError(f"received {[r['received'] for r in results]} of {count}")
                in_order = in_order and all(r["in_order"] for r in results)
                rates = [count / r["seconds"] for r in results]
                which = "alone" if clients == 1 else "pair"
                shares[f"{which}_running"] += [r["running"] / r["seconds"] for r in results]
                shares[f"{which}_queued"] += [r["queued"] / r["seconds"] for r in results]
                if clients == 1:
                    alone += rates
                    server.reports()
                    continue
                each += rates
                span = max(r["last"] for r in results) - min(r["first"] for r in results)
                span_ms.append(1000 * span)
                firsts = [r["first"] for r in results]
                skew_ms.append(1000 * (max(firsts) - min(firsts)))
                aggregate.append(clients * count / span)
                pair_cpu += [report[3] for report in server.reports()]
    except (RuntimeError, TimeoutError, ValueError) as error:
        problem = f"failed: {error}"
    result: dict[str, Any] = {"kind": kind.name, "label": kind.label, "rounds": rounds}
    if problem is not None or not alone or not aggregate:
        result["status"] = f"n/a ({problem or 'no result'})"
        return result
    result.update(
        status="ok",
        count=count,
        in_order=in_order,
        alone=alone,
        each=each,
        aggregate=aggregate,
        span_ms=span_ms,
        skew_ms=skew_ms,
        load_before=load,
        load_after=os.getloadavg()[0],
        **shares,
        alone_median=median(alone),
        each_median=median(each),
        aggregate_median=median(aggregate),
        server_cpu_ms_max=1000 * max(pair_cpu, default=0.0),
    )
    return result


def pair_table(results: dict[str, Any]) -> str:
    pair = results.get("pair")
    if not pair:
        return "(not measured)"
    if pair["status"] != "ok":
        return f"{pair['label']}: {pair['status']}"

    def cells(values: list[float]) -> str:
        return f"{median(values):,.0f} | {min(values):,.0f}-{max(values):,.0f}"

    count = pair["count"]
    return "\n".join(
        [
            f"| {pair['label']}, {count:,} events per client, {pair['rounds']} rounds"
            " | events/s (median) | min-max |",
            "|---|---|---|",
            f"| one client alone | {cells(pair['alone'])} |",
            f"| two clients at once, each (both together) | {cells(pair['each'])} |",
            f"| two clients at once, the first released | {cells(pair['each'][0::2])} |",
            f"| two clients at once, the second released | {cells(pair['each'][1::2])} |",
            f"| two clients at once, together (2 x {count:,} events / first ask to last event)"
            f" | {cells(pair['aggregate'])} |",
        ]
    )


def pair_note(results: dict[str, Any]) -> str:
    pair = results.get("pair")
    if not pair or pair["status"] != "ok":
        return ""
    alone, together = pair["alone_median"], pair["aggregate_median"]
    cores = os.cpu_count() or 1
    measured = bool(pair.get("alone_running")) and any(pair["alone_running"])

    def shares(which: str) -> tuple[float, float, float]:
        running = median(pair[f"{which}_running"])
        queued = median(pair[f"{which}_queued"])
        return running, queued, max(0.0, 1.0 - running - queued)

    where = ""
    starved = False
    if measured:
        run1, queue1, sleep1 = shares("alone")
        run2, queue2, sleep2 = shares("pair")
        starved = sleep2 <= sleep1 + 0.05
        where = (
            f" Where each client's receiving thread spent the flood (medians, from"
            f" /proc/thread-self/schedstat): alone {100 * run1:.0f} % on a core,"
            f" {100 * queue1:.0f} % queued for one, {100 * sleep1:.0f} % asleep waiting for data;"
            f" in pairs {100 * run2:.0f} % on a core, {100 * queue2:.0f} % queued,"
            f" {100 * sleep2:.0f} % asleep. Queued time is lost to the other processes (the"
            f" other client, the server and whatever else runs: the 1-minute load average was"
            f" {pair['load_before']:.2f} before and {pair['load_after']:.2f} after); time asleep"
            f" is the most the server can have held a client up."
        )
    if together >= alone:
        verdict = (
            f"Together the two took {together / alone:.2f}x the events per second one takes"
            " alone: the server fed more than one fastest client can take, so the single-client"
            " rows above measure the clients, not the server."
        )
    elif starved:
        verdict = (
            f"Together the two took only {together / alone:.2f}x the events per second one takes"
            " alone, but they were not waiting for the server longer than one alone (time"
            " asleep, below): they were short of cores."
        )
    else:
        verdict = (
            f"Together the two took only {together / alone:.2f}x the events per second one takes"
            " alone and slept longer waiting for data, so this run does not rule out the server"
            " as a limit."
        )
    return (
        f"Each client is its own process; with the server that makes three processes on {cores}"
        f" cores, so the two clients and the server compete for the cores (one client alone"
        f" shares them only with the server): each ran at {pair['each_median'] / alone:.2f}x"
        f" the rate of one alone (median). The total counts the time from the first client"
        f" asking to the last event of either, so it also includes the gap between the two"
        f" asking (median {median(pair['skew_ms']):.1f} ms of a {median(pair['span_ms']):.1f} ms"
        f" span) and understates the server. {verdict} The server's CPU time per flood during"
        f" the pairs was at most {pair['server_cpu_ms_max']:.1f} ms.{where}"
        + (" All events arrived in order." if pair["in_order"] else " SOME EVENTS OUT OF ORDER.")
    )


def table(results: dict[str, Any]) -> str:
    lines = [
        "| client | events/s (median) | min-max | ratio to bare websockets + json (median, min-max)"
        " | all in order |",
        "|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        if row["status"] != "ok":
            lines.append(f"| {row['label']} | {row['status']} | | | |")
            continue
        ratio = "-"
        if row["ratio"] is not None:
            ratio = f"{row['ratio']:.2f} ({row['ratio_min']:.2f}-{row['ratio_max']:.2f})"
        lines.append(
            f"| {row['label']} | {row['median']:,.0f} | {row['min']:,.0f}-{row['max']:,.0f}"
            f" | {ratio} | {'yes' if row['in_order'] else 'NO'} |"
        )
    return "\n".join(lines)


def server_note(results: dict[str, Any]) -> str:
    server = results["server"]
    fastest = max((row["max"] for row in results["rows"] if row["status"] == "ok"), default=0.0)
    share = ""
    if fastest:
        fastest_s = results["count"] / fastest
        share = (
            f" The fastest client needed {fastest_s * 1000:.1f} ms for a flood; the server's CPU"
            f" per flood is {100 * server['cpu_s_max'] / fastest_s:.1f} % of that."
        )
    return (
        f"Flood server (own process): {server['floods']} floods of {results['count']:,} events;"
        f" longest `transport.write` of the pre-encoded frames {server['write_s_max'] * 1000:.2f}"
        f" ms, longest until the kernel had taken the last byte"
        f" {server['drain_s_max'] * 1000:.2f} ms, most server CPU time per flood"
        f" {server['cpu_s_max'] * 1000:.1f} ms.{share}"
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--pair-rounds",
        type=int,
        help="rounds of the fastest loop alone and two at once (default: --rounds; 0: skip)",
    )
    parser.add_argument("--kinds", help="comma-separated subset (the baseline always runs)")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    names = args.kinds.split(",") if args.kinds else None
    pair_rounds = args.rounds if args.pair_rounds is None else args.pair_rounds
    results = measure(args.count, args.rounds, names, pair_rounds)
    print(f"{args.count:,} events per round, {args.rounds} interleaved rounds")
    print(table(results))
    print(server_note(results))
    print(pair_table(results))
    print(pair_note(results))
    save_results(args.json, results)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
