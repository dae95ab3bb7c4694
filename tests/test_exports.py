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
