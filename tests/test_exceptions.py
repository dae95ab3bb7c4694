"""Every exception python-reverb defines is a ReverbError and is listed in the documented tree."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import reverb
import reverb.exceptions
from reverb.exceptions import ReverbError

#: Modules that must not be imported just to look at them (``python -m reverb`` runs the CLI).
NOT_IMPORTED = {"reverb.__main__"}


def package_modules() -> list[str]:
    names = ["reverb"]
    for info in pkgutil.walk_packages(reverb.__path__, "reverb."):
        if info.name not in NOT_IMPORTED:
            names.append(info.name)
    return sorted(names)


def exception_classes() -> list[type[BaseException]]:
    """Every public exception class defined (not just imported) in a module of the package."""
    found: dict[str, type[BaseException]] = {}
    for name in package_modules():
        module = importlib.import_module(name)
        for item in vars(module).values():
            if (
                isinstance(item, type)
                and issubclass(item, BaseException)
                and item.__module__ == name
                and not item.__name__.startswith("_")
            ):
                found[f"{name}.{item.__qualname__}"] = item
    return [found[key] for key in sorted(found)]


ROOT_LINE = re.compile(r"^(?P<name>[A-Z]\w*)\b")
CHILD_LINE = re.compile(r"^(?P<indent>(?:[│ ] {3})*)[├└]── (?P<name>[A-Z]\w*)\b")


def documented_tree(doc: str) -> dict[str, str | None]:
    """The class tree in a docstring's ``::`` block: each name mapped to its parent's name.

    The root is the block's first line; every other class is on a line with a ``├──`` or
    ``└──`` marker, four characters deeper per level. Other lines continue a description.
    """
    lines = doc.split("::", 1)[1].splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return {}
    margin = len(lines[0]) - len(lines[0].lstrip())
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for line in lines:
        if not line.strip():
            break  # the block ends at its first blank line
        text = line[margin:]
        if not parents:
            root = ROOT_LINE.match(text)
            assert root is not None, f"the tree must start with the root class: {line!r}"
            parents[root["name"]] = None
            stack.append(root["name"])
            continue
        child = CHILD_LINE.match(text)
        if child is None:
            continue  # a continuation line of a description
        depth = len(child["indent"]) // 4 + 1
        del stack[depth:]
        parents[child["name"]] = stack[-1]
        stack.append(child["name"])
    return parents


EXCEPTIONS = exception_classes()
TREE = documented_tree(reverb.exceptions.__doc__ or "")


def test_the_walk_finds_the_known_exceptions() -> None:
    names = {cls.__name__ for cls in EXCEPTIONS}
    assert {"ReverbError", "ConfigurationError", "ApiError"} <= names


def test_the_tree_parser_reads_the_documented_shape() -> None:
    doc = """Errors.

    ::

        Root
        ├── Child (also ValueError)      what it means
        │                                  more of what it means
        │   └── Grandchild               deeper
        └── Other (reverb.x)             last

    After the tree.
    """
    assert documented_tree(doc) == {
        "Root": None,
        "Child": "Root",
        "Grandchild": "Child",
        "Other": "Root",
    }


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_every_public_exception_is_a_reverb_error(cls: type[BaseException]) -> None:
    assert issubclass(cls, ReverbError), (
        f"{cls.__module__}.{cls.__qualname__} derives from "
        f"{[base.__name__ for base in cls.__mro__[1:]]}, not ReverbError: users catching "
        "ReverbError would miss it (make it a ReverbError, or private with a leading _)"
    )


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_every_public_exception_is_in_the_documented_tree(cls: type[BaseException]) -> None:
    assert cls.__name__ in TREE, (
        f"{cls.__module__}.{cls.__qualname__} is missing from the tree in the docstring of "
        "src/reverb/exceptions.py"
    )


def test_each_exception_name_is_defined_once() -> None:
    """The tree and users' ``except`` clauses name classes, so one name means one class."""
    modules: dict[str, list[str]] = {}
    for cls in EXCEPTIONS:
        modules.setdefault(cls.__name__, []).append(cls.__module__)
    assert {name: where for name, where in modules.items() if len(where) > 1} == {}


def test_the_documented_tree_matches_the_classes() -> None:
    by_name = {cls.__name__: cls for cls in EXCEPTIONS}
    assert TREE["ReverbError"] is None
    for name, parent in TREE.items():
        assert name in by_name, f"the tree lists {name}, which no module defines"
        if parent is not None:
            assert issubclass(by_name[name], by_name[parent]), (name, parent)


def test_every_exception_of_the_exceptions_module_is_exported_from_the_root() -> None:
    for name in reverb.exceptions.__all__:
        assert name in reverb.__all__, name
        assert getattr(reverb, name) is getattr(reverb.exceptions, name)


def test_api_error_lives_with_the_others_and_stays_importable_from_the_api_module() -> None:
    from reverb.api import ApiError

    assert ApiError is reverb.exceptions.ApiError
    assert issubclass(ApiError, ReverbError)
    error = ApiError("HTTP API answered 403", status=403, body="nope")
    assert (error.status, error.body, str(error)) == (403, "nope", "HTTP API answered 403")
