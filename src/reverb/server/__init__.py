"""A local, Reverb-compatible Pusher protocol 7 server for development and tests.

Not for production: run Laravel Reverb itself (scaled with Redis) or Soketi there. This server
keeps everything in one process's memory. It exists so that Python developers can try, develop
and test against Reverb semantics with nothing but ``pip install python-reverb``.

::

    server = ReverbServer(ServerConfig(apps=[AppConfig(id="1", key="k", secret="s")]))
    async with server:
        print(server.url)       # ws://127.0.0.1:<port>
"""

from .config import AppConfig, ClientEventsFrom, Dialect, ServerConfig
from .server import ReverbServer
from .users import UserDirectory

__all__ = [
    "AppConfig",
    "ClientEventsFrom",
    "Dialect",
    "ReverbServer",
    "ServerConfig",
    "UserDirectory",
]
