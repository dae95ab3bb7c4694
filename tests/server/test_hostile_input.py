"""Hostile input: whatever a client sends, the local server answers it the way Reverb does.

Every websocket frame ends in a ``pusher:error`` frame or a clean close with the right code, and
every HTTP request in an HTTP status; never an exception, a logged traceback or a dropped socket.
Reverb parses frames and API bodies with PHP's ``json_decode``, which refuses lone UTF-16
surrogate escapes (``"\\udcff"``), ``NaN`` and nesting deeper than 512: such a frame is 4200
"Invalid message format", such a body 500.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from websockets.frames import Close, Frame, Opcode

from reverb.protocol.signing import channel_auth, signed_api_query
from reverb.server import AppConfig, ReverbServer, ServerConfig
from reverb.testing import BackgroundServer
from tests.server.hostile import INVALID, error_of, tracebacks
from tests.support.raw import RawSocket
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

SECRET = "app-secret"


@pytest.fixture
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer() as running:
        yield running


@pytest.fixture(autouse=True)
def _nothing_logged_as_an_error(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    yield
    assert tracebacks(caplog.get_records("call")) == []


async def subscribed(server: BackgroundServer, channel: str) -> RawSocket:
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    await socket.subscribe(channel, secret=SECRET)
    await socket.recv_event("pusher_internal:subscription_succeeded")
    return socket


def masked(opcode: Opcode, payload: bytes, fin: bool = True) -> bytes:
    """One client frame, as it goes on the wire."""
    return Frame(opcode, payload, fin).serialize(mask=True, extensions=[])


@pytest.mark.parametrize(
    "frame",
    [
        '{"event":"pusher:subscribe","data":{"channel":"\\udcff"}}',  # the reported crash
        '{"event":"pusher:subscribe","data":{"channel":"private-\\ud800x","auth":"k:s"}}',
        '{"event":"pusher:subscribe","data":{"channel":"private-a","auth":"k:\\udfff"}}',
        '{"event":"pusher:subscribe","data":{"channel":"presence-a","channel_data":"\\ud83d"}}',
        '{"event":"pusher:unsubscribe","data":{"channel":"\\udcff"}}',
        '{"event":"client-\\udcff","channel":"c","data":{}}',
        '{"event":"client-x","channel":"\\udcff","data":{}}',
        '{"event":"client-x","channel":"c","data":"\\udcff"}',
        '{"event":"client-x","channel":"c","data":{"\\udcff":[1]}}',
        '{"event":"\\ud800"}',
        '{"event":"pusher:ping","\\udcff":1}',
        '{"event":"client-x","channel":"c","data":NaN}',
        '{"event":"client-x","channel":"c","data":[-Infinity]}',
        '{"event":"client-x","channel":"c","data":{"big":1e999}}',
        '{"event":"client-x","channel":"c","data":' + "[" * 512 + "]" * 512 + "}",  # 513 deep
    ],
)
async def test_frames_php_cannot_decode_are_4200_and_the_socket_stays(
    server: BackgroundServer, frame: str
) -> None:
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    await socket.ws.send(frame)
    assert error_of(await socket.recv()) == INVALID
    await socket.nothing_pending()
    assert server.channels() == {}


async def test_nesting_php_can_decode_is_relayed(server: BackgroundServer) -> None:
    receiver = await subscribed(server, "private-deep")
    sender = await subscribed(server, "private-deep")
    data = "[" * 510 + "]" * 510  # with the frame and data objects: 512 levels, PHP's limit
    await sender.ws.send(
        '{"event":"client-deep","channel":"private-deep","data":{"d":' + data + "}}"
    )
    relayed = await receiver.recv_event("client-deep", timeout=5)
    assert json.dumps(relayed["data"], separators=(",", ":")) == '{"d":' + data + "}"


@pytest.mark.parametrize("auth", ["app-key:\u00e9t\u00e9", "app-key:\U0001f600", "\u00e9"])
async def test_a_non_ascii_signature_is_unauthorized(server: BackgroundServer, auth: str) -> None:
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    await socket.send({"event": "pusher:subscribe", "data": {"channel": "private-x", "auth": auth}})
    assert error_of(await socket.recv()) == {"code": 4009, "message": "Connection is unauthorized"}
    await socket.nothing_pending()


async def test_a_non_utf8_text_frame_closes_with_1007(server: BackgroundServer) -> None:
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    await socket.ws.send(b'{"event":"client-x","channel":"c","data":"\xed\xb3\xbf"}', text=True)
    assert await socket.closed() == 1007


async def test_a_non_utf8_binary_frame_is_4200(server: BackgroundServer) -> None:
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    await socket.ws.send(b'{"event":"pusher:subscribe","data":{"channel":"\xed\xb3\xbf"}}')
    assert error_of(await socket.recv()) == INVALID
    await socket.ws.send(b'{"event":"pusher:ping"}')  # binary JSON is read like text
    assert await socket.recv() == {"event": "pusher:pong"}


async def test_a_frame_and_a_close_in_one_write(server: BackgroundServer) -> None:
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    ping = masked(Opcode.TEXT, b'{"event":"pusher:ping"}')
    socket.ws.transport.write(ping + masked(Opcode.CLOSE, Close(1000, "bye").serialize()))
    assert await socket.closed() == 1000  # the close is echoed, and nothing may follow it
    await wait_until(lambda: server.socket_ids() == [])


async def test_a_frame_and_an_oversized_one_in_one_write(server: BackgroundServer) -> None:
    socket = await subscribed(server, "watched")
    ping = masked(Opcode.TEXT, b'{"event":"pusher:ping"}')
    socket.ws.transport.write(ping + masked(Opcode.TEXT, b"x" * 20_000))
    assert await socket.closed() == 1009
    await wait_until(lambda: server.channels() == {})


async def test_a_long_unknown_key_in_the_soketi_dialect_closes_with_4001() -> None:
    with BackgroundServer(dialect="soketi") as server:
        socket = await RawSocket.open(server.host, server.port, "k" * 300, establish=False)
        error = await socket.recv_event("pusher:error")
        assert error["data"]["code"] == 4001
        assert error["data"]["message"] == f"App key {'k' * 300} does not exist."
        assert await socket.closed() == 4001


@pytest.mark.parametrize("origin", ["http://[", "http://[::1", "://", "\u00e9"])
async def test_an_unparsable_origin_is_not_allowed(origin: str) -> None:
    from websockets.asyncio.client import connect

    app = AppConfig(id="1", key="k", secret="s", allowed_origins=("*.example.com",))
    async with (
        ReverbServer(ServerConfig(apps=[app], port=0)) as server,
        connect(
            f"ws://{server.host}:{server.port}/app/k",
            additional_headers={"Origin": origin.encode("utf-8").decode("latin-1")},
        ) as ws,
    ):
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert error_of(frame) == {"code": 4009, "message": "Origin not allowed"}


async def http_status(server: BackgroundServer, request: bytes) -> bytes:
    """The status the server answers raw ``request`` bytes with."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(request)
    await writer.drain()
    async with asyncio.timeout(5):
        response = await reader.read()
    writer.close()
    return response.split(maxsplit=2)[1]


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET //[/up HTTP/1.1\r\n\r\n", b"400"),
        (b"GET http://[::1/up HTTP/1.1\r\n\r\n", b"400"),
        (b"POST /apps/app-id/events HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n", b"400"),
        (b"POST /apps/app-id/events HTTP/1.1\r\nContent-Length: \xd9\xa3\r\n\r\n", b"400"),
        (b"GET /apps/\xed\xb3\xbf/channels HTTP/1.1\r\n\r\n", b"404"),
        (b"GET /apps/%ED%B3%BF/channels HTTP/1.1\r\n\r\n", b"404"),
        (b"GET /apps/app-id/channels?auth_signature=%C3%A9&x=%ED%B3%BF HTTP/1.1\r\n\r\n", b"401"),
        (b"DELETE /apps/app-id/events HTTP/1.1\r\n\r\n", b"405"),
        (b"GET /apps/app-id/events HTTP/1.1\r\n\r\n", b"405"),
    ],
)
async def test_hostile_http_requests_get_a_status(
    server: BackgroundServer,
    request_bytes: bytes,
    status: bytes,
) -> None:
    assert await http_status(server, request_bytes) == status


@pytest.mark.parametrize(
    "body",
    [
        b'{"name":"E","channel":"c","data":"\\udcff"}',
        b'{"name":"\\ud800","channel":"c","data":"{}"}',
        b'{"name":"E","channel":"\xed\xb3\xbf","data":"{}"}',
        b'{"name":"E","channel":"c","data":"\xff"}',
        b'{"name":"E","channel":"c","data":NaN}',
        b"not json",
    ],
)
async def test_api_bodies_php_cannot_decode_are_500(server: BackgroundServer, body: bytes) -> None:
    socket = await subscribed(server, "c")
    path = f"/apps/{server.app_id}/events"
    query = signed_api_query(
        key=server.app_key,
        secret=server.app_secret,
        method="POST",
        path=path,
        timestamp=1,
        body=body,
    )
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{server.http_url}{path}", params=query, content=body)
    assert (response.status_code, response.text) == (500, "Internal server error.")
    await socket.nothing_pending()


async def test_a_trigger_with_a_lone_surrogate_reaches_subscribers_escaped(
    server: BackgroundServer,
) -> None:
    socket = await subscribed(server, "c")
    server.trigger("c", "E\udcff", "\ud800")
    raw = await socket.ws.recv()
    assert raw == '{"event":"E\\udcff","data":"\\ud800","channel":"c"}'


async def test_the_signed_presence_subscription_of_a_lone_surrogate_user(
    server: BackgroundServer,
) -> None:
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    channel_data = '{"user_id":"\\udcff"}'  # valid UTF-8 text; PHP refuses to decode it
    auth = channel_auth(server.app_key, SECRET, socket.socket_id, "presence-x", channel_data)
    await socket.send(
        {
            "event": "pusher:subscribe",
            "data": {"channel": "presence-x", "auth": auth, "channel_data": channel_data},
        }
    )
    succeeded = await socket.recv_event("pusher_internal:subscription_succeeded")
    assert json.loads(succeeded["data"]) == {"presence": {"count": 0, "ids": [], "hash": []}}
