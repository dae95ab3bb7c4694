"""Connection states and the transitions allowed between them.

The names follow pusher-js so that dashboards and docs read the same::

    initialized ──connect──▶ connecting ──established──▶ connected
                                 │  ▲                        │
                      attempt    │  │ retry                  │ lost
                      failed     ▼  │                        ▼
                              unavailable ◀──────────── connecting
    refused / attempts exhausted ──▶ failed
    disconnect() from any state ──▶ disconnected ──connect──▶ connecting
"""

from __future__ import annotations

from enum import StrEnum

from ..exceptions import ReverbError

__all__ = [
    "NOT_STARTED",
    "ConnectionState",
    "InvalidTransition",
    "allowed_transitions",
    "check_transition",
]


class ConnectionState(StrEnum):
    """Where a client's connection stands."""

    INITIALIZED = "initialized"
    """Created, never connected."""
    CONNECTING = "connecting"
    """Opening a websocket and waiting for ``pusher:connection_established``."""
    CONNECTED = "connected"
    """Established: a socket id is known and channels can be (re)subscribed."""
    UNAVAILABLE = "unavailable"
    """The last attempt failed; waiting to retry."""
    FAILED = "failed"
    """Given up: the server refused the client, or reconnect attempts ran out."""
    DISCONNECTED = "disconnected"
    """Closed on request."""


_S = ConnectionState

NOT_STARTED = frozenset({_S.INITIALIZED, _S.DISCONNECTED, _S.FAILED})
"""States with no connection under way: nothing can be subscribed until ``connect()``."""

_TRANSITIONS: dict[ConnectionState, frozenset[ConnectionState]] = {
    _S.INITIALIZED: frozenset({_S.CONNECTING, _S.DISCONNECTED}),
    _S.CONNECTING: frozenset({_S.CONNECTED, _S.UNAVAILABLE, _S.FAILED, _S.DISCONNECTED}),
    _S.CONNECTED: frozenset({_S.CONNECTING, _S.FAILED, _S.DISCONNECTED}),
    _S.UNAVAILABLE: frozenset({_S.CONNECTING, _S.FAILED, _S.DISCONNECTED}),
    _S.FAILED: frozenset({_S.CONNECTING, _S.DISCONNECTED}),
    _S.DISCONNECTED: frozenset({_S.CONNECTING, _S.DISCONNECTED}),
}


class InvalidTransition(ReverbError, RuntimeError):
    """A state change a table does not allow (connection or subscription states): a bug in
    python-reverb, not in the caller.
    """


def check_transition(current: ConnectionState, new: ConnectionState) -> ConnectionState:
    """Return ``new`` if the table allows ``current`` → ``new``.

    Raises:
        InvalidTransition: it does not.
    """
    if new not in _TRANSITIONS[current]:
        raise InvalidTransition(f"connection cannot go from {current} to {new}")
    return new


def allowed_transitions(state: ConnectionState) -> frozenset[ConnectionState]:
    """The states ``state`` may move to."""
    return _TRANSITIONS[state]
