"""Carrying out what the core decides about subscriptions.

:class:`Subscriber` sits between the connection's read loop and the core's
:class:`~reverb.protocol.machine.ClientProtocol`. It feeds the core what happened and executes
the actions it returns, deciding nothing itself:

* ``Authorize``: call each channel's ``_subscribe(socket_id)`` (which asks the authenticator),
  many channels at once but at most :data:`AUTHORIZATION_CONCURRENCY`, and hand the results
  back to the core in the order they were asked for, so subscribes go out in registration order;
* ``SendFrame``: send it;
* ``Settled``: wake whoever waits in ``subscribe()``;
* ``Deliver``: queue the event for the dispatcher;
* ``Dropped``: count and log it;
* ``AuthorizeSignIn``: get the sign-in token from :attr:`Subscriber.signin_authorizer` and hand
  it back to the core; ``SignedIn``: tell :attr:`Subscriber.on_signed_in`.

The read path (:meth:`Subscriber.on_event`) never awaits: channel events go straight to the
dispatcher's queue, everything else through the core.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from .background import BackgroundTasks
from .channels import Channel
from .dispatcher import ClientStats, Dispatcher
from .exceptions import (
    AuthenticationError,
    AuthorizationFailed,
    ConnectionError,
    ReverbError,
    SignInError,
    SubscriptionError,
)
from .messages import Event
from .protocol.actions import (
    Action,
    Authorize,
    AuthorizeSignIn,
    Deliver,
    Dropped,
    SendFrame,
    Settled,
    SignedIn,
)
from .protocol.machine import ClientProtocol
from .protocol.session import PusherSession, SessionEvent

__all__ = ["AUTHORIZATION_CONCURRENCY", "SignInAuthorizer", "Subscriber"]

logger = logging.getLogger("reverb.client")

AUTHORIZATION_CONCURRENCY = 16
"""How many channels are authorized at once after a reconnect."""

SignInAuthorizer = Callable[[str], Awaitable[Mapping[str, Any]]]
"""Returns the ``pusher:signin`` data (``auth``, ``user_data``) for a socket id."""


class Subscriber:
    """Executes the core's subscription actions for one client.

    Args:
        core: the subscriptions and their state.
        channels: the channel objects by name (the handles of the core's records).
        dispatcher: where events for handlers go.
        stats: the client's counters.
        send: sends a frame on the current socket (raises ``ConnectionError`` without one).
    """

    __slots__ = (
        "_background",
        "_channels",
        "_core",
        "_dispatcher",
        "_send",
        "_stats",
        "on_signed_in",
        "signin_authorizer",
    )

    def __init__(
        self,
        core: ClientProtocol,
        channels: Mapping[str, Channel],
        dispatcher: Dispatcher,
        stats: ClientStats,
        send: Callable[[str], Awaitable[None]],
    ) -> None:
        self._core = core
        self._channels = channels
        self._dispatcher = dispatcher
        self._stats = stats
        self._send = send
        self._background = BackgroundTasks()
        """Authorizations and sign-ins in flight (made on the first)."""
        self.signin_authorizer: SignInAuthorizer | None = None
        """Gets the sign-in token (set by ``ReverbClient.signin``)."""
        self.on_signed_in: Callable[[SignedIn], None] | None = None
        """Told how each sign-in settled."""

    # -- what happened -------------------------------------------------------------------------

    def on_event(self, event: SessionEvent) -> None:
        """A protocol event from the read loop (never awaits)."""
        if event.__class__ is Event:
            self._dispatcher.put(event)
        else:
            self.apply(self._core.receive(event))

    def on_established(self, session: PusherSession) -> None:
        """A socket is established: every channel is subscribed again on it."""
        self.apply(self._core.established(session))

    def on_lost(self) -> None:
        """The socket is gone."""
        self._core.lost()

    def cancel(self) -> None:
        """Stop the authorizations in flight (the client is disconnecting)."""
        self._background.cancel()

    def start_task(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` (an authorization, a send) in a task of its own; :meth:`cancel` stops it."""
        self._background.start(work)

    # -- executing -----------------------------------------------------------------------------

    def apply(self, actions: list[Action]) -> list[str]:
        """Carry out ``actions``; return the frames among them, for the caller to send."""
        frames: list[str] = []
        requests: list[Authorize] = []
        for action in actions:
            if isinstance(action, Deliver):
                event = action.event
                if event.name == "pusher:error":
                    logger.warning("server error %s: %s", event.data["code"], event.data["message"])
                self._dispatcher.put(event)
            elif isinstance(action, Settled):
                self._settle(action)
            elif isinstance(action, Authorize):
                requests.append(action)
            elif isinstance(action, SendFrame):
                frames.append(action.text)
            elif isinstance(action, Dropped):
                self._stats.frames_dropped += 1
                logger.warning("dropped a frame: %s", action.reason)
            elif isinstance(action, AuthorizeSignIn):
                self.start_task(self._sign_in(action))
            elif isinstance(action, SignedIn):
                self._signed_in(action)
        if requests:
            self.start_task(self._authorize(requests))
        return frames

    def _signed_in(self, action: SignedIn) -> None:
        if action.error is None:
            logger.info("signed in as user %s", action.user_id)
        else:
            logger.error("%s", action.error)
        if self.on_signed_in is not None:
            self.on_signed_in(action)

    async def _sign_in(self, request: AuthorizeSignIn) -> None:
        authorizer = self.signin_authorizer
        try:
            if authorizer is None:
                raise SignInError("no sign-in authorizer is set")
            payload = await authorizer(request.socket_id)
            auth, user_data = payload.get("auth"), payload.get("user_data")
            if not isinstance(auth, str) or not isinstance(user_data, str):
                raise SignInError("the sign-in authorization has no string 'auth' and 'user_data'")
        except SignInError as exc:
            actions = self._core.signin_failed(request.attempt, exc)
        except Exception as exc:
            error = SignInError(
                str(exc)
                if isinstance(exc, ReverbError)
                else f"sign-in failed: {type(exc).__name__}",
                status=getattr(exc, "status", None),
            )
            error.__cause__ = exc
            actions = self._core.signin_failed(request.attempt, error)
        else:
            actions = self._core.signin_authorized(request.attempt, auth, user_data)
        try:
            await self._send_all(self.apply(actions), "pusher:signin", "")
        except ConnectionError:
            return  # the socket is gone; the next one signs in again

    async def _send_all(self, frames: list[str], event: str, detail: str) -> None:
        """Send ``frames`` (``event`` and ``detail`` name them in DEBUG logs).

        Raises:
            ConnectionError: the socket is gone.
        """
        for frame in frames:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("> %s %s", event, detail)
            await self._send(frame)

    def _settle(self, settled: Settled) -> None:
        if settled.error is None:
            logger.info("subscribed to %s", settled.channel)
        else:
            self._stats.subscription_errors += 1
            logger.error("%s", settled.error)
        channel = self._channels.get(settled.channel)
        if channel is not None:
            hold = channel._release_waiters(settled.error)
            if hold is not None:
                self._dispatcher.hold_until(hold)

    async def _authorize(self, requests: list[Authorize]) -> None:
        limit = asyncio.Semaphore(AUTHORIZATION_CONCURRENCY)
        prepared = [asyncio.ensure_future(self._prepare(request, limit)) for request in requests]
        try:
            for request, preparing in zip(requests, prepared, strict=True):
                frames = self.apply(await self._outcome(request, preparing))
                await self._send_all(frames, "pusher:subscribe", request.subscription.name)
        except ConnectionError:
            pass  # the socket is gone; the next one subscribes everything again
        finally:
            for preparing in prepared:
                if not preparing.done():
                    preparing.cancel()
                elif not preparing.cancelled():
                    preparing.exception()  # retrieved: results after a lost socket are moot

    async def _prepare(
        self, request: Authorize, limit: asyncio.Semaphore
    ) -> Mapping[str, str] | None:
        channel = self._channels.get(request.subscription.name)
        if channel is None or channel._subscription is not request.subscription:
            return None
        async with limit:
            return await channel._subscribe(request.socket_id)

    async def _outcome(
        self, request: Authorize, preparing: asyncio.Future[Mapping[str, str] | None]
    ) -> list[Action]:
        subscription, attempt = request.subscription, request.attempt
        try:
            payload = await preparing
        except AuthenticationError as exc:
            error: ReverbError = exc
            if not isinstance(exc, SubscriptionError):
                error = AuthorizationFailed(exc, channel=subscription.name)
            return self._core.authorization_failed(subscription, attempt, error)
        except ReverbError as exc:
            return self._core.authorization_failed(subscription, attempt, exc)
        except Exception as exc:
            logger.exception("subscribing %r raised", subscription.name)
            error = SubscriptionError(
                f"could not build the subscription of {subscription.name!r}: {type(exc).__name__}",
                channel=subscription.name,
            )
            return self._core.authorization_failed(subscription, attempt, error)
        if payload is None:
            return []
        return self._core.authorized(subscription, attempt, payload)
