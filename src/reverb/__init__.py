"""python-reverb: an asyncio client for Laravel Reverb and other Pusher protocol 7 servers.

Quick start::

    from reverb import ReverbClient, Event

    async with ReverbClient() as client:          # REVERB_* settings from the env or .env
        orders = await client.subscribe("orders")

        @orders.on("OrderShipped")
        async def shipped(event: Event) -> None:
            print(event.data)

        await client.listen()

The names below are imported on first use (PEP 562), so that importing the sans-I/O core
(``reverb.protocol``, ``reverb.messages``, ``reverb.exceptions``) loads neither asyncio nor
any third-party package.
"""

import importlib as _importlib
import typing as _typing

from ._version import __version__

if _typing.TYPE_CHECKING:
    from .auth import Authenticator, Authorization, ChannelAuthenticator
    from .channels import (
        Channel,
        EncryptedChannel,
        PresenceChannel,
        PrivateChannel,
        PublicChannel,
        SubscriptionState,
    )
    from .client import ClientStats, ReverbClient
    from .config import ReverbConfig
    from .connection import Connection
    from .dispatch import Binding, Handler
    from .exceptions import (
        ApiError,
        AuthenticationError,
        AuthorizationFailed,
        ClientEventError,
        ConfigurationError,
        ConnectionError,
        DecryptionError,
        ProtocolError,
        ReverbError,
        SignInError,
        SubscriptionError,
    )
    from .http_auth import HttpAuthenticator
    from .messages import Event, Message
    from .protocol.presence import Member, Members
    from .protocol.state import ConnectionState
    from .transport import Transport, TransportOptions
    from .user import UserChannel

__all__ = [
    "ApiError",
    "AuthenticationError",
    "Authenticator",
    "Authorization",
    "AuthorizationFailed",
    "Binding",
    "Channel",
    "ChannelAuthenticator",
    "ClientEventError",
    "ClientStats",
    "ConfigurationError",
    "Connection",
    "ConnectionError",
    "ConnectionState",
    "DecryptionError",
    "EncryptedChannel",
    "Event",
    "Handler",
    "HttpAuthenticator",
    "Member",
    "Members",
    "Message",
    "PresenceChannel",
    "PrivateChannel",
    "ProtocolError",
    "PublicChannel",
    "ReverbClient",
    "ReverbConfig",
    "ReverbError",
    "SignInError",
    "SubscriptionError",
    "SubscriptionState",
    "Transport",
    "TransportOptions",
    "UserChannel",
    "__version__",
]

# Where each public name is defined, relative to this package; keep in step with the
# TYPE_CHECKING imports above (tests/test_exports.py checks that they agree).
_LAZY: dict[str, str] = {
    "ApiError": ".exceptions",
    "AuthenticationError": ".exceptions",
    "Authenticator": ".auth",
    "Authorization": ".auth",
    "AuthorizationFailed": ".exceptions",
    "Binding": ".dispatch",
    "Channel": ".channels",
    "ChannelAuthenticator": ".auth",
    "ClientEventError": ".exceptions",
    "ClientStats": ".client",
    "ConfigurationError": ".exceptions",
    "Connection": ".connection",
    "ConnectionError": ".exceptions",
    "DecryptionError": ".exceptions",
    "ConnectionState": ".protocol.state",
    "EncryptedChannel": ".channels",
    "Event": ".messages",
    "Handler": ".dispatch",
    "HttpAuthenticator": ".http_auth",
    "Member": ".protocol.presence",
    "Members": ".protocol.presence",
    "Message": ".messages",
    "PresenceChannel": ".channels",
    "PrivateChannel": ".channels",
    "ProtocolError": ".exceptions",
    "PublicChannel": ".channels",
    "ReverbClient": ".client",
    "ReverbConfig": ".config",
    "ReverbError": ".exceptions",
    "SignInError": ".exceptions",
    "SubscriptionError": ".exceptions",
    "SubscriptionState": ".channels",
    "Transport": ".transport",
    "TransportOptions": ".transport",
    "UserChannel": ".user",
}


if not _typing.TYPE_CHECKING:  # type checkers see the imports above, and flag unknown names

    def __getattr__(name: str) -> object:
        """Import a public name from its module on first use, then keep it here."""
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(_importlib.import_module(module, __name__), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    """The module's attributes, including the public names not imported yet."""
    return sorted({*globals(), *__all__})
