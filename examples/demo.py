"""End-to-end demo: a real Pusher-protocol server, two python-reverb clients, every channel type.

Run it with ``./scripts/demo`` (which installs what it needs). It starts Soketi on free local
ports, then:

1. Alice subscribes to a public, a private and a presence channel;
2. Bob joins the presence channel, and Alice sees him arrive;
3. the "Laravel app" publishes OrderShipped through the HTTP API, signed like Laravel's
   broadcaster does, and Alice's handlers receive it on the public and private channels;
4. Bob whispers on the presence channel and Alice hears him, attributed to his user id;
5. Bob leaves, and Alice sees him go.

It exits 0 when every step was observed, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reverb import Event, PresenceChannel, ReverbClient  # noqa: E402
from tests.support import http_api  # noqa: E402
from tests.support.soketi import SoketiServer  # noqa: E402

STEP_TIMEOUT = 10.0


def say(actor: str, text: str) -> None:
    print(f"  {actor:<8} {text}", flush=True)


async def publish(server: SoketiServer, channels: list[str], event: str, data: Any) -> None:
    """POST /apps/{id}/events, as Laravel's Pusher broadcaster does."""
    await http_api.publish(
        base_url=f"http://{server.host}:{server.port}",
        app_id=server.app_id,
        key=server.app_key,
        secret=server.app_secret,
        channels=channels,
        event=event,
        data=data,
    )


def client(server: SoketiServer) -> ReverbClient:
    return ReverbClient(
        app_key=server.app_key,
        app_secret=server.app_secret,
        app_id=server.app_id,
        host=server.host,
        port=server.port,
        scheme="http",
    )


async def expect(queue: asyncio.Queue[Event], what: str) -> Event:
    try:
        async with asyncio.timeout(STEP_TIMEOUT):
            return await queue.get()
    except TimeoutError:
        raise SystemExit(f"demo failed: no {what} within {STEP_TIMEOUT} s") from None


async def run(server: SoketiServer) -> None:
    inbox: asyncio.Queue[Event] = asyncio.Queue()
    print(f"\n[1] Alice connects to ws://{server.host}:{server.port} and subscribes")
    async with client(server) as alice:
        say("alice", f"connected, socket_id {alice.socket_id}")
        orders = await alice.subscribe("orders")
        private = await alice.subscribe("private-orders.42")
        room = await alice.subscribe(
            "presence-support", user_data={"user_id": "1", "user_info": {"name": "Alice"}}
        )
        assert isinstance(room, PresenceChannel)
        for channel in (orders, private):
            channel.bind("OrderShipped", inbox.put_nowait)
        room.bind("pusher:member_added", inbox.put_nowait)
        room.bind("pusher:member_removed", inbox.put_nowait)
        room.bind("client-typing", inbox.put_nowait)
        say("alice", f"subscribed: {', '.join(alice.channels)}")
        say("alice", f"presence members: {dict(room.members)}")

        print("\n[2] Bob joins the presence channel")
        async with client(server) as bob:
            bob_room = await bob.subscribe(
                "presence-support", user_data={"user_id": "2", "user_info": {"name": "Bob"}}
            )
            joined = await expect(inbox, "member_added")
            say("alice", f"saw {joined.data.user_info['name']} join; members: {dict(room.members)}")

            print("\n[3] The Laravel app broadcasts OrderShipped through the HTTP API")
            await publish(server, ["orders", "private-orders.42"], "OrderShipped", {"id": 42})
            for _ in range(2):
                shipped = await expect(inbox, "OrderShipped")
                say("alice", f"{shipped.name} on {shipped.channel}: {shipped.data}")

            print("\n[4] Bob whispers on the presence channel")
            await bob_room.trigger("client-typing", {"typing": True})
            whisper = await expect(inbox, "whisper")
            say("alice", f"heard {whisper.name} {whisper.data} from user {whisper.user_id}")

            print("\n[5] Bob leaves")
        left = await expect(inbox, "member_removed")
        say("alice", f"saw user {left.data.user_id} leave; members: {dict(room.members)}")
    print("\nDemo complete: public, private and presence channels, HTTP events and whispers.")


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print("Starting Soketi (a Pusher protocol 7 server) on free local ports...")
    with SoketiServer() as server:
        asyncio.run(run(server))
    return 0


if __name__ == "__main__":
    sys.exit(main())
