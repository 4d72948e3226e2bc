"""Find the WSGI application named on the command line: ``MODULE:APP`` or ``MODULE:FACTORY(...)``.

``APP`` is an attribute path (``app``, ``api.wsgi_app``). A trailing call runs a factory with
literal arguments only (``create_app()``, ``create_app("prod", debug=True)``); nothing else is
evaluated. Each way this can fail raises :class:`AppImportError` with its own one-line message:
module not found, error while importing, attribute missing, not callable, factory raising.
"""

from __future__ import annotations

import ast
import importlib
import linecache
import os
import sys
import traceback
from types import ModuleType
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple


class AppImportError(Exception):
    """The application could not be loaded; ``str()`` is one line for the user."""


class AppSpec(NamedTuple):
    """A parsed ``MODULE:APP`` string."""

    module: str
    attrs: Tuple[str, ...]
    is_call: bool
    args: Tuple[Any, ...]
    kwargs: Dict[str, Any]


def parse_spec(spec: str) -> AppSpec:
    """Split and check ``MODULE:APP`` / ``MODULE:FACTORY(literal args)``; ValueError if malformed."""
    module, sep, expr = spec.strip().partition(":")
    if not (module and sep and expr):
        raise ValueError(f"{spec!r} is not MODULE:APP")
    if not all(part.isidentifier() for part in module.split(".")):
        raise ValueError(f"{module!r} is not a module name{_spec_hint(module, expr)}")
    try:
        tree = ast.parse(expr.strip(), mode="eval").body
    except SyntaxError:
        raise ValueError(f"{expr!r} is not an attribute name or a factory call") from None
    is_call = isinstance(tree, ast.Call)
    args: Tuple[Any, ...] = ()
    kwargs: Dict[str, Any] = {}
    if isinstance(tree, ast.Call):
        try:
            args = tuple(ast.literal_eval(a) for a in tree.args)
            kwargs = {k.arg: ast.literal_eval(k.value) for k in tree.keywords if k.arg}
        except ValueError:
            raise ValueError(f"{expr!r}: factory arguments must be literals") from None
        if len(kwargs) != len(tree.keywords):
            raise ValueError(f"{expr!r}: factory arguments must be literals")
        tree = tree.func
    attrs: List[str] = []
    while isinstance(tree, ast.Attribute):
        attrs.append(tree.attr)
        tree = tree.value
    if not isinstance(tree, ast.Name):
        raise ValueError(f"{expr!r} is not an attribute name or a factory call")
    attrs.append(tree.id)
    return AppSpec(module, tuple(reversed(attrs)), is_call, args, kwargs)


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, SyntaxError) and exc.filename:
        text = f"SyntaxError: {exc.msg} ({exc.filename}, line {exc.lineno})"
    else:
        where = maybe_app_frame(exc)
        if where:
            text += f" (at {where})"
    return " ".join(text.split())


_NOT_APP_CODE = tuple(os.path.normcase(os.path.abspath(p)) + os.sep for p in {
    os.path.dirname(__file__),                       # Rocket itself
    os.path.dirname(os.__file__),                    # the standard library
    *(p for p in sys.path if p.endswith(("site-packages", "dist-packages"))),
})


def maybe_app_frame(exc: BaseException) -> Optional[str]:
    """``file:line: source`` of the innermost frame of the application's own code in
    ``exc``'s traceback (not Rocket's, the standard library's or an installed package's),
    or of the innermost real frame when no frame is the app's; None without a traceback."""
    frames = [(f.f_code.co_filename, lineno)
              for f, lineno in traceback.walk_tb(exc.__traceback__)
              if not f.f_code.co_filename.startswith("<")]
    if not frames:
        return None
    own = [frame for frame in frames
           if not os.path.normcase(os.path.abspath(frame[0])).startswith(_NOT_APP_CODE)]
    filename, lineno = (own or frames)[-1]
    shown = os.path.relpath(filename) if not os.path.relpath(filename).startswith("..") \
        else filename
    source = linecache.getline(filename, lineno).strip()
    return f"{shown}:{lineno}" + (f": {source}" if source else "")


def _spec_hint(module: str, expr: str) -> str:
    """The corrected spec for a file name or path given as ``MODULE`` (``good.py:app``,
    ``app/main.py:app``), as a sentence to append; empty when ``module`` looks right."""
    path = module.replace("\\", "/")
    if not path.endswith(".py"):
        return ""
    dotted = path[:-3].strip("./").replace("/", ".")
    return f"; MODULE is a module name, not a file: did you mean '{dotted}:{expr}'?"


def import_module(name: str, hint: str = "") -> ModuleType:
    """Import ``name``; a missing module and an error inside it raise distinct AppImportErrors
    (``hint`` is appended to the first)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing == name or name.startswith(missing + "."):
            raise AppImportError(f"cannot import module {name!r}: no module named {missing!r} "
                                 f"(searched from {os.getcwd()}){hint}") from None
        raise AppImportError(f"error while importing module {name!r}: {_describe(exc)}") from exc
    except Exception as exc:
        raise AppImportError(f"error while importing module {name!r}: {_describe(exc)}") from exc


def load_app(spec: str, add_cwd: bool = True) -> Callable[..., Any]:
    """Import and return the WSGI callable ``spec`` names, as the ``rocket`` command does.

    ``add_cwd`` puts the current directory first on ``sys.path`` (as gunicorn and uvicorn do:
    an installed console script does not have it there).
    """
    try:
        parsed = parse_spec(spec)
    except ValueError as exc:
        raise AppImportError(str(exc)) from None
    if add_cwd and os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    obj: Any = import_module(parsed.module, _spec_hint(parsed.module, spec.partition(":")[2]))
    where = parsed.module
    for attr in parsed.attrs:
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            owner = f"module {where!r}" if where == parsed.module else repr(where)
            raise AppImportError(f"{owner} has no attribute {attr!r}") from None
        where = f"{where}:{attr}" if where == parsed.module else f"{where}.{attr}"
    if parsed.is_call:
        if not callable(obj):
            raise AppImportError(f"factory {where!r} is not callable "
                                 f"(it is {type(obj).__name__})")
        try:
            obj = obj(*parsed.args, **parsed.kwargs)
        except Exception as exc:
            raise AppImportError(f"factory {spec.strip()!r} raised {_describe(exc)}") from exc
        where = spec.strip()
    if not callable(obj):
        raise AppImportError(f"{where!r} is not callable (it is {type(obj).__name__}); "
                             "expected a WSGI application")
    return obj  # type: ignore[no-any-return]
