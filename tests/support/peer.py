"""Drive tests/node/peer.js, a real pusher-js client, from asyncio tests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import deque
from collections.abc import Callable
from typing import Any

from tests.support.soketi import NODE_DIR

PEER_SCRIPT = NODE_DIR / "peer.js"

EventLine = dict[str, Any]


class PusherJsPeer:
    """A pusher-js client in a Node subprocess, spoken to in JSON lines."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._ids = itertools.count(1)
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[EventLine] = []
        self._new_line = asyncio.Event()
        self._stderr: deque[str] = deque(maxlen=50)
        self.socket_id: str | None = None
        self._ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._readers = [
            asyncio.create_task(self._read_stdout()),
            asyncio.create_task(self._read_stderr()),
        ]

    @classmethod
    async def start(
        cls, host: str, port: int, key: str, secret: str, timeout: float = 10.0
    ) -> PusherJsPeer:
        """Start the peer and wait until pusher-js is connected."""
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
        )
        peer = cls(process)
        try:
            async with asyncio.timeout(timeout):
                peer.socket_id = await peer._ready
        except BaseException:
            await peer.close()
            raise
        return peer

    async def _read_stdout(self) -> None:
        assert self._process.stdout is not None
        async for raw in self._process.stdout:
            line = json.loads(raw)
            if "id" in line:
                future = self._replies.pop(line["id"], None)
                if future is not None and not future.done():
                    future.set_result(line)
                continue
            if line.get("type") == "ready" and not self._ready.done():
                self._ready.set_result(line["socket_id"])
            self.events.append(line)
            self._new_line.set()

    async def _read_stderr(self) -> None:
        assert self._process.stderr is not None
        async for raw in self._process.stderr:
            self._stderr.append(raw.decode(errors="replace").rstrip())

    @property
    def stderr(self) -> str:
        """The peer's recent stderr output."""
        return "\n".join(self._stderr)

    async def command(self, cmd: str, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        """Send a command and wait for its reply."""
        assert self._process.stdin is not None
        command_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[command_id] = future
        self._process.stdin.write(json.dumps({"id": command_id, "cmd": cmd, **fields}).encode())
        self._process.stdin.write(b"\n")
        await self._process.stdin.drain()
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise TimeoutError(f"pusher-js peer did not answer {cmd!r}:\n{self.stderr}") from None

    async def wait_for_event(
        self,
        match: str | Callable[[EventLine], bool],
        *,
        channel: str | None = None,
        timeout: float = 10.0,
    ) -> EventLine:
        """The first received event (earlier ones included) matching a name or predicate."""

        def matches(line: EventLine) -> bool:
            if line.get("type") != "event":
                return False
            if channel is not None and line.get("channel") != channel:
                return False
            return match(line) if callable(match) else line.get("event") == match

        try:
            async with asyncio.timeout(timeout):
                while True:
                    for line in self.events:
                        if matches(line):
                            return line
                    self._new_line.clear()
                    await self._new_line.wait()
        except TimeoutError:
            raise TimeoutError(
                f"pusher-js peer saw no {match!r}; it saw {self.events[-10:]}\n{self.stderr}"
            ) from None

    async def close(self) -> None:
        """Disconnect pusher-js and end the process."""
        if self._process.returncode is None:
            with contextlib.suppress(Exception):
                await self.command("disconnect", timeout=3)
            try:
                await asyncio.wait_for(self._process.wait(), 5)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
