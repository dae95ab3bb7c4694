"""Fixtures of the fault-injection suite: one real server of each kind for the session, and a
summary of the measured detection and recovery times at the end of the run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reverb import compiled
from reverb.testing import BackgroundServer
from tests.faults.report import FaultRecord, summarize
from tests.support.soketi import ServerUnderTest, SoketiServer

SERVER_KINDS = ["soketi", "local"]
TRANSPORTS = ["websockets", "picows"]

_RECORDS = pytest.StashKey[dict[str, list[FaultRecord]]]()
_NOTES = pytest.StashKey[dict[str, list[str]]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: the fault-injection suite (a TCP fault proxy before real servers)"
    )


@pytest.fixture(scope="session", params=SERVER_KINDS)
def faults_server(request: pytest.FixtureRequest) -> Iterator[ServerUnderTest]:
    """A running Soketi, then a running local server (the restart fault restarts them)."""
    server: ServerUnderTest = SoketiServer() if request.param == "soketi" else BackgroundServer()
    with server:
        yield server


@pytest.fixture
def server(faults_server: ServerUnderTest) -> ServerUnderTest:
    """The session's server, started again if a failed test left it down."""
    faults_server.start()
    return faults_server


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The client's transport: every fault is injected under each of them.

    Over websockets the receive path runs in pure Python, over picows compiled
    (``reverb._speedups``), so every fault meets both.
    """
    if request.param == "picows":
        pytest.importorskip("picows")
    else:
        monkeypatch.setattr(compiled, "speedups", None)
    name: str = request.param
    return name


def server_name(server: ServerUnderTest) -> str:
    """``local`` or ``soketi``."""
    return "local" if isinstance(server, BackgroundServer) else "soketi"


def record_faults(
    config: pytest.Config, title: str, records: list[FaultRecord], *notes: str
) -> None:
    """Keep ``records`` (and lines of ``notes``) for the summary printed at the end of the
    pytest run, under ``title``."""
    config.stash.setdefault(_RECORDS, {}).setdefault(title, []).extend(records)
    config.stash.setdefault(_NOTES, {}).setdefault(title, []).extend(notes)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    tables = terminalreporter.config.stash.get(_RECORDS, {})
    if not tables:
        return
    terminalreporter.section("fault injection: detection and recovery times")
    notes = terminalreporter.config.stash.get(_NOTES, {})
    for title, records in tables.items():
        terminalreporter.write_line(summarize(records, title))
        for line in notes.get(title, []):
            terminalreporter.write_line(line)
        terminalreporter.write_line("")
