"""Helpers shared by the benchmark scripts (not a benchmark itself)."""

from __future__ import annotations

import queue
import resource
import statistics
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NODE_MODULES = ROOT / "tests" / "node" / "node_modules"
PYTHON = sys.executable


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class FloodServer:
    """benchmarks/flood_server.py in a subprocess; ``lines`` gets its ``flood ...`` reports."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [PYTHON, str(HERE / "flood_server.py")],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline().split()
        if not first or first[0] != "port":
            raise RuntimeError(f"flood server said {first}")
        self.port = int(first[1])
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def reports(self) -> list[tuple[int, float, float, float]]:
        """The ``(count, write_s, drain_s, cpu_s)`` reports since the last call."""
        found = []
        while not self.lines.empty():
            parts = self.lines.get().split()
            if parts and parts[0] == "flood":
                found.append((int(parts[1]), float(parts[2]), float(parts[3]), float(parts[4])))
        return found

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(5)


@contextmanager
def flood_server() -> Iterator[FloodServer]:
    server = FloodServer()
    try:
        yield server
    finally:
        server.close()


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def fmt_int(value: float) -> str:
    return f"{value:,.0f}"
