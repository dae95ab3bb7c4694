"""``reverb demo``: everything python-reverb does, end to end, with nothing else running.

It starts the local server in-process on a free port, then: Alice subscribes to a public, a
private and a presence channel; Bob joins the presence channel; the "Laravel app" publishes
OrderShipped through the signed HTTP API; Bob whispers; Bob leaves. Each arrival is shown.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

from .api import ApiClient
from .channels import PresenceChannel
from .client import ReverbClient
from .config import ReverbConfig
from .exceptions import ReverbError
from .messages import Event
from .protocol.presence import Member
from .server import AppConfig, ReverbServer, ServerConfig

__all__ = ["DemoFailed", "run_demo"]

STEP_TIMEOUT = 10.0


class DemoFailed(ReverbError):
    """A step of the demo did not happen in time."""


async def _expect(queue: asyncio.Queue[Event], what: str) -> Event:
    try:
        async with asyncio.timeout(STEP_TIMEOUT):
            return await queue.get()
    except TimeoutError:
        raise DemoFailed(f"no {what} within {STEP_TIMEOUT} s") from None


async def run_demo(say: Callable[[str], None] = print) -> None:
    """Run the demo, reporting each step through ``say``.

    Raises:
        DemoFailed: an expected event did not arrive.
    """
    app = AppConfig(id="demo-app", key="demo-key", secret=secrets.token_hex(16))
    async with ReverbServer(ServerConfig(apps=[app], port=0)) as server:
        config = ReverbConfig(
            _env_file=None,
            app_id=app.id,
            app_key=app.key,
            app_secret=app.secret,
            host=server.host,
            port=server.port,
            scheme="http",
            path="",
        )
        say(f"[bold]Local Reverb-compatible server[/] listening on {server.url}")
        inbox: asyncio.Queue[Event] = asyncio.Queue()

        say("\n[bold][1][/] Alice connects and subscribes to three channels")
        async with ReverbClient(config) as alice, ApiClient(config) as api:
            say(f"  alice  connected, socket_id {alice.socket_id}")
            orders = await alice.subscribe("orders")
            private = await alice.subscribe("private-orders.42")
            room = await alice.subscribe(
                "presence-support", user_data={"user_id": "1", "user_info": {"name": "Alice"}}
            )
            assert isinstance(room, PresenceChannel)
            for channel in (orders, private):
                channel.bind("OrderShipped", inbox.put_nowait)
            for name in ("pusher:member_added", "pusher:member_removed", "client-typing"):
                room.bind(name, inbox.put_nowait)
            say(f"  alice  subscribed to {', '.join(alice.channels)}")
            say(f"  alice  presence members: {dict(room.members)}")

            say("\n[bold][2][/] Bob joins the presence channel")
            async with ReverbClient(config) as bob:
                bob_room = await bob.subscribe(
                    "presence-support", user_data={"user_id": "2", "user_info": {"name": "Bob"}}
                )
                joined = await _expect(inbox, "member_added")
                assert isinstance(joined.data, Member)
                say(f"  alice  saw user {joined.data.user_id} join; members: {dict(room.members)}")

                say("\n[bold][3][/] The app publishes OrderShipped through the signed HTTP API")
                await api.trigger(["orders", "private-orders.42"], "OrderShipped", {"id": 42})
                for _ in range(2):
                    shipped = await _expect(inbox, "OrderShipped")
                    say(f"  alice  {shipped.name} on {shipped.channel}: {shipped.data}")

                say("\n[bold][4][/] Bob whispers on the presence channel")
                await bob_room.trigger("client-typing", {"typing": True})
                whisper = await _expect(inbox, "whisper")
                say(f"  alice  heard {whisper.name} {whisper.data} from user {whisper.user_id}")

                say("\n[bold][5][/] Bob leaves")
            left = await _expect(inbox, "member_removed")
            assert isinstance(left.data, Member)
            say(f"  alice  saw user {left.data.user_id} leave; members: {dict(room.members)}")
    say("\n[green]Demo complete:[/] public, private and presence channels, HTTP events, whispers.")
