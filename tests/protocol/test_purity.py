"""The sans-I/O core stays pure: no sockets, no event loop, no clock, no third-party imports.

The core is every module in ``reverb/protocol`` (found by listing the folder, so a new module
is covered the day it is added) plus ``reverb/messages.py`` and ``reverb/exceptions.py``. They
may import a short list of standard-library modules and each other, nothing else, except an
optional accelerator (orjson) that computes like ``json`` does, imported only inside
``try: ... except ImportError:`` so that the core works without it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import reverb

SRC = Path(reverb.__file__).parent


def pure_modules() -> dict[str, Path]:
    """The core's modules by name: reverb.protocol and all in it, messages, exceptions."""
    modules = {"reverb.protocol": SRC / "protocol" / "__init__.py"}
    for path in sorted((SRC / "protocol").glob("*.py")):
        if path.name != "__init__.py":
            modules[f"reverb.protocol.{path.stem}"] = path
    modules["reverb.messages"] = SRC / "messages.py"
    modules["reverb.exceptions"] = SRC / "exceptions.py"
    return modules


PURE_MODULES = pure_modules()
#: What a core module may import from python-reverb: the core itself, and nothing above it.
ALLOWED_INTERNAL = frozenset(PURE_MODULES)
#: Standard-library modules that compute and do nothing else.
ALLOWED_STDLIB = frozenset(
    {
        "__future__",
        "abc",
        "base64",
        "binascii",
        "bisect",
        "builtins",
        "collections",
        "copy",
        "dataclasses",
        "enum",
        "functools",
        "hashlib",
        "heapq",
        "hmac",
        "itertools",
        "json",
        "math",
        "operator",
        "random",
        "re",
        "string",
        "types",
        "typing",
        "warnings",
    }
)
#: Third-party modules that only compute, faster than their stdlib twin; the core may import them
#: only under ``try:`` with an ``except ImportError:`` (or ModuleNotFoundError) fallback.
OPTIONAL_ACCELERATORS = frozenset({"orjson"})
#: Named explicitly so the report says why; none of these may ever join ALLOWED_STDLIB.
FORBIDDEN_MODULES = frozenset(
    {
        "asyncio",
        "concurrent",
        "datetime",
        "httpx",
        "multiprocessing",
        "pydantic",
        "pydantic_settings",
        "select",
        "selectors",
        "socket",
        "ssl",
        "subprocess",
        "threading",
        "time",
        "websockets",
    }
)
#: Calls that read a clock or sleep, whatever object they are called on
#: (``time.time()``, ``time.monotonic()``, ``loop.time()``, ``datetime.now()``, ...).
FORBIDDEN_METHODS = frozenset(
    {
        "get_event_loop",
        "get_running_loop",
        "monotonic",
        "monotonic_ns",
        "now",
        "perf_counter",
        "perf_counter_ns",
        "process_time",
        "sleep",
        "time",
        "time_ns",
        "today",
        "utcnow",
    }
)
#: Plain-name calls that read a clock or import behind the checker's back.
FORBIDDEN_FUNCTIONS = frozenset({"__import__", "monotonic", "perf_counter", "sleep", "time"})
#: Modules whose loading means the core reached for I/O or a third-party package.
HEAVY_MODULES = (
    "asyncio",
    "httpx",
    "pydantic",
    "pydantic_settings",
    "rich",
    "selectors",
    "socket",
    "ssl",
    "typer",
    "websockets",
)


def resolve(module: str | None, level: int, package: str) -> str:
    """The absolute name of ``from <level dots><module> import ...`` written in ``package``."""
    if level == 0:
        return module or ""
    parts = package.split(".")
    if level > 1:
        parts = parts[: -(level - 1)]
    return ".".join([*parts, module] if module else parts)


def _check_module(name: str, line: int, optional: bool = False) -> list[str]:
    top = name.split(".")[0]
    if optional and top in OPTIONAL_ACCELERATORS:
        return []
    if top == "reverb":
        if name not in ALLOWED_INTERNAL:
            return [f"line {line}: imports {name}, which is not part of the sans-I/O core"]
        return []
    if top in FORBIDDEN_MODULES:
        return [f"line {line}: imports {name}: no clock, event loop, socket or thread here"]
    if top not in ALLOWED_STDLIB:
        return [f"line {line}: imports {name}, which is not in the allowed standard library"]
    return []


def _guarded_imports(tree: ast.AST) -> set[int]:
    """The ids of ``import x`` statements directly in a ``try:`` that catches ImportError."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        caught = {
            ast.unparse(handler.type) for handler in node.handlers if handler.type is not None
        }
        if caught & {"ImportError", "ModuleNotFoundError"}:
            guarded |= {id(stmt) for stmt in node.body if isinstance(stmt, ast.Import)}
    return guarded


def purity_violations(path: Path, module: str) -> list[str]:
    """Everything in the file at ``path`` (the module ``module``) that the core may not do."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    problems: list[str] = []
    optional = _guarded_imports(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                problems += _check_module(alias.name, node.lineno, id(node) in optional)
        elif isinstance(node, ast.ImportFrom):
            base = resolve(node.module, node.level, package)
            if node.module is None:  # from . import x, y: each name is a module (or not allowed)
                for alias in node.names:
                    problems += _check_module(f"{base}.{alias.name}", node.lineno)
            else:
                problems += _check_module(base, node.lineno)
        elif isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Attribute) and function.attr in FORBIDDEN_METHODS:
                problems.append(f"line {node.lineno}: calls {ast.unparse(function)}()")
            elif isinstance(function, ast.Name) and function.id in FORBIDDEN_FUNCTIONS:
                problems.append(f"line {node.lineno}: calls {function.id}()")
    return problems


# -- the core -------------------------------------------------------------------------------------


def test_the_core_is_found_by_listing_the_folder() -> None:
    assert {"reverb.protocol.session", "reverb.protocol.policy", "reverb.messages"} <= set(
        PURE_MODULES
    )
    on_disk = {path.stem for path in (SRC / "protocol").glob("*.py")} - {"__init__"}
    assert {name.rpartition(".")[2] for name in PURE_MODULES if ".protocol." in name} == on_disk


def test_allowed_and_forbidden_modules_do_not_overlap() -> None:
    assert not ALLOWED_STDLIB & FORBIDDEN_MODULES


@pytest.mark.parametrize(("module", "path"), PURE_MODULES.items(), ids=list(PURE_MODULES))
def test_pure_modules_import_only_the_stdlib_and_each_other_and_read_no_clock(
    module: str, path: Path
) -> None:
    assert purity_violations(path, module) == []


def heavy_modules_loaded_by(*modules: str) -> list[str]:
    """Which of HEAVY_MODULES importing ``modules`` loads, in a fresh interpreter.

    This interpreter has loaded everything long ago, so only a new one can tell.
    """
    code = (
        f"import sys, json, {', '.join(modules)}\n"
        f"print(json.dumps(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout)
    return loaded


@pytest.mark.parametrize("module", list(PURE_MODULES))
def test_importing_a_core_module_loads_no_event_loop_and_no_third_party_package(
    module: str,
) -> None:
    assert heavy_modules_loaded_by(module) == [], f"importing {module} loads these"


def test_importing_the_whole_core_at_once_loads_none_either() -> None:
    assert heavy_modules_loaded_by(*PURE_MODULES) == []


def test_the_fresh_interpreter_check_sees_what_the_asyncio_layer_loads() -> None:
    loaded = heavy_modules_loaded_by("reverb.protocol.session", "reverb.connection")
    assert {"asyncio", "websockets"} <= set(loaded)


# -- the checker itself ---------------------------------------------------------------------------

BAD_LINES = [
    ("import time", "imports time"),
    ("from time import monotonic", "imports time"),
    ("import time as clock", "imports time"),
    ("import asyncio", "imports asyncio"),
    ("from asyncio import Future", "imports asyncio"),
    ("import socket", "imports socket"),
    ("import selectors", "imports selectors"),
    ("import threading", "imports threading"),
    ("from datetime import datetime", "imports datetime"),
    ("import websockets", "imports websockets"),
    ("from websockets.asyncio.client import connect", "imports websockets"),
    ("import httpx", "imports httpx"),
    ("import pydantic", "imports pydantic"),
    ("import logging", "imports logging"),
    ("import os.path", "imports os.path"),
    ("from ..client import ReverbClient", "imports reverb.client"),
    ("from .. import ReverbClient", "imports reverb.ReverbClient"),
    ("from .. import connection", "imports reverb.connection"),
    ("import reverb", "imports reverb,"),
    ("import reverb.transport", "imports reverb.transport"),
    ("from reverb.config import ReverbConfig", "imports reverb.config"),
    ("def f():\n    import asyncio", "imports asyncio"),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import httpx", "imports httpx"),
    ("def f(t):\n    return t.time.time()", "calls t.time.time()"),
    ("def f(time):\n    return time.monotonic()", "calls time.monotonic()"),
    ("def f(loop):\n    return loop.time()", "calls loop.time()"),
    ("def f(datetime):\n    return datetime.now()", "calls datetime.now()"),
    ("def f(clock):\n    return clock.perf_counter()", "calls clock.perf_counter()"),
    ("def f(asyncio):\n    return asyncio.get_running_loop()", "calls asyncio.get_running_loop"),
    ("async def f(asyncio):\n    await asyncio.sleep(1)", "calls asyncio.sleep()"),
    ("def f(monotonic):\n    return monotonic()", "calls monotonic()"),
    ("def f():\n    return __import__('time')", "calls __import__()"),
    ("import orjson", "imports orjson"),
    ("try:\n    import orjson\nexcept ValueError:\n    pass", "imports orjson"),
    ("try:\n    import httpx\nexcept ImportError:\n    httpx = None", "imports httpx"),
]


@pytest.mark.parametrize(("source", "expected"), BAD_LINES, ids=[line for line, _ in BAD_LINES])
def test_the_checker_catches_a_bad_module(tmp_path: Path, source: str, expected: str) -> None:
    path = tmp_path / "bad.py"
    path.write_text(
        f'"""A module that is not pure."""\n\nfrom __future__ import annotations\n\n{source}\n'
    )
    problems = purity_violations(path, "reverb.protocol.bad")
    assert any(expected in problem for problem in problems), problems


def test_the_checker_reports_every_problem_of_a_module_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.py"
    path.write_text("import json\nimport time\nimport asyncio\n\nx = time.time()\n")
    assert purity_violations(path, "reverb.protocol.bad") == [
        "line 2: imports time: no clock, event loop, socket or thread here",
        "line 3: imports asyncio: no clock, event loop, socket or thread here",
        "line 5: calls time.time()",
    ]


def test_the_checker_accepts_a_pure_module(tmp_path: Path) -> None:
    path = tmp_path / "good.py"
    path.write_text(
        "from __future__ import annotations\n"
        "import json\n"
        "from collections.abc import Mapping\n"
        "from . import names\n"
        "from .names import channel_kind\n"
        "from .. import messages\n"
        "from ..exceptions import ProtocolError\n"
        "from ..messages import Event\n"
        "import reverb.protocol.policy\n"
        "def deadline(now: float, timeout: float) -> float:\n"
        "    return now + timeout\n"
    )
    assert purity_violations(path, "reverb.protocol.good") == []


def test_the_checker_accepts_an_optional_accelerator_behind_an_import_guard(
    tmp_path: Path,
) -> None:
    path = tmp_path / "good.py"
    path.write_text("try:\n    import orjson\nexcept ImportError:\n    orjson = None\n")
    assert purity_violations(path, "reverb.protocol.good") == []


def test_the_checker_resolves_relative_imports_from_the_package_itself(tmp_path: Path) -> None:
    path = tmp_path / "__init__.py"
    path.write_text("from .names import channel_kind\nfrom ..client import ReverbClient\n")
    assert purity_violations(path, "reverb.protocol") == [
        "line 2: imports reverb.client, which is not part of the sans-I/O core"
    ]


@pytest.mark.parametrize(
    ("module", "level", "package", "absolute"),
    [
        ("names", 1, "reverb.protocol", "reverb.protocol.names"),
        ("messages", 2, "reverb.protocol", "reverb.messages"),
        (None, 1, "reverb.protocol", "reverb.protocol"),
        (None, 2, "reverb.protocol", "reverb"),
        ("json", 0, "reverb.protocol", "json"),
    ],
)
def test_resolve(module: str | None, level: int, package: str, absolute: str) -> None:
    assert resolve(module, level, package) == absolute
