"""The websocket's lifecycle: connecting, keepalive, reconnecting with back-off.

:class:`Connection` runs one *supervisor* task per :meth:`Connection.open`. It opens a
transport, waits for ``pusher:connection_established``, then reads frames until the socket
ends, and decides from the close code (see :mod:`reverb.protocol.policy`) whether to give up,
reconnect at once, or back off first. A second task per live socket keeps it alive: after
``min(configured, server) activity_timeout`` of silence it sends ``pusher:ping``, and if
nothing at all arrives within ``pong_timeout`` it aborts the socket and reconnects at once.

Frames are turned into events by a fresh :class:`~reverb.protocol.session.PusherSession` per
socket, and each event is handed synchronously to the owner's ``on_event`` callback, which must
be quick: handlers run elsewhere (see :mod:`reverb.client`), so the read loop never waits on
them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Callable

from .config import ReverbConfig
from .exceptions import ConnectionError
from .protocol.keepalive import Keepalive, KeepaliveAction
from .protocol.policy import CloseAction, close_action
from .protocol.session import (
    Established,
    HandshakeFailed,
    PingReceived,
    PusherSession,
    SessionEvent,
)
from .protocol.state import ConnectionState, check_transition
from .transport import (
    Transport,
    TransportClosed,
    TransportFactory,
    TransportOptions,
    connect_websockets,
)

__all__ = ["Connection"]

logger = logging.getLogger("reverb.connection")

PONG_TIMEOUT_CODE = 4201
"""The code recorded when the server stops answering pings (Pusher's "pong not received")."""

StateListener = Callable[[ConnectionState, ConnectionState], None]


def _describe_code(code: int | None) -> str:
    return "no close frame" if code is None else f"code {code}"


class Connection:
    """One client's websocket, kept open across drops.

    Args:
        config: the settings (URL, timeouts, back-off).
        on_event: receives every protocol event of every socket, in order; must not block.
        on_established: called with the new session each time a socket is established.
        on_lost: called with the reason each time an established socket ends (``None`` when
            :meth:`close` ended it).
        on_state_change: called with ``(previous, current)`` on every state change.
        transport_factory: opens websockets; ``websockets`` by default.
        transport_options: TLS context, headers and limits for the transport.
        random_fraction: the jitter source, for repeatable tests.
    """

    def __init__(
        self,
        config: ReverbConfig,
        *,
        on_event: Callable[[SessionEvent], None],
        on_established: Callable[[PusherSession], None],
        on_lost: Callable[[ConnectionError | None], None],
        on_state_change: StateListener,
        transport_factory: TransportFactory | None = None,
        transport_options: TransportOptions | None = None,
        random_fraction: Callable[[], float] = random.random,
    ) -> None:
        self._config = config
        self._on_event = on_event
        self._on_established = on_established
        self._on_lost = on_lost
        self._on_state_change = on_state_change
        self._factory: TransportFactory = transport_factory or connect_websockets
        self._options = transport_options or TransportOptions(open_timeout=config.connect_timeout)
        self._random_fraction = random_fraction
        self._state = ConnectionState.INITIALIZED
        self._transport: Transport | None = None
        self._session: PusherSession | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._first_outcome: asyncio.Future[None] | None = None
        self._closing = False
        self._failure: ConnectionError | None = None
        self._last_error: ConnectionError | None = None
        self._pong_timed_out = False
        self.frames_received = 0
        """Frames read from the server over this object's life."""
        self.reconnects = 0
        """Sockets established after the first one."""

    def __repr__(self) -> str:
        socket_id = self._session.socket_id if self._session else None
        return f"<Connection {self._state} socket_id={socket_id!r}>"

    # -- state ------------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """The current :class:`ConnectionState`."""
        return self._state

    @property
    def session(self) -> PusherSession | None:
        """The protocol session of the established socket, if any."""
        return self._session if self._state is ConnectionState.CONNECTED else None

    @property
    def socket_id(self) -> str | None:
        """The server-assigned id of the established socket, if any."""
        session = self.session
        return session.socket_id if session else None

    @property
    def is_connected(self) -> bool:
        """Established, and the websocket itself still open.

        The websocket can close underneath (a reset the read loop has not seen yet), so this
        also asks the transport rather than trusting the state alone.
        """
        transport = self._transport
        return (
            self._state is ConnectionState.CONNECTED and transport is not None and transport.is_open
        )

    @property
    def failure(self) -> ConnectionError | None:
        """Why the connection gave up, once it has."""
        return self._failure

    def _set_state(self, new: ConnectionState) -> None:
        previous = self._state
        if previous is new:
            return
        self._state = check_transition(previous, new)
        logger.debug("= state %s -> %s", previous, new)
        try:
            self._on_state_change(previous, new)
        except Exception:
            logger.exception("state listener raised")

    # -- lifecycle --------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and wait until the server has established the connection.

        Transient failures are retried with back-off until ``connect_timeout`` runs out.

        Raises:
            ConnectionError: the server refused the client (for example 4001, unknown app
                key), or no connection was established within ``connect_timeout``.
        """
        if self._supervisor is not None and not self._supervisor.done():
            if self._first_outcome is not None:
                await asyncio.shield(self._first_outcome)
            return
        loop = asyncio.get_running_loop()
        self._closing = False
        self._failure = None
        self._last_error = None
        self._first_outcome = loop.create_future()
        self._supervisor = loop.create_task(self._supervise(), name="reverb-connection")
        try:
            async with asyncio.timeout(self._config.connect_timeout):
                await asyncio.shield(self._first_outcome)
        except TimeoutError:
            cause = self._last_error
            await self._stop_supervisor()
            self._first_outcome.cancel()
            detail = f": {cause}" if cause else ""
            error = ConnectionError(
                f"not connected to {self._config.host}:{self._config.effective_port} within "
                f"{self._config.connect_timeout} s{detail}",
                code=cause.code if cause else None,
            )
            self._fail(error)
            raise error from cause
        except BaseException:
            if self._failure is None:
                await self.close()
            raise

    async def close(self) -> None:
        """Close the websocket politely and stop reconnecting. Safe to call at any time."""
        self._closing = True
        was_connected = self._state is ConnectionState.CONNECTED
        transport = self._transport
        if transport is not None:
            with contextlib.suppress(Exception):
                await transport.close()
        await self._stop_supervisor()
        self._transport = None
        self._session = None
        if self._first_outcome is not None and not self._first_outcome.done():
            self._first_outcome.set_exception(ConnectionError("connection closed while opening"))
            self._first_outcome.exception()  # retrieved: nobody else may be waiting
        if self._state is not ConnectionState.FAILED:
            self._set_state(ConnectionState.DISCONNECTED)
        if was_connected:
            self._notify_lost(None)

    async def _stop_supervisor(self) -> None:
        self._closing = True
        supervisor = self._supervisor
        if supervisor is not None and not supervisor.done():
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor

    async def wait_closed(self) -> None:
        """Wait until the connection ends for good.

        Returns after :meth:`close`; raises the reason if it gave up.

        Raises:
            ConnectionError: refused by the server, or reconnect attempts exhausted.
        """
        supervisor = self._supervisor
        if supervisor is not None and not supervisor.done():
            await asyncio.wait([supervisor])
        if self._failure is not None:
            raise self._failure

    async def send(self, frame: str) -> None:
        """Send one text frame on the established socket.

        Raises:
            ConnectionError: not connected, or the socket closed while sending.
        """
        transport = self._transport
        if transport is None or self._state is not ConnectionState.CONNECTED:
            raise ConnectionError(f"not connected (state: {self._state})")
        try:
            await transport.send(frame)
        except TransportClosed as exc:
            raise ConnectionError(
                f"connection closed while sending ({_describe_code(exc.code)})", code=exc.code
            ) from exc

    # -- the supervisor -----------------------------------------------------------------------

    async def _supervise(self) -> None:
        backoff = self._config.backoff()
        attempt = 0
        established_before = False
        while not self._closing:
            self._set_state(ConnectionState.CONNECTING)
            try:
                transport, session = await self._open_socket()
            except ConnectionError as exc:
                self._last_error = exc
                logger.info("connection attempt failed: %s", exc)
                if close_action(exc.code) is CloseAction.REFUSED:
                    self._fail(exc)
                    return
                if not self._config.reconnect:
                    self._fail(exc)
                    return
            else:
                attempt = 0
                if established_before:
                    self.reconnects += 1
                established_before = True
                code = await self._run_socket(transport, session)
                if self._closing:
                    return
                lost = ConnectionError(f"connection lost ({_describe_code(code)})", code=code)
                self._last_error = lost
                logger.warning("%s", lost)
                self._set_state(ConnectionState.CONNECTING)
                self._notify_lost(lost)
                action = close_action(code)
                if action is CloseAction.REFUSED or not self._config.reconnect:
                    self._fail(lost)
                    return
                if action is CloseAction.RETRY_NOW:
                    continue
            if backoff.exhausted(attempt):
                self._fail(
                    ConnectionError(
                        f"gave up after {attempt} reconnect attempts: {self._last_error}",
                        code=self._last_error.code if self._last_error else None,
                    )
                )
                return
            delay = backoff.delay(attempt, self._random_fraction)
            attempt += 1
            self._set_state(ConnectionState.UNAVAILABLE)
            logger.info("reconnecting in %.2f s (attempt %d)", delay, attempt)
            await asyncio.sleep(delay)

    def _fail(self, error: ConnectionError) -> None:
        self._failure = error
        self._set_state(ConnectionState.FAILED)
        logger.error("connection failed: %s", error)
        outcome = self._first_outcome
        if outcome is not None and not outcome.done():
            outcome.set_exception(error)

    def _notify_lost(self, error: ConnectionError | None) -> None:
        try:
            self._on_lost(error)
        except Exception:
            logger.exception("connection-lost listener raised")

    async def _open_socket(self) -> tuple[Transport, PusherSession]:
        logger.debug("= connecting to %s", self._config.url)
        transport = await self._factory(self._config.url, self._options)
        session = PusherSession()
        try:
            async with asyncio.timeout(self._config.connect_timeout):
                while True:
                    event = session.receive(await transport.recv())
                    if isinstance(event, Established):
                        return transport, session
                    if isinstance(event, HandshakeFailed):
                        raise ConnectionError(
                            f"server refused the connection: {event.message}"
                            + (f" ({event.code})" if event.code is not None else ""),
                            code=event.code,
                        )
                    if isinstance(event, PingReceived):
                        await transport.send(session.pong_frame())
        except TransportClosed as exc:
            transport.abort()
            raise ConnectionError(
                f"websocket closed before the connection was established "
                f"({_describe_code(exc.code)})",
                code=exc.code,
            ) from exc
        except TimeoutError as exc:
            transport.abort()
            raise ConnectionError(
                f"no pusher:connection_established within {self._config.connect_timeout} s"
            ) from exc
        except BaseException:
            transport.abort()
            raise

    async def _run_socket(self, transport: Transport, session: PusherSession) -> int | None:
        """Serve one established socket until it ends; return its close code."""
        loop = asyncio.get_running_loop()
        self._transport = transport
        self._session = session
        self._pong_timed_out = False
        self._set_state(ConnectionState.CONNECTED)
        logger.info("connected, socket_id %s", session.socket_id)
        outcome = self._first_outcome
        if outcome is not None and not outcome.done():
            outcome.set_result(None)
        try:
            self._on_established(session)
        except Exception:
            logger.exception("connection-established listener raised")
        interval = min(self._config.activity_timeout, session.activity_timeout or math.inf)
        keepalive = Keepalive(interval, self._config.pong_timeout, loop.time())
        keepalive_task = loop.create_task(
            self._keep_alive(transport, session, keepalive), name="reverb-keepalive"
        )
        try:
            return await self._read(transport, session, keepalive)
        finally:
            keepalive_task.cancel()
            session.close()
            self._transport = None
            self._session = None

    async def _read(
        self, transport: Transport, session: PusherSession, keepalive: Keepalive
    ) -> int | None:
        now = asyncio.get_running_loop().time
        recv = transport.recv
        receive = session.receive
        activity = keepalive.activity
        on_event = self._on_event
        while True:
            try:
                text = await recv()
            except TransportClosed as exc:
                return PONG_TIMEOUT_CODE if self._pong_timed_out else exc.code
            self.frames_received += 1
            activity(now())
            event = receive(text)
            if event is None:
                continue
            if event.__class__ is PingReceived:
                with contextlib.suppress(TransportClosed):
                    await transport.send(session.pong_frame())
                continue
            try:
                on_event(event)
            except Exception:
                logger.exception("event listener raised on %r", event)

    async def _keep_alive(
        self, transport: Transport, session: PusherSession, keepalive: Keepalive
    ) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # While a ping is out, also wake after one activity period: if the reply came
            # early, the next ping is due from then, not from the end of the pong timeout.
            now = loop.time()
            wake = min(keepalive.deadline(), now + keepalive.activity_timeout)
            await asyncio.sleep(max(0.0, wake - now))
            action = keepalive.poll(loop.time())
            if action is KeepaliveAction.SEND_PING:
                logger.debug("> pusher:ping after %.1f s of silence", keepalive.activity_timeout)
                try:
                    await transport.send(session.ping_frame())
                except TransportClosed:
                    return
            elif action is KeepaliveAction.DEAD:
                logger.warning(
                    "no reply within %.1f s of a ping: dropping the connection",
                    keepalive.pong_timeout,
                )
                self._pong_timed_out = True
                transport.abort()
                return
