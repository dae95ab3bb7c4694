"""`reverb trigger` and `reverb listen` against each real server (Soketi and the local one)."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from reverb.cli import app
from tests.support.raw import RawSocket
from tests.support.settings import reverb_env, start_cli
from tests.support.soketi import ServerUnderTest

pytestmark = pytest.mark.integration


async def test_trigger_reaches_a_subscriber(server: ServerUnderTest) -> None:
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    await socket.subscribe("cli-orders")
    await socket.recv_event("pusher_internal:subscription_succeeded")
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["trigger", "cli-orders", "Shipped", '{"id": 3}'],
        env=reverb_env(server),
    )
    assert result.exit_code == 0, result.output
    assert json.loads((await socket.recv_event("Shipped"))["data"]) == {"id": 3}
    await socket.close()


async def test_listen_prints_whispers_with_their_sender(server: ServerUnderTest) -> None:
    process = await start_cli(server, "listen", "presence-cli", "--json", "--user-id", "cli")
    try:
        assert process.stderr is not None
        async with asyncio.timeout(10):
            while b"subscribed to presence-cli" not in await process.stderr.readline():
                pass
        socket = await RawSocket.open(server.host, server.port, server.app_key)
        await socket.subscribe(
            "presence-cli",
            secret=server.app_secret,
            key=server.app_key,
            channel_data={"user_id": "peer"},
        )
        await socket.recv_event("pusher_internal:subscription_succeeded")
        await socket.send({"event": "client-wave", "channel": "presence-cli", "data": {"hi": 1}})
        assert process.stdout is not None
        lines: list[dict[str, object]] = []
        async with asyncio.timeout(10):
            while not any(line["event"] == "client-wave" for line in lines):
                lines.append(json.loads(await process.stdout.readline()))
        wave = next(line for line in lines if line["event"] == "client-wave")
        assert wave == {
            "channel": "presence-cli",
            "event": "client-wave",
            "data": {"hi": 1},
            "user_id": "peer",
        }
        await socket.close()
    finally:
        process.terminate()
        await process.wait()
