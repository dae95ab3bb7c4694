"""Reverb behaviours of the local server that the conformance suite does not cover."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from reverb import ReverbConfig
from reverb.api import ApiClient, ApiError
from reverb.testing import BackgroundServer
from tests.support.raw import RawSocket
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

SECRET = "app-secret"


@pytest.fixture
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer() as running:
        yield running


def api_for(server: BackgroundServer) -> ApiClient:
    return ApiClient(ReverbConfig(**server.client_settings()))


async def presence_socket(server: BackgroundServer, channel: str, user: str) -> RawSocket:
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    await socket.subscribe(channel, secret=SECRET, channel_data={"user_id": user})
    await socket.recv_event("pusher_internal:subscription_succeeded")
    return socket


async def test_presence_is_deduplicated_per_user(server: BackgroundServer) -> None:
    watcher = await presence_socket(server, "presence-dedup", "watcher")
    first = await presence_socket(server, "presence-dedup", "u1")
    assert json.loads((await watcher.recv_event("pusher_internal:member_added"))["data"]) == {
        "user_id": "u1"
    }
    second = await presence_socket(server, "presence-dedup", "u1")  # same user, 2nd socket
    await watcher.nothing_pending()  # no second member_added
    await first.close()
    await wait_until(lambda: server.channels() == {"presence-dedup": 2})  # first is gone
    await watcher.nothing_pending()  # u1 still has a socket: no member_removed
    await second.close()
    removed = await watcher.recv_event("pusher_internal:member_removed")
    assert json.loads(removed["data"]) == {"user_id": "u1"}


@pytest.mark.parametrize("prefix", ["private-cache-", "presence-cache-"])
async def test_private_and_presence_cache_channels(server: BackgroundServer, prefix: str) -> None:
    channel = f"{prefix}quotes"
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    await socket.subscribe(channel, secret=SECRET, channel_data={"user_id": "1"})
    await socket.recv_event("pusher_internal:subscription_succeeded")
    await socket.recv_event("pusher:cache_miss")
    server.trigger(channel, "Quote", {"p": 1})
    await socket.recv_event("Quote")
    late = await RawSocket.open(server.host, server.port, server.app_key)
    await late.subscribe(channel, secret=SECRET, channel_data={"user_id": "2"})
    await late.recv_event("pusher_internal:subscription_succeeded")
    assert json.loads((await late.recv_event("Quote"))["data"]) == {"p": 1}


async def test_encrypted_channels_pass_payloads_through(server: BackgroundServer) -> None:
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    await socket.subscribe("private-encrypted-vault", secret=SECRET)
    await socket.recv_event("pusher_internal:subscription_succeeded")
    ciphertext = json.dumps({"ciphertext": "abc=", "nonce": "def="})
    server.trigger("private-encrypted-vault", "Secret", ciphertext)
    assert (await socket.recv_event("Secret"))["data"] == ciphertext


@pytest.mark.parametrize(
    ("mode", "outcome"), [("all", "relayed"), ("none", 4301), ("members", 4009)]
)
async def test_accept_client_events_from(mode: str, outcome: int | str) -> None:
    with BackgroundServer(accept_client_events_from=mode) as server:
        receiver = await RawSocket.open(server.host, server.port, server.app_key)
        await receiver.subscribe("private-room", secret=SECRET)
        await receiver.recv_event("pusher_internal:subscription_succeeded")
        outsider = await RawSocket.open(server.host, server.port, server.app_key)
        await outsider.send(
            {"event": "client-hi", "channel": "private-room", "data": {"x": 1}, "extra": 2}
        )
        if outcome == "relayed":  # "all": verbatim, even from a non-member, extra keys kept
            relayed = await receiver.recv_event("client-hi")
            assert relayed == {
                "event": "client-hi",
                "channel": "private-room",
                "data": {"x": 1},
                "extra": 2,
            }
        else:
            error = await outsider.recv_event("pusher:error")
            assert json.loads(error["data"])["code"] == outcome
            await receiver.nothing_pending()


async def test_client_event_with_string_data_is_4200(server: BackgroundServer) -> None:
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    await socket.subscribe("private-room", secret=SECRET)
    await socket.recv_event("pusher_internal:subscription_succeeded")
    await socket.send({"event": "client-hi", "channel": "private-room", "data": "just text"})
    error = await socket.recv_event("pusher:error")
    assert json.loads(error["data"]) == {"code": 4200, "message": "Invalid message format"}


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        '{"no":"event"}',
        '{"event":"client-x"}',
        '{"event":"pusher:subscribe","data":{"channel":"x","channel_data":{"user_id":1}}}',
    ],
)
async def test_malformed_messages_are_4200_and_the_socket_stays(
    server: BackgroundServer, frame: str
) -> None:
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    await socket.ws.send(frame)
    error = await socket.recv_event("pusher:error")
    assert json.loads(error["data"])["code"] == 4200
    await socket.nothing_pending()


async def test_oversized_message_closes_with_1009(server: BackgroundServer) -> None:
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    await socket.ws.send(json.dumps({"event": "client-big", "channel": "c", "data": "x" * 20_000}))
    assert await socket.closed() == 1009


async def test_events_info_and_up(server: BackgroundServer) -> None:
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    await socket.subscribe("counted")
    await socket.recv_event("pusher_internal:subscription_succeeded")
    async with api_for(server) as api:
        answer = await api.request(
            "POST",
            "/events",
            body={"name": "E", "channel": "counted", "data": "{}", "info": "subscription_count"},
        )
        assert answer == {"channels": {"counted": {"subscription_count": 1}}}
        assert await api.request("GET", "/connections") == {"connections": 1}
        assert await api.channels() == {"channels": {"counted": {}}}
    async with httpx.AsyncClient() as http:
        up = await http.get(f"{server.http_url}/up")
    assert up.json() == {"health": "OK"}


async def test_api_validation_errors_are_422(server: BackgroundServer) -> None:
    async with api_for(server) as api:
        with pytest.raises(ApiError) as caught:
            await api.request("POST", "/events", body={"channel": "c"})
    assert caught.value.status == 422
    assert set(json.loads(caught.value.body)) == {"name", "data"}


async def test_unknown_app_id_is_404(server: BackgroundServer) -> None:
    config = ReverbConfig(**server.client_settings(app_id="nope"))
    async with ApiClient(config) as api:
        with pytest.raises(ApiError) as caught:
            await api.channels()
    assert caught.value.status == 404
    assert caught.value.body == "No matching application for ID [nope]."


async def test_terminate_connections_drops_a_users_sockets(server: BackgroundServer) -> None:
    watcher = await presence_socket(server, "presence-term", "watcher")
    victim = await presence_socket(server, "presence-term", "bad-user")
    await watcher.recv_event("pusher_internal:member_added")
    async with api_for(server) as api:
        assert await api.request("POST", "/users/bad-user/terminate_connections", body={}) == {}
    assert await victim.closed() is None
    removed = await watcher.recv_event("pusher_internal:member_removed")
    assert json.loads(removed["data"]) == {"user_id": "bad-user"}


async def test_several_apps_are_isolated() -> None:
    from reverb.server import AppConfig, ReverbServer, ServerConfig

    apps = [
        AppConfig(id="1", key="key-one", secret="s1"),
        AppConfig(id="2", key="key-two", secret="s2"),
    ]
    async with ReverbServer(ServerConfig(apps=apps, port=0)) as server:
        one = await RawSocket.open(server.host, server.port, "key-one")
        two = await RawSocket.open(server.host, server.port, "key-two")
        for socket in (one, two):
            await socket.subscribe("shared-name")
            await socket.recv_event("pusher_internal:subscription_succeeded")
        config = ReverbConfig(
            app_id="2",
            app_key="key-two",
            app_secret="s2",
            host=server.host,
            port=server.port,
            scheme="http",
        )
        async with ApiClient(config) as api:
            await api.trigger("shared-name", "OnlyForTwo", {})
        await two.recv_event("OnlyForTwo")
        await one.nothing_pending()


async def test_path_prefix_for_websockets_and_the_http_api() -> None:
    import asyncio

    from reverb import Event, ReverbClient
    from reverb.server import AppConfig, ReverbServer, ServerConfig

    app = AppConfig(id="1", key="k", secret="s")
    async with ReverbServer(ServerConfig(apps=[app], port=0, path="/ws/")) as server:
        config = ReverbConfig(
            app_id="1",
            app_key="k",
            app_secret="s",
            host=server.host,
            port=server.port,
            scheme="http",
            path="/ws",
        )
        received: asyncio.Queue[Event] = asyncio.Queue()
        async with ReverbClient(config) as client, ApiClient(config) as api:
            orders = await client.subscribe("orders")
            orders.bind("Prefixed", received.put_nowait)
            await api.trigger("orders", "Prefixed", {"ok": True})
            async with asyncio.timeout(5):
                assert (await received.get()).data == {"ok": True}
        async with httpx.AsyncClient() as http:
            unprefixed = await http.get(f"http://{server.host}:{server.port}/up")
        assert unprefixed.status_code == 404


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /up HTTP/1.1\r\nHost: x\r\n\r\n", b"200"),
        (b"POST /apps/1/events HTTP/1.1\r\nContent-Length: nope\r\n\r\n", b"400"),
        (b"POST /apps/1/events HTTP/1.1\r\nContent-Length: -5\r\n\r\n", b"400"),
        (b"POST /apps/1/events HTTP/1.1\r\nContent-Length: 20000\r\n\r\n", b"413"),
        (b"NONSENSE\r\n\r\n", b"400"),
        (b"GET /app/k HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", b"426"),
        (b"GET /elsewhere HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", b"404"),
    ],
)
async def test_bad_http_requests_get_clear_statuses(
    server: BackgroundServer, request_bytes: bytes, status: bytes
) -> None:
    import asyncio

    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(request_bytes)
    await writer.drain()
    async with asyncio.timeout(5):
        status_line = await reader.readline()
    writer.close()
    assert status_line.split()[1] == status
