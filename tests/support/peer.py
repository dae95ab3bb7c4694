"""Drive tests/node/peer.js, a real pusher-js client, from asyncio tests.

The peer speaks JSON lines (the protocol is described at the top of peer.js): commands go to its
stdin and get replies with the same ``id``; everything else it prints (``ready``, ``state``,
``event`` and ``error`` lines) is kept in :attr:`PusherJsPeer.lines`, in arrival order, so a wait
also finds what arrived before it began.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any

from tests.support.soketi import NODE_DIR

PEER_SCRIPT = NODE_DIR / "peer.js"
PUSHER_JS = NODE_DIR / "node_modules" / "pusher-js"

Line = dict[str, Any]
"""One JSON line the peer printed."""


class PeerExited(RuntimeError):
    """The peer process ended while something was still expected from it."""


class PusherJsPeer:
    """A pusher-js client in a Node subprocess. Make one with :meth:`start`."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        """Wrap a started ``node peer.js`` process (use :meth:`start` instead)."""
        self._process = process
        self._ids = itertools.count(1)
        self._replies: dict[int, asyncio.Future[Line]] = {}
        self._stderr: deque[str] = deque(maxlen=50)
        self._arrived = asyncio.Condition()
        self._eof = False
        self._socket_id: str | None = None
        self.lines: list[Line] = []
        """Every unsolicited line received so far, oldest first."""
        self._readers = [
            asyncio.create_task(self._read_stdout()),
            asyncio.create_task(self._read_stderr()),
        ]

    @classmethod
    async def start(
        cls, host: str, port: int, key: str, secret: str, *, timeout: float = 10.0
    ) -> PusherJsPeer:
        """Start a peer connected to ``host:port`` as app ``key`` and wait until it is connected.

        Raises:
            RuntimeError: pusher-js is not installed or Node is missing.
            PeerExited: the peer ended before connecting.
            TimeoutError: it did not connect within ``timeout`` seconds.
        """
        if not PUSHER_JS.exists():
            raise RuntimeError(
                f"pusher-js is not installed ({PUSHER_JS} is missing): run scripts/bootstrap first"
            )
        try:
            process = await asyncio.create_subprocess_exec(
                "node",
                str(PEER_SCRIPT),
                host,
                str(port),
                key,
                secret,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=16 * 1024 * 1024,  # one line per event: allow large payloads
            )
        except FileNotFoundError as error:
            raise RuntimeError("`node` is not on PATH: run scripts/bootstrap first") from error
        peer = cls(process)
        try:
            await peer.wait_for_line(lambda line: line.get("type") == "ready", timeout=timeout)
        except TimeoutError:
            await peer.close()
            raise TimeoutError(
                f"pusher-js peer did not connect to {host}:{port} within {timeout} s\n{peer.stderr}"
            ) from None
        except BaseException:
            await peer.close()
            raise
        return peer

    async def __aenter__(self) -> PusherJsPeer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def socket_id(self) -> str | None:
        """pusher-js's current socket id (it changes when it reconnects)."""
        return self._socket_id

    @property
    def stderr(self) -> str:
        """The peer's recent stderr output (and any stdout line that was not JSON)."""
        return "\n".join(self._stderr)

    async def command(self, cmd: str, *, timeout: float = 10.0, **fields: Any) -> Line:
        """Send ``{"cmd": cmd, **fields}`` and return the peer's reply to it.

        Raises:
            TimeoutError: no reply within ``timeout`` seconds.
            PeerExited: the peer ended first.
        """
        if self._eof or self._process.stdin is None:
            raise PeerExited(self._exit_report())
        command_id = next(self._ids)
        reply: asyncio.Future[Line] = asyncio.get_running_loop().create_future()
        self._replies[command_id] = reply
        message = json.dumps({"id": command_id, "cmd": cmd, **fields}) + "\n"
        try:
            self._process.stdin.write(message.encode())
            await self._process.stdin.drain()
            async with asyncio.timeout(timeout):
                return await reply
        except (BrokenPipeError, ConnectionResetError):
            raise PeerExited(self._exit_report()) from None
        except TimeoutError:
            raise TimeoutError(
                f"pusher-js peer did not answer {cmd!r} within {timeout} s\n{self.stderr}"
            ) from None
        finally:
            self._replies.pop(command_id, None)

    async def subscribe_encrypted(self, channel: str, *shared_secrets: str) -> Line:
        """Subscribe pusher-js to a ``private-encrypted-`` channel whose authorizations hand out
        ``shared_secrets`` (base64) in turn, the last one repeating; return the reply."""
        return await self.command("subscribe", channel=channel, shared_secrets=list(shared_secrets))

    async def authorizations(self, channel: str) -> int:
        """How many times pusher-js asked to authorize ``channel``."""
        reply = await self.command("authorizations", channel=channel)
        return int(reply["count"])

    async def wait_for_line(
        self, predicate: Callable[[Line], bool], *, since: int = 0, timeout: float = 10.0
    ) -> Line:
        """The first line in :attr:`lines` from index ``since`` on that satisfies ``predicate``.

        Pass ``since=len(peer.lines)`` to wait only for lines that arrive from now on.

        Raises:
            TimeoutError: none within ``timeout`` seconds.
            PeerExited: the peer ended first.
        """
        scanned = since
        found: list[Line] = []

        def ready() -> bool:
            nonlocal scanned
            for line in self.lines[scanned:]:
                scanned += 1
                if predicate(line):
                    found.append(line)
                    return True
            return self._eof

        try:
            async with asyncio.timeout(timeout), self._arrived:
                await self._arrived.wait_for(ready)
        except TimeoutError:
            raise TimeoutError(
                f"pusher-js peer printed no matching line within {timeout} s; "
                f"its last lines: {self.lines[-10:]}\n{self.stderr}"
            ) from None
        if not found:
            raise PeerExited(self._exit_report())
        return found[0]

    async def wait_for_event(
        self,
        match: str | Callable[[Line], bool],
        *,
        channel: str | None = None,
        since: int = 0,
        timeout: float = 10.0,
    ) -> Line:
        """The first ``event`` line from index ``since`` on matching a name or a predicate.

        ``match`` is an event name, or a predicate over the whole line; with ``channel``, only
        events on that channel count.

        Raises:
            TimeoutError: none within ``timeout`` seconds.
            PeerExited: the peer ended first.
        """

        def matches(line: Line) -> bool:
            if line.get("type") != "event":
                return False
            if channel is not None and line.get("channel") != channel:
                return False
            return match(line) if callable(match) else line.get("event") == match

        return await self.wait_for_line(matches, since=since, timeout=timeout)

    async def wait_for_state(self, current: str, *, since: int = 0, timeout: float = 10.0) -> Line:
        """The first connection ``state`` line (from index ``since`` on) entering ``current``."""
        return await self.wait_for_line(
            lambda line: line.get("type") == "state" and line.get("current") == current,
            since=since,
            timeout=timeout,
        )

    async def close(self) -> None:
        """Disconnect pusher-js and end the process (killing it if it does not exit in 5 s)."""
        if self._process.returncode is None and not self._eof:
            with contextlib.suppress(Exception):
                await self.command("disconnect", timeout=3)
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            await asyncio.wait_for(self._process.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()
        _, pending = await asyncio.wait(self._readers, timeout=5)
        for reader in pending:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)

    async def _read_stdout(self) -> None:
        assert self._process.stdout is not None
        try:
            async for raw in self._process.stdout:
                try:
                    line = json.loads(raw)
                except ValueError:
                    line = None
                if not isinstance(line, dict):
                    self._stderr.append(f"(stdout) {raw.decode(errors='replace').rstrip()}")
                    continue
                if "id" in line:
                    reply = self._replies.get(line["id"])
                    if reply is not None and not reply.done():
                        reply.set_result(line)
                    continue
                if line.get("type") in ("ready", "state") and line.get("socket_id") is not None:
                    self._socket_id = line["socket_id"]
                async with self._arrived:
                    self.lines.append(line)
                    self._arrived.notify_all()
        finally:
            self._eof = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._process.wait(), 1)
            for reply in self._replies.values():
                if not reply.done():
                    reply.set_exception(PeerExited(self._exit_report()))
            async with self._arrived:
                self._arrived.notify_all()

    async def _read_stderr(self) -> None:
        assert self._process.stderr is not None
        async for raw in self._process.stderr:
            self._stderr.append(raw.decode(errors="replace").rstrip())

    def _exit_report(self) -> str:
        return f"pusher-js peer exited (code {self._process.returncode})\n{self.stderr}"
