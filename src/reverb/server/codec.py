r"""The server's JSON: read as strictly as Reverb reads it, written so that it is always UTF-8.

Reverb decodes every frame, ``data`` string, ``channel_data`` and API body with PHP's
``json_decode``, which refuses what Python's :func:`json.loads` would let through:

- bytes that are not UTF-8 (``json.loads`` reads bytes with ``surrogatepass``);
- lone UTF-16 surrogate escapes such as ``"\udcff"``, which would become a ``str`` that no
  UTF-8 encoder can write back;
- ``NaN``, ``Infinity`` and numbers beyond a float (``1e999``), which are not JSON;
- more than 512 nested arrays and objects (PHP's default depth).

Reverb answers such a frame with 4200 and such an API body with 500; the local server does the
same in both dialects (Soketi's ``JSON.parse`` would accept lone surrogates, but the Soketi
dialect refuses them like any other unparsable input). So nothing a client sends can reach a
frame the server fails to encode.

Writing reuses the client core's :func:`reverb.messages.encode_json` and escapes lone
surrogates as JavaScript's ``JSON.stringify`` does, so a frame built from any Python string
(``ReverbServer.trigger`` takes them from Python code) can always be sent.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..messages import encode_json

__all__ = ["MAX_DEPTH", "read_data", "read_json", "write_json"]

MAX_DEPTH = 512
"""Deepest nesting of arrays and objects that PHP's ``json_decode`` accepts by default."""

_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _finite(number: str) -> float:
    value = float(number)
    if math.isinf(value):
        raise ValueError(f"{number} does not fit a float")
    return value


_decode = json.JSONDecoder(parse_constant=_not_json, parse_float=_finite).decode


def read_json(text: str | bytes) -> Any:
    """Decode JSON the way Reverb's PHP does (see the module docstring).

    Raises:
        ValueError: PHP's ``json_decode`` would refuse it.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    elif not text.isascii() and _SURROGATE.search(text):
        raise ValueError("text with a lone surrogate is not UTF-8")
    try:
        value = _decode(text)
    except RecursionError:
        raise ValueError("too deeply nested") from None
    might_nest_too_deep = text.count("[") + text.count("{") > MAX_DEPTH
    if might_nest_too_deep or _SURROGATE_ESCAPE.search(text):
        _check(value)
    return value


def _check(value: Any) -> None:
    """Refuse lone surrogates in any string, and nesting beyond :data:`MAX_DEPTH`."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise ValueError("lone UTF-16 surrogate escape")
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH}")
        if isinstance(item, dict):
            pending.extend((key, depth) for key in item)
            pending.extend((child, depth + 1) for child in item.values())
        else:
            pending.extend((child, depth + 1) for child in item)


def read_data(data: Any) -> Any:
    """Decode a ``data`` field as Reverb does: a string of JSON (PHP's) becomes its value,
    anything else, including a string PHP cannot decode, stays as it is.
    """
    if isinstance(data, str):
        try:
            return read_json(data)
        except ValueError:
            return data
    return data


def write_json(value: Any) -> str:
    r"""Encode compactly, escaping lone surrogates (``"\udcff"``) so the text is valid UTF-8."""
    text = encode_json(value)
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
