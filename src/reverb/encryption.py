"""End-to-end encrypted payloads of ``private-encrypted-`` channels (NaCl secretbox, PyNaCl).

The wire format is the one pusher-js and the official server SDKs share: the event's ``data`` is
the JSON string ``{"nonce": "<base64, 24 bytes>", "ciphertext": "<base64>"}``, and the plaintext
is the event's original ``data`` string. The channel's key is 32 bytes: the ``shared_secret``
of the channel's authorization (base64), or derived from the app's encryption master key with
:func:`reverb.protocol.signing.channel_shared_secret`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

import nacl.exceptions
import nacl.secret
import nacl.utils

from .messages import decode_data, encode_json

__all__ = ["decode_shared_secret", "decrypt_data", "encrypt_data"]

KEY_SIZE = nacl.secret.SecretBox.KEY_SIZE
NONCE_SIZE = nacl.secret.SecretBox.NONCE_SIZE


def decode_shared_secret(shared_secret: str) -> bytes:
    """The key in an authorization's ``shared_secret`` (base64 of 32 bytes).

    Raises:
        ValueError: it is not base64 of 32 bytes (the message never shows it).
    """
    try:
        key = base64.b64decode(shared_secret, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise ValueError("shared_secret is not base64") from None
    if len(key) != KEY_SIZE:
        raise ValueError(f"shared_secret is {len(key)} bytes, not {KEY_SIZE}")
    return key


def encrypt_data(data: Any, key: bytes, *, nonce: bytes | None = None) -> str:
    """Encrypt an event's ``data`` as the official SDKs do.

    ``data`` that is not a string is JSON-encoded first, as it would be on the wire. Returns the
    ``{"nonce", "ciphertext"}`` JSON string to send as the event's data.
    """
    plaintext = data if isinstance(data, str) else encode_json(data)
    nonce = nacl.utils.random(NONCE_SIZE) if nonce is None else nonce
    box = nacl.secret.SecretBox(key)
    ciphertext = box.encrypt(plaintext.encode(), nonce).ciphertext
    return encode_json(
        {
            "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(ciphertext).decode(),
        }
    )


def decrypt_data(data: Any, key: bytes) -> Any:
    """Decrypt an encrypted event's ``data`` (the decoded ``{"nonce", "ciphertext"}`` object,
    or its JSON string) and decode the plaintext as JSON where it is JSON, as pusher-js does.

    Raises:
        ValueError: ``data`` is not an encrypted payload, or the key does not open it.
    """
    if isinstance(data, str):
        data = decode_data(data)
    if not isinstance(data, Mapping):
        raise ValueError("the event data is not an encrypted payload")
    try:
        nonce = base64.b64decode(data["nonce"], validate=True)
        ciphertext = base64.b64decode(data["ciphertext"], validate=True)
        plaintext = nacl.secret.SecretBox(key).decrypt(ciphertext, nonce)
        text = plaintext.decode()
    except KeyError as exc:
        raise ValueError(f"the encrypted payload has no {exc.args[0]!r}") from None
    except (binascii.Error, TypeError, ValueError, nacl.exceptions.CryptoError):
        raise ValueError("the channel's key does not open this payload") from None
    return decode_data(text)
