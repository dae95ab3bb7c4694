"""The pytest plugin's fixtures, as a user's test suite would use them."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import pytest

from reverb import Event, HttpAuthenticator, ReverbClient
from reverb.encryption import decrypt_data
from reverb.exceptions import AuthenticationError
from reverb.protocol.signing import channel_shared_secret
from reverb.testing import BackgroundServer
from tests.support.raw import RawSocket


async def test_fixtures_connect_a_client_to_a_fresh_server(
    reverb_server: BackgroundServer, reverb_client: ReverbClient
) -> None:
    assert reverb_client.is_connected
    assert reverb_server.socket_ids() == [reverb_client.socket_id]
    room = await reverb_client.subscribe("presence-plugin", user_data={"user_id": "me"})
    assert room.subscribed
    assert reverb_server.channels() == {"presence-plugin": 1}
    assert reverb_server.members("presence-plugin") == {"me": None}


async def test_two_clients_whisper_through_the_fixture_server(
    reverb_server: BackgroundServer, reverb_client: ReverbClient
) -> None:
    heard: asyncio.Queue[Event] = asyncio.Queue()
    mine = await reverb_client.subscribe("private-chat")
    mine.bind("client-hi", heard.put_nowait)
    async with ReverbClient(**reverb_server.client_settings()) as other:
        theirs = await other.subscribe("private-chat")
        await theirs.trigger("client-hi", {"n": 1})
        async with asyncio.timeout(5):
            assert (await heard.get()).data == {"n": 1}
        assert any(
            json.loads(message)["event"] == "client-hi"
            for message in reverb_server.received(other.socket_id or "")
        )


@pytest.mark.reverb_server(dialect="soketi", accept_client_events_from="none")
async def test_the_marker_configures_the_server(reverb_server: BackgroundServer) -> None:
    socket = await RawSocket.open(reverb_server.host, reverb_server.port, reverb_server.app_key)
    await socket.send({"event": "pusher:ping", "data": {}})
    assert await socket.recv() == {"event": "pusher:pong", "data": {}}  # Soketi's shape
    await socket.send({"event": "client-x", "channel": "private-a", "data": {}})
    error = await socket.recv_event("pusher:error")
    assert error["data"]["code"] == 4301
    await socket.close()


def test_sync_tests_can_use_the_server_too(reverb_server: BackgroundServer) -> None:
    assert reverb_server.running
    assert reverb_server.channels() == {}
    reverb_server.trigger("nobody-listens", "E", {})  # dropped, as Reverb does


USERS = [
    {"id": 1, "token": "t-1", "info": {"name": "Alice"}, "channels": ["orders.*", "room.{id}"]},
    {"id": 2, "channels": ["room.{id}"]},
]


@pytest.mark.reverb_server(users=USERS)
async def test_marker_users_authorize_with_their_tokens(reverb_server: BackgroundServer) -> None:
    assert reverb_server.token_for(1) == "t-1"
    token_of_2 = reverb_server.token_for("2")  # issued: the user has none in the marker
    assert reverb_server.token_for(2) == token_of_2
    with pytest.raises(KeyError):
        reverb_server.token_for(3)
    settings = reverb_server.client_settings(app_secret=None)
    alice = HttpAuthenticator(reverb_server.auth_url, bearer_token="t-1")
    other = HttpAuthenticator(reverb_server.auth_url, bearer_token=token_of_2)
    async with (
        ReverbClient(**settings, authenticator=alice) as first,
        ReverbClient(**settings, authenticator=other) as second,
    ):
        assert (await first.subscribe("private-orders.1")).subscribed
        await first.subscribe("presence-room.9")
        await second.subscribe("presence-room.9")
        assert reverb_server.members("presence-room.9") == {"1": {"name": "Alice"}, "2": None}
        with pytest.raises(AuthenticationError):
            await second.subscribe("private-orders.1")


async def test_issue_token_creates_users_with_channels_and_info(
    reverb_server: BackgroundServer,
) -> None:
    token = reverb_server.issue_token(42, channels=["presence-team.{id}"], info={"name": "Bot"})
    async with httpx.AsyncClient() as http:
        response = await http.post(
            reverb_server.auth_url,
            data={"socket_id": "1.2", "channel_name": "presence-team.1"},
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
    assert response.json()["channel_data"] == '{"user_id":"42","user_info":{"name":"Bot"}}'
    reverb_server.restart()  # the Laravel app's tokens outlive a Reverb restart
    assert reverb_server.token_for(42) == token


@pytest.mark.reverb_server(encryption_master_key_base64=base64.b64encode(b"m" * 32).decode())
async def test_trigger_encrypts_on_encrypted_channels_like_the_sdks(
    reverb_server: BackgroundServer,
) -> None:
    channel = "private-encrypted-vault"
    socket = await RawSocket.open(reverb_server.host, reverb_server.port, reverb_server.app_key)
    await socket.subscribe(channel, secret=reverb_server.app_secret)
    await socket.recv_event("pusher_internal:subscription_succeeded")
    reverb_server.trigger(channel, "Opened", {"gold": 1})
    reverb_server.trigger("private-plain", "Opened", {"gold": 1})  # others stay as they are
    frame = await socket.recv_event("Opened")
    key = channel_shared_secret(channel, b"m" * 32)
    assert decrypt_data(frame["data"], key) == {"gold": 1}
    await socket.close()
