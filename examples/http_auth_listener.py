"""Listen as a *user* of your Laravel app: channels authorized by its ``/broadcasting/auth``.

Against your app (it holds the secret; this script needs only the key and a user's token)::

    export REVERB_APP_KEY=... REVERB_HOST=... REVERB_PORT=... REVERB_SCHEME=https
    export LARAVEL_AUTH_URL=https://app.example.com/broadcasting/auth
    export LARAVEL_API_TOKEN=...        # a Sanctum / api-guard token of the user
    python examples/http_auth_listener.py private-App.Models.User.1 presence-team.1

Without ``LARAVEL_AUTH_URL`` it runs by itself: a local server (in Reverb's dialect) plays both
Reverb and the app's ``/broadcasting/auth``, an event is published to the user's channel, and
it shows what ``signin()`` says against Reverb. See docs/authentication.md and docs/signin.md.
"""

from __future__ import annotations

import asyncio
import os
import sys

from reverb import (
    AuthorizationFailed,
    Event,
    HttpAuthenticator,
    PresenceChannel,
    ReverbClient,
    ReverbError,
    SignInError,
)
from reverb.testing import BackgroundServer


def show(event: Event) -> None:
    print(f"[{event.channel}] {event.name}: {event.data}", flush=True)


async def listen(client: ReverbClient, channels: list[str]) -> None:
    for name in channels:
        try:
            channel = await client.subscribe(name)
        except AuthorizationFailed as exc:  # the app said no (401, 403, 419, ...)
            print(f"not allowed on {name}: HTTP {exc.status}: {exc}", flush=True)
            continue
        channel.bind_global(show)
        if isinstance(channel, PresenceChannel):
            print(f"{name}: here are {dict(channel.members)}, me = {channel.me}", flush=True)
        else:
            print(f"subscribed to {name}", flush=True)


async def against_your_app(channels: list[str]) -> None:
    token = os.environ.get("LARAVEL_API_TOKEN")
    async with (
        HttpAuthenticator(os.environ["LARAVEL_AUTH_URL"], bearer_token=token) as auth,
        ReverbClient(authenticator=auth) as client,
    ):
        await listen(client, channels)
        await client.listen()


async def by_itself() -> None:
    users = [{"id": 1, "token": "alice-token", "info": {"name": "Alice"}, "channels": ["*"]}]
    with BackgroundServer(users=users) as server:
        async with (
            HttpAuthenticator(server.auth_url, bearer_token="alice-token") as auth,
            ReverbClient(**server.client_settings(app_secret=None), authenticator=auth) as client,
        ):
            await listen(client, ["private-App.Models.User.1", "presence-team.1"])
            arrived = asyncio.Event()
            client.channels["private-App.Models.User.1"].bind("Greeting", lambda e: arrived.set())
            server.trigger("private-App.Models.User.1", "Greeting", {"text": "hello Alice"})
            await asyncio.wait_for(arrived.wait(), 5)
            try:
                await client.signin()
            except SignInError as exc:
                print(f"signin(): {exc}", flush=True)


def main() -> int:
    try:
        if os.environ.get("LARAVEL_AUTH_URL"):
            asyncio.run(against_your_app(sys.argv[1:] or ["private-App.Models.User.1"]))
        else:
            asyncio.run(by_itself())
    except KeyboardInterrupt:
        return 0
    except ReverbError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
