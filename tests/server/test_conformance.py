"""Server conformance: raw frames against Soketi and the local server in both dialects.

Every test runs against real Soketi, the local server in its Reverb dialect, and the local
server in its Soketi dialect. Where Reverb and Soketi differ, the expected behaviour is
asserted per dialect (``reverb-protocol.md``, last section), never skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from reverb.protocol.signing import signed_api_query
from reverb.testing import BackgroundServer
from tests.support.raw import RawSocket
from tests.support.soketi import ServerUnderTest, SoketiServer

pytestmark = pytest.mark.integration

SECRET = "app-secret"


@dataclass
class Target:
    """A server and the dialect it must speak."""

    server: ServerUnderTest
    dialect: str

    @property
    def reverb(self) -> bool:
        return self.dialect == "reverb"

    async def socket(self, key: str = "app-key") -> RawSocket:
        return await RawSocket.open(self.server.host, self.server.port, key)

    async def api(
        self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None
    ) -> httpx.Response:
        raw = json.dumps(body).encode() if body is not None else b""
        full_path = f"/apps/{self.server.app_id}{path}"
        query = signed_api_query(
            key=self.server.app_key,
            secret=self.server.app_secret,
            method=method,
            path=full_path,
            timestamp=1_700_000_000,
            body=raw,
            params=params,
        )
        async with httpx.AsyncClient(
            base_url=f"http://{self.server.host}:{self.server.port}"
        ) as http:
            return await http.request(
                method,
                full_path,
                params=query,
                content=raw or None,
                headers={"Content-Type": "application/json"} if raw else None,
            )


@pytest.fixture(scope="module", params=["soketi", "local-reverb", "local-soketi"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    if request.param == "soketi":
        server: ServerUnderTest = SoketiServer()
        dialect = "soketi"
    else:
        dialect = request.param.removeprefix("local-")
        server = BackgroundServer(dialect=dialect, accept_client_events_from="members")
    with server:
        yield Target(server, dialect)


async def test_connection_established(target: Target) -> None:
    socket = await target.socket()
    assert set(socket.established) == {"socket_id", "activity_timeout"}
    assert socket.established["activity_timeout"] == 30
    first, _, second = socket.socket_id.partition(".")
    assert first.isdigit()
    assert second.isdigit()
    await socket.close()


async def test_unknown_app_key_is_refused(target: Target) -> None:
    socket = await RawSocket.open(
        target.server.host, target.server.port, "no-such-key", establish=False
    )
    error = await socket.recv_event("pusher:error")
    code = await socket.closed()
    if target.reverb:
        assert json.loads(error["data"]) == {"code": 4001, "message": "Application does not exist"}
        assert code is None  # TCP dropped with no close frame
    else:
        assert error["data"]["code"] == 4001  # an object, not a string
        assert code == 4001


async def test_ping_pong(target: Target) -> None:
    socket = await target.socket()
    await socket.send({"event": "pusher:ping", "data": {}})
    pong = await socket.recv_event("pusher:pong")
    assert pong == (
        {"event": "pusher:pong"} if target.reverb else {"event": "pusher:pong", "data": {}}
    )
    await socket.close()


async def test_public_subscription_succeeds(target: Target) -> None:
    socket = await target.socket()
    await socket.subscribe("conformance-public")
    frame = await socket.recv_event("pusher_internal:subscription_succeeded")
    assert frame["channel"] == "conformance-public"
    if target.reverb:
        assert frame["data"] == "{}"
    else:
        assert "data" not in frame
    await socket.close()


async def test_bad_signature_is_refused_and_socket_stays_open(target: Target) -> None:
    socket = await target.socket()
    await socket.subscribe("private-conformance", secret="wrong-secret")
    frame = await socket.recv()
    if target.reverb:
        assert frame == {
            "event": "pusher:error",
            "data": json.dumps(
                {"code": 4009, "message": "Connection is unauthorized"}, separators=(",", ":")
            ),
        }
    else:
        assert frame["event"] == "pusher:subscription_error"
        assert frame["channel"] == "private-conformance"
        assert frame["data"]["status"] == 401
    await socket.nothing_pending()
    await socket.subscribe("private-conformance", secret=SECRET)
    await socket.recv_event("pusher_internal:subscription_succeeded")
    await socket.close()


async def test_presence_members_join_and_leave(target: Target) -> None:
    alice, bob = await target.socket(), await target.socket()
    channel = "presence-conformance"
    await alice.subscribe(
        channel, secret=SECRET, channel_data={"user_id": "a", "user_info": {"n": 1}}
    )
    first = await alice.recv_event("pusher_internal:subscription_succeeded")
    assert json.loads(first["data"]) == {
        "presence": {"count": 1, "ids": ["a"], "hash": {"a": {"n": 1}}}
    }
    await bob.subscribe(channel, secret=SECRET, channel_data={"user_id": "b", "user_info": None})
    second = json.loads((await bob.recv_event("pusher_internal:subscription_succeeded"))["data"])
    assert second["presence"]["count"] == 2
    assert sorted(second["presence"]["ids"]) == ["a", "b"]
    added = await alice.recv_event("pusher_internal:member_added")
    assert json.loads(added["data"]) == {"user_id": "b", "user_info": None}
    await bob.close()
    removed = await alice.recv_event("pusher_internal:member_removed")
    assert json.loads(removed["data"]) == {"user_id": "b"}
    await alice.close()


async def test_client_events_on_presence_carry_user_id_and_skip_the_sender(
    target: Target,
) -> None:
    alice, bob = await target.socket(), await target.socket()
    channel = "presence-whisper"
    for socket, user in ((alice, "a"), (bob, "b")):
        await socket.subscribe(channel, secret=SECRET, channel_data={"user_id": user})
        await socket.recv_event("pusher_internal:subscription_succeeded")
    await alice.recv_event("pusher_internal:member_added")
    await alice.send({"event": "client-typing", "channel": channel, "data": {"x": 1}})
    relayed = await bob.recv_event("client-typing")
    assert relayed == {
        "event": "client-typing",
        "channel": channel,
        "data": {"x": 1},
        "user_id": "a",
    }
    await alice.nothing_pending()
    await alice.close()
    await bob.close()


async def test_client_event_from_a_non_member(target: Target) -> None:
    socket = await target.socket()
    await socket.send({"event": "client-sneaky", "channel": "private-elsewhere", "data": {}})
    if target.reverb:
        error = await socket.recv_event("pusher:error")
        assert json.loads(error["data"])["code"] == 4009
    else:
        await socket.nothing_pending()  # Soketi drops it silently
    await socket.close()


async def test_unknown_pusher_event(target: Target) -> None:
    socket = await target.socket()
    await socket.send({"event": "pusher:nonsense", "data": {}})
    if target.reverb:
        error = await socket.recv_event("pusher:error")
        assert json.loads(error["data"]) == {"code": 4200, "message": "Invalid message format"}
    else:
        await socket.nothing_pending()
    await socket.close()


async def test_http_events_reach_subscribers_except_the_excluded_socket(target: Target) -> None:
    first, second = await target.socket(), await target.socket()
    for socket in (first, second):
        await socket.subscribe("api-events")
        await socket.recv_event("pusher_internal:subscription_succeeded")
    response = await target.api(
        "POST",
        "/events",
        {
            "name": "Shipped",
            "channels": ["api-events"],
            "data": '{"id":1}',
            "socket_id": first.socket_id,
        },
    )
    assert response.status_code == 200
    assert response.json() == ({} if target.reverb else {"ok": True})
    event = await second.recv_event("Shipped")
    assert event == {"event": "Shipped", "channel": "api-events", "data": '{"id":1}'}
    await first.nothing_pending()
    await first.close()
    await second.close()


async def test_http_channel_queries(target: Target) -> None:
    socket = await target.socket()
    await socket.subscribe("presence-api", secret=SECRET, channel_data={"user_id": 5})
    await socket.recv_event("pusher_internal:subscription_succeeded")
    await socket.subscribe("api-public")
    await socket.recv_event("pusher_internal:subscription_succeeded")

    listing = (
        await target.api("GET", "/channels", params={"filter_by_prefix": "presence-api"})
    ).json()
    counted = (
        await target.api(
            "GET", "/channels", params={"filter_by_prefix": "presence-", "info": "user_count"}
        )
    ).json()
    info = (
        await target.api("GET", "/channels/api-public", params={"info": "subscription_count"})
    ).json()
    presence_info = (
        await target.api("GET", "/channels/presence-api", params={"info": "user_count"})
    ).json()
    users = (await target.api("GET", "/channels/presence-api/users")).json()
    assert users == {"users": [{"id": 5}]}
    if target.reverb:
        assert listing == {"channels": {"presence-api": {}}}
        assert counted == {"channels": {"presence-api": {"user_count": 1}}}
        assert info == {"occupied": True, "subscription_count": 1}
        assert presence_info == {"occupied": True, "user_count": 1}
    else:
        occupied = {"subscription_count": 1, "occupied": True}
        assert listing == {"channels": {"presence-api": occupied}}
        assert counted == listing  # Soketi lists no user_count, even when asked
        assert info == occupied
        assert presence_info == {**occupied, "user_count": 1}
    await socket.close()


async def test_http_bad_signature_is_401(target: Target) -> None:
    async with httpx.AsyncClient(
        base_url=f"http://{target.server.host}:{target.server.port}"
    ) as http:
        response = await http.get(
            f"/apps/{target.server.app_id}/channels",
            params={
                "auth_key": "app-key",
                "auth_timestamp": "1",
                "auth_version": "1.0",
                "auth_signature": "0" * 64,
            },
        )
    if target.reverb:
        assert response.status_code == 401
        assert response.text == "Authentication signature invalid."
    else:
        # Soketi answers with a JSON error; 1.6.1 here sends it with HTTP status 200.
        assert response.json() == {"error": "The secret authentication failed", "code": 401}


async def test_cache_channel_misses_then_replays_the_last_event(target: Target) -> None:
    first = await target.socket()
    await first.subscribe("cache-prices")
    await first.recv_event("pusher_internal:subscription_succeeded")
    assert await first.recv_event("pusher:cache_miss") == {
        "event": "pusher:cache_miss",
        "channel": "cache-prices",
    }
    await target.api("POST", "/events", {"name": "Price", "channel": "cache-prices", "data": "42"})
    await first.recv_event("Price")
    second = await target.socket()
    await second.subscribe("cache-prices")
    await second.recv_event("pusher_internal:subscription_succeeded")
    replay = await second.recv_event("Price")
    assert replay["channel"] == "cache-prices"
    assert replay["data"] == "42"
    await first.close()
    await second.close()


@pytest.mark.parametrize(
    ("channel", "soketi_error"),
    [
        ("#name-with;all=the,allowed@characters_.", None),
        (
            "bad name!",
            {
                "error": "The channel name is not allowed. Read channel conventions: "
                "https://pusher.com/docs/channels/using_channels/channels/"
                "#channel-naming-conventions",
                "status": 4009,
            },
        ),
        (
            "x" * 201,
            {
                "type": "LimitReached",
                "error": "The channel name is longer than the allowed 200 characters.",
                "status": 4009,
            },
        ),
    ],
)
async def test_channel_name_rules(target: Target, channel: str, soketi_error: Any) -> None:
    socket = await target.socket()
    await socket.subscribe(channel)
    frame = await socket.recv()
    if target.reverb or soketi_error is None:  # Reverb has no name rules at all
        assert frame["event"] == "pusher_internal:subscription_succeeded"
    else:
        assert frame == {
            "event": "pusher:subscription_error",
            "channel": channel,
            "data": soketi_error,
        }
    await socket.nothing_pending()
    await socket.close()
