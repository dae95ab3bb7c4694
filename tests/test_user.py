"""The sign-in token (reverb.user.user_authorization) and the client's sign-in against the fake
server: local signing as the Pusher server SDKs sign, authenticate_user preferred, refusals."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

import pytest

from reverb import AuthenticationError, Event, ReverbClient, SignInError, UserChannel
from reverb.user import user_authorization
from tests.support.fake_server import FakeServer, fake_client


async def test_local_signing_covers_socket_id_user_and_the_exact_user_data() -> None:
    result = await user_authorization(None, "key", "secret", "1.2", {"id": "7", "name": "Ann"})
    user_data = result["user_data"]
    assert json.loads(user_data) == {"id": "7", "name": "Ann"}
    expected = hmac.new(b"secret", f"1.2::user::{user_data}".encode(), hashlib.sha256)
    assert result["auth"] == f"key:{expected.hexdigest()}"


async def test_an_authenticate_user_method_is_preferred_sync_or_async() -> None:
    class Sync:
        def authenticate_user(self, socket_id: str, user_data: Any) -> dict[str, str]:
            return {"auth": f"sync:{socket_id}", "user_data": '{"id":"1"}'}

    class Async:
        async def authenticate_user(self, socket_id: str, user_data: Any) -> dict[str, str]:
            return {"auth": f"async:{socket_id}", "user_data": '{"id":"2"}'}

    for authenticator, auth in ((Sync(), "sync:1.2"), (Async(), "async:1.2")):
        result = await user_authorization(authenticator, "key", "secret", "1.2", None)  # type: ignore[arg-type]
        assert result["auth"] == auth


@pytest.mark.parametrize(
    ("secret", "user_data", "message"),
    [
        (None, {"id": "7"}, "authenticate_user"),
        ("secret", None, "'id'"),
        ("secret", {"name": "no id"}, "'id'"),
    ],
)
async def test_local_signing_needs_a_secret_and_an_id(
    secret: str | None, user_data: Any, message: str
) -> None:
    with pytest.raises(AuthenticationError, match=message):
        await user_authorization(None, "key", secret, "1.2", user_data)


async def test_a_malformed_socket_id_is_not_signed() -> None:
    with pytest.raises(AuthenticationError, match="socket_id"):
        await user_authorization(None, "key", "secret", "nonsense", {"id": "7"})


def make_client(server: FakeServer, **settings: Any) -> ReverbClient:
    options = {"app_secret": "secret", "reconnect_delay": 0.01, "reconnect_max_delay": 0.05}
    return fake_client(server, **{**options, **settings})


def answer_signins(server: FakeServer, reply: dict[str, Any] | None) -> None:
    """Answer every pusher:signin with ``reply`` (``None``: signin_success echoing the data)."""

    def on_frame(socket: Any, frame: dict[str, Any]) -> None:
        if frame.get("event") == "pusher:signin":
            socket.push(reply or {"event": "pusher:signin_success", "data": frame["data"]})

    server.on_frame = on_frame


async def test_signin_subscribes_the_user_channel_and_delivers_its_events() -> None:
    server = FakeServer()
    answer_signins(server, None)
    async with make_client(server) as client:
        user = await client.signin({"id": "7"})
        assert isinstance(user, UserChannel)
        assert client.user is user
        assert client.channels["#server-to-user-7"] is user
        (signin,) = server.frames("pusher:signin")
        assert signin["data"]["user_data"] == '{"id":"7"}'
        received: asyncio.Queue[Event] = asyncio.Queue()
        user.bind("note", received.put_nowait)
        server.broadcast("#server-to-user-7", "note", {"n": 1})
        assert (await asyncio.wait_for(received.get(), 5)).data == {"n": 1}


async def test_after_a_reconnect_it_signs_in_again_before_resubscribing_the_user_channel() -> None:
    server = FakeServer()
    answer_signins(server, None)
    async with make_client(server) as client:
        await client.subscribe("orders")
        user = await client.signin({"id": "7"})
        received: asyncio.Queue[Event] = asyncio.Queue()
        user.bind("note", received.put_nowait)
        server.current.drop(1006)
        await server.wait_for(
            lambda: len(server.sockets) == 2 and "#server-to-user-7" in server.current.channels
        )
        sent = [frame["event"] for frame in server.current.sent]
        user_subscribe = [
            i
            for i, frame in enumerate(server.current.sent)
            if frame.get("data", {}).get("channel") == "#server-to-user-7"
        ]
        assert sent.index("pusher:signin") < user_subscribe[0]
        assert client.user is user
        server.broadcast("#server-to-user-7", "note", {"n": 2})
        assert (await asyncio.wait_for(received.get(), 5)).data == {"n": 2}


async def test_a_4200_reply_is_a_clear_sign_in_error_and_the_connection_stays() -> None:
    server = FakeServer()
    error = {
        "event": "pusher:error",
        "data": json.dumps({"code": 4200, "message": "Invalid message format"}),
    }
    answer_signins(server, error)
    async with make_client(server) as client:
        with pytest.raises(SignInError, match="does not support user sign-in") as caught:
            await client.signin({"id": "7"})
        assert caught.value.code == 4200
        assert client.is_connected
        assert client.user is None


async def test_no_answer_is_a_sign_in_error_after_the_timeout() -> None:
    server = FakeServer()
    async with make_client(server) as client:
        with pytest.raises(SignInError, match=r"not settled within 0.2 s"):
            await client.signin({"id": "7"}, timeout=0.2)
        assert client.is_connected


async def test_a_failing_authenticate_user_is_a_sign_in_error_caused_by_it() -> None:
    class Failing:
        def authenticate(self, socket_id: str, channel: str, user_data: Any = None) -> Any:
            raise AssertionError("not used")

        async def authenticate_user(self, socket_id: str, user_data: Any) -> dict[str, str]:
            raise AuthenticationError("endpoint answered 401", status=401)

    server = FakeServer()
    async with make_client(server, authenticator=Failing()) as client:
        with pytest.raises(SignInError, match="answered 401") as caught:
            await client.signin()
        assert caught.value.status == 401
        assert isinstance(caught.value.__cause__, AuthenticationError)
        assert server.frames("pusher:signin") == []


async def test_signed_in_as_another_user_after_a_reconnect_the_handlers_move_along() -> None:
    server = FakeServer()
    ids = iter(["7", "8"])

    def on_frame(socket: Any, frame: dict[str, Any]) -> None:
        if frame.get("event") == "pusher:signin":
            data = {"auth": "k:s", "user_data": json.dumps({"id": next(ids)})}
            socket.push({"event": "pusher:signin_success", "data": data})

    server.on_frame = on_frame
    async with make_client(server) as client:
        first = await client.signin({"id": "7"})
        received: asyncio.Queue[Event] = asyncio.Queue()
        first.bind("note", received.put_nowait)
        server.current.drop(1006)
        await server.wait_for(
            lambda: len(server.sockets) == 2 and "#server-to-user-8" in server.current.channels
        )
        user = client.user
        assert user is not None
        assert user is not first
        assert user.user_id == "8"
        assert "#server-to-user-7" not in client.channels
        assert client.channels["#server-to-user-8"] is user
        server.broadcast("#server-to-user-8", "note", {"n": 8})
        assert (await asyncio.wait_for(received.get(), 5)).data == {"n": 8}


async def test_each_sign_in_asks_the_current_authenticator() -> None:
    class Named:
        def __init__(self, name: str) -> None:
            self.name = name

        def authenticate(self, socket_id: str, channel: str, user_data: Any = None) -> Any:
            raise AssertionError("not used")

        def authenticate_user(self, socket_id: str, user_data: Any) -> dict[str, str]:
            return {"auth": f"{self.name}:{socket_id}", "user_data": '{"id":"7"}'}

    server = FakeServer()
    answer_signins(server, None)
    async with make_client(server, authenticator=Named("first")) as client:
        await client.signin()
        client._authenticator = Named("second")  # credentials replaced, say
        server.current.drop(1006)
        await server.wait_for(lambda: len(server.frames("pusher:signin")) == 2)
    first, second = (frame["data"]["auth"] for frame in server.frames("pusher:signin"))
    assert first == f"first:{server.sockets[0].socket_id}"
    assert second == f"second:{server.sockets[1].socket_id}"
