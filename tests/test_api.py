"""ApiClient: signed requests, errors, and signatures kept out of httpx's request log."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from pusher import crypto as pusher_crypto

from reverb import ConfigurationError, ReverbConfig, ReverbError
from reverb.api import ApiClient, ApiError
from reverb.encryption import decrypt_data
from reverb.protocol.signing import channel_shared_secret

SECRET = "api-s3cr3t"


def config(**overrides: object) -> ReverbConfig:
    settings: dict[str, object] = {
        "app_id": "42",
        "app_key": "key",
        "app_secret": SECRET,
        "host": "reverb.test",
        "port": 8080,
        "scheme": "http",
    }
    settings.update(overrides)
    return ReverbConfig(**settings)


def recording(
    status: int = 200, body: bytes = b"{}"
) -> tuple[list[httpx.Request], httpx.MockTransport]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=body)

    return seen, httpx.MockTransport(handle)


async def test_trigger_signs_the_request_like_laravel() -> None:
    seen, transport = recording()
    async with ApiClient(config(), transport=transport) as api:
        assert await api.trigger("orders", "OrderShipped", {"id": 1}, socket_id="1.2") == {}
    request = seen[0]
    url = urlsplit(str(request.url))
    assert (request.method, url.netloc, url.path) == ("POST", "reverb.test:8080", "/apps/42/events")
    body = json.loads(request.content)
    assert body == {
        "name": "OrderShipped",
        "channels": ["orders"],
        "data": '{"id": 1}',
        "socket_id": "1.2",
    }
    query = dict(parse_qsl(url.query))
    assert query["body_md5"] == hashlib.md5(request.content).hexdigest()
    signed = "&".join(f"{k}={query[k]}" for k in sorted(query) if k != "auth_signature")
    expected = hmac.new(
        SECRET.encode(), f"POST\n/apps/42/events\n{signed}".encode(), hashlib.sha256
    )
    assert query["auth_signature"] == expected.hexdigest()


async def test_queries_use_get_with_params() -> None:
    seen, transport = recording(body=b'{"channels":{}}')
    async with ApiClient(config(path="/ws"), transport=transport) as api:
        await api.channels("presence-", ["user_count"])
        await api.channel("orders", ["subscription_count"])
        await api.users("presence-room")
    paths = [urlsplit(str(request.url)).path for request in seen]
    assert paths == [
        "/ws/apps/42/channels",
        "/ws/apps/42/channels/orders",
        "/ws/apps/42/channels/presence-room/users",
    ]
    first = dict(parse_qsl(urlsplit(str(seen[0].url)).query))
    assert (first["filter_by_prefix"], first["info"]) == ("presence-", "user_count")
    assert "body_md5" not in first


async def test_error_answers_raise_api_error() -> None:
    _, transport = recording(401, b"Authentication signature invalid.")
    async with ApiClient(config(), transport=transport) as api:
        with pytest.raises(ApiError) as caught:
            await api.channels()
    assert caught.value.status == 401
    assert caught.value.body == "Authentication signature invalid."


async def test_non_json_answer_raises_api_error() -> None:
    _, transport = recording(200, b"OK")
    async with ApiClient(config(), transport=transport) as api:
        with pytest.raises(ApiError, match="not JSON"):
            await api.channels()


async def test_unreachable_server_is_a_reverb_error_without_the_signature() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with ApiClient(config(), transport=httpx.MockTransport(refuse)) as api:
        with pytest.raises(ReverbError) as caught:
            await api.trigger("orders", "E", {})
    assert "could not reach" in str(caught.value)
    assert "auth_signature" not in str(caught.value)


@pytest.mark.parametrize(("missing", "message"), [("app_id", "app id"), ("app_secret", "secret")])
def test_missing_credentials_are_configuration_errors(missing: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ApiClient(config(**{missing: None}))


async def test_signatures_never_reach_httpx_logs(caplog: pytest.LogCaptureFixture) -> None:
    seen, transport = recording()
    caplog.set_level(logging.DEBUG)
    async with ApiClient(config(), transport=transport) as api:
        await api.trigger("orders", "E", {})
    signature = dict(parse_qsl(urlsplit(str(seen[0].url)).query))["auth_signature"]
    assert "HTTP Request" in caplog.text
    assert signature not in caplog.text
    assert "auth_signature=<hidden>" in caplog.text
    assert SECRET not in caplog.text
    assert SECRET not in repr(api)


MASTER_B64 = base64.b64encode(bytes(range(32))).decode()


async def test_trigger_encrypts_for_private_encrypted_channels_as_the_sdk_does() -> None:
    seen, transport = recording()
    channel = "private-encrypted-orders"
    async with ApiClient(
        config(encryption_master_key_base64=MASTER_B64), transport=transport
    ) as api:
        await api.trigger(channel, "OrderShipped", {"id": 1})
        await api.trigger("orders", "Plain", {"id": 2})
    encrypted, plain = (json.loads(request.content) for request in seen)
    assert set(json.loads(encrypted["data"])) == {"nonce", "ciphertext"}
    key = channel_shared_secret(channel, bytes(range(32)))
    assert decrypt_data(encrypted["data"], key) == {"id": 1}
    assert plain["data"] == '{"id": 2}'
    sdk_style = pusher_crypto.encrypt(channel, '{"id": 1}', bytes(range(32)))
    assert decrypt_data(sdk_style, key) == {"id": 1}  # the official SDK's payloads open too


@pytest.mark.parametrize(
    ("channels", "master", "message"),
    [
        (["private-encrypted-a"], None, "REVERB_ENCRYPTION_MASTER_KEY_BASE64"),
        (["private-encrypted-a", "orders"], MASTER_B64, "alone"),
        (["private-encrypted-a", "private-encrypted-b"], MASTER_B64, "alone"),
    ],
)
async def test_encrypted_triggers_that_cannot_be_encrypted_are_refused_before_sending(
    channels: list[str], master: str | None, message: str
) -> None:
    seen, transport = recording()
    async with ApiClient(config(encryption_master_key_base64=master), transport=transport) as api:
        with pytest.raises(ConfigurationError, match=message):
            await api.trigger(channels, "E", {"secret": 1})
    assert seen == []
