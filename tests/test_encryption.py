"""NaCl secretbox payloads of private-encrypted- channels, as pusher-js and the SDKs use them."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from reverb import ConfigurationError, DecryptionError, ProtocolError, ReverbConfig
from reverb.encryption import decode_shared_secret, decrypt_data, encrypt_data
from reverb.protocol.signing import channel_shared_secret

MASTER = bytes(range(32))
KEY = channel_shared_secret("private-encrypted-orders", MASTER)


def test_the_shared_secret_is_sha256_of_name_then_master_key() -> None:
    expected = hashlib.sha256(b"private-encrypted-orders" + MASTER).digest()
    assert expected == KEY
    assert channel_shared_secret("private-encrypted-other", MASTER) != KEY


def test_round_trip_with_a_fixed_nonce_has_the_wire_shape() -> None:
    nonce = b"n" * 24
    text = encrypt_data({"id": 1}, KEY, nonce=nonce)
    payload = json.loads(text)
    assert set(payload) == {"nonce", "ciphertext"}
    assert base64.b64decode(payload["nonce"]) == nonce
    assert len(base64.b64decode(payload["ciphertext"])) == len('{"id":1}') + 16  # MAC
    assert decrypt_data(text, KEY) == {"id": 1}
    assert decrypt_data(payload, KEY) == {"id": 1}


def test_plaintext_that_is_not_json_stays_a_string() -> None:
    assert decrypt_data(encrypt_data("plain words", KEY), KEY) == "plain words"


def test_each_encryption_draws_a_new_nonce() -> None:
    assert encrypt_data("x", KEY) != encrypt_data("x", KEY)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("not json", "not an encrypted payload"),
        ({"nonce": "AAAA"}, "no 'ciphertext'"),
        ({"nonce": "!!", "ciphertext": "AAAA"}, "does not open"),
        ({"nonce": base64.b64encode(b"n" * 24).decode(), "ciphertext": "AAAA"}, "does not open"),
    ],
)
def test_what_cannot_be_decrypted_raises_value_error(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decrypt_data(data, KEY)


def test_a_wrong_key_is_refused() -> None:
    text = encrypt_data({"id": 1}, KEY)
    with pytest.raises(ValueError, match="does not open"):
        decrypt_data(text, channel_shared_secret("private-encrypted-orders", b"x" * 32))


def test_decode_shared_secret() -> None:
    assert decode_shared_secret(base64.b64encode(KEY).decode()) == KEY
    with pytest.raises(ValueError, match="not base64"):
        decode_shared_secret("**")
    with pytest.raises(ValueError, match="is 3 bytes, not 32"):
        decode_shared_secret(base64.b64encode(b"abc").decode())


def test_decryption_error_is_a_protocol_error_naming_channel_and_event() -> None:
    error = DecryptionError("cannot", channel="private-encrypted-x", event="E")
    assert issubclass(DecryptionError, ProtocolError)
    assert (error.channel, error.event) == ("private-encrypted-x", "E")


def test_the_master_key_setting_is_validated_and_hidden() -> None:
    encoded = base64.b64encode(MASTER).decode()
    config = ReverbConfig(app_key="k", encryption_master_key_base64=encoded, _env_file=None)
    assert config.encryption_master_key == MASTER
    assert encoded not in repr(config)
    assert encoded not in str(config)
    with pytest.raises(ConfigurationError, match="32 bytes") as short:
        ReverbConfig(app_key="k", encryption_master_key_base64="YWJj", _env_file=None)
    assert "YWJj" not in str(short.value)
    with pytest.raises(ConfigurationError, match="base64"):
        ReverbConfig(app_key="k", encryption_master_key_base64="not base64!", _env_file=None)
    assert (
        ReverbConfig(
            app_key="k", encryption_master_key_base64="", _env_file=None
        ).encryption_master_key
        is None
    )
