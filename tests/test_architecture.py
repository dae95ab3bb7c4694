"""The shape of the package: imports form no cycle, and no module or class grows too big.

The import graph is read from the source (every ``import`` and ``from ... import``, relative
ones resolved, inside functions too), so it sees imports that only run later. Imports under
``if TYPE_CHECKING:`` are edges too, kept apart so a failure says which kind closes a cycle.
The package root ``reverb/__init__.py`` re-exports the public API: edges out of it are not part
of the graph, and no module may import from it.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

import reverb

SRC = Path(reverb.__file__).parent
PACKAGE = "reverb"
MAX_MODULE_LINES = 450
MAX_CLIENT_CLASS_LINES = 400  # ReverbClient, measured as end_lineno - lineno, must stay below


@dataclass(frozen=True, slots=True)
class Edge:
    """One import of a package module by another."""

    source: str
    target: str
    line: int
    type_checking: bool

    def __str__(self) -> str:
        kind = ", under TYPE_CHECKING" if self.type_checking else ""
        return f"{self.source} imports {self.target} (line {self.line}{kind})"


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module of the package under ``root``, by dotted name (packages by their own)."""
    names = {}
    for path in sorted([*root.rglob("*.py"), *root.rglob("*.pyx")]):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def is_type_checking(test: ast.expr) -> bool:
    """Whether an ``if`` test is ``TYPE_CHECKING`` (or ``typing.TYPE_CHECKING`` and the like)."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def parse_module(path: Path) -> ast.Module:
    """A module's source as Python; of a Cython ``.pyx``, only its top-level Python imports
    (``cimport`` s are C declarations, not imports)."""
    text = path.read_text()
    if path.suffix == ".pyx":
        text = "\n".join(
            line if line.startswith(("import ", "from ")) and " cimport " not in line else ""
            for line in text.splitlines()
        )
    return ast.parse(text, str(path))


def import_statements(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement in ``tree``, anywhere, and whether only type checkers run it."""

    def visit(
        node: ast.AST, type_checking: bool
    ) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, type_checking
        elif isinstance(node, ast.If) and is_type_checking(node.test):
            for statement in node.body:
                yield from visit(statement, True)
            for statement in node.orelse:
                yield from visit(statement, type_checking)
        else:
            for child in ast.iter_child_nodes(node):
                yield from visit(child, type_checking)

    yield from visit(tree, False)


def resolve(module: str | None, level: int, package: str) -> str:
    """The absolute name of ``from <level dots><module> import ...`` written in ``package``."""
    if level == 0:
        return module or ""
    parts = package.split(".")
    if level > 1:
        parts = parts[: -(level - 1)]
    return ".".join([*parts, module] if module else parts)


def owning_module(name: str, modules: Mapping[str, Path]) -> str | None:
    """The longest prefix of the dotted ``name`` that is one of ``modules``."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def import_edges(root: Path, package: str) -> list[Edge]:
    """Every import of one of the package's modules by another, read from the source."""
    modules = module_names(root, package)
    edges: dict[Edge, None] = {}  # one edge per import statement and target, in order
    for source, path in modules.items():
        here = source if path.name == "__init__.py" else source.rpartition(".")[0]
        for node, type_checking in import_statements(parse_module(path)):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = resolve(node.module, node.level, here)
                # ``from x import y`` imports the module x.y when there is one, else x itself.
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            for target in targets:
                owner = owning_module(target, modules)
                if owner is not None and owner != source:
                    edges[Edge(source, owner, node.lineno, type_checking)] = None
    return list(edges)


def graph_of(edges: list[Edge]) -> dict[str, set[str]]:
    """Adjacency sets of the edges."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    return graph


def find_cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """One shortest cycle, as a closed path ``[a, b, ..., a]``, per strongly connected group.

    Tarjan's algorithm finds the groups of modules that all reach each other; a breadth-first
    search inside each group then names a concrete cycle.
    """
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = lowlink[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                lowlink[node] = min(lowlink[node], lowlink[target])
            elif target in on_stack:
                lowlink[node] = min(lowlink[node], index[target])
        if lowlink[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            groups.append(group)

    for node in sorted(graph):
        if node not in index:
            connect(node)

    cycles = []
    for group in groups:
        start = min(group)
        if len(group) == 1 and start not in graph.get(start, ()):
            continue
        cycles.append(_shortest_cycle_through(start, group, graph))
    return sorted(cycles)


def _shortest_cycle_through(
    start: str, group: set[str], graph: Mapping[str, set[str]]
) -> list[str]:
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph.get(node, set()) & group):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if target not in previous:
                    previous[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"{start} is in a strongly connected group but on no cycle")


def describe(cycles: list[list[str]], edges: list[Edge]) -> str:
    """The cycles, each step with the line of the import behind it."""
    by_pair: dict[tuple[str, str], list[Edge]] = {}
    for edge in edges:
        by_pair.setdefault((edge.source, edge.target), []).append(edge)
    lines = []
    for cycle in cycles:
        lines.append("cycle: " + " -> ".join(cycle))
        for source, target in itertools.pairwise(cycle):
            lines.extend(f"    {edge}" for edge in by_pair[source, target])
    return "\n".join(lines)


EDGES = [edge for edge in import_edges(SRC, PACKAGE) if edge.source != PACKAGE]
RUNTIME_EDGES = [edge for edge in EDGES if not edge.type_checking]


# -- the import graph -----------------------------------------------------------------------------


def test_the_graph_sees_the_package() -> None:
    pairs = {(edge.source, edge.target) for edge in EDGES}
    assert ("reverb.config", "reverb.protocol.policy") in pairs
    assert ("reverb.protocol.session", "reverb.messages") in pairs
    assert {edge.source for edge in EDGES} >= {"reverb.cli", "reverb.client", "reverb.api"}


def test_no_module_imports_the_package_root() -> None:
    """``reverb/__init__.py`` is the top: importing from it would run every module first."""
    assert [str(edge) for edge in EDGES if edge.target == PACKAGE] == []


def test_runtime_imports_form_no_cycle() -> None:
    cycles = find_cycles(graph_of(RUNTIME_EDGES))
    assert not cycles, "\n" + describe(cycles, RUNTIME_EDGES)


def test_imports_form_no_cycle_even_counting_type_checking_imports() -> None:
    cycles = find_cycles(graph_of(EDGES))
    assert not cycles, "\n" + describe(cycles, EDGES)


# -- the tools themselves -------------------------------------------------------------------------


def test_find_cycles_finds_a_cycle_and_names_its_path() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]


def test_find_cycles_finds_every_cycle_group_and_self_imports() -> None:
    graph = {"a": {"b"}, "b": {"a"}, "x": {"y"}, "y": {"z"}, "z": {"x"}, "s": {"s"}}
    assert find_cycles(graph) == [["a", "b", "a"], ["s", "s"], ["x", "y", "z", "x"]]


def test_find_cycles_names_the_shortest_cycle_of_a_group() -> None:
    graph = {"a": {"b", "c"}, "b": {"c"}, "c": {"d", "a"}, "d": {"b"}}
    assert find_cycles(graph) == [["a", "c", "a"]]


def test_find_cycles_passes_a_graph_without_cycles() -> None:
    graph = {"a": {"b", "c"}, "b": {"c"}, "c": set(), "d": {"a", "c"}}
    assert find_cycles(graph) == []


def test_import_edges_resolve_every_kind_of_import(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from .a import A\n",
        "a.py": "from . import b\nfrom .sub import thing\nimport pkg.c as c\nimport json\nA = 1\n",
        "b.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from .a import A\n"
            "else:\n"
            "    from .c import C\n"
            "def later():\n"
            "    from .sub.thing import T\n"
        ),
        "c.py": "import typing\nif typing.TYPE_CHECKING:\n    from pkg import A\nC = 1\n",
        "sub/__init__.py": "from .thing import T\n",
        "sub/thing.py": "from .. import c\nfrom ..b import later\nfrom . import T2\nT = 1\n",
    }
    for name, text in files.items():
        (root / name).write_text(text)
    edges = {(e.source, e.target, e.line, e.type_checking) for e in import_edges(root, "pkg")}
    assert edges == {
        ("pkg", "pkg.a", 1, False),
        ("pkg.a", "pkg.b", 1, False),
        ("pkg.a", "pkg.sub.thing", 2, False),
        ("pkg.a", "pkg.c", 3, False),
        ("pkg.b", "pkg.a", 3, True),
        ("pkg.b", "pkg.c", 5, False),
        ("pkg.b", "pkg.sub.thing", 7, False),
        ("pkg.c", "pkg", 3, True),
        ("pkg.sub", "pkg.sub.thing", 1, False),
        ("pkg.sub.thing", "pkg.c", 1, False),
        ("pkg.sub.thing", "pkg.b", 2, False),
        ("pkg.sub.thing", "pkg.sub", 3, False),  # T2 is no module: a name from the package
    }


def test_a_type_checking_import_back_up_is_a_cycle_of_its_own_kind(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "client.py").write_text("from .channels import Channel\n")
    (root / "channels.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .client import Client\n"
    )
    edges = import_edges(root, "pkg")
    assert find_cycles(graph_of([edge for edge in edges if not edge.type_checking])) == []
    assert find_cycles(graph_of(edges)) == [["pkg.channels", "pkg.client", "pkg.channels"]]


def test_describe_names_each_import_of_a_cycle() -> None:
    edges = [Edge("p.a", "p.b", 3, False), Edge("p.b", "p.a", 7, True)]
    assert describe(find_cycles(graph_of(edges)), edges) == (
        "cycle: p.a -> p.b -> p.a\n"
        "    p.a imports p.b (line 3)\n"
        "    p.b imports p.a (line 7, under TYPE_CHECKING)"
    )


# -- sizes ----------------------------------------------------------------------------------------

MODULES = module_names(SRC, PACKAGE)


@pytest.mark.parametrize("module", list(MODULES))
def test_no_module_is_longer_than_the_limit(module: str) -> None:
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, (
        f"{MODULES[module].relative_to(SRC.parent)} has {lines} lines; "
        f"at most {MAX_MODULE_LINES}: split it along a seam"
    )


def test_the_client_class_stays_small() -> None:
    tree = ast.parse((SRC / "client.py").read_text())
    (client,) = [
        node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "ReverbClient"
    ]
    assert client.end_lineno is not None
    length = client.end_lineno - client.lineno
    assert length < MAX_CLIENT_CLASS_LINES, (
        f"the ReverbClient class spans {length} lines; it must stay below "
        f"{MAX_CLIENT_CLASS_LINES}: it is the public API, the work belongs in the layers below"
    )
