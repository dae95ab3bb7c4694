"""Listen to a Laravel app's broadcasts from Python.

Run it from the Laravel project's folder (it reads REVERB_* from .env), or export the variables:

    python examples/laravel_listener.py orders private-orders.1 presence-support.1

Private and presence channels are signed locally with REVERB_APP_SECRET. Stop with Ctrl+C.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from reverb import ConnectionError, Event, ReverbClient, ReverbError


def show(event: Event) -> None:
    who = f" from user {event.user_id}" if event.user_id else ""
    print(f"[{event.channel}] {event.name}{who}: {event.data}", flush=True)


async def listen(channels: list[str]) -> None:
    async with ReverbClient() as client:
        print(f"connected as socket {client.socket_id}")
        client.on_state_change(lambda previous, current: print(f"({previous} -> {current})"))
        for name in channels:
            user_data = {"user_id": "python-listener", "user_info": {"name": "Python"}}
            channel = await client.subscribe(
                name, user_data=user_data if name.startswith("presence-") else None
            )
            channel.bind_global(show)
            print(f"subscribed to {name}")
        await client.listen()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    channels = sys.argv[1:] or ["orders"]
    try:
        asyncio.run(listen(channels))
    except KeyboardInterrupt:
        return 0
    except ConnectionError as exc:
        print(f"connection failed: {exc}", file=sys.stderr)
        return 1
    except ReverbError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
