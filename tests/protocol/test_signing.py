from __future__ import annotations

import hashlib
import hmac

import pytest

from reverb.protocol.signing import (
    channel_auth,
    channel_signature,
    sign,
    signed_api_query,
    validate_socket_id,
)

PUSHER_DOCS_KEY = "278d425bdf160c739803"
PUSHER_DOCS_SECRET = "7ad3773142a6692b25b8"
PUSHER_DOCS_SIGNATURE = "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"


def test_pusher_documentation_vector() -> None:
    assert sign(PUSHER_DOCS_SECRET, "1234.1234:private-foobar") == PUSHER_DOCS_SIGNATURE
    assert (
        channel_signature(PUSHER_DOCS_SECRET, "1234.1234", "private-foobar")
        == PUSHER_DOCS_SIGNATURE
    )
    assert (
        channel_auth(PUSHER_DOCS_KEY, PUSHER_DOCS_SECRET, "1234.1234", "private-foobar")
        == f"{PUSHER_DOCS_KEY}:{PUSHER_DOCS_SIGNATURE}"
    )


def test_presence_signature_covers_channel_data() -> None:
    channel_data = '{"user_id":10,"user_info":{"name":"Mr. Channels"}}'
    expected = hmac.new(
        b"secret", f"1234.1234:presence-foobar:{channel_data}".encode(), hashlib.sha256
    ).hexdigest()
    assert channel_signature("secret", "1234.1234", "presence-foobar", channel_data) == expected
    assert channel_signature("secret", "1234.1234", "presence-foobar") != expected


@pytest.mark.parametrize("socket_id", ["abc", "1.2.3", "", "1.2\n", ".1", "1.", "1:2"])
def test_malformed_socket_ids_are_not_signed(socket_id: str) -> None:
    with pytest.raises(ValueError, match="socket_id"):
        channel_signature("secret", socket_id, "private-x")


def test_valid_socket_id_passes() -> None:
    assert validate_socket_id("763944404.949519433") == "763944404.949519433"


def test_api_query_signs_method_path_and_sorted_params_with_body_md5() -> None:
    body = b'{"name":"e","channel":"c","data":"{}"}'
    query = signed_api_query(
        key="key",
        secret="secret",
        method="post",
        path="/apps/1/events",
        timestamp=1700000000,
        body=body,
        params={"zeta": "z", "alpha": "a"},
    )
    body_md5 = hashlib.md5(body).hexdigest()
    assert query["body_md5"] == body_md5
    signed = (
        f"alpha=a&auth_key=key&auth_timestamp=1700000000&auth_version=1.0&body_md5={body_md5}"
        "&zeta=z"
    )
    expected = hmac.new(
        b"secret", f"POST\n/apps/1/events\n{signed}".encode(), hashlib.sha256
    ).hexdigest()
    assert query["auth_signature"] == expected


def test_api_query_without_body_has_no_body_md5() -> None:
    query = signed_api_query(
        key="key", secret="secret", method="GET", path="/apps/1/channels", timestamp=1
    )
    assert "body_md5" not in query
    expected = hmac.new(
        b"secret",
        b"GET\n/apps/1/channels\nauth_key=key&auth_timestamp=1&auth_version=1.0",
        hashlib.sha256,
    ).hexdigest()
    assert query["auth_signature"] == expected
