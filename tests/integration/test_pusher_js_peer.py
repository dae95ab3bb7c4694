"""python-reverb and pusher-js as peers on the same presence channel of each real server."""

from __future__ import annotations

import asyncio

import pytest

from reverb import Event, PresenceChannel
from tests.integration.conftest import client_for, publish
from tests.support.peer import PusherJsPeer
from tests.support.soketi import ServerUnderTest

pytestmark = pytest.mark.integration

CHANNEL = "presence-interop.1"


async def test_whispers_both_ways_and_identical_members(server: ServerUnderTest) -> None:
    peer = await PusherJsPeer.start(server.host, server.port, server.app_key, server.app_secret)
    try:
        reply = await peer.command(
            "subscribe", channel=CHANNEL, user_data={"user_id": "js", "user_info": {"n": "Js"}}
        )
        assert reply["ok"] is True
        async with client_for(server) as client:
            room = await client.subscribe(
                CHANNEL, user_data={"user_id": "py", "user_info": {"n": "Py"}}
            )
            assert isinstance(room, PresenceChannel)
            await peer.wait_for_event("pusher:member_added", channel=CHANNEL)
            seen_by_js = await peer.command("members", channel=CHANNEL)
            assert seen_by_js["members"] == dict(room.members)
            assert dict(room.members) == {"js": {"n": "Js"}, "py": {"n": "Py"}}

            await room.trigger("client-typing", {"from": "python"})
            whisper = await peer.wait_for_event("client-typing", channel=CHANNEL)
            assert whisper["data"] == {"from": "python"}
            assert whisper["user_id"] == "py"

            heard: asyncio.Queue[Event] = asyncio.Queue()
            room.bind("client-typing", heard.put_nowait)
            sent = await peer.command(
                "trigger", channel=CHANNEL, event="client-typing", data={"from": "js"}
            )
            assert sent["ok"] is True
            async with asyncio.timeout(5):
                event = await heard.get()
            assert event == Event("client-typing", CHANNEL, {"from": "js"}, "js")

            await publish(server, CHANNEL, "RoomClosed", {"reason": "test"})
            from_api = await peer.wait_for_event("RoomClosed", channel=CHANNEL)
            assert from_api["data"] == {"reason": "test"}

        left = await peer.wait_for_event("pusher:member_removed", channel=CHANNEL)
        assert left["data"]["id"] == "py"
    finally:
        await peer.close()
