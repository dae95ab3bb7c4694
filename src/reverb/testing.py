"""Test helpers: the local server on a background thread, usable from sync and async tests.

:class:`BackgroundServer` runs a :class:`~reverb.server.ReverbServer` on its own thread and event
loop, so a test's own loop (pytest-asyncio, anyio, or none) is never involved, and the server can
be stopped and started again on the same port to simulate a crash and a restart. The pytest
plugin (:mod:`reverb.pytest_plugin`) builds its fixtures on it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from .server import AppConfig, ClientEventsFrom, Dialect, ReverbServer, ServerConfig
from .server.broadcasting import AUTH_PATH, USER_AUTH_PATH, encrypted_payload
from .server.channels import ChannelManager
from .server.config import decode_master_key
from .server.users import UserDirectory

__all__ = ["BackgroundServer"]

T = TypeVar("T")


class BackgroundServer:
    """A local Reverb-compatible server on a background thread.

    Args:
        app_id, app_key, app_secret: the single app it serves.
        dialect: ``"reverb"`` (default) or ``"soketi"``.
        accept_client_events_from: ``"members"`` (default), ``"all"`` or ``"none"``.
        host: interface to listen on.
        port: 0 picks a free port once; restarts reuse it.
        ping_interval, prune_interval: keepalive timings, in seconds.
        users: the users of the ``/broadcasting/auth`` stand-in: a users file's path, its
            ``{"users": [...]}`` content or just the list (see :mod:`reverb.server.users`).
        encryption_master_key_base64: the app's encryption master key; with it,
            ``/broadcasting/auth`` hands out ``shared_secret`` s and :meth:`trigger` encrypts
            on ``private-encrypted-`` channels, as Laravel does.
    """

    def __init__(
        self,
        *,
        app_id: str = "app-id",
        app_key: str = "app-key",
        app_secret: str = "app-secret",
        dialect: Dialect | str = Dialect.REVERB,
        accept_client_events_from: ClientEventsFrom | str = ClientEventsFrom.MEMBERS,
        host: str = "127.0.0.1",
        port: int = 0,
        ping_interval: float = 60.0,
        prune_interval: float = 60.0,
        users: UserDirectory | str | Path | Sequence[Any] | dict[str, Any] | None = None,
        encryption_master_key_base64: str | None = None,
    ) -> None:
        self.app = AppConfig(
            id=app_id,
            key=app_key,
            secret=app_secret,
            ping_interval=ping_interval,
            accept_client_events_from=ClientEventsFrom(accept_client_events_from),
            encryption_master_key=(
                None
                if encryption_master_key_base64 is None
                else decode_master_key(encryption_master_key_base64)
            ),
        )
        self.users = UserDirectory.of(users if users is not None else [])
        """The users ``/broadcasting/auth`` knows (see :meth:`issue_token`)."""
        self._config = ServerConfig(
            apps=[self.app],
            host=host,
            port=port,
            dialect=Dialect(dialect),
            prune_interval=prune_interval,
            users=self.users,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: ReverbServer | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<BackgroundServer {self._config.dialect} {self.host}:{self.port} {state}>"

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._server is not None

    def start(self) -> None:
        """Start listening (again, on the same port after :meth:`stop`)."""
        if self._server is not None:
            return
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="reverb-server", daemon=True)
            thread.start()
            self._loop, self._thread = loop, thread
        server = ReverbServer(self._config)
        self._call(server.start())
        self._server = server
        if self._config.port == 0:  # keep the port for restarts
            self._config = dataclasses.replace(self._config, port=server.port)

    def stop(self) -> None:
        """Stop listening and drop every client with no close frame, like a crash."""
        server, self._server = self._server, None
        if server is not None:
            self._call(server.stop())

    kill = stop
    """Alias of :meth:`stop`: clients see their TCP connection drop."""

    def restart(self) -> None:
        """Stop, then start again on the same port (state is lost, as with Reverb)."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and its thread."""
        self.stop()
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()

    def _call(self, coroutine: Awaitable[T], timeout: float = 10.0) -> T:
        assert self._loop is not None, "the server is closed"

        async def run() -> T:
            return await coroutine

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def _on_loop(self, function: Callable[[ReverbServer], T]) -> T:
        server = self._server
        if server is None:
            raise RuntimeError("the server is not running")

        async def run() -> T:
            return function(server)

        return self._call(run())

    # -- where it is ----------------------------------------------------------------------------

    @property
    def host(self) -> str:
        """Listening host."""
        return self._config.host

    @property
    def port(self) -> int:
        """Listening port."""
        return self._server.port if self._server is not None else self._config.port

    @property
    def app_id(self) -> str:
        """The app id."""
        return self.app.id

    @property
    def app_key(self) -> str:
        """The app key."""
        return self.app.key

    @property
    def app_secret(self) -> str:
        """The app secret."""
        return self.app.secret

    @property
    def http_url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://{self.host}:{self.port}"

    @property
    def auth_url(self) -> str:
        """The Laravel ``/broadcasting/auth`` stand-in's URL (see :meth:`token_for`)."""
        return f"{self.http_url}{AUTH_PATH}"

    @property
    def user_auth_url(self) -> str:
        """The ``/broadcasting/user-auth`` stand-in's URL (pusher-js ``signin()``)."""
        return f"{self.http_url}{USER_AUTH_PATH}"

    def token_for(self, user_id: object) -> str:
        """A bearer token that authorizes as ``user_id`` at :attr:`auth_url`.

        The user's token from the users file or marker, or a new one.

        Raises:
            KeyError: no such user (:meth:`issue_token` creates users).
        """
        if self.users.by_id(user_id) is None:
            raise KeyError(f"no user {user_id!r} (use issue_token to create one)")
        return self.issue_token(user_id)

    def issue_token(
        self, user_id: object, *, channels: Sequence[object] = (), info: Any = None
    ) -> str:
        """A bearer token for ``user_id``, creating the user if needed.

        Args:
            user_id: the user (``user_id`` on presence channels, as a string).
            channels: channel patterns to allow them, Laravel-style: ``"orders.{id}"``,
                ``"private-orders.*"``, or ``{"pattern": ..., "info": {...}}``.
            info: their presence ``user_info`` (replaces any earlier one).
        """

        def issue() -> str:
            return self.users.issue_token(user_id, channels=channels, info=info)

        if self._server is None:
            return issue()
        return self._on_loop(lambda server: issue())

    def client_settings(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for ``ReverbClient(**...)`` pointing at this server."""
        return {
            "app_key": self.app_key,
            "app_secret": self.app_secret,
            "app_id": self.app_id,
            "host": self.host,
            "port": self.port,
            "scheme": "http",
            **overrides,
        }

    # -- driving and inspecting -----------------------------------------------------------------

    def trigger(self, channel: str, event: str, data: Any = None) -> None:
        """Broadcast ``event`` with ``data`` (JSON-encoded, as Laravel does) to ``channel``.

        On a ``private-encrypted-`` channel, when the app has an encryption master key, the
        payload goes out encrypted with the channel's shared secret, as the official server
        SDKs send it.
        """
        payload = data if isinstance(data, str) else json.dumps(data)
        payload = encrypted_payload(self.app, channel, payload)
        self._on_loop(lambda server: server.trigger(channel, event, payload))

    def channels(self) -> dict[str, int]:
        """Occupied channels and how many sockets are on each."""
        return self._on_loop(
            lambda server: {
                channel.name: len(channel.subscriptions) for channel in _manager(server)
            }
        )

    async def subscribed(self, channel: str, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until ``channel`` has at least ``count`` subscribed sockets.

        Use it before triggering, when the code under test subscribes in the background.

        Raises:
            TimeoutError: not within ``timeout`` seconds.
        """
        async with asyncio.timeout(timeout):
            while self.channels().get(channel, 0) < count:  # noqa: ASYNC110 - other thread
                await asyncio.sleep(0.01)

    def members(self, channel: str) -> dict[str, Any]:
        """``user_id -> user_info`` of a presence channel (empty when unoccupied)."""

        def read(server: ReverbServer) -> dict[str, Any]:
            state = _manager(server).channels.get(channel)
            return state.members() if state is not None else {}

        return self._on_loop(read)

    def socket_ids(self) -> list[str]:
        """Ids of the connected clients."""
        return self._on_loop(lambda server: list(server.peers))

    def received(self, socket_id: str) -> list[str]:
        """Every message a client sent, in order."""
        return self._on_loop(lambda server: list(server.peers[socket_id].received))

    def drop(self, socket_id: str) -> None:
        """Drop one client's connection with no close frame (a network reset)."""
        self._on_loop(lambda server: server.drop(socket_id))

    def stall(self, socket_id: str, stalled: bool = True) -> None:
        """Make the server ignore a client and send it nothing (a half-open connection)."""
        self._on_loop(lambda server: server.stall(socket_id, stalled))

    def sweep(self) -> None:
        """Run one keepalive sweep now (ping inactive clients, prune stale ones)."""
        self._on_loop(lambda server: server.sweep(asyncio.get_running_loop().time()))


def _manager(server: ReverbServer) -> ChannelManager:
    return server.manager()
