"""The sans-I/O core stays pure: no sockets, no event loop, no third-party imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import reverb

SRC = Path(reverb.__file__).parent
PURE_FILES = [*sorted((SRC / "protocol").glob("*.py")), SRC / "messages.py", SRC / "exceptions.py"]
ALLOWED_STDLIB = {
    "__future__",
    "builtins",
    "collections",
    "dataclasses",
    "enum",
    "hashlib",
    "hmac",
    "json",
    "random",
    "re",
    "typing",
}
ALLOWED_RELATIVE = {"exceptions", "messages", "names", "policy", "presence", "signing", "state"}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            prefix = "." * node.level
            names.add(prefix + (node.module or ""))
    return names


@pytest.mark.parametrize("path", PURE_FILES, ids=lambda path: path.name)
def test_pure_modules_import_only_the_stdlib_and_each_other(path: Path) -> None:
    for name in imports_of(path):
        if name.startswith("."):
            assert name.lstrip(".").split(".")[-1] in ALLOWED_RELATIVE, (path.name, name)
        else:
            assert name.split(".")[0] in ALLOWED_STDLIB, (path.name, name)


@pytest.mark.parametrize("path", PURE_FILES, ids=lambda path: path.name)
def test_pure_modules_never_touch_a_clock_or_socket(path: Path) -> None:
    text = path.read_text()
    for forbidden in ("asyncio", "socket", "time.", "websockets", "threading"):
        assert forbidden not in imports_of(path), (path.name, forbidden)
    assert "time.time(" not in text
    assert "time.monotonic(" not in text
