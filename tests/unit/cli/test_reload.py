"""rocket.cli.reload: what is watched, change detection, the syntax gate and the poll watcher."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from rocket.cli.reload import (
    PollWatcher,
    changed_paths,
    maybe_syntax_error,
    scan,
    watch_roots,
)


def touch(path, text="x = 1\n", bump=0.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if bump:
        stamp = time.time() + bump
        os.utime(path, (stamp, stamp))


def test_scan_finds_python_files_and_skips_hidden_and_cache_dirs(tmp_path):
    touch(tmp_path / "app.py")
    touch(tmp_path / "pkg" / "mod.py")
    touch(tmp_path / "notes.txt")
    touch(tmp_path / ".venv" / "lib.py")
    touch(tmp_path / "pkg" / "__pycache__" / "mod.py")
    touch(tmp_path / "site-packages" / "dep.py")
    extra = tmp_path / "rocket.toml"
    touch(extra, "a = 1\n")
    found = scan([str(tmp_path)], [str(extra), str(tmp_path / "missing.toml")])
    assert sorted(os.path.relpath(p, tmp_path) for p in found) == [
        "app.py", os.path.join("pkg", "mod.py"), "rocket.toml"]


def test_changed_paths_sees_added_removed_and_modified():
    before = {"a": 1.0, "b": 1.0, "c": 1.0}
    after = {"a": 1.0, "b": 2.0, "d": 1.0}
    assert changed_paths(before, after) == {"b", "c", "d"}
    assert changed_paths(after, dict(after)) == set()


def test_syntax_gate_reports_the_first_broken_file(tmp_path):
    good, bad = tmp_path / "good.py", tmp_path / "bad.py"
    touch(good)
    touch(bad, "def f(:\n    pass\n")
    assert maybe_syntax_error([str(good), str(tmp_path / "gone.py"), str(tmp_path / "x.toml")]) is None
    assert maybe_syntax_error([str(good), str(bad)]) == f"{bad}, line 1: {syntax_message(bad)}"


def syntax_message(path):
    """This interpreter's wording ("invalid syntax" on CPython, "parenthesis is never closed"
    on PyPy 3.9) of the SyntaxError in ``path``."""
    with pytest.raises(SyntaxError) as err:
        compile(path.read_text(), str(path), "exec")
    return err.value.msg


def test_watch_roots_adds_the_app_package_folder_outside_cwd(tmp_path, monkeypatch):
    outside = tmp_path / "lib"
    touch(outside / "reload_root_pkg" / "__init__.py")
    touch(outside / "reload_root_mod.py")
    cwd = tmp_path / "work"
    cwd.mkdir()
    monkeypatch.syspath_prepend(str(outside))
    assert watch_roots("reload_root_pkg.sub:app", str(cwd)) == [str(cwd), str(outside)]
    assert watch_roots("reload_root_mod:app", str(cwd)) == [str(cwd), str(outside)]
    assert watch_roots("no_such_reload_mod:app", str(cwd)) == [str(cwd)]
    assert watch_roots(None, str(cwd)) == [str(cwd)]
    assert "reload_root_pkg" not in sys.modules  # finding the package did not import it


def test_poll_watcher_yields_changes_until_stopped(tmp_path):
    source = tmp_path / "app.py"
    touch(source)
    stop = threading.Event()
    seen = []

    def consume():
        for changed in PollWatcher([str(tmp_path)], [], stop, interval_s=0.02):
            seen.append(changed)
            stop.set()

    thread = threading.Thread(target=consume)
    thread.start()
    try:
        time.sleep(0.1)
        touch(source, "x = 2\n", bump=5)
        thread.join(5)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert seen == [{str(source)}]


def test_watchfiles_watcher_reports_python_and_config_files_only(tmp_path):
    pytest.importorskip("watchfiles")
    from rocket.cli.reload import make_watcher

    source, config, other = tmp_path / "app.py", tmp_path / "rocket.toml", tmp_path / "x.txt"
    touch(source)
    touch(config, "a = 1\n")
    stop = threading.Event()
    watcher = make_watcher([str(tmp_path)], [str(config)], stop)
    assert not isinstance(watcher, PollWatcher)
    seen = []

    def consume():
        for changed in watcher:
            seen.append(changed)
            if len(seen) == 2:
                stop.set()

    thread = threading.Thread(target=consume)
    thread.start()
    try:
        time.sleep(0.3)
        touch(other, "ignored\n")
        touch(source, "x = 2\n")
        time.sleep(0.5)
        touch(config, "a = 2\n")
        thread.join(5)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert seen == [{str(source)}, {str(config)}]


@pytest.mark.parametrize("use_fork", [True, False], ids=["fork", "subprocess"])
def test_supervisor_runs_the_command_line_in_a_child(capfd, use_fork, tmp_path, monkeypatch):
    if use_fork and not hasattr(os, "fork"):
        pytest.skip("no os.fork here")
    import rocket
    from rocket.cli.main import main
    from rocket.cli.reload import Supervisor

    monkeypatch.chdir(tmp_path)
    supervisor = Supervisor(["--version"], main, use_fork=use_fork)
    supervisor.start()
    try:
        assert supervisor.wait(20) == 0
    finally:
        supervisor.stop()
    assert capfd.readouterr().out == f"rocket {rocket.__version__}\n"
    supervisor = Supervisor(["--max-threads", "x", "m:app"], main, use_fork=use_fork)
    supervisor.start()
    try:
        assert supervisor.wait(20) == 2
    finally:
        supervisor.stop()
    assert capfd.readouterr().err == ("rocket: error: --max-threads: invalid value 'x' "
                                      "(expected an integer >= 0)\n")


def test_reload_watches_the_config_file_the_command_line_read(tmp_path, monkeypatch):
    from rocket.cli import main as cli
    from rocket.cli import reload

    config = tmp_path / "rocket.toml"
    config.write_text("max_threads = 40\n")
    watched = []

    class NoChild:
        use_fork = False

        def __init__(self, argv, main) -> None:
            assert main is cli.main

        def start(self) -> None:
            pass

        def stop(self) -> None:
            pass

    def watcher(roots, extra_files, stop):
        watched.append(list(extra_files))
        return iter(())                               # no change: the reloader returns

    monkeypatch.setattr(reload, "Supervisor", NoChild)
    monkeypatch.setattr(reload, "make_watcher", watcher)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROCKET_CONFIG", str(tmp_path / "unused.toml"))  # -c wins, as it does
    assert cli.main(["--reload", "-c", str(config), "m:app"]) == 0
    monkeypatch.delenv("ROCKET_CONFIG")
    assert cli.main(["--reload", f"--config={config}", "m:app"]) == 0
    assert watched == [[str(config)], [str(config)]]
