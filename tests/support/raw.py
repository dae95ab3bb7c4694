"""A bare websocket Pusher client for conformance tests: frames in, frames out, nothing hidden."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from reverb.protocol.signing import channel_auth


class RawSocket:
    """One raw connection; ``established`` holds the decoded connection_established data."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.established: dict[str, Any] = {}

    @classmethod
    async def open(cls, host: str, port: int, key: str, *, establish: bool = True) -> RawSocket:
        ws = await connect(
            f"ws://{host}:{port}/app/{key}?protocol=7&client=raw&version=1",
            ping_interval=None,
            compression=None,
        )
        raw = cls(ws)
        if establish:
            frame = await raw.recv()
            assert frame["event"] == "pusher:connection_established", frame
            raw.established = json.loads(frame["data"])
        return raw

    @property
    def socket_id(self) -> str:
        return str(self.established["socket_id"])

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            frame: dict[str, Any] = json.loads(await self.ws.recv())
        return frame

    async def recv_event(self, event: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next frame, which must be ``event``."""
        frame = await self.recv(timeout)
        assert frame["event"] == event, frame
        return frame

    async def nothing_pending(self) -> None:
        """Prove no frame is queued: a ping's pong must be the very next frame."""
        await self.send({"event": "pusher:ping", "data": {}})
        await self.recv_event("pusher:pong")

    async def closed(self, timeout: float = 5.0) -> int | None:
        """Wait for the connection to end; the close code received, or None (no frame)."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self.ws.recv()
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd is not None else None

    async def subscribe(
        self,
        channel: str,
        *,
        secret: str | None = None,
        key: str = "app-key",
        channel_data: dict[str, Any] | None = None,
    ) -> None:
        data: dict[str, Any] = {"channel": channel}
        encoded = json.dumps(channel_data) if channel_data is not None else None
        if secret is not None:
            data["auth"] = channel_auth(key, secret, self.socket_id, channel, encoded)
        if encoded is not None:
            data["channel_data"] = encoded
        await self.send({"event": "pusher:subscribe", "data": data})

    async def close(self) -> None:
        await self.ws.close()
