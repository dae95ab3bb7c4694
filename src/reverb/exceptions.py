"""Every error python-reverb raises, under one root.

::

    ReverbError
    ├── ConfigurationError (also ValueError)   bad settings, channel names, event names, payloads
    ├── ConnectionError (also builtins.ConnectionError)
    │                                          could not connect, refused by the server (4000-4099),
    │                                          gave up reconnecting, or not connected when needed
    ├── AuthenticationError                    the authenticator could not authorize a channel
    ├── SubscriptionError                      the server refused a subscription, or it timed out
    │   └── AuthorizationFailed (also AuthenticationError)
    │                                          the subscription failed because its authorization
    │                                          did; ``__cause__`` is the authenticator's error
    ├── SignInError                            user sign-in (``pusher:signin``) failed, or the
    │                                          server does not support it (Reverb)
    ├── ClientEventError                       a client event that may not be sent (name, channel,
    │                                          not subscribed, too large)
    ├── ProtocolError                          the server sent something that is not protocol 7
    │   └── DecryptionError                    an encrypted event that the channel's key cannot open
    ├── ApiError                               the HTTP API (``reverb.api``) answered with an error
    ├── TransportClosed (reverb.transport)     raised by transports when the websocket is closed;
    │                                          the client turns it into ConnectionError or a
    │                                          reconnect, so only custom transports meet it
    ├── InvalidTransition (reverb.protocol.state, also RuntimeError)
    │                                          a state table lacks an entry: a bug in python-reverb
    └── DemoFailed (reverb.demo)               a step of ``reverb demo`` did not happen in time

:class:`ReverbError` itself is raised when the HTTP API cannot be reached.

Messages never contain the application secret, signatures or tokens.
"""

from __future__ import annotations

import builtins

__all__ = [
    "ApiError",
    "AuthenticationError",
    "AuthorizationFailed",
    "ClientEventError",
    "ConfigurationError",
    "ConnectionError",
    "DecryptionError",
    "ProtocolError",
    "ReverbError",
    "SignInError",
    "SubscriptionError",
]


class ReverbError(Exception):
    """Root of every exception raised by python-reverb."""


class ConfigurationError(ReverbError, ValueError):
    """A setting, channel name, event name or payload is invalid."""


class ConnectionError(ReverbError, builtins.ConnectionError):
    """The connection could not be made, was refused, or was given up.

    Attributes:
        code: the Pusher error or websocket close code behind the failure, when there is one
            (for example 4001 for an unknown application key).
    """

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class AuthenticationError(ReverbError):
    """The authenticator failed to produce an authorization for a channel.

    Attributes:
        channel: the channel that needed authorization.
        status: the HTTP status an authorization endpoint answered with (401, 403, 419, ...),
            or ``None``.
    """

    def __init__(
        self, message: str, *, channel: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.channel = channel
        self.status = status


class SubscriptionError(ReverbError):
    """The server refused a subscription, or confirmed none in time.

    Attributes:
        channel: the channel name.
        code: the Pusher error code (4009 for a rejected signature), or ``None``.
        status: the HTTP-like status Soketi reports in ``pusher:subscription_error``, or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        channel: str,
        code: int | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.channel = channel
        self.code = code
        self.status = status


class AuthorizationFailed(SubscriptionError, AuthenticationError):  # type: ignore[misc]  # channel: str narrows str | None
    """A subscription failed because its authorization did; the connection stays up.

    Raised by ``subscribe()`` with ``__cause__`` set to the authenticator's
    :class:`AuthenticationError`, whose (safe) message it repeats. It is both a
    :class:`SubscriptionError` and an :class:`AuthenticationError`, so either ``except``
    catches it.

    Attributes:
        channel: the channel name.
        code: always ``None`` (the server was never asked).
        status: the HTTP status behind the failure (from the cause), or ``None``.
    """

    def __init__(self, cause: AuthenticationError, *, channel: str) -> None:
        SubscriptionError.__init__(self, str(cause), channel=channel, status=cause.status)
        self.__cause__ = cause


class SignInError(ReverbError):
    """User sign-in (``pusher:signin``) failed.

    Attributes:
        code: the Pusher error code (4200 when the server, Laravel Reverb, does not support
            sign-in; 4009 when it refused the signature), or ``None``.
        status: the HTTP status of the user-authentication endpoint, when that failed.
    """

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class ClientEventError(ReverbError):
    """A client event was refused before anything was sent."""


class ProtocolError(ReverbError):
    """The server sent a message that does not follow the Pusher protocol."""


class ApiError(ReverbError):
    """The HTTP API answered with an error.

    Attributes:
        status: the HTTP status.
        body: the response text (servers never echo secrets in it).
    """

    def __init__(self, message: str, *, status: int, body: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class DecryptionError(ProtocolError):
    """An event on a ``private-encrypted-`` channel could not be decrypted with its key.

    Attributes:
        channel: the channel the event arrived on.
        event: the event's name.
    """

    def __init__(self, message: str, *, channel: str, event: str) -> None:
        super().__init__(message)
        self.channel = channel
        self.event = event
