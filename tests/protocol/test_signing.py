"""HMAC signatures: channel authorization and HTTP API query signing."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from reverb.protocol.signing import (
    channel_auth,
    channel_shared_secret,
    channel_signature,
    sign,
    signed_api_query,
    validate_socket_id,
)

# The worked example of https://pusher.com/docs/channels/library_auth_reference/auth-signatures/
DOCS_KEY = "278d425bdf160c739803"
DOCS_SECRET = "7ad3773142a6692b25b8"
DOCS_SOCKET = "1234.1234"
DOCS_CHANNEL = "private-foobar"
DOCS_SIGNATURE = "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"


def hmac_hex(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


# -- channel authorization ------------------------------------------------------------------------


def test_sign_is_hex_hmac_sha256() -> None:
    assert sign(DOCS_SECRET, f"{DOCS_SOCKET}:{DOCS_CHANNEL}") == DOCS_SIGNATURE


def test_channel_signature_matches_the_pusher_docs_vector() -> None:
    assert channel_signature(DOCS_SECRET, DOCS_SOCKET, DOCS_CHANNEL) == DOCS_SIGNATURE


def test_channel_auth_is_key_colon_signature() -> None:
    assert (
        channel_auth(DOCS_KEY, DOCS_SECRET, DOCS_SOCKET, DOCS_CHANNEL)
        == f"{DOCS_KEY}:{DOCS_SIGNATURE}"
    )


def test_presence_signature_covers_channel_data() -> None:
    channel_data = '{"user_id":10,"user_info":{"name":"Mr. Channels"}}'
    expected = hmac_hex("secret", f"1234.1234:presence-foobar:{channel_data}")
    assert channel_signature("secret", "1234.1234", "presence-foobar", channel_data) == expected


def test_presence_auth_carries_the_channel_data_signature() -> None:
    channel_data = '{"user_id":"u1"}'
    expected = hmac_hex("secret", f"1.2:presence-x:{channel_data}")
    assert channel_auth("key", "secret", "1.2", "presence-x", channel_data) == f"key:{expected}"


def test_signature_without_channel_data_differs_from_one_with_it() -> None:
    with_data = channel_signature("secret", "1.2", "presence-x", '{"user_id":1}')
    without = channel_signature("secret", "1.2", "presence-x")
    assert without == hmac_hex("secret", "1.2:presence-x")
    assert with_data != without


def test_channel_data_is_signed_byte_for_byte() -> None:
    spaced = '{"user_id": 1}'
    compact = '{"user_id":1}'
    assert channel_signature("s", "1.2", "presence-x", spaced) == hmac_hex(
        "s", f"1.2:presence-x:{spaced}"
    )
    assert channel_signature("s", "1.2", "presence-x", spaced) != channel_signature(
        "s", "1.2", "presence-x", compact
    )


# -- socket ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "socket_id", ["763944404.949519433", "0.0", "1234.1234", "10000000000.10000000000"]
)
def test_valid_socket_ids_pass(socket_id: str) -> None:
    assert validate_socket_id(socket_id) == socket_id


@pytest.mark.parametrize(
    "socket_id", ["abc", "1.2.3", "", "1.2\n", "\n1.2", ".1", "1.", "1:2", " 1.2", "1.2 ", "1,2"]
)
def test_invalid_socket_ids_are_rejected(socket_id: str) -> None:
    with pytest.raises(ValueError, match="socket_id"):
        validate_socket_id(socket_id)


@pytest.mark.parametrize("socket_id", ["abc", "1.2.3", "", "1.2\n"])
def test_invalid_socket_ids_are_never_signed(socket_id: str) -> None:
    with pytest.raises(ValueError, match="socket_id"):
        channel_signature("secret", socket_id, "private-x")
    with pytest.raises(ValueError, match="socket_id"):
        channel_auth("key", "secret", socket_id, "private-x")


def test_non_string_socket_id_is_rejected() -> None:
    with pytest.raises(ValueError, match="socket_id"):
        validate_socket_id(12.34)  # type: ignore[arg-type]


def test_socket_id_error_does_not_contain_the_secret() -> None:
    with pytest.raises(ValueError, match="socket_id") as caught:
        channel_signature("s3cr3t-value-xyz", "nope", "private-x")
    assert "s3cr3t-value-xyz" not in str(caught.value)


# -- HTTP API -------------------------------------------------------------------------------------

BODY = b'{"name":"OrderShipped","channel":"orders","data":"{\\"id\\":1}"}'


def test_api_query_has_body_md5_of_the_body() -> None:
    query = signed_api_query(
        key="key", secret="secret", method="POST", path="/apps/1/events", timestamp=1, body=BODY
    )
    assert query["body_md5"] == hashlib.md5(BODY).hexdigest()


def test_api_query_without_body_has_no_body_md5() -> None:
    query = signed_api_query(
        key="key", secret="secret", method="GET", path="/apps/1/channels", timestamp=1
    )
    assert "body_md5" not in query
    assert query["auth_signature"] == hmac_hex(
        "secret", "GET\n/apps/1/channels\nauth_key=key&auth_timestamp=1&auth_version=1.0"
    )


def test_api_query_auth_parameters() -> None:
    query = signed_api_query(
        key="app-key", secret="secret", method="POST", path="/apps/1/events", timestamp=1700000000
    )
    assert query["auth_key"] == "app-key"
    assert query["auth_timestamp"] == "1700000000"
    assert query["auth_version"] == "1.0"


def test_api_signature_covers_method_path_and_body_md5() -> None:
    query = signed_api_query(
        key="key",
        secret="secret",
        method="POST",
        path="/apps/1/events",
        timestamp=1700000000,
        body=BODY,
    )
    body_md5 = hashlib.md5(BODY).hexdigest()
    expected = hmac_hex(
        "secret",
        "POST\n/apps/1/events\n"
        f"auth_key=key&auth_timestamp=1700000000&auth_version=1.0&body_md5={body_md5}",
    )
    assert query["auth_signature"] == expected


def test_api_method_is_upper_cased_before_signing() -> None:
    lower = signed_api_query(
        key="k", secret="s", method="post", path="/apps/1/events", timestamp=5, body=BODY
    )
    upper = signed_api_query(
        key="k", secret="s", method="POST", path="/apps/1/events", timestamp=5, body=BODY
    )
    assert lower["auth_signature"] == upper["auth_signature"]


def test_api_extra_params_are_sorted_into_the_signed_string() -> None:
    query = signed_api_query(
        key="key",
        secret="secret",
        method="GET",
        path="/apps/1/channels",
        timestamp=1700000000,
        params={"zeta": "z", "info": "user_count", "alpha": "a", "filter_by_prefix": "presence-"},
    )
    signed = (
        "alpha=a&auth_key=key&auth_timestamp=1700000000&auth_version=1.0"
        "&filter_by_prefix=presence-&info=user_count&zeta=z"
    )
    assert query["auth_signature"] == hmac_hex("secret", f"GET\n/apps/1/channels\n{signed}")
    assert query["info"] == "user_count"
    assert query["zeta"] == "z"


def test_api_signature_uses_unencoded_values() -> None:
    query = signed_api_query(
        key="k",
        secret="s",
        method="GET",
        path="/apps/1/channels/presence-a/users",
        timestamp=1,
        params={"info": "user_count,subscription_count"},
    )
    expected = hmac_hex(
        "s",
        "GET\n/apps/1/channels/presence-a/users\n"
        "auth_key=k&auth_timestamp=1&auth_version=1.0&info=user_count,subscription_count",
    )
    assert query["auth_signature"] == expected


def test_api_query_does_not_modify_the_callers_params() -> None:
    params = {"info": "user_count"}
    signed_api_query(
        key="k", secret="s", method="GET", path="/apps/1/channels", timestamp=1, params=params
    )
    assert params == {"info": "user_count"}


def test_api_query_never_contains_the_secret() -> None:
    query = signed_api_query(
        key="k", secret="s3cr3t-value-xyz", method="POST", path="/p", timestamp=1, body=BODY
    )
    assert all("s3cr3t-value-xyz" not in value for value in query.values())


# -- end-to-end encrypted channels ----------------------------------------------------------------


def test_the_shared_secret_is_sha256_of_the_name_then_the_master_key() -> None:
    # Fixed: every SDK derives the same key, so a change would break existing channels.
    key = channel_shared_secret("private-encrypted-orders", bytes(range(32)))
    assert key.hex() == "469f895b43f56380db9fc34f85c168f3c140cf3dd03dbdcf67ae3aa1bce6ae9e"
    assert key == hashlib.sha256(b"private-encrypted-orders" + bytes(range(32))).digest()
