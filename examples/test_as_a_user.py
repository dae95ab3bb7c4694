"""Testing code that authorizes as a *user* of your Laravel app, with no PHP running.

In production the code below asks your Laravel app's ``/broadcasting/auth`` to authorize it,
with the user's API token, exactly as Echo does in a browser. In tests the ``reverb_server``
fixture stands in for that endpoint: the marker says which users exist, which tokens they hold
and which channels ``routes/channels.php`` would let them join. Run with ``pytest``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from reverb import AuthorizationFailed, Event, HttpAuthenticator, PresenceChannel, ReverbClient
from reverb.testing import BackgroundServer

# What routes/channels.php would say, for two users:
#   Broadcast::channel('App.Models.User.{id}', fn ($user, $id) => (int) $user->id === (int) $id);
#   Broadcast::channel('team.{teamId}', fn ($user) => ['id' => $user->id, 'name' => $user->name]);
USERS = [
    {
        "id": 1,
        "token": "alice-api-token",
        "info": {"id": 1, "name": "Alice"},
        "channels": ["App.Models.User.1", "team.{teamId}"],
    },
    {"id": 2, "token": "bob-api-token", "info": {"id": 2, "name": "Bob"}, "channels": ["team.*"]},
]


class Inbox:
    """The code under test: a user's notifications, and who of their team is online."""

    def __init__(self, user_id: int, client: ReverbClient) -> None:
        self.user_id = user_id
        self.client = client
        self.notifications: list[Any] = []
        self.arrived = asyncio.Event()
        self.team: PresenceChannel | None = None

    async def start(self, team_id: int) -> None:
        mine = await self.client.subscribe(f"private-App.Models.User.{self.user_id}")
        mine.bind(
            "Illuminate\\Notifications\\Events\\BroadcastNotificationCreated", self.on_notification
        )
        team = await self.client.subscribe(f"presence-team.{team_id}")
        assert isinstance(team, PresenceChannel)
        self.team = team

    def on_notification(self, event: Event) -> None:
        self.notifications.append(event.data)
        self.arrived.set()

    def online(self) -> list[str]:
        members = self.team.members if self.team is not None else {}
        return sorted(info["name"] for info in members.values())


def client_for(server: BackgroundServer, token: str) -> ReverbClient:
    """What the app does in production, pointed at the test server: no app secret, only the
    user's token, sent to /broadcasting/auth."""
    authenticator = HttpAuthenticator(server.auth_url, bearer_token=token)
    return ReverbClient(**server.client_settings(app_secret=None), authenticator=authenticator)


@pytest.mark.reverb_server(users=USERS)
async def test_a_user_gets_their_notifications(reverb_server: BackgroundServer) -> None:
    async with client_for(reverb_server, reverb_server.token_for(1)) as client:
        inbox = Inbox(1, client)
        await inbox.start(team_id=5)

        reverb_server.trigger(
            "private-App.Models.User.1",
            "Illuminate\\Notifications\\Events\\BroadcastNotificationCreated",
            {"id": "3f1c", "type": "App\\Notifications\\InvoicePaid", "amount": 99},
        )

        async with asyncio.timeout(5):
            await inbox.arrived.wait()
        assert inbox.notifications[0]["amount"] == 99


@pytest.mark.reverb_server(users=USERS)
async def test_a_user_sees_who_of_their_team_is_online(reverb_server: BackgroundServer) -> None:
    async with (
        client_for(reverb_server, reverb_server.token_for(1)) as alice,
        client_for(reverb_server, reverb_server.token_for(2)) as bob,
    ):
        inbox = Inbox(1, alice)
        await inbox.start(team_id=5)
        await bob.subscribe("presence-team.5")

        async with asyncio.timeout(5):
            while inbox.online() != ["Alice", "Bob"]:  # noqa: ASYNC110 - members update live
                await asyncio.sleep(0.01)


@pytest.mark.reverb_server(users=USERS)
async def test_a_user_cannot_read_someone_elses_notifications(
    reverb_server: BackgroundServer,
) -> None:
    async with client_for(reverb_server, reverb_server.token_for(2)) as bob:
        with pytest.raises(AuthorizationFailed) as refused:
            await bob.subscribe("private-App.Models.User.1")
        assert refused.value.status == 403  # as your Laravel app answers


async def test_users_can_also_be_made_on_the_fly(reverb_server: BackgroundServer) -> None:
    token = reverb_server.issue_token(7, channels=["team.{id}"], info={"name": "Carol"})
    async with client_for(reverb_server, token) as carol:
        await carol.subscribe("presence-team.1")
    assert reverb_server.token_for(7) == token
