"""Run a real Soketi (installed from npm into tests/node by scripts/bootstrap) for tests.

Soketi is a third-party Pusher protocol 7 server. Each :class:`SoketiServer` runs one in its own
process group, on free loopback ports, serving one app with client events enabled. It can be
stopped, killed (a crash) and started again on the same port. Soketi always runs its UDP cluster
discovery; each server here gets its own UDP port and only talks to itself on 127.0.0.1, so
servers never discover one another (nor send broadcasts).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from pathlib import Path
from types import TracebackType
from typing import Protocol

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SOKETI_BIN = NODE_DIR / "node_modules" / ".bin" / "soketi"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0

# A direct opener: a proxy from the environment must not see loopback health checks.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_running: weakref.WeakSet[SoketiServer] = weakref.WeakSet()


class ServerUnderTest(Protocol):
    """What integration tests need of a server: Soketi here, or reverb.testing's local one."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def app_id(self) -> str: ...

    @property
    def app_key(self) -> str: ...

    @property
    def app_secret(self) -> str: ...

    def start(self) -> None:
        """Start (again, on the same port)."""

    def kill(self) -> None:
        """Stop abruptly: clients see their connections drop."""

    def __enter__(self) -> ServerUnderTest: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


def soketi_available() -> bool:
    """Whether Soketi is installed in tests/node (``scripts/bootstrap`` installs it)."""
    return SOKETI_BIN.exists()


def free_port(host: str = "127.0.0.1", *, udp: bool = False) -> int:
    """A TCP (or UDP) port that nothing is bound to right now."""
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on this TCP port now (TIME_WAIT leftovers allowed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


class SoketiServer:
    """One Soketi process for tests, usable as a context manager (start, then stop).

    The ports are chosen when the object is made and kept for its life, so a restarted server
    is found at the same address.
    """

    def __init__(
        self,
        *,
        app_id: str = "app-id",
        app_key: str = "app-key",
        app_secret: str = "app-secret",
        host: str = "127.0.0.1",
        debug: bool = False,
    ) -> None:
        self._app_id = app_id
        self._app_key = app_key
        self._app_secret = app_secret
        self._host = host
        self._debug = debug
        self._port = free_port(host)
        self._metrics_port = free_port(host)
        self._cluster_port = free_port(host, udp=True)
        self._workdir = Path(tempfile.mkdtemp(prefix="soketi-"))
        self._log_path = self._workdir / "soketi.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._starts = 0

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<SoketiServer {self._host}:{self._port} {state}>"

    def __enter__(self) -> SoketiServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def host(self) -> str:
        """The address websockets and the HTTP API listen on."""
        return self._host

    @property
    def port(self) -> int:
        """The websockets and HTTP API port (the same across restarts)."""
        return self._port

    @property
    def metrics_port(self) -> int:
        """The port of Soketi's second server (``/usage``, ``/ready``, ``/metrics``)."""
        return self._metrics_port

    @property
    def base_url(self) -> str:
        """``http://host:port``, the root of the HTTP API."""
        return f"http://{self._host}:{self._port}"

    @property
    def app_id(self) -> str:
        """The id of the one app served."""
        return self._app_id

    @property
    def app_key(self) -> str:
        """The app's key."""
        return self._app_key

    @property
    def app_secret(self) -> str:
        """The app's secret."""
        return self._app_secret

    @property
    def log_path(self) -> Path:
        """Soketi's stdout and stderr, from every start of this server."""
        return self._log_path

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start Soketi and wait until ``GET /`` answers ``OK`` (no-op if running).

        Raises:
            RuntimeError: Soketi is not installed, its ports stayed busy, or it did not come
                up within 30 s (the message carries the end of its log).
        """
        if self.running:
            return
        if not soketi_available():
            raise RuntimeError(
                f"Soketi is not installed ({SOKETI_BIN} is missing): "
                "run scripts/bootstrap (it runs `npm ci` in tests/node) first"
            )
        deadline = time.monotonic() + START_TIMEOUT
        self._wait_for_free_ports(deadline)
        self._starts += 1
        with self._log_path.open("ab") as log:
            log.write(f"=== start #{self._starts} on {self._host}:{self._port}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                [str(SOKETI_BIN), "start", f"--config={self._write_config()}"],
                cwd=self._workdir,  # Soketi loads a .env from its working directory: none here
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _running.add(self)
        while not self._answers():
            if not self.running:
                self._process = None
                raise RuntimeError(f"Soketi exited during start-up:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(
                    f"Soketi did not answer within {START_TIMEOUT} s:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop gracefully: SIGTERM to the process group, SIGKILL after 5 s."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """Kill at once (SIGKILL), as in a crash: clients see their TCP connections drop."""
        self._end(signal.SIGKILL)

    def restart(self) -> None:
        """Kill, then start again on the same ports."""
        self.kill()
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of Soketi's log."""
        try:
            return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _environment(self) -> dict[str, str]:
        inherited = {
            name: value for name, value in os.environ.items() if not name.startswith("SOKETI_")
        }
        return {
            **inherited,
            "SOKETI_HOST": self._host,
            "SOKETI_PORT": str(self._port),
            "SOKETI_METRICS_HOST": self._host,
            "SOKETI_METRICS_SERVER_PORT": str(self._metrics_port),
            "SOKETI_CLUSTER_PORT": str(self._cluster_port),
            "SOKETI_CLUSTER_UNICAST_ADDRESSES": json.dumps([self._host]),
            "SOKETI_DEFAULT_APP_ID": self._app_id,
            "SOKETI_DEFAULT_APP_KEY": self._app_key,
            "SOKETI_DEFAULT_APP_SECRET": self._app_secret,
            "SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES": "true",
            "SOKETI_SHUTDOWN_GRACE_PERIOD": "0",
            "SOKETI_DEBUG": "1" if self._debug else "0",
            # A readable log: no colour codes, no AWS SDK end-of-support notice.
            "FORCE_COLOR": "0",
            "AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE": "1",
        }

    def _write_config(self) -> Path:
        # The UDP discovery socket's bind address has no environment variable.
        path = self._workdir / "soketi.json"
        path.write_text(json.dumps({"cluster.address": self._host}))
        return path

    def _wait_for_free_ports(self, deadline: float) -> None:
        ports = (self._port, self._metrics_port)
        if self._starts == 0 and not all(port_is_free(self._host, p) for p in ports):
            # Never started, and someone took a port since __init__: take others.
            self._port, self._metrics_port = free_port(self._host), free_port(self._host)
        # After a kill the same ports are wanted again: wait for them to be released.
        while busy := [
            p for p in (self._port, self._metrics_port) if not port_is_free(self._host, p)
        ]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"ports {busy} on {self._host} stayed busy")
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            with _HTTP.open(f"{self.base_url}/", timeout=1) as reply:
                return bool(reply.read().strip() == b"OK")
        except (urllib.error.URLError, OSError):
            return False

    def _end(self, sig: signal.Signals) -> None:
        process, self._process = self._process, None
        _running.discard(self)
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        if not _exited(process.pid, STOP_TIMEOUT):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            _exited(process.pid, STOP_TIMEOUT)
        # The unreaped leader keeps the group id taken, so this reaches only our stragglers.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


def _exited(pid: int, timeout: float) -> bool:
    """Wait until ``pid`` has exited, without reaping it."""
    deadline = time.monotonic() + timeout
    while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@atexit.register
def _kill_leftovers() -> None:
    for server in list(_running):
        server.kill()
