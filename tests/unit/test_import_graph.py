"""The package imports only downwards: no import cycle (imports inside functions count) and the
runtime never imports the load tools (``rocket.bench``)."""

from __future__ import annotations

import ast
import os
from typing import Dict, List, Set

import rocket

ROOT = os.path.dirname(rocket.__file__)


def module_files() -> Dict[str, str]:
    """Every module of the package by dotted name (a package is its ``__init__.py``)."""
    found = {}
    for folder, _, names in os.walk(ROOT):
        for name in names:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            dotted = "rocket." + os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
            found[dotted[: -len(".__init__")] if dotted.endswith(".__init__") else dotted] = path
    return found


def imports_of(name: str, path: str, modules: Dict[str, str]) -> Set[str]:
    """The ``rocket`` modules that ``name`` imports anywhere in its source (functions too).

    ``from package import name`` counts as importing the submodule when there is one. The parent
    packages that Python runs on the way to a submodule are not counted: they are the public
    re-exports, never the reason a module needs another.
    """
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    found: Set[str] = set()
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        targets: List[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        for target in targets:
            while target not in modules and "." in target:
                target = target.rpartition(".")[0]
            if target in modules and target != name:
                found.add(target)
    return found


def import_graph() -> Dict[str, Set[str]]:
    """Module -> the ``rocket`` modules it imports."""
    modules = module_files()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_imports_inside_functions_and_relative_imports(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("def f():\n    from rocket.http import parser\n")
    (package / "b.py").write_text("from .a import f\nimport rocket.http.errors as e\n")
    modules = {"rocket.http.parser": "", "rocket.http.errors": "", "rocket.x.a": "",
               "rocket.x.b": ""}
    assert imports_of("rocket.x.a", str(package / "a.py"), modules) == {"rocket.http.parser"}
    assert imports_of("rocket.x.b", str(package / "b.py"), modules) == {"rocket.x.a",
                                                                       "rocket.http.errors"}


def test_cycles_finds_a_loop_and_nothing_else():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    graph = import_graph()
    assert len(graph) > 50  # the walk found the package
    assert cycles(graph) == []


def test_the_runtime_never_imports_the_load_tools():
    offenders = sorted(f"{name} -> {target}" for name, targets in import_graph().items()
                       if not name.startswith("rocket.bench") for target in targets
                       if target == "rocket.bench" or target.startswith("rocket.bench."))
    assert offenders == []
