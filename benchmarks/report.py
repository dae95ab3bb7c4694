"""Run every benchmark and write docs/performance.md (scripts/bench calls this).

Each benchmark runs in its own process (``--json`` to a temporary file); this script then writes
the machine, the versions, the date, the tables, a chart of the throughput ratios (a PNG if
matplotlib is importable, else an ASCII bar chart) and the issue's targets beside the numbers.

    python benchmarks/report.py [--size small|full|smoke] [--connections 1000,10000]
        [--out docs/performance.md] [--keep-json DIR]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import connections
import latency
import recovery
import sink_cost
import throughput
from _bench import HERE, NODE_MODULES, PYTHON, ROOT

SIZES: dict[str, dict[str, list[str]]] = {
    "smoke": {
        "throughput": ["--count", "200", "--rounds", "1"],
        "connections": ["--count", "20", "--idle", "0.5"],
        "latency": ["--samples", "20", "--servers", "local"],
        "recovery": ["--channels", "6", "--rounds", "1", "--timeout", "1"],
        "sink_cost": ["--count", "2000", "--rounds", "1"],
    },
    "small": {
        "throughput": ["--count", "20000", "--rounds", "5"],
        "connections": ["--count", "1000", "--idle", "3"],
        "latency": ["--samples", "200"],
        "recovery": ["--channels", "100", "--rounds", "5", "--timeout", "5"],
        "sink_cost": ["--count", "200000", "--rounds", "7"],
    },
    "full": {
        "throughput": ["--count", "100000", "--rounds", "7"],
        "connections": ["--count", "10000", "--idle", "5"],
        "latency": ["--samples", "1000"],
        "recovery": ["--channels", "100", "--rounds", "10", "--timeout", "5"],
        "sink_cost": ["--count", "500000", "--rounds", "9"],
    },
}
DISTRIBUTIONS = (
    "python-reverb",
    "websockets",
    "orjson",
    "picows",
    "aiohttp",
    "Pysher",
    "websocket-client",
    "asyncpusher",
    "httpx",
    "matplotlib",
)


def run(name: str, args: list[str], folder: Path) -> dict[str, Any]:
    out = folder / f"{name}.json"
    command = [PYTHON, str(HERE / f"{name}.py"), *args, "--json", str(out)]
    print("$", " ".join(command[1:]), flush=True)
    subprocess.run(command, check=True, timeout=3600)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def node_package(name: str) -> str:
    try:
        package = json.loads((NODE_MODULES / name / "package.json").read_text())
        return str(package["version"])
    except (OSError, ValueError, KeyError):
        return "not installed"


def source_state() -> str:
    """Which python-reverb source was measured: its commit, and whether src/ had changes."""
    import reverb

    src = Path(reverb.__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "-C", str(src), "log", "-1", "--format=%h %s"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(src), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"commit {commit}" + (" (with uncommitted changes in src/)" if dirty else "")


def versions() -> list[tuple[str, str]]:
    found = [("Python", platform.python_version())]
    for dist in DISTRIBUTIONS:
        try:
            found.append((dist, importlib.metadata.version(dist)))
        except importlib.metadata.PackageNotFoundError:
            found.append((dist, "not installed"))
    try:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True)
        found.append(("Node", node.stdout.strip()))
    except (OSError, subprocess.CalledProcessError):
        found.append(("Node", "not installed"))
    found.append(("pusher-js", node_package("pusher-js")))
    found.append(("Soketi", node_package("@soketi/soketi")))
    return found


def chart(results: dict[str, Any], png: Path) -> str:
    """A chart of the median throughput ratios: markdown that shows it."""
    rows = [r for r in results["rows"] if r["status"] == "ok" and r.get("ratio") is not None]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        width = 50
        top = max(r["ratio"] for r in rows)
        lines = ["```"]
        for row in rows:
            bar = "#" * max(1, round(width * row["ratio"] / top))
            lines.append(f"{row['label'][:44]:<44} {bar} {row['ratio']:.2f}")
        return "\n".join([*lines, "```"])
    labels = [r["label"] for r in rows][::-1]
    ratios = [r["ratio"] for r in rows][::-1]
    low = [r["ratio"] - r["ratio_min"] for r in rows][::-1]
    high = [r["ratio_max"] - r["ratio"] for r in rows][::-1]
    figure, axes = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.2))
    axes.barh(labels, ratios, xerr=[low, high], color="#4c72b0", capsize=3)
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.set_xlabel("events/s relative to bare websockets + json (median, min-max)")
    axes.set_title(f"Receive throughput, {results['count']:,} events, {results['rounds']} rounds")
    figure.tight_layout()
    figure.savefig(png, dpi=90, bbox_inches="tight")  # long labels must not crop the title
    plt.close(figure)
    return f"![throughput ratios]({png.name})"


def row_of(rows: list[dict[str, Any]], key: str, value: str) -> dict[str, Any] | None:
    for row in rows:
        if row.get(key) == value and row.get("status") == "ok":
            return row
    return None


def targets(
    tp: dict[str, Any], conn: dict[str, Any], lat: dict[str, Any], rec: dict[str, Any]
) -> str:
    def ratio(kind: str) -> str:
        row = row_of(tp["rows"], "kind", kind)
        if row is None:
            return "n/a"
        return f"{row['ratio']:.2f}x ({row['ratio_min']:.2f}-{row['ratio_max']:.2f})"

    fast = row_of(tp["rows"], "kind", "python-reverb-fast")
    picows = row_of(tp["rows"], "kind", "picows-orjson")
    same_transport = "n/a"
    if fast and picows:
        same_transport = f"{fast['ratio'] / picows['ratio']:.2f}x the bare picows + orjson loop"
    reverb_conn = row_of(conn["rows"], "kind", "python-reverb")
    conn_text = "n/a"
    if reverb_conn:
        conn_text = (
            f"{conn['count']:,} connections: {reverb_conn['rss_per_conn'] / 1024:.1f} KiB RSS"
            f" ({reverb_conn['traced_per_conn'] / 1024:.1f} KiB traced) each, all subscribed in"
            f" {reverb_conn['time_ratio']:.2f}x the bare websockets time, idle CPU"
            f" {reverb_conn['idle_cpu_percent']:.2f} % of a core"
        )
    added = [
        f"{r['server']}, {'HTTP API' if r['path'] == 'http' else 'whisper'}:"
        f" {r['p99_added']:+.2f} ms"
        for r in lat["rows"]
        if r["receiver"] == "python-reverb" and "p99_added" in r
    ]
    recovered = "n/a"
    if "median_from_accept_ms" in rec:
        recovered = (
            f"{rec['channels']} channels: median {rec['median_from_accept_ms']:.1f} ms from the"
            f" server accepting, {rec['median_from_open_ms']:.1f} ms from the new connection"
        )
    return "\n".join(
        [
            "| target (issue 8) | measured here |",
            "|---|---|",
            "| default install >= 0.9x the bare websockets + json loop"
            f" | {ratio('python-reverb')} |",
            f"| with orjson >= 1.35x | {ratio('python-reverb-orjson')} |",
            f"| with `[fast]` >= 4.0x (about 3x pusher-js) | {ratio('python-reverb-fast')};"
            f" pusher-js {ratio('pusher-js')} |",
            f"| with `[fast]` >= 0.85x the bare loop on the same transport | {same_transport} |",
            "| 10,000 connections at <= 20 KiB each, all subscribed in <= 1.15x the bare"
            f" websockets time, idle CPU < 5 % of a core | {conn_text} |",
            "| latency p99 added by the library <= 2 ms over the bare loop | "
            + ("; ".join(added) or "n/a")
            + " |",
            f"| 100 channels recovered <= 250 ms after the server is back | {recovered} |",
        ]
    )


def render(
    size: str,
    tp: dict[str, Any],
    conn_runs: list[dict[str, Any]],
    lat: dict[str, Any],
    rec: dict[str, Any],
    sink: dict[str, Any],
    chart_markdown: str,
) -> str:
    conn = conn_runs[-1]
    conn_tables = "\n\n".join(connections.table(run) for run in conn_runs)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    version_rows = "\n".join(f"| {name} | {version} |" for name, version in versions())
    return f"""# Performance

Written by `scripts/bench` ({size} size) on {now}; do not edit by hand. The scripts are in
`benchmarks/` (see [benchmarks.md](benchmarks.md)). Numbers vary by about ±15 % between runs on
a shared machine; compare ratios measured in the same run.

## Machine and versions

- {os.cpu_count()} cores, {cpu_model()}, {platform.system()} {platform.release()}
- python-reverb measured at {source_state()}

| software | version |
|---|---|
{version_rows}

## Throughput

`benchmarks/throughput.py`: a flood server in its own process (`benchmarks/flood_server.py`)
writes {tp["count"]:,} pre-encoded ~100-byte events (double-encoded data, sequence numbers) in
one write after the client subscribes; each client, in its own process, counts them in a handler
up to the last and checks their order, timed from just before asking for the flood to the
last handler call. {tp["rounds"]} interleaved rounds; ratios are to the bare
websockets + json loop (two `json.loads` per event) of the same round. "orjson, picows hidden"
means python-reverb runs with those imports failing, as on a default install.

{throughput.table(tp)}

{throughput.server_note(tp)}

{chart_markdown}

### Is the flood server the limit? Two of the fastest client at once

The fastest bare loop runs alone and as two processes at once against the same flood server
process, each asking for its own flood of {tp["count"]:,} events at the same moment (both
subscribed first, then released together); alone and pairs alternate. If the two together take
at least as many events per second as one alone, the server can feed more than the fastest
client takes, and no row above is limited by it. If not, where the clients' time went tells
whether they were waiting for data (the server) or for a core (the machine has
{os.cpu_count()} cores for the server, two clients and whatever else runs).

{throughput.pair_table(tp)}

{throughput.pair_note(tp)}

## Connections

`benchmarks/connections.py`: N clients in one process, each subscribed to its own
channel on the flood server (own process), opened at once with at most {conn["in_flight"]}
connection attempts in flight for every kind; memory is the RSS delta / N (tracemalloc's delta
/ N in a second run), idle CPU over {conn["idle_seconds"]:g} s with keepalive running.

{conn_tables}

## Latency

`benchmarks/latency.py`: publish -> handler on loopback, {lat["samples"]} sequential samples per
row; the publisher shares the Python receivers' event loop, pusher-js runs in its own process.

{latency.table(lat)}

## Recovery

`benchmarks/recovery.py`: each client, in its own process, subscribes to {rec["channels"]}
channels (a third each public, private, presence; signed with the app secret) on `reverb serve`
in its own process; the server is killed and started again on the same port, once per client
per round ({rec["rounds"]} interleaved rounds). Back-off waits are left out: python-reverb runs
with `reconnect_delay=0` and no jitter, pysher with `reconnect_interval=0`, asyncpusher with its
wait (random 1 to 2^n s, no setting) replaced by zero. pusher-js has no setting: it waits a fixed
1 s after a closed connection, and an attempt that finds the port still closed is retried only
after its 15 s attempt timeout; the server is back within that second, so pusher-js is timed
from its first attempt after the wait. A client that has not confirmed every channel
{rec["timeout_s"]:g} s after the server accepts (or after it tries again, if later) did not
recover on that restart; how many channels it was missing is shown. python-reverb is polled
every 0.5 ms for its confirmations; the others report each one from a handler.

{recovery.table(rec)}

{recovery.findings(rec)}

## The receive path: compiled, and what it still adds

`benchmarks/sink_cost.py` feeds {sink["count"]:,} event frames straight into a live socket's
frame sink ({sink["rounds"]} rounds, no socket, so only python-reverb's own work is timed), with
the compiled receive path and without it, against the bare loops' own work per event:

{sink_cost.table(sink)}

The compiled path (`src/reverb/_speedups.pyx`, built by Cython when the package is installed
with a C compiler; see
[architecture.md](architecture.md#the-compiled-receive-path)) does the hot case of three
pure-Python layers in one step: it decodes a channel's event, builds its `Event` directly in the
object's slots, notes the time for the keepalive (read at the keepalive's next wake, not handed
over per frame), and calls the channel's handler while nothing waits. Every other frame,
and every event that must wait (an async handler, a hold, several handlers, an encrypted
channel), goes to the same Python code as before. What it still adds over the bare work: the
`Event` object, made and freed per event (the public type, a slotted dataclass), the lookups of
the channel and its handlers, the handler call and the counters. Over picows, a whole text
frame also skips the transport's Python frame callback (`PicowsFrames`, set as the listener's
`on_ws_frame` while frames are delivered), so picows' frame reader calls compiled code directly.

### How the receive path got here

`benchmarks/profile_receive.py` runs python-reverb under pyinstrument against the flood server.
The profiles in [profiles/](profiles/) compare the pure-Python receive path before the first
round of this work (22833a5: an `await` per frame, the `Event` built through the frozen
dataclass's `__init__`, every event through the dispatcher's queue and task) with after it
(frames pushed by the transport, the `Event` built directly, handlers called from the frame
reader while nothing waits), both without the compiled path, which a profiler cannot see into:

| python-reverb, pure Python, with | before (22833a5), events/s | after, events/s | profiles |
|---|---|---|---|
| picows + orjson (`[fast]`) | 221,000-232,000 | 411,000-438,000 | `receive-fast-*.txt` |
| websockets + json (default) | 115,000-123,000 | 154,000-158,000 | `receive-default-*.txt` |

That pure-Python path then cost about 1.2 µs per event over two `orjson.loads`, spread over the
`Event`, the frame's checks, the keepalive's clock, the lookups and the calls between the layers;
a mypyc build of the hot modules gained under 5 %. The compiled path replaced those layers for
the hot case instead (the throughput row "reverb._speedups hidden" above is that path, measured
in the same run). `receive-fast-compiled.txt` profiles `[fast]` with the compiled path: nearly
all the time is spent inside picows' read callback (its frame parser, the compiled sink, orjson
and the handler, which the profiler sees as one frame); the dispatcher's queue and task appear
only for the events held until `subscribe()` returned (the flood starts with its confirmation).

## Where we stand against the targets

{targets(tp, conn, lat, rec)}
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--out", default=str(ROOT / "docs" / "performance.md"))
    parser.add_argument(
        "--connections", help="comma-separated connection counts, e.g. 1000,10000 (one run each)"
    )
    parser.add_argument("--keep-json", help="keep each benchmark's JSON results in this folder")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sizes = SIZES[args.size]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.keep_json or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        skip = {"connections"} if args.connections else set()
        results = {name: run(name, sizes[name], folder) for name in sizes if name not in skip}
        conn_runs = [results["connections"]] if not args.connections else []
        if args.connections:
            idle = sizes["connections"][sizes["connections"].index("--idle") + 1]
            conn_runs = [
                run("connections", ["--count", count, "--idle", idle], folder)
                for count in args.connections.split(",")
            ]
    png = out.with_name(out.stem + "-throughput.png")
    text = render(
        args.size,
        results["throughput"],
        conn_runs,
        results["latency"],
        results["recovery"],
        results["sink_cost"],
        chart(results["throughput"], png),
    )
    out.write_text(text)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
