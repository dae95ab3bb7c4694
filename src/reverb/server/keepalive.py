"""Reverb's keepalive: a sweep every ``prune_interval`` pings inactive sockets, prunes stale ones.

Only sockets subscribed to a channel are checked. Inactive: silent for the app's
``ping_interval``. Stale: inactive and already pinged at an earlier sweep; it gets 4201 and is
dropped with no close frame (``reverb-protocol.md`` §2).
"""

from __future__ import annotations

import asyncio

from .state import ServerState

__all__ = ["sweep", "sweep_forever"]


def sweep(state: ServerState, now: float) -> None:
    """Prune stale sockets, then ping inactive ones (Reverb's minute job), as of ``now``."""
    for peer in list(state.peers.values()):
        manager = state.manager_of(peer.app)
        if peer.closed or not manager.is_subscribed(peer.socket_id):
            continue
        if now < peer.last_seen + peer.app.ping_interval:
            continue
        if peer.pinged:
            peer.send(state.frames.error(4201, "Pong reply not received in time"))
            manager.unsubscribe_all(peer)
            peer.terminate()
            continue
        peer.pinged = True
        if peer.uses_control_pings:
            peer.ping()  # a client that ever sent a control frame gets control pings
        else:
            peer.send(state.frames.ping())


async def sweep_forever(state: ServerState) -> None:
    """Sweep every ``prune_interval`` seconds, until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(state.config.prune_interval)
        sweep(state, loop.time())
