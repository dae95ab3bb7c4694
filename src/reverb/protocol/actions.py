"""What the core asks the asyncio layer to do.

:class:`~reverb.protocol.machine.ClientProtocol` and :class:`~reverb.protocol.link.Link`
return these; the asyncio layer executes them in order and decides nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..exceptions import ReverbError
from ..messages import Event
from .session import Dropped
from .subscriptions import Subscription

__all__ = [
    "Action",
    "Authorize",
    "AuthorizeSignIn",
    "Deliver",
    "Dropped",
    "SendFrame",
    "Settled",
    "SignedIn",
]


@dataclass(frozen=True, slots=True)
class SendFrame:
    """Send this text frame on the current socket."""

    text: str


@dataclass(frozen=True, slots=True)
class Authorize:
    """Prepare the subscribe of ``subscription`` for ``socket_id`` (authorize it if it needs
    it), then report back with ``ClientProtocol.authorized`` or ``authorization_failed``,
    quoting ``attempt``.
    """

    subscription: Subscription
    socket_id: str
    attempt: int


@dataclass(frozen=True, slots=True)
class Deliver:
    """Hand this event to the handlers (its data is a snapshot, never live state)."""

    event: Event


@dataclass(frozen=True, slots=True)
class Settled:
    """The subscription of ``channel`` is settled: confirmed (``error`` is ``None``), refused,
    or left for good; wake whoever waits for it.
    """

    channel: str
    error: ReverbError | None = None


@dataclass(frozen=True, slots=True)
class AuthorizeSignIn:
    """Get the sign-in token (``auth`` and ``user_data``) for ``socket_id``, then report back
    with ``ClientProtocol.signin_authorized`` or ``signin_failed``, quoting ``attempt``.
    """

    socket_id: str
    attempt: int


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The sign-in is settled: signed in as ``user_id`` (``error`` is ``None``), or failed.

    ``user_data`` is the user as the server confirmed it (decoded), ``None`` on failure.
    """

    user_id: str | None
    user_data: Any = None
    error: ReverbError | None = None


Action = SendFrame | Authorize | Deliver | Settled | Dropped | AuthorizeSignIn | SignedIn
"""Everything the core may ask for; :class:`Dropped` means log and count a useless frame."""
