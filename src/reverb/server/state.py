"""What the running server knows: its configuration, each app's channels, the connected sockets.

Shared by the websocket endpoint, the HTTP API and the keepalive sweeps; owned by
:class:`~reverb.server.server.ReverbServer`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .channels import ChannelManager
from .config import AppConfig, ServerConfig
from .frames import FrameWriter
from .peer import ServerPeer

__all__ = ["ServerState"]


@dataclass(eq=False)
class ServerState:
    """The server's state; built empty from its configuration."""

    config: ServerConfig
    frames: FrameWriter = field(init=False)
    managers: dict[str, ChannelManager] = field(init=False)
    """Channels per app id."""
    peers: dict[str, ServerPeer] = field(default_factory=dict)
    """Established sockets by socket id."""

    def __post_init__(self) -> None:
        self.frames = FrameWriter(self.config.dialect)
        self.managers = {app.id: ChannelManager(app, self.frames) for app in self.config.apps}

    def manager(self, app_id: str | None = None) -> ChannelManager:
        """The channels of an app (the first app by default)."""
        return self.managers[app_id or self.config.apps[0].id]

    def manager_of(self, app: AppConfig) -> ChannelManager:
        """The channels of ``app``."""
        return self.managers[app.id]

    def connection_count(self, app: AppConfig) -> int:
        """Sockets of ``app`` subscribed to at least one channel (Reverb's count)."""
        manager = self.managers[app.id]
        return sum(
            1
            for peer in self.peers.values()
            if peer.app is app and manager.is_subscribed(peer.socket_id)
        )
