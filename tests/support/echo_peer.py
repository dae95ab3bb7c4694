"""One Echo scenario, two implementations: laravel-echo in Node (tests/node/echo_peer.js) and
reverb.echo in this process, behind the same small driver interface.

A scenario is a list of steps (:func:`open_channel`, :func:`call`, :func:`echo_call`): it opens
channels by Echo's methods (``channel``, ``private``, ``encryptedPrivate``, ``join``), calls
channel methods by their Echo (camelCase) names, and registers callbacks by tag; every callback
call is recorded as ``(tag, [args])`` in :attr:`EchoDriver.calls`, in the order they ran.
Running a scenario once per driver and comparing the records shows
whether reverb.echo calls the same callbacks, in the same order, with the same data.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from typing import Any, Protocol

from reverb import Authenticator, Authorization, ReverbClient
from reverb.echo import Echo, EchoPrivateChannel
from tests.support.peer import PusherJsPeer
from tests.support.soketi import NODE_DIR, ServerUnderTest
from tests.support.waiting import wait_until

ECHO_PEER_SCRIPT = NODE_DIR / "echo_peer.js"
LARAVEL_ECHO = NODE_DIR / "node_modules" / "laravel-echo"

Call = tuple[str, list[Any]]
"""One callback call: its tag and the arguments it got."""


Step = dict[str, Any]
"""One command, as echo_peer.js takes it: ``open``, ``call`` or ``echo``."""


def open_channel(kind: str, name: str, user_data: Mapping[str, Any] | None = None) -> Step:
    """Open a channel with Echo's ``kind`` method (``channel``, ``private``, ``join``...)."""
    step: Step = {"cmd": "open", "kind": kind, "name": name}
    if user_data is not None:
        step["user_data"] = dict(user_data)
    return step


def call(
    kind: str,
    name: str,
    method: str,
    *args: Any,
    callback: tuple[str, int] | None = None,
    callback_ref: str | None = None,
) -> Step:
    """Call a channel method by its Echo name; ``callback=(tag, arity)`` adds a recording
    callback taking ``arity`` arguments, ``callback_ref=tag`` passes an earlier one again.
    """
    step: Step = {"cmd": "call", "kind": kind, "name": name, "method": method, "args": list(args)}
    if callback is not None:
        step["callback"] = {"tag": callback[0], "arity": callback[1]}
    if callback_ref is not None:
        step["callback_ref"] = callback_ref
    return step


def echo_call(method: str, *args: Any) -> Step:
    """Call a method of the Echo object itself (``leave``, ``leaveChannel``, ``socketId``)."""
    return {"cmd": "echo", "method": method, "args": list(args)}


class EchoDriver(Protocol):
    """What a scenario needs of an Echo implementation."""

    @property
    def calls(self) -> list[Call]:
        """Every callback call so far, in order."""
        ...

    async def run(self, *steps: Step) -> None:
        """Run the steps back to back, with no event handled in between."""
        ...

    async def socket_id(self) -> str | None:
        """Echo's ``socketId()``."""
        ...

    async def close(self) -> None:
        """Disconnect."""
        ...


async def wait_calls(driver: EchoDriver, count: int, timeout: float = 10.0) -> list[Call]:
    """Wait until ``driver`` recorded at least ``count`` calls; return them all."""
    try:
        await wait_until(lambda: len(driver.calls) >= count, timeout)
    except TimeoutError:
        raise TimeoutError(f"{count} callback calls expected, got {driver.calls}") from None
    return driver.calls


def snake_case(name: str) -> str:
    """``listenForWhisper`` → ``listen_for_whisper``."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


class NodeEcho:
    """laravel-echo on pusher-js in a Node subprocess."""

    def __init__(self, peer: PusherJsPeer) -> None:
        self.peer = peer
        self._seen = 0
        self._calls: list[Call] = []

    @classmethod
    async def start(cls, server: ServerUnderTest) -> NodeEcho:
        """Start the peer against ``server`` and wait until it is connected."""
        if not LARAVEL_ECHO.exists():
            raise RuntimeError(f"{LARAVEL_ECHO} is missing: run scripts/bootstrap first")
        process = await asyncio.create_subprocess_exec(
            "node",
            str(ECHO_PEER_SCRIPT),
            server.host,
            str(server.port),
            server.app_key,
            server.app_secret,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        peer = PusherJsPeer(process)
        try:
            await peer.wait_for_line(lambda line: line.get("type") == "ready")
        except BaseException:
            await peer.close()
            raise
        return cls(peer)

    @property
    def calls(self) -> list[Call]:
        """The callback lines printed so far, as calls."""
        lines = self.peer.lines
        for line in lines[self._seen :]:
            if line.get("type") == "callback":
                self._calls.append((line["tag"], line["args"]))
        self._seen = len(lines)
        return self._calls

    async def _command(self, cmd: str, **fields: Any) -> dict[str, Any]:
        reply = await self.peer.command(cmd, **fields)
        if reply.get("ok") is not True:
            raise RuntimeError(f"echo peer refused {cmd}: {reply}\n{self.peer.stderr}")
        return reply

    async def run(self, *steps: Step) -> None:
        await self._command("batch", commands=list(steps))

    async def socket_id(self) -> str | None:
        result = (await self._command("echo", method="socketId", args=[]))["result"]
        return None if result is None else str(result)

    async def format(self, namespace: str | bool | None, events: list[str]) -> list[str]:
        """Echo's own ``EventFormatter(namespace).format`` of each event."""
        reply = await self._command("format", namespace=namespace, events=events)
        return list(reply["formatted"])

    async def close(self) -> None:
        await self.peer.close()


class DeniedAuthenticator:
    """Signs with the app secret, except channels named ``...denied...``: as echo_peer.js does."""

    def __init__(self, key: str, secret: str) -> None:
        self._key = key
        self._secret = secret

    def authenticate(
        self, socket_id: str, channel_name: str, user_data: Mapping[str, Any] | None = None
    ) -> Authorization:
        secret = "wrong" if "denied" in channel_name else self._secret
        return Authenticator(self._key, secret).authenticate(socket_id, channel_name, user_data)


class PythonEcho:
    """reverb.echo over a connected :class:`ReverbClient`."""

    def __init__(self, client: ReverbClient) -> None:
        self.client = client
        self.echo = Echo(client)
        self.calls: list[Call] = []
        self._callbacks: dict[str, Any] = {}

    def _channel(self, kind: str, name: str, user_data: Mapping[str, Any] | None = None) -> Any:
        opener = getattr(self.echo, snake_case(kind))
        if kind == "join":
            return opener(name, user_data=user_data)
        return opener(name)

    def _recorder(self, tag: str, arity: int) -> Any:
        def record(*args: Any) -> None:
            self.calls.append((tag, json.loads(json.dumps(list(args[:arity])))))

        return record

    async def run(self, *steps: Step) -> None:
        for step in steps:
            if step["cmd"] == "open":
                self._channel(step["kind"], step["name"], step.get("user_data"))
            elif step["cmd"] == "call":
                await self._call(step)
            else:
                result = getattr(self.echo, snake_case(step["method"]))(*step["args"])
                if asyncio.iscoroutine(result):
                    await result

    async def _call(self, step: Step) -> None:
        channel = self._channel(step["kind"], step["name"])
        arguments = list(step["args"])
        if "callback" in step:
            tag, arity = step["callback"]["tag"], step["callback"]["arity"]
            self._callbacks[tag] = recorder = self._recorder(tag, arity)
            arguments.append(recorder)
        elif "callback_ref" in step:
            arguments.append(self._callbacks[step["callback_ref"]])
        if step["method"] == "whisper":
            assert isinstance(channel, EchoPrivateChannel)
            await channel.whisper(*arguments)
        else:
            getattr(channel, snake_case(step["method"]))(*arguments)

    async def socket_id(self) -> str | None:
        return self.echo.socket_id()

    async def close(self) -> None:
        await self.client.disconnect()
