"""The public API: everything in reverb.__all__ exists, is documented, and nothing else leaks."""

from __future__ import annotations

import builtins
import inspect

import pytest

import reverb


def test_all_is_sorted_and_complete() -> None:
    assert list(reverb.__all__) == sorted(reverb.__all__)
    public = {name for name in dir(reverb) if not name.startswith("_")}
    modules = {name for name in public if inspect.ismodule(getattr(reverb, name))}
    assert public - modules == set(reverb.__all__) - {"__version__"}


DOCUMENTABLE = [
    name
    for name in reverb.__all__
    if inspect.isclass(getattr(reverb, name)) or inspect.isfunction(getattr(reverb, name))
]


@pytest.mark.parametrize("name", DOCUMENTABLE)
def test_every_public_class_and_its_public_methods_have_docstrings(name: str) -> None:
    item = getattr(reverb, name)
    assert item.__doc__, name
    for attribute, member in vars(item).items():
        if attribute.startswith("_") or not callable(member):
            continue
        assert inspect.getdoc(member), f"{name}.{attribute}"


def test_seed_contract_names_are_importable() -> None:
    from reverb.auth import Authenticator
    from reverb.channels import Channel, PresenceChannel, PrivateChannel, PublicChannel
    from reverb.client import ReverbClient
    from reverb.config import ReverbConfig
    from reverb.connection import Connection
    from reverb.messages import Message

    assert issubclass(PresenceChannel, PrivateChannel)
    assert issubclass(PrivateChannel, Channel)
    assert issubclass(PublicChannel, Channel)
    assert inspect.isabstract(Channel)
    for item in (Authenticator, ReverbClient, ReverbConfig, Connection, Message):
        assert item.__module__.startswith("reverb.")


def test_exceptions_share_one_root_and_mix_in_the_builtins() -> None:
    for name in ("ConfigurationError", "ConnectionError", "AuthenticationError"):
        assert issubclass(getattr(reverb, name), reverb.ReverbError)
    for name in ("SubscriptionError", "ProtocolError", "ClientEventError"):
        assert issubclass(getattr(reverb, name), reverb.ReverbError)
    assert issubclass(reverb.ConnectionError, builtins.ConnectionError)
    assert issubclass(reverb.ConfigurationError, ValueError)


def test_version_matches_the_package_metadata() -> None:
    from importlib.metadata import version

    assert reverb.__version__ == version("python-reverb")


# -- the package root imports lazily --------------------------------------------------------------


def run_fresh(code: str) -> str:
    """Run ``code`` in a new interpreter (this one has imported everything long ago)."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


HEAVY = ("asyncio", "httpx", "pydantic", "pydantic_settings", "rich", "typer", "websockets")


def test_importing_the_package_and_its_version_loads_nothing_heavy() -> None:
    loaded = run_fresh(
        "import sys, reverb\n"
        "assert reverb.__version__\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    assert loaded == "[]"


def test_every_public_name_imports_from_a_fresh_interpreter() -> None:
    names = run_fresh(
        "import reverb\n"
        "listed = set(dir(reverb))\n"
        "from reverb import *\n"
        "missing = [name for name in reverb.__all__ if name not in globals()]\n"
        "unlisted = [name for name in reverb.__all__ if name not in listed]\n"
        "print(missing, unlisted)"
    )
    assert names == "[] []"


def test_lazy_table_matches_all_and_the_type_checking_imports() -> None:
    import ast
    import importlib
    from pathlib import Path

    lazy: dict[str, str] = vars(reverb)["_LAZY"]
    assert set(lazy) == set(reverb.__all__) - {"__version__"}
    for name, module in lazy.items():
        assert getattr(importlib.import_module(module, "reverb"), name) is getattr(reverb, name)

    tree = ast.parse(Path(reverb.__file__).read_text())
    typed: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) in {
            "TYPE_CHECKING",
            "_typing.TYPE_CHECKING",
            "typing.TYPE_CHECKING",
        }:
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom), ast.unparse(statement)
                for alias in statement.names:
                    typed[alias.asname or alias.name] = "." * statement.level + (
                        statement.module or ""
                    )
    assert typed == lazy


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        reverb.Nope  # type: ignore[attr-defined]  # noqa: B018


def test_the_pytest_plugin_and_the_command_entry_points_load() -> None:
    from importlib.metadata import entry_points

    (plugin,) = [ep for ep in entry_points(group="pytest11") if ep.name == "reverb"]
    assert plugin.load().__name__ == "reverb.pytest_plugin"
    (command,) = [ep for ep in entry_points(group="console_scripts") if ep.name == "reverb"]
    assert callable(command.load())
