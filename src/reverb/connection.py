"""The websocket's lifecycle, executed: open, read, keep alive, sleep, reconnect.

:class:`Connection` runs one *supervisor* task per :meth:`Connection.open`. It decides nothing
itself; the core does:

* each socket gets a :class:`~reverb.protocol.link.Link` (its Pusher session and keepalive)
  and, once established, a :class:`~reverb.live_socket.LiveSocket` that serves it: every frame
  to ``Link.receive`` and its events to the owner's callbacks (``on_event``,
  ``on_channel_event``, which must be quick), the keepalive's timer (a socket declared dead
  ends with 4201);
* after every failed attempt or lost socket, :class:`~reverb.protocol.reconnect.ReconnectPlan`
  says reconnect now, after a delay, or give up with this error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

from .config import ReverbConfig
from .exceptions import ConnectionError
from .live_socket import LiveSocket
from .messages import Event
from .protocol.actions import SendFrame
from .protocol.failures import (
    ClosedBeforeEstablished,
    ConnectTimedOut,
    HandshakeTimedOut,
    SendFailed,
    to_exception,
)
from .protocol.keepalive import PONG_TIMEOUT_CODE
from .protocol.link import Link
from .protocol.reconnect import GiveUp, ReconnectPlan, RetryAfter
from .protocol.session import Established, HandshakeFailed, PusherSession, SessionEvent
from .protocol.state import ConnectionState, check_transition
from .transport import (
    Transport,
    TransportClosed,
    TransportFactory,
    TransportOptions,
    deliver_frames,
    transport_factory_for,
)

__all__ = ["PONG_TIMEOUT_CODE", "Connection"]

logger = logging.getLogger("reverb.connection")

StateListener = Callable[[ConnectionState, ConnectionState], None]


class Connection:
    """One client's websocket, kept open across drops.

    Args:
        config: the settings (URL, timeouts, back-off).
        on_event: receives every protocol event of every socket, in order; must not block.
        on_channel_event: receives the :class:`~reverb.messages.Event` s among them instead,
            when given (the hot path skips a call).
        on_established: called with the new session each time a socket is established.
        on_lost: called with the reason each time an established socket ends (``None`` when
            :meth:`close` ended it).
        on_state_change: called with ``(previous, current)`` on every state change.
        transport_factory: opens websockets; by default the one the ``transport`` setting names.
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
        on_channel_event: Callable[[Event], None] | None = None,
        transport_factory: TransportFactory | None = None,
        transport_options: TransportOptions | None = None,
        random_fraction: Callable[[], float] = random.random,
    ) -> None:
        self._config = config
        self._on_event = on_event
        self._on_channel_event = on_channel_event or on_event
        self._on_established = on_established
        self._on_lost = on_lost
        self._on_state_change = on_state_change
        self._factory: TransportFactory = transport_factory or transport_factory_for(
            config.transport
        )
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
        self._frames_counted = 0
        """Frames read from sockets that have ended."""
        self._live: LiveSocket | None = None
        self.reconnects = 0
        """Sockets established after the first one of each :meth:`open`."""

    def __repr__(self) -> str:
        socket_id = self._session.socket_id if self._session else None
        return f"<Connection {self._state} socket_id={socket_id!r}>"

    # -- state ------------------------------------------------------------------------------

    @property
    def frames_received(self) -> int:
        """Frames read from the server over this object's life."""
        live = self._live
        return self._frames_counted + (0 if live is None else live.frames_received)

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
            address = f"{self._config.host}:{self._config.effective_port}"
            error = to_exception(ConnectTimedOut(address, self._config.connect_timeout, cause))
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
            raise to_exception(SendFailed(exc.code)) from exc

    # -- the supervisor -----------------------------------------------------------------------

    async def _supervise(self) -> None:
        """Open sockets and serve them until closed; every decision comes from the plan."""
        plan = ReconnectPlan(
            self._config.backoff(),
            reconnect=self._config.reconnect,
            random_fraction=self._random_fraction,
        )
        while not self._closing:
            self._set_state(ConnectionState.CONNECTING)
            try:
                transport, link = await self._open_socket()
            except ConnectionError as exc:
                self._last_error = exc
                logger.info("connection attempt failed: %s", exc)
                decision = plan.attempt_failed(exc)
            else:
                plan.established()
                self.reconnects += plan.established_count > 1
                code = await self._run_socket(transport, link)
                if self._closing:
                    return
                lost, decision = plan.socket_lost(code)
                self._last_error = lost
                logger.warning("%s", lost)
                self._set_state(ConnectionState.CONNECTING)
                self._notify_lost(lost)
            if isinstance(decision, GiveUp):
                self._fail(decision.error)
                return
            if isinstance(decision, RetryAfter):
                self._set_state(ConnectionState.UNAVAILABLE)
                logger.info("reconnecting in %.2f s (attempt %d)", decision.delay, decision.attempt)
                await asyncio.sleep(decision.delay)

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

    async def _open_socket(self) -> tuple[Transport, Link]:
        logger.debug("= connecting to %s", self._config.url)
        transport = await self._factory(self._config.url, self._options)
        link = Link(self._config.activity_timeout, self._config.pong_timeout)
        now = asyncio.get_running_loop().time
        try:
            async with asyncio.timeout(self._config.connect_timeout):
                while True:
                    event = link.receive(await transport.recv(), now())
                    if event.__class__ is SendFrame:
                        await transport.send(event.text)
                    elif isinstance(event, Established):
                        return transport, link
                    elif isinstance(event, HandshakeFailed):
                        raise to_exception(event)
        except TransportClosed as exc:
            transport.abort()
            raise to_exception(ClosedBeforeEstablished(exc.code)) from exc
        except TimeoutError as exc:
            transport.abort()
            raise to_exception(HandshakeTimedOut(self._config.connect_timeout)) from exc
        except BaseException:
            transport.abort()
            raise

    async def _run_socket(self, transport: Transport, link: Link) -> int | None:
        """Serve one established socket until it ends; return what its end means."""
        session = link.session
        self._transport = transport
        self._session = session
        self._set_state(ConnectionState.CONNECTED)
        logger.info("connected, socket_id %s", session.socket_id)
        outcome = self._first_outcome
        if outcome is not None and not outcome.done():
            outcome.set_result(None)
        try:
            self._on_established(session)
        except Exception:
            logger.exception("connection-established listener raised")
        live = self._live = LiveSocket(transport, link, self._on_event, self._on_channel_event)
        try:
            return link.close_code(await deliver_frames(transport, live.sink))
        finally:
            live.close()
            self._frames_counted += live.frames_received
            self._live = None
            self._transport = None
            self._session = None
