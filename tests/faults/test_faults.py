"""One fault of each kind against a live session, on Soketi and on the local server, over each
transport, so that a failure names the fault; and the terminal 4001 close."""

from __future__ import annotations

import asyncio
import random

import pytest

from reverb import ConnectionError, ConnectionState
from reverb.transport import compiled_transport_installed
from tests.faults.conftest import record_faults, server_name
from tests.faults.kinds import CLOSE_REASONS, KINDS
from tests.faults.scenario import Scenario
from tests.support.soketi import ServerUnderTest

pytestmark = [pytest.mark.faults, pytest.mark.integration]

DEFAULT_TRANSPORT = "picows" if compiled_transport_installed() else "websockets"
"""The transport ``auto`` picks here."""


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_recovers_from(
    server: ServerUnderTest, transport: str, kind: str, request: pytest.FixtureRequest
) -> None:
    fault = KINDS[kind].draw(random.Random(kind))
    async with Scenario(server, transport=transport) as scenario:
        records = [await scenario.inject(fault)]
        if transport == DEFAULT_TRANSPORT:
            # A second one in a row: the first left nothing behind that gets in the way (the
            # core's business, the same over either transport; the random run mixes them too).
            records.append(await scenario.inject(fault))
    for record in records:
        assert (record.detection is None) == (not KINDS[kind].disruptive)
    title = f"{server_name(server)} over {transport}: one fault per test"
    record_faults(request.config, title, records)


async def test_close_4001_makes_the_client_give_up(server: ServerUnderTest, transport: str) -> None:
    async with Scenario(server, transport=transport) as scenario:
        client, proxy = scenario.client, scenario.proxy
        accepted = proxy.accepted
        mark = len(scenario.states)
        assert proxy.inject_close(4001, CLOSE_REASONS[4001]) == 1
        failed = await scenario.changed.wait_for(
            lambda: [c for c in scenario.states[mark:] if c.current is ConnectionState.FAILED],
            5,
        )
        assert len(failed) == 1
        assert client.state is ConnectionState.FAILED
        with pytest.raises(ConnectionError) as given_up:
            await asyncio.wait_for(client.listen(), 5)
        assert given_up.value.code == 4001
        await scenario.changed.wait_for(lambda: scenario.disconnects, 5)
        assert len(scenario.disconnects) == 1
        lost = scenario.disconnects[0]
        assert isinstance(lost, ConnectionError)
        assert lost.code == 4001
        assert all(c.current is not ConnectionState.CONNECTED for c in scenario.states[mark:])
        assert proxy.accepted == accepted  # not a single reconnect attempt
        await proxy.wait_for_open_pairs(0)
        assert not any(channel.subscribed for channel in client.channels.values())
        with pytest.raises(ConnectionError):
            await client.subscribe(f"{scenario.prefix}-after")
        assert client.state is ConnectionState.FAILED
