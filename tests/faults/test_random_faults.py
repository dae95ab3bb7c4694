"""A seeded sequence of random faults in a row against one long-lived client, on Soketi and on
the local server, over each transport.

The default run is short: 30 faults, on Soketi over picows and on the local server over
websockets (every kind once, then ten more to measure what each keeps; ``test_faults.py``
runs every kind on every server over both transports). ``scripts/faults`` runs a long one, on
all four pairs::

    REVERB_FAULTS=200 REVERB_FAULTS_SEED=7 .venv/bin/pytest tests/faults/test_random_faults.py

(The variables are read when the module is imported: the suite's autouse fixture hides
``REVERB_*`` variables from the tests themselves.)
"""

from __future__ import annotations

import os

import pytest

from tests.faults.conftest import SERVER_KINDS, TRANSPORTS, record_faults, server_name
from tests.faults.kinds import KINDS, random_faults
from tests.faults.scenario import MemoryCheckpoint, Scenario
from tests.support.soketi import ServerUnderTest

pytestmark = [pytest.mark.faults, pytest.mark.integration]

CI_PAIRS = {("soketi", "picows"), ("local", "websockets")}

FAULT_COUNT = int(os.environ.get("REVERB_FAULTS", "30"))
SEED = int(os.environ.get("REVERB_FAULTS_SEED", "20240611"))
MEMORY_BOUND = 64 * 1024
"""Client memory a run may keep beyond setup, on top of ``MEMORY_PER_FAULT`` per fault..."""
MEMORY_PER_FAULT = 2048
"""...and the most it may keep per fault once every kind ran once (measured: a few hundred
bytes, the socket ids the scenario records; a websocket connection kept per fault would be
about 11 kB)."""
WORST_SECONDS_PER_FAULT = 12
"""For the test's timeout only: a restart of Soketi on a loaded machine, checks included."""
PAIRS = [
    (server, transport)
    for server in SERVER_KINDS
    for transport in TRANSPORTS
    if "REVERB_FAULTS" in os.environ or (server, transport) in CI_PAIRS
]
"""Servers and transports the run covers: all of them in a long run (``REVERB_FAULTS`` set)."""


@pytest.mark.timeout(120 + FAULT_COUNT * WORST_SECONDS_PER_FAULT)
@pytest.mark.parametrize(("faults_server", "transport"), PAIRS, indirect=True)
async def test_random_faults_in_a_row(
    server: ServerUnderTest, transport: str, request: pytest.FixtureRequest
) -> None:
    faults = random_faults(FAULT_COUNT, SEED + TRANSPORTS.index(transport))  # one per transport
    async with Scenario(server, transport=transport, track_memory=True) as scenario:
        warm: MemoryCheckpoint | None = None
        for number, fault in enumerate(faults, 1):
            try:
                await scenario.inject(fault)
            except AssertionError as error:
                raise AssertionError(
                    f"fault {number} of {FAULT_COUNT} (seed {SEED}, {transport}) {fault}: {error}"
                ) from error
            if number == len(KINDS):  # every kind ran once: lazy imports and caches are done
                warm = scenario.memory()
        end = scenario.memory()
    assert scenario.baseline_memory is not None
    title = (
        f"{server_name(server)} over {transport}: {FAULT_COUNT} random faults in a row, seed {SEED}"
    )
    total, total_top = end.growth_since(scenario.baseline_memory)
    notes = [f"client memory: {total:+} bytes since setup"]
    per_fault, warm_top = 0.0, ""
    if warm is not None and end.faults > warm.faults:
        growth, warm_top = end.growth_since(warm)
        per_fault = growth / (end.faults - warm.faults)
        notes.append(f"client memory: {per_fault:+.0f} bytes per fault after {warm.faults}")
    record_faults(request.config, title, scenario.records, *notes)
    assert len(scenario.records) == FAULT_COUNT
    if len(KINDS) <= FAULT_COUNT:
        assert {record.kind for record in scenario.records} == set(KINDS)
    assert total < MEMORY_BOUND + MEMORY_PER_FAULT * FAULT_COUNT, total_top
    assert per_fault < MEMORY_PER_FAULT, warm_top
