"""``rocket/http`` is sans-I/O: no module there may import sockets, threads or event loops."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import rocket.http

FORBIDDEN = {"socket", "threading", "selectors", "select", "ssl", "asyncio"}
HTTP_DIR = Path(rocket.http.__file__).resolve().parent
MODULES = sorted(HTTP_DIR.glob("*.py"))


def imported_modules(tree: ast.AST, package: str) -> set:
    """Absolute names of every module an AST imports, anywhere in the file."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                if node.module:
                    names.add(f"{base}.{node.module}")
                else:  # from . import events
                    names.update(f"{base}.{alias.name}" for alias in node.names)
            else:
                names.add(node.module or "")
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(str(node.args[0].value))
    return names


def test_there_are_modules_to_check():
    assert {"errors.py", "events.py", "parser.py"} <= {p.name for p in MODULES}


def test_checker_sees_every_import_form():
    tree = ast.parse(
        "import os, socket as s\n"
        "from threading import Lock\n"
        "def f():\n    import selectors\n"
        "import importlib\nimportlib.import_module('ssl')\n"
        "from . import events\n"
    )
    found = imported_modules(tree, "rocket.http")
    assert {"socket", "threading", "selectors", "ssl", "rocket.http.events"} <= found


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_module_source_imports_no_io(path):
    found = imported_modules(ast.parse(path.read_text(), str(path)), "rocket.http")
    bad = sorted(n for n in found if n.split(".")[0] in FORBIDDEN)
    assert not bad, f"{path.name} imports {bad}: rocket/http must stay sans-I/O"
    # Other rocket modules pulled in must themselves be inside rocket.http.
    outside = sorted(n for n in found if n.startswith("rocket.") and not n.startswith("rocket.http"))
    assert not outside, f"{path.name} imports {outside} from outside rocket.http"


@pytest.mark.parametrize("module", [f"rocket.http.{p.stem}" for p in MODULES],
                         ids=[p.stem for p in MODULES])
def test_importing_the_module_loads_no_io_modules(module):
    """Import one rocket.http module in a fresh interpreter and diff sys.modules."""
    # rocket/__init__.py is replaced by a bare package so that only rocket.http is measured:
    # the top-level package legitimately imports the server (threads, sockets).
    code = (
        "import sys, json, types\n"
        "before = set(sys.modules)\n"
        "pkg = types.ModuleType('rocket')\n"
        f"pkg.__path__ = [{str(HTTP_DIR.parent)!r}]\n"
        "sys.modules['rocket'] = pkg\n"
        f"__import__({module!r})\n"
        f"print(json.dumps(sorted((set(sys.modules) - before) & set({sorted(FORBIDDEN)!r}))))\n"
        f"print(json.dumps(sorted(set(sys.modules) & set({sorted(FORBIDDEN)!r}))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    added, present = (json.loads(line) for line in out.stdout.splitlines())
    assert added == [], f"importing {module} loaded {added}"
    # Where the interpreter itself does not preload them, none may be present at all.
    assert present == [], f"{present} present after importing {module}"
