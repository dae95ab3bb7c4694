from __future__ import annotations

import dataclasses
import json

import pytest

from reverb import Event, Message, ProtocolError
from reverb.messages import decode_data, encode_json


def test_decode_double_encoded_data() -> None:
    message = Message.decode('{"event":"E","data":"{\\"a\\":[1,2]}","channel":"c"}')
    assert message == Message("E", {"a": [1, 2]}, "c")


def test_decode_object_data_absent_data_and_raw_string() -> None:
    assert Message.decode('{"event":"E","data":{"a":1}}').data == {"a": 1}
    assert Message.decode('{"event":"pusher:pong"}').data is None
    assert Message.decode('{"event":"E","data":"hello"}').data == "hello"
    assert Message.decode(b'{"event":"E","data":"5"}').data == 5


def test_user_id_becomes_a_string() -> None:
    assert Message.decode('{"event":"client-x","user_id":5}').user_id == "5"


@pytest.mark.parametrize(
    "text", ["nope", "[1]", "1", '{"data":1}', '{"event":null}', '{"event":"E","channel":[]}']
)
def test_malformed_frames_raise_protocol_error_without_echoing_the_frame(text: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        Message.decode(text)
    assert text not in str(caught.value)


def test_encode_sends_data_as_an_object_and_omits_empty_fields() -> None:
    assert json.loads(Message("pusher:subscribe", {"channel": "c"}).encode()) == {
        "event": "pusher:subscribe",
        "data": {"channel": "c"},
    }
    assert json.loads(Message("E", channel="c").encode()) == {"event": "E", "channel": "c"}


def test_data_field() -> None:
    assert Message("E", {"k": 1}).data_field("k") == 1
    assert Message("E", "text").data_field("k") is None


def test_decode_data_and_encode_json() -> None:
    assert decode_data('{"x":1}') == {"x": 1}
    assert decode_data("{broken") == "{broken"
    assert decode_data({"x": 1}) == {"x": 1}
    assert encode_json({"a": "é", "b": [1, 2]}) == '{"a":"é","b":[1,2]}'


def test_event_is_frozen() -> None:
    event = Event("E", "c", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.name = "F"  # type: ignore[misc]
