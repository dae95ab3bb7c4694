"""HttpAuthenticator against httpx.MockTransport: the request it sends, every kind of failure,
redirects, and secrets kept out of messages, reprs and logs."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest

from reverb import AuthenticationError, ConfigurationError, HttpAuthenticator
from reverb.auth import authorize

URL = "https://app.test/broadcasting/auth"
TOKEN = "tok-7f3a9c1e5b"
CSRF = "csrf-2d8e4f6a0c"
SESSION = "sess-9b1c3e5d7f"
PROVIDED = "rot-4a6c8e0b2d"
SECRETS = (TOKEN, CSRF, SESSION, PROVIDED)

Handler = Callable[[httpx.Request], httpx.Response]


def authenticator(handler: Handler, **options: object) -> HttpAuthenticator:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return HttpAuthenticator(URL, client=client, **options)  # type: ignore[arg-type]


def form(request: httpx.Request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.content.decode()).items()}


def ok(body: object) -> httpx.Response:
    return httpx.Response(200, json=body)


@pytest.fixture
def seen() -> list[httpx.Request]:
    return []


async def test_posts_the_form_pusher_js_sends_with_every_credential(
    seen: list[httpx.Request],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok({"auth": "key:sig"})

    auth = authenticator(
        handler,
        headers={"X-App": "python"},
        cookies={"laravel_session": SESSION},
        bearer_token=TOKEN,
        csrf_token=CSRF,
    )
    assert await auth.authenticate("1.2", "private-chat") == {"auth": "key:sig"}
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form(request) == {"socket_id": "1.2", "channel_name": "private-chat"}
    assert request.headers["accept"] == "application/json"
    assert request.headers["x-requested-with"] == "XMLHttpRequest"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["x-csrf-token"] == CSRF
    assert request.headers["cookie"] == f"laravel_session={SESSION}"
    assert request.headers["x-app"] == "python"


async def test_channel_data_and_shared_secret_are_returned_unchanged() -> None:
    channel_data = '{ "user_info":{"name":"Ann"},  "user_id":"7" }'
    body = {"auth": "k:s", "channel_data": channel_data, "shared_secret": "c2VjcmV0\\/x=="}
    auth = authenticator(lambda request: ok(body))
    result = await auth.authenticate("1.2", "presence-room", {"user_id": "ignored"})
    assert result == body
    assert result["channel_data"] == channel_data  # byte for byte: the signature covers it


async def test_the_user_data_argument_is_not_sent(seen: list[httpx.Request]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok({"auth": "k:s"})

    await authenticator(handler).authenticate("1.2", "presence-room", {"user_id": "42"})
    assert form(seen[0]) == {"socket_id": "1.2", "channel_name": "presence-room"}


async def test_the_credentials_provider_is_called_for_every_request(
    seen: list[httpx.Request],
) -> None:
    tokens = iter(["first", "second", "third"])

    async def provider() -> dict[str, str]:
        return {"Authorization": f"Bearer {next(tokens)}"}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok({"auth": "k:s"})

    auth = authenticator(handler, bearer_token="static", credentials=provider)
    for channel in ("private-a", "private-b", "private-c"):
        await auth.authenticate("1.2", channel)
    assert [r.headers["authorization"] for r in seen] == [
        "Bearer first",
        "Bearer second",
        "Bearer third",
    ]


async def test_a_sync_provider_works_too(seen: list[httpx.Request]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok({"auth": "k:s"})

    await authenticator(handler, credentials=lambda: {"X-CSRF-TOKEN": "fresh"}).authenticate(
        "1.2", "private-a"
    )
    assert seen[0].headers["x-csrf-token"] == "fresh"


async def test_a_failing_provider_is_an_authentication_error_without_its_message() -> None:
    def provider() -> dict[str, str]:
        raise RuntimeError(f"vault said {TOKEN}")

    auth = authenticator(lambda request: ok({"auth": "k:s"}), credentials=provider)
    with pytest.raises(AuthenticationError, match="credentials provider failed") as caught:
        await auth.authenticate("1.2", "private-a")
    assert TOKEN not in str(caught.value)
    assert isinstance(caught.value.__cause__, RuntimeError)


@pytest.mark.parametrize(
    ("status", "body", "meaning"),
    [
        (401, {"message": "Unauthenticated."}, "not authenticated"),
        (403, {"message": ""}, "denied"),
        (419, {"message": "CSRF token mismatch."}, "CSRF"),
        (404, {"message": "Not Found"}, "404"),
        (500, {"message": "Server Error"}, "500"),
    ],
)
async def test_error_statuses_become_authentication_errors_with_the_status(
    status: int, body: dict[str, str], meaning: str
) -> None:
    auth = authenticator(lambda request: httpx.Response(status, json=body))
    with pytest.raises(AuthenticationError, match=meaning) as caught:
        await auth.authenticate("1.2", "private-a")
    assert caught.value.status == status
    assert caught.value.channel == "private-a"
    assert body["message"] in str(caught.value)


async def test_a_debug_page_is_quoted_as_one_short_line() -> None:
    trace = "Exception: boom\n" + "\n".join(f"#{i} /var/www/app.php(12): f()" for i in range(500))
    auth = authenticator(lambda request: httpx.Response(500, text=trace))
    with pytest.raises(AuthenticationError) as caught:
        await auth.authenticate("1.2", "private-a")
    message = str(caught.value)
    assert "\n" not in message
    assert "Exception: boom #0" in message
    assert len(message) < 400
    assert "#499" not in message


async def test_secrets_echoed_by_the_endpoint_are_hidden_in_the_excerpt() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, text=f"bad token {TOKEN}, session {SESSION}, {PROVIDED}")

    auth = authenticator(
        handler,
        bearer_token=TOKEN,
        cookies={"laravel_session": SESSION},
        credentials=lambda: {"X-Api-Key": PROVIDED},
    )
    with pytest.raises(AuthenticationError) as caught:
        await auth.authenticate("1.2", "private-a")
    assert "<hidden>" in str(caught.value)
    assert not any(secret in str(caught.value) for secret in SECRETS)


async def test_nothing_secret_is_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if form(request)["channel_name"] == "private-ok":
            return ok({"auth": "k:s"})
        return httpx.Response(403, text=f"denied for {TOKEN}")

    auth = authenticator(
        handler,
        bearer_token=TOKEN,
        csrf_token=CSRF,
        cookies={"laravel_session": SESSION},
        credentials=lambda: {"X-Api-Key": PROVIDED},
    )
    with caplog.at_level(logging.DEBUG):
        await auth.authenticate("1.2", "private-ok")
        with pytest.raises(AuthenticationError) as caught:
            await auth.authenticate("1.2", "private-no")
        logging.getLogger("test").error("failed: %s %r %r", caught.value, caught.value, auth)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "POST https://app.test/broadcasting/auth" in logged  # DEBUG logging did happen
    assert not any(secret in logged for secret in SECRETS)


def test_the_repr_hides_secrets() -> None:
    auth = HttpAuthenticator(
        URL + "?api_token=" + TOKEN,
        bearer_token=TOKEN,
        csrf_token=CSRF,
        cookies={"s": SESSION},
        headers={"X-Api-Key": PROVIDED},
    )
    text = repr(auth)
    assert "https://app.test/broadcasting/auth" in text
    assert "Authorization" in text  # which headers are sent, never their values
    assert not any(secret in text for secret in SECRETS)


async def test_a_timeout_is_an_authentication_error() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    auth = authenticator(handler, timeout=0.25)  # type: ignore[arg-type]
    with pytest.raises(AuthenticationError, match=r"did not answer within 0.25 s"):
        await auth.authenticate("1.2", "private-a")


async def test_an_unreachable_endpoint_is_an_authentication_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(AuthenticationError, match=r"could not reach .*ConnectError"):
        await authenticator(handler).authenticate("1.2", "private-a")


async def test_a_redirect_to_another_origin_is_refused_and_not_followed(
    seen: list[httpx.Request],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": "https://evil.test/collect?x=1"})

    with pytest.raises(AuthenticationError, match="another origin") as caught:
        await authenticator(handler, bearer_token=TOKEN).authenticate("1.2", "private-a")
    assert caught.value.status == 302
    assert [str(r.url) for r in seen] == [URL]  # evil.test was never asked


@pytest.mark.parametrize("location", ["/login", "https://app.test/login"])
async def test_a_same_origin_redirect_explains_the_login_page(
    seen: list[httpx.Request], location: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": location})

    with pytest.raises(AuthenticationError, match=r"redirected to /login .*not authenticated"):
        await authenticator(handler).authenticate("1.2", "private-a")
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"auth": 5}, "no string 'auth'"),
        ({}, "no string 'auth'"),
        ({"auth": "k:s", "channel_data": {"user_id": 1}}, "no string 'channel_data'"),
    ],
)
async def test_malformed_answers_are_authentication_errors(
    body: dict[str, object], message: str
) -> None:
    with pytest.raises(AuthenticationError, match=message):
        await authenticator(lambda request: ok(body)).authenticate("1.2", "private-a")


async def test_a_non_json_200_is_an_authentication_error() -> None:
    auth = authenticator(lambda request: httpx.Response(200, text="<html>login</html>"))
    with pytest.raises(AuthenticationError, match="without a JSON object: <html>login"):
        await auth.authenticate("1.2", "private-a")


async def test_user_authentication_posts_the_socket_id_to_the_user_endpoint(
    seen: list[httpx.Request],
) -> None:
    user_data = '{"id":"7", "name":"Ann"}'

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok({"auth": "k:s", "user_data": user_data})

    result = await authenticator(handler, bearer_token=TOKEN).authenticate_user("1.2")
    assert result == {"auth": "k:s", "user_data": user_data}
    assert str(seen[0].url) == "https://app.test/broadcasting/user-auth"
    assert form(seen[0]) == {"socket_id": "1.2"}
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    ("endpoint", "user_endpoint"),
    [
        ("https://app.test/broadcasting/auth", "https://app.test/broadcasting/user-auth"),
        (
            "https://app.test/api/broadcasting/auth?x=1",
            "https://app.test/api/broadcasting/user-auth",
        ),
        ("https://app.test/custom/authorize", "https://app.test/broadcasting/user-auth"),
    ],
)
def test_the_default_user_endpoint_follows_the_channel_endpoint(
    endpoint: str, user_endpoint: str
) -> None:
    assert str(HttpAuthenticator(endpoint).user_endpoint_url) == user_endpoint


async def test_the_user_endpoint_can_be_configured(seen: list[httpx.Request]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok({"auth": "k:s", "user_data": "{}"})

    auth = authenticator(handler, user_endpoint_url="https://app.test/api/user-auth")
    await auth.authenticate_user("1.2")
    assert str(seen[0].url) == "https://app.test/api/user-auth"


async def test_concurrency_is_bounded() -> None:
    in_flight = peak = 0
    release, full = asyncio.Event(), asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == 3:
            full.set()
        await release.wait()
        in_flight -= 1
        return ok({"auth": "k:s"})

    auth = authenticator(handler, max_concurrency=3)  # type: ignore[arg-type]
    calls = [asyncio.ensure_future(auth.authenticate("1.2", f"private-{i}")) for i in range(10)]
    await asyncio.wait_for(full.wait(), 5)
    for _ in range(20):
        await asyncio.sleep(0)  # give the others every chance to exceed the bound
    assert in_flight == 3
    release.set()
    assert len(await asyncio.gather(*calls)) == 10
    assert peak == 3


async def test_it_works_through_the_authorize_helper_and_as_a_context_manager() -> None:
    async with authenticator(lambda request: ok({"auth": "k:s"})) as auth:
        assert await authorize(auth, "1.2", "private-a", None) == {"auth": "k:s"}


async def test_aclose_leaves_a_passed_client_open_and_closes_its_own() -> None:
    shared = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: ok({"auth": "x"})))
    await HttpAuthenticator(URL, client=shared).aclose()
    assert not shared.is_closed
    own = HttpAuthenticator(URL)
    await own.aclose()
    assert own._client.is_closed
    await shared.aclose()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"endpoint_url": "/broadcasting/auth"}, "absolute"),
        ({"endpoint_url": "ftp://x/auth"}, "absolute"),
        ({"endpoint_url": URL, "timeout": 0}, "timeout"),
        ({"endpoint_url": URL, "max_concurrency": 0}, "max_concurrency"),
    ],
)
def test_bad_options_are_configuration_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        HttpAuthenticator(**options)  # type: ignore[arg-type]


def test_the_excerpt_prefers_laravels_message_field() -> None:
    auth = HttpAuthenticator(URL)
    body = json.dumps({"message": "Unauthenticated.", "trace": ["x"] * 50})
    assert auth._excerpt(body, ()) == "Unauthenticated."


# -- through the client (an in-memory fake server) -----------------------------------------------


async def test_a_refused_authorization_fails_subscribe_with_its_cause_and_keeps_connected() -> None:
    from reverb import AuthorizationFailed, ReverbClient, SubscriptionError
    from tests.support.fake_server import FakeServer

    def handler(request: httpx.Request) -> httpx.Response:
        if form(request)["channel_name"] == "private-denied":
            return httpx.Response(403, json={"message": "This action is unauthorized."})
        return ok({"auth": "app-key:" + "0" * 64})

    server = FakeServer()
    client = ReverbClient(
        transport_factory=server.connect,
        authenticator=authenticator(handler, bearer_token=TOKEN),
        app_key="app-key",
        host="127.0.0.1",
        scheme="http",
        subscription_timeout=2.0,
        connect_timeout=2.0,
    )
    async with client:
        with pytest.raises(SubscriptionError) as caught:
            await client.subscribe("private-denied")
        error = caught.value
        assert isinstance(error, AuthorizationFailed)
        assert isinstance(error, AuthenticationError)  # older `except AuthenticationError` holds
        assert isinstance(error.__cause__, AuthenticationError)
        assert error.status == 403
        assert error.channel == "private-denied"
        assert error.code is None
        assert "This action is unauthorized." in str(error)
        assert TOKEN not in str(error)
        assert client.is_connected
        assert server.frames("pusher:subscribe") == []  # the server was never asked
        assert "private-denied" not in client.channels


async def test_odd_channel_data_goes_into_the_subscribe_frame_unchanged() -> None:
    from reverb import ReverbClient
    from tests.support.fake_server import FakeServer

    channel_data = '{ "user_info" : {"name":"Ann", "id": 7},   "user_id":"7" }'
    body = {"auth": "app-key:" + "0" * 64, "channel_data": channel_data}
    server = FakeServer()
    client = ReverbClient(
        transport_factory=server.connect,
        authenticator=authenticator(lambda request: ok(body)),
        app_key="app-key",
        host="127.0.0.1",
        scheme="http",
        subscription_timeout=2.0,
        connect_timeout=2.0,
    )
    async with client:
        await client.subscribe("presence-room")
    (subscribe,) = server.frames("pusher:subscribe")
    assert subscribe["data"]["channel_data"] == channel_data
