"""Every test of the core runs under both JSON codecs: the standard library and orjson."""

from __future__ import annotations

from tests.support.codecs import json_codec

__all__ = ["json_codec"]
