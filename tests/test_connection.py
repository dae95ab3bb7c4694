"""Connection: the supervisor's handshake, retry and keepalive decisions, without sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from reverb import ConnectionError, ConnectionState, ReverbConfig
from reverb.connection import Connection
from reverb.protocol.session import PusherSession, SessionEvent
from reverb.transport import TransportOptions
from tests.support.fake_server import FakeServer, FakeSocket

pytestmark = pytest.mark.usefixtures("receive_path")


class Recorder:
    def __init__(self) -> None:
        self.events: list[SessionEvent] = []
        self.established: list[PusherSession] = []
        self.lost: list[ConnectionError | None] = []
        self.states: list[tuple[ConnectionState, ConnectionState]] = []


def make_connection(server: Any, recorder: Recorder, **settings: Any) -> Connection:
    config = ReverbConfig(
        **{
            "app_key": "app-key",
            "host": "127.0.0.1",
            "port": 6001,
            "scheme": "http",
            "reconnect_delay": 0.01,
            "reconnect_max_delay": 0.02,
            "connect_timeout": 1.0,
            **settings,
        }
    )
    return Connection(
        config,
        on_event=recorder.events.append,
        on_established=recorder.established.append,
        on_lost=recorder.lost.append,
        on_state_change=lambda previous, current: recorder.states.append((previous, current)),
        transport_factory=server.connect,
        random_fraction=lambda: 0.0,
    )


class SilentServer(FakeServer):
    """Accepts websockets but never establishes the Pusher connection."""

    async def connect(self, url: str, options: TransportOptions) -> FakeSocket:
        self.attempts += 1
        socket = FakeSocket(self, url, "1.1")
        self.sockets.append(socket)
        return socket


async def test_open_reports_states_and_session() -> None:
    recorder = Recorder()
    server = FakeServer()
    connection = make_connection(server, recorder)
    await connection.open()
    assert connection.state is ConnectionState.CONNECTED
    assert recorder.states == [
        (ConnectionState.INITIALIZED, ConnectionState.CONNECTING),
        (ConnectionState.CONNECTING, ConnectionState.CONNECTED),
    ]
    assert [session.socket_id for session in recorder.established] == [connection.socket_id]
    assert "connected" in repr(connection)
    await connection.close()
    assert recorder.states[-1] == (ConnectionState.CONNECTED, ConnectionState.DISCONNECTED)
    assert recorder.lost == [None]


async def test_a_server_that_never_establishes_times_out() -> None:
    server = SilentServer()
    connection = make_connection(server, Recorder(), connect_timeout=0.2)
    with pytest.raises(ConnectionError, match=r"within 0\.2 s"):
        await connection.open()
    assert connection.state is ConnectionState.FAILED
    assert all(not socket.open for socket in server.sockets)  # aborted, not leaked


async def test_a_close_during_the_handshake_is_retried() -> None:
    server = FakeServer()
    original = server.connect
    calls = 0

    async def flaky(url: str, options: TransportOptions) -> FakeSocket:
        nonlocal calls
        calls += 1
        socket = await original(url, options)
        if calls == 1:
            socket.inbox = asyncio.Queue()
            socket.drop(1006)
        return socket

    server.connect = flaky  # type: ignore[method-assign]
    recorder = Recorder()
    connection = make_connection(server, recorder)
    await connection.open()
    assert calls == 2
    assert (ConnectionState.CONNECTING, ConnectionState.UNAVAILABLE) in recorder.states
    await connection.close()


async def test_send_needs_a_connection() -> None:
    connection = make_connection(FakeServer(), Recorder())
    with pytest.raises(ConnectionError, match="not connected"):
        await connection.send("{}")


async def test_send_on_a_closed_socket_raises_connection_error() -> None:
    server = FakeServer()
    connection = make_connection(server, Recorder())
    await connection.open()
    server.current.open = False
    with pytest.raises(ConnectionError, match="closed while sending"):
        await connection.send('{"event":"x"}')
    await connection.close()


async def test_listener_exceptions_do_not_break_the_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = FakeServer()

    def explode(*args: Any) -> None:
        raise RuntimeError("listener bug")

    connection = Connection(
        ReverbConfig(app_key="k", host="h", scheme="http"),
        on_event=explode,
        on_established=explode,
        on_lost=explode,
        on_state_change=explode,
        transport_factory=server.connect,
    )
    await connection.open()
    server.current.push({"event": "E", "channel": "c", "data": "1"})
    server.current.push({"event": "pusher:ping"})
    await server.wait_for(lambda: bool(server.frames("pusher:pong")))
    assert connection.is_connected
    assert "listener bug" in caplog.text
    await connection.close()


async def test_reconnect_disabled_fails_after_a_drop() -> None:
    server = FakeServer()
    recorder = Recorder()
    connection = make_connection(server, recorder, reconnect=False)
    await connection.open()
    server.current.drop(None)
    with pytest.raises(ConnectionError, match="connection lost"):
        await asyncio.wait_for(connection.wait_closed(), 2)
    assert connection.state is ConnectionState.FAILED
    assert server.attempts == 1


async def test_reconnect_disabled_fails_the_first_attempt_at_once() -> None:
    server = FakeServer()
    server.unreachable = True
    connection = make_connection(server, Recorder(), reconnect=False, connect_timeout=5)
    with pytest.raises(ConnectionError, match="fake server down"):
        await connection.open()
    assert server.attempts == 1
    assert connection.state is ConnectionState.FAILED
