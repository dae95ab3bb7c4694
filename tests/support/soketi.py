"""Run a real Soketi (installed from npm into tests/node by scripts/bootstrap) for tests.

Soketi is a third-party Pusher protocol 7 server. Each :class:`SoketiServer` runs one in its own
process group on free loopback ports, with client events enabled for its app, and can be
stopped, killed (a crash) and started again on the same port.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SOKETI_BIN = NODE_DIR / "node_modules" / ".bin" / "soketi"
START_TIMEOUT = 30.0


def soketi_available() -> bool:
    """Whether Soketi is installed (``scripts/bootstrap`` installs it)."""
    return SOKETI_BIN.exists()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


class SoketiServer:
    """One Soketi process for tests.

    Attributes:
        host, port: where websockets and the HTTP API listen.
        app_id, app_key, app_secret: the single app it serves.
    """

    def __init__(
        self,
        *,
        app_id: str = "app-id",
        app_key: str = "app-key",
        app_secret: str = "app-secret",
        host: str = "127.0.0.1",
    ) -> None:
        self.app_id = app_id
        self.app_key = app_key
        self.app_secret = app_secret
        self.host = host
        self.port = free_port(host)
        self._metrics_port = free_port(host)
        self._workdir = Path(tempfile.mkdtemp(prefix="soketi-"))
        self.log_path = self._workdir / "soketi.log"
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<SoketiServer {self.host}:{self.port} {state}>"

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
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start Soketi and wait until its HTTP endpoint answers.

        Raises:
            RuntimeError: Soketi is not installed, or did not come up within 30 s (the
                message carries the end of its log).
        """
        if self.running:
            return
        if not soketi_available():
            raise RuntimeError(
                f"Soketi is not installed at {SOKETI_BIN}; run scripts/bootstrap first"
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not _port_is_free(self.host, self.port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"port {self.port} stayed busy")
            time.sleep(0.05)
        env = {
            **os.environ,
            "SOKETI_HOST": self.host,
            "SOKETI_PORT": str(self.port),
            "SOKETI_METRICS_SERVER_PORT": str(self._metrics_port),
            "SOKETI_DEFAULT_APP_ID": self.app_id,
            "SOKETI_DEFAULT_APP_KEY": self.app_key,
            "SOKETI_DEFAULT_APP_SECRET": self.app_secret,
            "SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES": "true",
            "SOKETI_SHUTDOWN_GRACE_PERIOD": "0",
        }
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [str(SOKETI_BIN), "start"],
            cwd=self._workdir,  # Soketi reads a .env from its working directory
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        while not self._answers():
            if not self.running:
                raise RuntimeError(f"Soketi exited during start-up:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(
                    f"Soketi did not start within {START_TIMEOUT} s:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.host}:{self.port}/", timeout=1) as reply:
                return bool(reply.read().strip() == b"OK")
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """Stop gracefully (SIGTERM to the process group), killing it after 5 s."""
        self._signal_and_wait(signal.SIGTERM, grace=5.0)

    def kill(self) -> None:
        """Kill at once (SIGKILL), as in a crash: clients see the TCP connection drop."""
        self._signal_and_wait(signal.SIGKILL, grace=5.0)

    def restart(self) -> None:
        """Kill, then start again on the same port."""
        self.kill()
        self.start()

    def _signal_and_wait(self, sig: signal.Signals, grace: float) -> None:
        process = self._process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=grace)
        self._process = None

    def log_tail(self, lines: int = 40) -> str:
        """The end of Soketi's log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
