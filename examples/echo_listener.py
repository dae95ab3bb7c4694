"""Laravel Echo's API in Python: listen, notifications, presence and whispers with reverb.echo.

Self-contained by default: it starts python-reverb's local server in-process, publishes a few
events the way a Laravel app does, prints what each Echo callback gets, and exits:

    python examples/echo_listener.py

Against your Laravel app instead (REVERB_* from its .env; Ctrl+C to stop):

    python examples/echo_listener.py --laravel
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

from reverb import ReverbClient, ReverbConfig
from reverb.api import ApiClient
from reverb.echo import NOTIFICATION_EVENT, Echo
from reverb.testing import BackgroundServer
from reverb.to_others import socket_id_headers

ME = {"user_id": "1", "user_info": {"name": "Ada"}}


def show(what: str) -> Any:
    def callback(*args: Any) -> None:
        print(f"{what}: {', '.join(repr(arg) for arg in args)}", flush=True)

    return callback


def listen(echo: Echo) -> list[Any]:
    """What a page's Echo script would do; returns the channels, to await them."""
    orders = (
        echo.channel("orders")
        .listen("OrderShipped", show("OrderShipped"))  # App\Events\OrderShipped
        .listen(".price.changed", show("price.changed"))  # broadcastAs('price.changed')
    )
    user = echo.private("App.Models.User.1").notification(show("notification"))
    room = (
        echo.join("chat.1")
        .here(show("here"))
        .joining(show("joining"))
        .leaving(show("leaving"))
        .listen_for_whisper("typing", show("whisper typing"))
        .error(show("error"))
    )
    return [orders, user, room]


async def demo(server: BackgroundServer) -> None:
    config = ReverbConfig(
        app_id=server.app_id,
        app_key=server.app_key,
        app_secret=server.app_secret,
        host=server.host,
        port=server.port,
        scheme="http",
        _env_file=None,
    )
    async with ReverbClient(config) as client, ApiClient(config) as api:
        echo = Echo(client, user_data=ME)
        channels = listen(echo)
        for channel in channels:
            await channel  # wait until each subscription is confirmed
        bob_left = asyncio.Event()
        channels[-1].leaving(lambda info: bob_left.set())
        print("toOthers header:", socket_id_headers(echo) == {"X-Socket-ID": echo.socket_id()})

        # What Laravel broadcasts: class names without broadcastAs(), notifications...
        await api.trigger(["orders"], "App\\Events\\OrderShipped", {"id": 42})
        await api.trigger(["orders"], "price.changed", {"price": 9.5})
        notification = {"id": "0b5d", "type": "App\\Notifications\\InvoicePaid", "amount": 12}
        await api.trigger(["private-App.Models.User.1"], NOTIFICATION_EVENT, notification)

        # ...and another member who joins, whispers and leaves.
        async with ReverbClient(config) as other:
            bob = {"user_id": "2", "user_info": {"name": "Bob"}}
            room = await other.subscribe("presence-chat.1", user_data=bob)
            await room.trigger("client-typing", {"name": "Bob"})
        await asyncio.wait_for(bob_left.wait(), 5)  # the last thing to arrive
        await echo.leave_all_channels()


async def laravel() -> None:
    async with ReverbClient() as client:  # REVERB_* from the environment or .env
        listen(Echo(client, user_data=ME))
        await client.listen()


if __name__ == "__main__":
    if "--laravel" in sys.argv[1:]:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(laravel())
    else:
        with BackgroundServer() as running:
            asyncio.run(demo(running))
