"""Keeping signatures out of other libraries' logs.

``websockets`` logs every frame at DEBUG (subscribe frames carry ``auth`` signatures) and
``httpx`` logs every request URL at INFO (HTTP API URLs carry ``auth_signature``). python-reverb
hands them loggers and filters that hide those parts, so turning on DEBUG logging never prints a
signature.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["HiddenSignaturesFilter", "RedactingLogger", "hide_signatures"]

_AUTH_FIELD = re.compile(r'("auth"|\\"auth\\"|pusher:subscribe|pusher:signin).*', re.DOTALL)
_QUERY_SIGNATURE = re.compile(r"(auth_signature=)[^&\s'\"]+")
_HEX_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")


def hide_signatures(text: str) -> str:
    """Hide ``auth`` fields of frames, ``auth_signature`` query values and HMAC-SHA256 hex."""
    text = _AUTH_FIELD.sub(r"\1 <rest hidden: may hold a signature>", text)
    text = _QUERY_SIGNATURE.sub(r"\1<hidden>", text)
    return _HEX_SIGNATURE.sub("<hidden>", text)


class RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger adapter that formats each message, then hides signatures in it."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logger, {})

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        """Log ``msg % args`` with signatures hidden."""
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        self.logger.log(level, "%s", hide_signatures(text), **kwargs)


class HiddenSignaturesFilter(logging.Filter):
    """A logging filter that hides signatures in the arguments of each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drop it."""
        args = record.args
        if isinstance(args, tuple):
            record.args = tuple(
                hide_signatures(arg) if isinstance(arg, str) else _hide_object(arg) for arg in args
            )
        elif isinstance(args, Mapping):
            record.args = {key: _hide_object(value) for key, value in args.items()}
        if isinstance(record.msg, str):
            record.msg = hide_signatures(record.msg)
        return True


def _hide_object(value: object) -> object:
    text = str(value)
    hidden = hide_signatures(text)
    return hidden if hidden != text else value
