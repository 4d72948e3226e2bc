"""rocket.appimport: MODULE:APP and factory calls, with a distinct message per failure."""

from __future__ import annotations

import itertools
import os
import re
import sys
import textwrap

import pytest

from rocket.appimport import AppImportError, load_app, parse_spec

_counter = itertools.count()


def where(name: str) -> str:
    """How the error message names the file of module ``name``."""
    path = sys.modules[name].__file__ if name in sys.modules else None
    if path is None:
        path = next(os.path.join(p, f"{name}.py") for p in sys.path
                    if os.path.exists(os.path.join(p, f"{name}.py")))
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


@pytest.fixture
def module(tmp_path, monkeypatch):
    """``module(source) -> name``: a fresh importable module holding ``source``."""
    monkeypatch.syspath_prepend(str(tmp_path))
    names = []

    def make(source: str) -> str:
        name = f"rocket_cli_app_{next(_counter)}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        names.append(name)
        return name

    yield make
    for name in names:
        sys.modules.pop(name, None)


APP = """
def app(environ, start_response):
    start_response("200 OK", [])
    return [b"ok"]

class holder:
    inner = staticmethod(app)

not_callable = "text"

def create_app(greeting="hi", *, debug=False):
    app.greeting = (greeting, debug)
    return app

def broken_factory():
    raise RuntimeError("database is down")

def returns_none():
    return None
"""


def test_parse_spec_forms():
    assert parse_spec("pkg.mod:app") == ("pkg.mod", ("app",), False, (), {})
    assert parse_spec("m:a.b") == ("m", ("a", "b"), False, (), {})
    assert parse_spec("m:make('x', debug=True)") == ("m", ("make",), True, ("x",), {"debug": True})
    for bad in ("m", ":app", "m:", "m:1+2", "m:f(x)", "m:f(**k)", "m-x:app", "m:a[0]"):
        with pytest.raises(ValueError):
            parse_spec(bad)


def test_attribute_nested_attribute_and_factory(module):
    name = module(APP)
    app = load_app(f"{name}:app")
    assert app.__name__ == "app"
    assert load_app(f"{name}:holder.inner") is app
    assert load_app(f"{name}:create_app('hello', debug=True)") is app
    assert app.greeting == ("hello", True)


def test_module_not_found(module):
    with pytest.raises(AppImportError, match=r"^cannot import module 'no_such_mod_xyz': "
                                             r"no module named 'no_such_mod_xyz' \(searched from "):
        load_app("no_such_mod_xyz:app")
    with pytest.raises(AppImportError, match=r"^cannot import module 'no_such_pkg_q.sub': "
                                             r"no module named 'no_such_pkg_q'"):
        load_app("no_such_pkg_q.sub:app")


def test_error_inside_the_module_is_not_module_not_found(module):
    name = module("import no_such_dependency_xyz\n")
    with pytest.raises(AppImportError) as err:
        load_app(f"{name}:app")
    assert str(err.value) == (f"error while importing module {name!r}: ModuleNotFoundError: "
                              "No module named 'no_such_dependency_xyz' "
                              f"(at {where(name)}:1: import no_such_dependency_xyz)")
    name = module("x = 1 / 0\n")
    with pytest.raises(AppImportError) as err:
        load_app(f"{name}:app")
    assert str(err.value) == (f"error while importing module {name!r}: "
                              f"ZeroDivisionError: division by zero (at {where(name)}:1: x = 1 / 0)")
    name = module("def f(:\n")
    with pytest.raises(SyntaxError) as wording:  # CPython and PyPy word this one differently
        compile("def f(:\n", "app.py", "exec")
    with pytest.raises(AppImportError, match=r"^error while importing module .*: SyntaxError: "
                                             rf"{re.escape(wording.value.msg)} \(.*\.py, line 1\)$"):
        load_app(f"{name}:app")


def test_the_innermost_frame_of_the_apps_own_code_is_named(module):
    helper = module("""
        import json

        def load(path):
            return json.loads(open(path).read())
        """)
    name = module(f"""
        from {helper} import load

        settings = load("no-such-settings.json")
        """)
    with pytest.raises(AppImportError) as err:
        load_app(f"{name}:app")
    assert str(err.value).startswith(f"error while importing module {name!r}: "
                                     "FileNotFoundError: [Errno 2] No such file or directory")
    # the helper's line, not importlib's, nor the module's own call
    assert str(err.value).endswith(f"(at {where(helper)}:5: "
                                   "return json.loads(open(path).read()))")
    name = module(APP)
    with pytest.raises(AppImportError) as err:
        load_app(f"{name}:broken_factory()")
    assert f"(at {where(name)}:" in str(err.value)
    assert "raise RuntimeError" in str(err.value)


def test_a_file_name_for_module_gets_the_module_name_suggested(module):
    module(APP)
    with pytest.raises(AppImportError, match=r"did you mean 'good:app'\?$"):
        load_app("good.py:app")
    with pytest.raises(AppImportError, match=r"did you mean 'project.wsgi:application'\?$"):
        load_app("./project/wsgi.py:application")
    with pytest.raises(AppImportError) as err:
        load_app("no_such_mod_xyz:app")
    assert "did you mean" not in str(err.value)


def test_attribute_missing(module):
    name = module(APP)
    with pytest.raises(AppImportError) as err:
        load_app(f"{name}:application")
    assert str(err.value) == f"module {name!r} has no attribute 'application'"
    with pytest.raises(AppImportError) as err:
        load_app(f"{name}:holder.missing")
    assert str(err.value) == f"'{name}:holder' has no attribute 'missing'"


def test_not_callable(module):
    name = module(APP)
    with pytest.raises(AppImportError) as err:
        load_app(f"{name}:not_callable")
    assert str(err.value) == (f"'{name}:not_callable' is not callable (it is str); "
                              "expected a WSGI application")
    with pytest.raises(AppImportError) as err:
        load_app(f"{name}:not_callable()")
    assert str(err.value) == f"factory '{name}:not_callable' is not callable (it is str)"
    with pytest.raises(AppImportError) as err:
        load_app(f"{name}:returns_none()")
    assert str(err.value) == (f"'{name}:returns_none()' is not callable (it is NoneType); "
                              "expected a WSGI application")


def test_factory_raising(module):
    name = module(APP)
    with pytest.raises(AppImportError) as err:
        load_app(f"{name}:broken_factory()")
    assert str(err.value).startswith(f"factory '{name}:broken_factory()' raised "
                                     "RuntimeError: database is down (at ")
    assert isinstance(err.value.__cause__, RuntimeError)
    with pytest.raises(AppImportError, match=r"raised TypeError: "):
        load_app(f"{name}:create_app(1, 2, 3)")


def test_malformed_spec_is_an_import_error():
    with pytest.raises(AppImportError, match=r"^'nocolon' is not MODULE:APP$"):
        load_app("nocolon")
