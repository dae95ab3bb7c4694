"""The narrow seam between python-reverb and a websocket library.

The connection needs five things from a websocket: open it, send text, receive text, close it
politely, abort it. :class:`Transport` names them; a :class:`PushTransport` can also hand
frames to a callback as it parses them (:func:`deliver_frames` reads either kind). Two
implementations ship:
:func:`connect_websockets` (the ``websockets`` library, always installed) and
:func:`reverb.transport.picows.connect_picows` (compiled, with the ``fast`` extra). The
``transport`` setting picks one (:func:`transport_factory_for`); any other implementation (a
scripted fake in tests) plugs in through ``ReverbClient(transport_factory=...)``. Library
exceptions are translated in each implementation's module and nowhere else.
"""

from __future__ import annotations

import importlib.util
from typing import Literal

from ..exceptions import ConfigurationError
from .base import (
    FrameSink,
    PushTransport,
    Transport,
    TransportClosed,
    TransportFactory,
    TransportOptions,
    deliver_frames,
)
from .websockets import WebsocketsTransport, connect_websockets

__all__ = [
    "FrameSink",
    "PushTransport",
    "Transport",
    "TransportClosed",
    "TransportFactory",
    "TransportName",
    "TransportOptions",
    "WebsocketsTransport",
    "connect_websockets",
    "deliver_frames",
    "transport_factory_for",
]

TransportName = Literal["auto", "websockets", "picows"]
"""The values of the ``transport`` setting."""


def compiled_transport_installed() -> bool:
    """Whether picows (the compiled transport of the ``fast`` extra) can be imported."""
    return importlib.util.find_spec("picows") is not None


def transport_factory_for(name: TransportName) -> TransportFactory:
    """The factory the ``transport`` setting names.

    ``"auto"`` is picows when it is installed, else ``websockets``.

    Raises:
        ConfigurationError: ``"picows"`` was asked for and is not installed.
    """
    if name == "websockets":
        return connect_websockets
    if not compiled_transport_installed():
        if name == "picows":
            raise ConfigurationError(
                'transport="picows" needs picows: pip install "python-reverb[fast]"'
            )
        return connect_websockets
    from .picows import connect_picows

    return connect_picows
