"""Frames to messages and back; the data decoding rule of pusher-js.

Every test runs under both JSON codecs (the standard library and orjson); the parity tests at the
end compare the two directly.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reverb import Event, Message, ProtocolError, messages
from reverb.messages import decode_data, decode_frame, encode_json
from tests.support.codecs import json_codec

__all__ = ["json_codec"]  # the autouse fixture: every test here runs under both codecs


# -- decode_data ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "decoded"),
    [
        ('{"a":[1,2]}', {"a": [1, 2]}),  # server events and broadcasts: a JSON string
        ("[1,2]", [1, 2]),
        ("5", 5),
        ('"quoted"', "quoted"),
        ("null", None),
        ("{}", {}),
        ("just text", "just text"),  # not JSON: kept raw, like pusher-js
        ("{broken", "{broken"),
        ("", ""),
        ({"a": 1}, {"a": 1}),  # client events: an object
        ([1], [1]),
        (7, 7),
        (None, None),
    ],
)
def test_decode_data(data: Any, decoded: Any) -> None:
    assert decode_data(data) == decoded


def test_decode_data_keeps_a_too_deeply_nested_string_raw() -> None:
    nested = "[" * 100_000
    assert decode_data(nested) == nested


def test_decode_data_decodes_only_once() -> None:
    assert decode_data(json.dumps(json.dumps({"a": 1}))) == '{"a": 1}'


# -- Message.decode -------------------------------------------------------------------------------


def test_decode_double_encoded_data() -> None:
    message = Message.decode(r'{"event":"E","data":"{\"a\":[1,2]}","channel":"c"}')
    assert message == Message("E", {"a": [1, 2]}, "c")


def test_decode_object_data() -> None:
    message = Message.decode('{"event":"client-x","channel":"c","data":{"a":1}}')
    assert message == Message("client-x", {"a": 1}, "c")


def test_decode_absent_data() -> None:
    assert Message.decode('{"event":"pusher:pong"}') == Message("pusher:pong", None, None, None)


def test_decode_raw_string_data() -> None:
    assert Message.decode('{"event":"E","data":"hello"}').data == "hello"


def test_decode_bytes() -> None:
    assert Message.decode(b'{"event":"E","data":"5"}') == Message("E", 5)


def test_decode_utf8_bytes() -> None:
    assert Message.decode('{"event":"E","data":"Zoë"}'.encode()).data == "Zoë"


@pytest.mark.parametrize(("raw", "user_id"), [("5", "5"), ('"u2"', "u2"), ("null", None)])
def test_user_id_becomes_a_string(raw: str, user_id: str | None) -> None:
    message = Message.decode(f'{{"event":"client-x","channel":"c","user_id":{raw}}}')
    assert message.user_id == user_id


def test_unknown_top_level_keys_are_ignored() -> None:
    message = Message.decode('{"event":"E","channel":"c","data":"{}","extra":1}')
    assert message == Message("E", {}, "c")


@pytest.mark.parametrize(
    "text",
    [
        "nope",
        "",
        "[1]",
        "1",
        "null",
        '{"data":1}',
        '{"event":null}',
        '{"event":5}',
        '{"event":"E","channel":[]}',
        '{"event":"E","channel":5}',
    ],
)
def test_malformed_frames_raise_protocol_error(text: str) -> None:
    with pytest.raises(ProtocolError):
        Message.decode(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"token":"secret-token-abc", "broken',
        '["secret-token-abc"]',
        '{"data":"secret-token-abc"}',
        '{"event":"E","channel":{"secret-token-abc":1}}',
    ],
)
def test_protocol_error_does_not_echo_the_frame(text: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        Message.decode(text)
    assert "secret-token-abc" not in str(caught.value)


def test_invalid_utf8_raises_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="not valid JSON"):
        Message.decode(b"\xff\xfe")


def test_deeply_nested_frame_raises_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        Message.decode("[" * 100_000)


# -- Message.encode -------------------------------------------------------------------------------


def test_encode_sends_data_as_an_object() -> None:
    text = Message("pusher:subscribe", {"channel": "c"}).encode()
    assert json.loads(text) == {"event": "pusher:subscribe", "data": {"channel": "c"}}


def test_encode_omits_absent_data_and_channel() -> None:
    assert json.loads(Message("pusher:ping").encode()) == {"event": "pusher:ping"}
    assert json.loads(Message("E", channel="c").encode()) == {"event": "E", "channel": "c"}


def test_encode_is_compact_and_keeps_non_ascii() -> None:
    assert Message("E", {"a": "é"}, "c").encode() == '{"event":"E","data":{"a":"é"},"channel":"c"}'


def test_encode_decode_round_trip() -> None:
    message = Message("client-x", {"a": [1, {"b": None}]}, "private-a")
    assert Message.decode(message.encode()) == message


def test_data_field() -> None:
    assert Message("E", {"k": 1}).data_field("k") == 1
    assert Message("E", {"k": 1}).data_field("other") is None
    assert Message("E", "text").data_field("k") is None
    assert Message("E").data_field("k") is None


def test_encode_json_is_compact() -> None:
    assert encode_json({"a": "é", "b": [1, 2]}) == '{"a":"é","b":[1,2]}'


# -- Event ----------------------------------------------------------------------------------------


def test_event_defaults() -> None:
    event = Event("E", None)
    assert (event.name, event.channel, event.data, event.user_id) == ("E", None, None, None)


def test_event_is_frozen() -> None:
    event = Event("E", "c", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.name = "F"  # type: ignore[misc]
    assert event.name == "E"


def test_message_is_frozen() -> None:
    message = Message("E")
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.data = 1  # type: ignore[misc]


def test_message_and_event_name_the_event_alike() -> None:
    message = Message.decode('{"event":"E","channel":"c","data":"1"}')
    assert message.name == "E"
    with pytest.warns(DeprecationWarning, match=r"Message\.name"):
        assert message.event == "E"
    assert {"name", "channel", "data", "user_id"} <= set(Message.__dataclass_fields__)
    assert set(Message.__dataclass_fields__) == set(Event.__dataclass_fields__)


# -- the two codecs agree -------------------------------------------------------------------------


def both_codecs(function: Any, *args: Any) -> tuple[Any, Any]:
    """``function(*args)`` under the standard library and under orjson (result or error type)."""
    pytest.importorskip("orjson")
    results = []
    for codec in ("json", "orjson"):
        messages.use_json(codec)
        try:
            results.append(function(*args))
        except Exception as exc:  # the error type is the result compared
            results.append(type(exc))
    return results[0], results[1]


@pytest.mark.parametrize(
    "text",
    [
        "NaN",  # not JSON: orjson refuses, the standard library reads it, and so both do
        "[Infinity,-Infinity]",
        "1e400",
        '"\\ud800"',  # a lone surrogate escape
        "\ud800",
        '{"a":1,"a":2}',
        " [1] ",
        "[1] x",
        '"\\u0000\u2028é"',
        "[" * 2000 + "]" * 2000,  # orjson stops at 1024 levels; the fallback reads it
        "[" * 100_000,
        "18446744073709551615",  # the largest int orjson keeps exact
        "-9223372036854775808",
    ],
)
def test_both_codecs_decode_alike(text: str) -> None:
    standard, fast = both_codecs(decode_data, text)
    assert repr(standard) == repr(fast)


def test_orjson_reads_ints_beyond_64_bits_as_floats_as_php_and_javascript_do() -> None:
    standard, fast = both_codecs(decode_data, "123456789012345678901234567890")
    assert standard == 123456789012345678901234567890
    assert fast == pytest.approx(1.2345678901234568e29)


@pytest.mark.parametrize(
    "frame",
    [b'{"event":"E","data":"{\\"a\\":1}"}', b"\xff\xfe", b'{"event":"\xc3"}', b"[" * 5000],
)
def test_both_codecs_decode_frames_alike(frame: bytes) -> None:
    standard, fast = both_codecs(decode_frame, frame)
    assert standard == fast


@pytest.mark.parametrize(
    "value",
    [
        {1: 2, None: 3, 2.5: 4},  # non-string keys: orjson refuses, the standard library writes
        2**70,
        -(2**70),
        "\ud800",  # a lone surrogate stays in the text (reverb.server.codec escapes it)
        'é\u2028\x00\x1f\x7f/\\"',
        [True, None, 1.5, -0.0, 0.1, 1e300],
        {"nested": [{"a": []}, {}]},
        object(),  # neither can: the standard library's TypeError
    ],
    ids=repr,
)
def test_both_codecs_encode_alike(value: Any) -> None:
    standard, fast = both_codecs(encode_json, value)
    assert standard == fast


def test_orjson_writes_nan_as_null_where_the_standard_library_writes_non_json() -> None:
    standard, fast = both_codecs(encode_json, [float("nan"), float("inf")])
    assert (standard, fast) == ("[NaN,Infinity]", "[null,null]")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_both_codecs_round_trip_any_json_alike(value: Any) -> None:
    standard, fast = both_codecs(encode_json, value)
    assert json.loads(standard) == json.loads(fast)
    if isinstance(standard, str) and "e" not in standard:  # floats may be spelled 1e16/1e+16
        assert standard == fast
    decoded = both_codecs(decode_data, standard)
    assert repr(decoded[0]) == repr(decoded[1])


def test_use_json_reports_the_codec() -> None:
    assert messages.use_json("json") == "json" == messages.json_codec()
    pytest.importorskip("orjson")
    assert messages.use_json("auto") == "orjson" == messages.json_codec()
