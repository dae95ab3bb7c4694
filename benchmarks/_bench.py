"""Helpers shared by the benchmark scripts (not a benchmark itself)."""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import os
import queue
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


class LineProcess:
    """A benchmark client in its own process that talks in lines: stdout is read on a thread."""

    def __init__(self, command: Sequence[str]) -> None:
        self.process = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def expect(self, prefix: str, timeout: float) -> str:
        """The next line starting with ``prefix`` (others are skipped); TimeoutError if none."""
        deadline = time.perf_counter() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.perf_counter(), 0.0))
            except queue.Empty:
                raise TimeoutError(f"no {prefix!r} line within {timeout:g} s") from None
            if line is None:
                self.lines.put(None)  # later calls see the end too
                raise RuntimeError(f"exited ({self.process.poll()}) before a {prefix!r} line")
            if line.startswith(prefix):
                return line

    def close(self) -> None:
        """Close stdin (the clients exit on EOF); kill if that does not end the process."""
        try:
            assert self.process.stdin is not None
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@contextmanager
def flood_server() -> Iterator[FloodServer]:
    server = FloodServer()
    try:
        yield server
    finally:
        server.close()


def unavailable(name: str, needs: Sequence[str]) -> str | None:
    """Why the client ``name`` cannot run here (pusher-js needs Node and the npm package, a
    Python client its modules), or ``None``."""
    if name == "pusher-js":
        if shutil.which("node") is None:
            return "node not found"
        if not (NODE_MODULES / "pusher-js").exists():
            return "pusher-js not installed in tests/node"
        return None
    missing = [module for module in needs if importlib.util.find_spec(module) is None]
    return f"not installed: {', '.join(missing)}" if missing else None


def save_results(path: str | None, results: Any) -> None:
    """Write a benchmark's results as JSON to ``path`` (its ``--json`` option), if given."""
    if path:
        with open(path, "w") as out:
            json.dump(results, out, indent=1)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def fmt_int(value: float) -> str:
    return f"{value:,.0f}"


def port_accepts(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LocalServer:
    """The project's local server, ``reverb serve``, in its own process (kill and restart)."""

    app_id = "app-id"
    app_key = "app-key"
    app_secret = "app-secret"
    host = "127.0.0.1"

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> float:
        """Start; return the ``time.perf_counter()`` at which the port first accepted."""
        env = dict(os.environ)
        env.update(
            REVERB_APP_ID=self.app_id,
            REVERB_APP_KEY=self.app_key,
            REVERB_APP_SECRET=self.app_secret,
            REVERB_APP_ACCEPT_CLIENT_EVENTS_FROM="all",
        )
        command = [str(Path(PYTHON).parent / "reverb"), "serve", "--host", self.host]
        command += ["--port", str(self.port), "--env-file", "/nonexistent.env"]
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if port_accepts(self.host, self.port):
                return time.perf_counter()
            if self.process.poll() is not None:
                break
            time.sleep(0.001)
        raise RuntimeError("reverb serve did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


def private_auth(secret: str, key: str, socket_id: str, channel: str, data: str = "") -> str:
    """A Pusher channel signature, ``key:hmac`` (``data`` is presence channel_data)."""
    text = f"{socket_id}:{channel}" + (f":{data}" if data else "")
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    return f"{key}:{digest}"
