"""python-reverb: an asyncio client for Laravel Reverb and other Pusher protocol 7 servers.

Quick start::

    from reverb import ReverbClient, Event

    async with ReverbClient() as client:          # REVERB_* settings from the env or .env
        orders = await client.subscribe("orders")

        @orders.on("OrderShipped")
        async def shipped(event: Event) -> None:
            print(event.data)

        await client.listen()
"""

from ._version import __version__
from .auth import Authenticator, Authorization, ChannelAuthenticator
from .channels import Channel, PresenceChannel, PrivateChannel, PublicChannel, SubscriptionState
from .client import ClientStats, ReverbClient
from .config import ReverbConfig
from .connection import Connection
from .dispatch import Binding, Handler
from .exceptions import (
    AuthenticationError,
    ClientEventError,
    ConfigurationError,
    ConnectionError,
    ProtocolError,
    ReverbError,
    SubscriptionError,
)
from .messages import Event, Message
from .protocol.presence import Member, Members
from .protocol.state import ConnectionState
from .transport import Transport, TransportOptions

__all__ = [
    "AuthenticationError",
    "Authenticator",
    "Authorization",
    "Binding",
    "Channel",
    "ChannelAuthenticator",
    "ClientEventError",
    "ClientStats",
    "ConfigurationError",
    "Connection",
    "ConnectionError",
    "ConnectionState",
    "Event",
    "Handler",
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
    "SubscriptionError",
    "SubscriptionState",
    "Transport",
    "TransportOptions",
    "__version__",
]
