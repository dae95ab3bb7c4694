"""Signatures stay out of logs, including websockets' frame logs and httpx's request logs."""

from __future__ import annotations

import logging

import pytest

from reverb import ReverbClient
from reverb.protocol.signing import channel_auth
from reverb.redaction import RedactingLogger, hide_signatures
from reverb.testing import BackgroundServer

SIGNATURE = "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"


@pytest.mark.parametrize(
    "text",
    [
        "> TEXT '"
        + f'{{"event":"pusher:subscribe","data":{{"channel":"private-a","auth":"k:{SIGNATURE}"}}}}'
        + "'",
        f'> TEXT \'{{"event":"pusher:subscribe","data":{{"channel":"...{SIGNATURE[-20:]}"}}}}\'',
        f'{{"data":{{"auth":"k:{SIGNATURE}"}},"event":"pusher:subscribe"}}',
        f"POST http://x/apps/1/events?auth_key=k&auth_signature={SIGNATURE}&body_md5=1",
        f"bare {SIGNATURE} in a message",
    ],
)
def test_hide_signatures(text: str) -> None:
    hidden = hide_signatures(text)
    assert SIGNATURE not in hidden
    assert SIGNATURE[-20:] not in hidden
    assert "hidden" in hidden


def test_ordinary_text_is_untouched() -> None:
    text = '< TEXT \'{"event":"OrderShipped","channel":"orders","data":"{}"}\' [1 bytes]'
    assert hide_signatures(text) == text


def test_redacting_logger_formats_then_hides(caplog: pytest.LogCaptureFixture) -> None:
    logger = RedactingLogger(logging.getLogger("test.redaction"))
    with caplog.at_level(logging.DEBUG, logger="test.redaction"):
        logger.debug("> %s", f'{{"event":"pusher:subscribe","auth":"k:{SIGNATURE}"}}')
        logger.info("plain %d", 5)
    assert SIGNATURE not in caplog.text
    assert "plain 5" in caplog.text


async def test_debug_logging_of_a_real_session_shows_no_signature(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with BackgroundServer() as server:
        async with ReverbClient(**server.client_settings()) as client:
            await client.subscribe("private-logged")
            await client.subscribe("presence-logged", user_data={"user_id": "1"})
            socket_id = client.socket_id
            assert socket_id is not None
            signature = channel_auth(
                server.app_key, server.app_secret, socket_id, "private-logged"
            ).split(":")[1]
    assert "TEXT" in caplog.text  # websockets did log frames
    assert signature not in caplog.text
    assert signature[-20:] not in caplog.text
    assert server.app_secret not in caplog.text
