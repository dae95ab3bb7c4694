"""The benchmarks (benchmarks/, run by scripts/bench) still work: one smoke-sized run of each.

No timing thresholds: each benchmark must complete and report sane numbers (positive rates, every
event received in order). Optional baselines that are not installed say "n/a"; python-reverb, the
bare websockets loop and pusher-js (when tests/node is installed) must have run. The fastest bare
loop must have run alone and two at once; every recovery client must have been through a restart
(python-reverb must recover; the others may report how many channels they did not get back).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
NODE_OK = shutil.which("node") is not None and (ROOT / "tests/node/node_modules/pusher-js").exists()
OPTIONAL = {
    "ws-orjson": ("orjson",),
    "aiohttp-orjson": ("aiohttp", "orjson"),
    "picows-orjson": ("picows", "orjson"),
    "python-reverb-orjson": ("orjson",),
    "python-reverb-fast": ("orjson", "picows"),
    "python-reverb-fast-pure": ("orjson", "picows"),
    "pysher": ("pysher",),
    "asyncpusher": ("asyncpusher",),
}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("bench")
    out = folder / "performance.md"
    command = [sys.executable, str(ROOT / "benchmarks/report.py"), "--size", "smoke"]
    command += ["--out", str(out), "--keep-json", str(folder)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=50, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    results: dict[str, Any] = {
        name: json.loads((folder / f"{name}.json").read_text())
        for name in ("throughput", "connections", "latency", "recovery", "sink_cost")
    }
    results["markdown"] = out.read_text()
    return results


def installed(modules: tuple[str, ...]) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in modules)


@pytest.mark.timeout(60)
def test_throughput_every_client_receives_every_event_in_order(smoke: dict[str, Any]) -> None:
    rows = {row["kind"]: row for row in smoke["throughput"]["rows"]}
    required = ["ws-json", "python-reverb", *(["pusher-js"] if NODE_OK else [])]
    for kind, row in rows.items():
        if kind in required or installed(OPTIONAL.get(kind, ())):
            assert row["status"] == "ok", (kind, row["status"])
            assert row["in_order"], kind
            assert all(rate > 0 for rate in row["rates"]), kind
            assert row["ratio"] > 0, kind
        else:
            assert row["status"].startswith("n/a ("), kind
    assert rows["ws-json"]["ratio"] == 1.0
    assert smoke["throughput"]["server"]["floods"] >= len(required)


def test_throughput_fastest_client_alone_and_two_at_once(smoke: dict[str, Any]) -> None:
    pair = smoke["throughput"]["pair"]
    assert pair["status"] == "ok", pair["status"]
    fastest = "picows-orjson" if installed(OPTIONAL["picows-orjson"]) else None
    fastest = fastest or ("ws-orjson" if installed(("orjson",)) else "ws-json")
    assert pair["kind"] == fastest
    assert len(pair["alone"]) == pair["rounds"] >= 1
    assert len(pair["each"]) == 2 * pair["rounds"] == 2 * len(pair["aggregate"])
    assert all(rate > 0 for rate in pair["alone"] + pair["each"] + pair["aggregate"])
    assert pair["in_order"]
    for which, clients in (("alone", 1), ("pair", 2)):
        for part in ("running", "queued"):  # shares of the flood time, from schedstat
            shares = pair[f"{which}_{part}"]
            assert len(shares) == clients * pair["rounds"]
            assert all(0 <= share <= 1.5 for share in shares), (which, part, shares)


def test_connections_all_subscribed(smoke: dict[str, Any]) -> None:
    rows = {row["kind"]: row for row in smoke["connections"]["rows"]}
    for kind in ["websockets", "python-reverb", *(["pusher-js"] if NODE_OK else [])]:
        row = rows[kind]
        assert row["status"] == "ok", (kind, row["status"])
        assert row["count"] == smoke["connections"]["count"] > 0
        assert row["seconds"] > 0
        assert row["idle_cpu_percent"] >= 0
    assert rows["python-reverb"]["traced_per_conn"] > 0


def test_latency_samples_arrive(smoke: dict[str, Any]) -> None:
    ok = [row for row in smoke["latency"]["rows"] if row["status"] == "ok"]
    receivers = {row["receiver"] for row in ok}
    assert {"python-reverb", "bare websockets + json"} <= receivers
    if NODE_OK:
        assert "pusher-js (Node)" in receivers
    for row in ok:
        assert row["samples"] == smoke["latency"]["samples"]
        assert 0 < row["p50"] <= row["p99"]


def test_recovery_every_channel_back(smoke: dict[str, Any]) -> None:
    recovery = smoke["recovery"]
    assert len(recovery["from_accept_ms"]) == recovery["rounds"] >= 1
    assert all(value > 0 for value in recovery["from_accept_ms"])
    assert recovery["median_from_open_ms"] <= recovery["median_from_accept_ms"]
    rows = {row["kind"]: row for row in recovery["rows"]}
    assert rows["python-reverb"]["recovered"] == recovery["rounds"]


def test_recovery_comparison_clients_went_through_every_restart(smoke: dict[str, Any]) -> None:
    recovery = smoke["recovery"]
    rows = {row["kind"]: row for row in recovery["rows"]}
    ran = {"pusher-js": NODE_OK, "asyncpusher": installed(("asyncpusher",))}
    ran["pysher"] = installed(("pysher",))
    missing = re.compile(rf"did not recover \d+ of {recovery['channels']} within [\d.]+ s")
    for kind, expected in ran.items():
        row = rows[kind]
        if not expected:
            assert row["status"].startswith("n/a ("), kind
            continue
        assert row["restarts"] == recovery["rounds"], (kind, row)
        assert row["recovered"] == len(row["from_accept_ms"]) == len(row["from_open_ms"])
        assert all(value > 0 for value in row["from_accept_ms"]), kind
        assert all(missing.fullmatch(failure) for failure in row["failures"]), (kind, row)


def test_sink_cost_measures_both_receive_paths(smoke: dict[str, Any]) -> None:
    rows = {row["kind"]: row for row in smoke["sink_cost"]["rows"]}
    assert set(rows) == {"bare", "compiled", "python"}  # the extension is built for the tests
    assert all(row["ns_per_event"] > 0 for row in rows.values())


def test_report_has_every_section(smoke: dict[str, Any]) -> None:
    text = smoke["markdown"]
    headings = ("## Throughput", "## Connections", "## Latency", "## Recovery", "compiled")
    for heading in (*headings, "targets"):
        assert heading in text
    assert "Two of the fastest client at once" in text
    assert "one client alone" in text
    assert "pusher-js (Node; timed from" in text or not NODE_OK
    assert "Machine and versions" in text
