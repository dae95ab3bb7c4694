"""The local server as a Laravel app's ``/broadcasting/auth``: every answer, byte for byte.

Shapes and status codes are the ones observed on a stock Laravel 11 app with Reverb (see the
protocol reference's last section); signatures are checked with ``reverb.protocol.signing``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import event as hypothesis_event
from hypothesis import given, settings
from hypothesis import strategies as st

from reverb import HttpAuthenticator, PresenceChannel, ReverbClient
from reverb.encryption import decrypt_data
from reverb.exceptions import AuthenticationError, ConfigurationError
from reverb.protocol.signing import channel_shared_secret, sign
from reverb.server import AppConfig, ServerConfig
from reverb.server.broadcasting import handle_broadcasting_request
from reverb.server.http_api import ApiRequest
from reverb.server.users import ChannelRule, UserDirectory
from reverb.testing import BackgroundServer
from tests.server.hostile import tracebacks
from tests.support.raw import RawSocket

pytestmark = pytest.mark.integration

SECRET = "app-secret"
MASTER_KEY = bytes(range(32))
MASTER_KEY_BASE64 = base64.b64encode(MASTER_KEY).decode()
SOCKET = "1234.5678"
JSON = {"Accept": "application/json"}
USERS: list[dict[str, Any]] = [
    {
        "id": 1,
        "token": "token-of-alice",
        "session": "session-of-alice",
        "csrf_token": "csrf-of-alice",
        "info": {"id": 1, "name": "Alice"},
        "channels": [
            "orders.*",
            "presence-room.{roomId}",
            {"pattern": "presence-chat.{id}", "info": {"name": "Alice in chat"}},
            "private-App.Models.User.1",
            "secret.*",
        ],
    },
    {"id": "bob", "token": "token-of-bob", "channels": ["room.{roomId}"]},
]


@pytest.fixture
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer(users=USERS, encryption_master_key_base64=MASTER_KEY_BASE64) as running:
        yield running


@pytest.fixture(autouse=True)
def _nothing_logged_as_an_error(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    yield
    records = caplog.get_records("call")
    assert tracebacks(record for record in records if record.name.startswith("reverb.server")) == []


def post(
    server: BackgroundServer,
    channel: str | None,
    token: str | None = "token-of-alice",
    socket_id: str | None = SOCKET,
    headers: Mapping[str, str] = JSON,
) -> httpx.Response:
    """POST a form as pusher-js does, with a bearer token."""
    fields = {"socket_id": socket_id, "channel_name": channel}
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(
        server.auth_url,
        data={name: value for name, value in fields.items() if value is not None},
        headers={**auth, **headers},
    )


# -- 200 ----------------------------------------------------------------------------------------


def test_private_channel_is_signed_over_socket_id_and_channel(server: BackgroundServer) -> None:
    response = post(server, "private-orders.42")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"auth": f"app-key:{sign(SECRET, f'{SOCKET}:private-orders.42')}"}


def test_a_json_body_and_a_prefixed_pattern_work_too(server: BackgroundServer) -> None:
    response = httpx.post(
        server.auth_url,
        json={"socket_id": SOCKET, "channel_name": "private-App.Models.User.1"},
        headers={"Authorization": "Bearer token-of-alice", **JSON},
    )
    assert response.status_code == 200
    signature = sign(SECRET, f"{SOCKET}:private-App.Models.User.1")
    assert response.json() == {"auth": f"app-key:{signature}"}


def test_presence_channel_data_is_a_string_signed_byte_for_byte(server: BackgroundServer) -> None:
    response = post(server, "presence-room.7")
    assert response.status_code == 200
    channel_data = '{"user_id":"1","user_info":{"id":1,"name":"Alice"}}'
    assert response.content == (
        b'{"auth":"app-key:'
        + sign(SECRET, f"{SOCKET}:presence-room.7:{channel_data}").encode()
        + b'","channel_data":"{\\"user_id\\":\\"1\\",\\"user_info\\":{\\"id\\":1,'
        b'\\"name\\":\\"Alice\\"}}"}'
    )
    assert response.json()["channel_data"] == channel_data


def test_presence_info_per_channel_and_string_ids(server: BackgroundServer) -> None:
    chat = post(server, "presence-chat.1").json()
    assert json.loads(chat["channel_data"]) == {
        "user_id": "1",
        "user_info": {"name": "Alice in chat"},
    }
    bob = post(server, "presence-room.1", token="token-of-bob").json()
    assert bob["channel_data"] == '{"user_id":"bob"}'  # no info: no user_info, as Pusher's SDK
    assert (
        bob["auth"] == f"app-key:{sign(SECRET, f'{SOCKET}:presence-room.1:' + bob['channel_data'])}"
    )


def encrypted_channel_with_a_slash_in_its_secret() -> str:
    for number in range(1000):
        channel = f"private-encrypted-secret.{number}"
        if "/" in base64.b64encode(channel_shared_secret(channel, MASTER_KEY)).decode():
            return channel
    raise AssertionError("no such channel")


def test_encrypted_channel_gets_the_shared_secret_with_slashes_escaped(
    server: BackgroundServer,
) -> None:
    channel = encrypted_channel_with_a_slash_in_its_secret()
    response = post(server, channel)
    assert response.status_code == 200
    shared = base64.b64encode(hashlib.sha256(channel.encode() + MASTER_KEY).digest()).decode()
    assert response.json() == {
        "auth": f"app-key:{sign(SECRET, f'{SOCKET}:{channel}')}",
        "shared_secret": shared,
    }
    assert shared.replace("/", "\\/").encode() in response.content  # as PHP writes it
    assert b'"' + shared.encode() + b'"' not in response.content
    assert post(server, channel, socket_id="9.9").json()["shared_secret"] == shared


def test_user_authentication_signs_socket_id_user_and_user_data(
    server: BackgroundServer,
) -> None:
    response = httpx.post(
        server.user_auth_url,
        data={"socket_id": SOCKET},
        headers={"Authorization": "Bearer token-of-alice", **JSON},
    )
    assert response.status_code == 200
    user_data = '{"id":"1","user_info":{"id":1,"name":"Alice"}}'
    assert response.json() == {
        "auth": f"app-key:{sign(SECRET, f'{SOCKET}::user::{user_data}')}",
        "user_data": user_data,
    }


def test_a_session_cookie_with_its_csrf_token_authorizes(server: BackgroundServer) -> None:
    response = httpx.post(
        server.auth_url,
        data={"socket_id": SOCKET, "channel_name": "private-orders.1"},
        headers={
            "Cookie": "XSRF-TOKEN=x; laravel_session=session-of-alice",
            "X-CSRF-TOKEN": "csrf-of-alice",
            "X-Requested-With": "XMLHttpRequest",
        },
    )
    assert response.status_code == 200
    assert response.json()["auth"] == f"app-key:{sign(SECRET, f'{SOCKET}:private-orders.1')}"


def test_get_with_query_parameters_is_accepted_as_laravel_routes_it(
    server: BackgroundServer,
) -> None:
    response = httpx.get(
        server.auth_url,
        params={"socket_id": SOCKET, "channel_name": "private-orders.1"},
        headers={"Authorization": "Bearer token-of-alice"},
    )
    assert response.status_code == 200


# -- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "token"),
    [
        ("private-invoices.1", "token-of-alice"),  # no pattern matches
        ("private-App.Models.User.2", "token-of-alice"),  # someone else's
        ("presence-room.1.2", "token-of-alice"),  # {param} is one dot-free segment
        ("orders.1", "token-of-alice"),  # a public channel name
        ("", "token-of-alice"),
        (None, "token-of-alice"),  # no channel_name
        ("private-orders.1", "token-of-bob"),
    ],
)
def test_channels_the_user_may_not_join_are_403(
    server: BackgroundServer, channel: str | None, token: str
) -> None:
    response = post(server, channel, token=token)
    assert response.status_code == 403
    assert response.json() == {"message": ""}


@pytest.mark.parametrize("token", [None, "wrong-token", "token-of-alice-but-longer"])
def test_no_valid_credentials_is_401_when_json_is_asked_for(
    server: BackgroundServer, token: str | None
) -> None:
    response = post(server, "private-orders.1", token=token)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}
    xhr = post(
        server, "private-orders.1", token=token, headers={"X-Requested-With": "XMLHttpRequest"}
    )
    assert xhr.status_code == 401


def test_no_valid_credentials_without_accept_json_redirects_to_login(
    server: BackgroundServer,
) -> None:
    response = post(server, "private-orders.1", token="wrong", headers={})
    assert response.status_code == 302
    assert response.headers["location"] == "/login"


@pytest.mark.parametrize(
    "headers",
    [
        {"Cookie": "laravel_session=session-of-alice"},
        {"Cookie": "laravel_session=session-of-alice", "X-CSRF-TOKEN": "csrf-of-bob"},
        {"Cookie": "laravel_session=unknown", "X-CSRF-TOKEN": "csrf-of-alice"},
    ],
)
def test_a_session_without_its_csrf_token_is_419(
    server: BackgroundServer, headers: dict[str, str]
) -> None:
    response = post(server, "private-orders.1", token=None, headers={**headers, **JSON})
    assert response.status_code == 419
    assert response.json() == {"message": "CSRF token mismatch."}


@pytest.mark.parametrize(
    "socket_id", [None, "", "1234", "1.2x", "abc.def", "1.2\n", "\u0661.\u0662"]
)
def test_a_malformed_socket_id_is_500_invalid_socket_id(
    server: BackgroundServer, socket_id: str | None
) -> None:
    response = post(server, "private-orders.1", socket_id=socket_id)
    assert response.status_code == 500
    assert response.json() == {"message": "Invalid socket ID"}


def test_a_channel_name_pusher_will_not_sign_is_500(server: BackgroundServer) -> None:
    response = post(server, "private-orders.a/b")  # matched by "orders.*", refused by the SDK
    assert response.status_code == 500
    assert response.json() == {"message": "Invalid channel name"}


def test_an_encrypted_channel_without_a_master_key_is_500() -> None:
    with BackgroundServer(users=USERS) as server:
        response = post(server, "private-encrypted-secret.1")
    assert response.status_code == 500
    assert "encryption master key is not set" in response.json()["message"]


def test_errors_are_plain_text_when_json_is_not_asked_for(server: BackgroundServer) -> None:
    forbidden = post(server, "private-invoices.1", headers={})
    assert (forbidden.status_code, forbidden.text) == (403, "Forbidden")
    assert forbidden.headers["content-type"] == "text/plain"
    invalid = post(server, "private-orders.1", socket_id="x", headers={})
    assert (invalid.status_code, invalid.text) == (500, "Invalid socket ID")
    expired = post(server, "private-orders.1", token=None, headers={"Cookie": "laravel_session=x"})
    assert (expired.status_code, expired.text) == (419, "Page Expired")


def test_other_methods_are_405(server: BackgroundServer) -> None:
    response = httpx.put(server.auth_url, headers=JSON)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"


def test_a_server_without_users_knows_nobody() -> None:
    with BackgroundServer() as server:
        assert post(server, "private-orders.1").status_code == 401


# -- hostile input --------------------------------------------------------------------------------


def raw_request(server: BackgroundServer, request: bytes) -> int:
    """Send raw bytes, return the status code of the answer."""
    with socket.create_connection((server.host, server.port), timeout=5) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def raw_post(body: bytes, content_type: bytes, extra: bytes = b"") -> bytes:
    return (
        b"POST /broadcasting/auth HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n"
        b"Content-Type: "
        + content_type
        + b"\r\n"
        + extra
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


@pytest.mark.parametrize(
    ("body", "content_type", "extra", "statuses"),
    [
        (
            b'{"socket_id":"1.2","channel_name":"private-orders.\\udcff"}',
            b"application/json",
            b"Authorization: Bearer token-of-alice\r\n",
            {403},
        ),
        (
            b'{"socket_id":"1.2","channel_name":["private-orders.1"]}',
            b"application/json",
            b"Authorization: Bearer token-of-alice\r\n",
            {403},
        ),
        (
            b'{"socket_id":1.2,"channel_name":"private-orders.1"}',
            b"application/json",
            b"Authorization: Bearer token-of-alice\r\n",
            {500},
        ),
        (b"[1, 2", b"application/json", b"Authorization: Bearer token-of-alice\r\n", {403}),
        (
            b"socket_id=1.2&channel_name=private-orders.%ED%B3%BF%FF",
            b"application/x-www-form-urlencoded",
            b"Authorization: Bearer token-of-alice\r\n",
            {500},
        ),
        (
            b"\xff\xfe\x00",
            b"application/x-www-form-urlencoded",
            b"Authorization: Bearer token-of-alice\r\n",
            {403},
        ),
        (b"socket_id=1.2", b"text/plain", b"Authorization: Bearer \xff\xfe\r\n", {401}),
        (
            b"socket_id=1.2&channel_name=private-orders.1",
            b"application/x-www-form-urlencoded",
            b"Cookie: laravel_session=\xff; =; ;;\r\nX-CSRF-TOKEN: \xe9\r\n",
            {419},
        ),
        (
            b"socket_id=1.2&channel_name=private-orders.1",
            b"application/x-www-form-urlencoded",
            b"Authorization: Bearer \r\nCookie: laravel_session\r\n",
            {401},
        ),
        (b"x" * 20_000, b"application/x-www-form-urlencoded", b"", {413}),
    ],
)
def test_hostile_requests_get_a_status_never_a_crash(
    server: BackgroundServer, body: bytes, content_type: bytes, extra: bytes, statuses: set[int]
) -> None:
    assert raw_request(server, raw_post(body, content_type, extra)) in statuses
    assert post(server, "private-orders.1").status_code == 200  # still serving


def test_huge_and_lone_surrogate_inputs_through_httpx(server: BackgroundServer) -> None:
    response = httpx.post(
        server.auth_url,
        content='{"socket_id": "1.2", "channel_name": "private-orders.\\ud800", "info": 1}',
        headers={
            "Authorization": "Bearer token-of-alice",
            "Content-Type": "application/json",
            **JSON,
        },
    )
    assert response.status_code == 403
    assert post(server, "private-orders." + "9" * 5000).status_code == 500  # over 200 characters


# -- configuration ------------------------------------------------------------------------------


def test_secrets_never_show_in_reprs(server: BackgroundServer) -> None:
    shown = repr(server.users) + repr(server.users.users) + repr(server.app)
    for secret in ("token-of-alice", "session-of-alice", "csrf-of-alice", MASTER_KEY_BASE64):
        assert secret not in shown
    assert repr(MASTER_KEY) not in repr(server.app)


def test_users_files_in_json_and_toml(tmp_path: Path) -> None:
    as_json = tmp_path / "users.json"
    as_json.write_text(json.dumps({"users": USERS}))
    as_toml = tmp_path / "users.toml"
    as_toml.write_text(
        '[[users]]\nid = 1\ntoken = "t-1"\nchannels = ["orders.*"]\n[users.info]\nname = "Alice"\n'
    )
    assert UserDirectory.load(as_json).by_token("token-of-bob") is not None
    alice = UserDirectory.load(as_toml).by_token("t-1")
    assert alice is not None
    assert alice.info == {"name": "Alice"}
    assert alice.id == "1"
    config = ServerConfig.from_env(
        {
            "REVERB_APP_KEY": "k",
            "REVERB_APP_SECRET": "s",
            "REVERB_USERS_FILE": str(as_toml),
            "REVERB_ENCRYPTION_MASTER_KEY_BASE64": MASTER_KEY_BASE64,
        }
    )
    assert config.users is not None
    assert len(config.users) == 1
    assert config.apps[0].encryption_master_key == MASTER_KEY


@pytest.mark.parametrize(
    "content",
    [
        "not json token-of-alice",
        '{"users": {"id": 1}}',
        '{"users": [{"token": "t"}]}',
        '{"users": [{"id": 1, "token": ""}]}',
        '{"users": [{"id": 1, "password": "x"}]}',
        '{"users": [{"id": 1, "channels": [""]}]}',
        '{"users": [{"id": 1}, {"id": "1"}]}',
    ],
)
def test_invalid_users_files_are_one_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "users.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError) as raised:
        UserDirectory.load(path)
    assert "token-of-alice" not in str(raised.value)


def test_several_apps_each_with_a_master_key_and_users_signing_with_one(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"app_id": "2", "users": USERS}))
    apps = [
        {"id": "1", "key": "k1", "secret": "s1"},
        {"id": "2", "key": "k2", "secret": "s2", "encryption_master_key_base64": MASTER_KEY_BASE64},
    ]
    env = {"REVERB_APPS": json.dumps(apps), "REVERB_USERS_FILE": str(users)}
    config = ServerConfig.from_env(env)
    assert [app.encryption_master_key for app in config.apps] == [None, MASTER_KEY]
    request = ApiRequest(
        "POST",
        "/broadcasting/auth",
        {"socket_id": SOCKET, "channel_name": "private-encrypted-secret.1"},
        headers={"authorization": "Bearer token-of-alice"},
    )
    answer = json.loads(handle_broadcasting_request(request, config).body)
    assert answer["auth"] == "k2:" + sign("s2", f"{SOCKET}:private-encrypted-secret.1")
    users.write_text(json.dumps({"app_id": "3", "users": USERS}))
    with pytest.raises(ConfigurationError, match="unknown app"):
        ServerConfig.from_env(env)


def test_invalid_master_keys_are_refused_without_quoting_them() -> None:
    for key in ("not base64!", base64.b64encode(b"short").decode()):
        with pytest.raises(ConfigurationError) as raised:
            BackgroundServer(encryption_master_key_base64=key)
        assert key not in str(raised.value)


@pytest.mark.parametrize(
    ("pattern", "channel", "allowed"),
    [
        ("orders.{id}", "private-orders.1", True),
        ("orders.{id}", "presence-orders.1", True),
        ("orders.{id}", "private-encrypted-orders.1", True),
        ("orders.{id}", "private-orders.1.2", False),
        ("orders.*", "private-orders.1.2", True),
        ("private-orders.*", "presence-orders.1", False),
        ("private-orders.*", "private-encrypted-orders.1", False),
        ("a.b", "private-aXb", False),  # dots are literal
        ("*", "private-anything", True),
    ],
)
def test_channel_patterns_follow_laravel(pattern: str, channel: str, allowed: bool) -> None:
    assert ChannelRule(pattern).matches(channel) is allowed


# -- end to end -----------------------------------------------------------------------------------


def client_as(server: BackgroundServer, token: str) -> ReverbClient:
    """A client that authorizes as the user holding ``token``, the way Echo does."""
    settings = server.client_settings(app_secret=None)  # no secret: only the endpoint signs
    authenticator = HttpAuthenticator(server.auth_url, bearer_token=token)
    return ReverbClient(**settings, authenticator=authenticator)


async def test_clients_authorize_as_users_and_see_each_others_info(
    server: BackgroundServer,
) -> None:
    async with (
        client_as(server, "token-of-alice") as alice,
        client_as(server, "token-of-bob") as bob,
    ):
        orders = await alice.subscribe("private-orders.5")
        assert orders.subscribed
        alice_room = await alice.subscribe("presence-room.1")
        bob_room = await bob.subscribe("presence-room.1")
        assert isinstance(alice_room, PresenceChannel)
        assert isinstance(bob_room, PresenceChannel)
        assert alice_room.me is not None
        assert alice_room.me.user_id == "1"
        async with asyncio.timeout(5):
            while len(alice_room.members) < 2:  # noqa: ASYNC110 - members update in place
                await asyncio.sleep(0.01)
        assert dict(bob_room.members) == {"1": {"id": 1, "name": "Alice"}, "bob": None}
        assert server.members("presence-room.1") == {"1": {"id": 1, "name": "Alice"}, "bob": None}
        with pytest.raises(AuthenticationError, match=r"private-orders\.5"):  # a 403
            await bob.subscribe("private-orders.5")


async def test_encrypted_channels_end_to_end(server: BackgroundServer) -> None:
    channel = "private-encrypted-secret.1"
    wire = await RawSocket.open(server.host, server.port, server.app_key)  # sees the wire
    await wire.subscribe(channel, secret=SECRET)
    await wire.recv_event("pusher_internal:subscription_succeeded")
    async with client_as(server, "token-of-alice") as alice:
        secrets = await alice.subscribe(channel)
        heard: asyncio.Queue[Any] = asyncio.Queue()
        secrets.bind("Launched", lambda event: heard.put_nowait(event.data))
        server.trigger(channel, "Launched", {"code": "1234"})
        async with asyncio.timeout(5):
            assert await heard.get() == {"code": "1234"}
    sent = await wire.recv_event("Launched")
    assert "1234" not in sent["data"]
    assert set(json.loads(sent["data"])) == {"nonce", "ciphertext"}
    key = channel_shared_secret(channel, MASTER_KEY)
    assert decrypt_data(sent["data"], key) == {"code": "1234"}
    await wire.close()


async def test_user_authentication_with_the_http_authenticator(server: BackgroundServer) -> None:
    async with HttpAuthenticator(server.auth_url, bearer_token="token-of-bob") as authenticator:
        answer = await authenticator.authenticate_user(SOCKET)
    user_data = '{"id":"bob"}'
    assert answer == {
        "auth": "app-key:" + sign(SECRET, f"{SOCKET}::user::{user_data}"),
        "user_data": user_data,
    }


# -- properties -----------------------------------------------------------------------------------

lone_surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
any_strings = st.text(max_size=8) | st.builds(
    lambda before, bad: before + bad, st.text(max_size=6), lone_surrogates
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | any_strings,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(any_strings, children),
    max_leaves=8,
)
CONFIG = ServerConfig(
    apps=[AppConfig(id="1", key="app-key", secret=SECRET, encryption_master_key=MASTER_KEY)],
    users=UserDirectory.of(
        [*USERS, {"id": "odd", "token": "t", "info": {"\udcff": "/\ud800"}, "channels": ["*"]}]
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "POST", "POST", "PUT", "HEAD"]),
    path=st.sampled_from(["/broadcasting/auth", "/broadcasting/user-auth/"]),
    inputs=st.dictionaries(
        st.sampled_from(["socket_id", "channel_name", "api_token", "_token"]) | any_strings,
        st.sampled_from(["1.2", "private-x", "presence-x", "private-encrypted-x", "t"])
        | json_values,
        max_size=4,
    ),
    as_json=st.booleans(),
    headers=st.dictionaries(
        st.sampled_from(["authorization", "cookie", "accept", "x-csrf-token", "content-type"]),
        st.sampled_from(
            ["Bearer t", "Bearer token-of-alice", "laravel_session=session-of-alice", "*/json"]
        )
        | st.text(max_size=12),
        max_size=4,
    ),
)
def test_any_request_gets_an_answer_php_could_have_written(
    method: str,
    path: str,
    inputs: dict[str, Any],
    as_json: bool,
    headers: dict[str, str],
) -> None:
    body = json.dumps(inputs).encode("utf-8", "surrogatepass") if as_json else b""
    if as_json:
        headers = {**headers, "content-type": "application/json"}
    query = {} if as_json else {k: str(v) for k, v in inputs.items()}
    response = handle_broadcasting_request(ApiRequest(method, path, query, body, headers), CONFIG)
    hypothesis_event(f"status {response.status}")
    assert response.status in {200, 302, 401, 403, 405, 419, 500}
    text = response.body.decode("utf-8")  # always valid UTF-8
    if response.content_type == "application/json":
        answer = json.loads(text)
        assert isinstance(answer, dict)
        assert text.isascii()
        assert "/" not in text.replace("\\/", "")  # every slash escaped, as PHP writes them
