"""One fault of each kind against a live session, on Soketi and on the local server, so that a
failure names the fault; and the terminal 4001 close."""

from __future__ import annotations

import asyncio
import random

import pytest

from reverb import ConnectionError, ConnectionState
from tests.faults.conftest import record_faults, server_name
from tests.faults.kinds import CLOSE_REASONS, KINDS
from tests.faults.scenario import Scenario
from tests.support.soketi import ServerUnderTest

pytestmark = [pytest.mark.faults, pytest.mark.integration]


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_recovers_from(
    server: ServerUnderTest, kind: str, request: pytest.FixtureRequest
) -> None:
    fault = KINDS[kind].draw(random.Random(kind))
    async with Scenario(server) as scenario:
        record = await scenario.inject(fault)
        # A second one in a row: the first left nothing behind that gets in the way.
        again = await scenario.inject(fault)
    assert (record.detection is None) == (not KINDS[kind].disruptive)
    assert (again.detection is None) == (not KINDS[kind].disruptive)
    record_faults(request.config, f"{server_name(server)}: one fault per test", [record, again])


async def test_close_4001_makes_the_client_give_up(server: ServerUnderTest) -> None:
    async with Scenario(server) as scenario:
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
