"""``rocket --reload``: serve from a child process and restart it when a source file changes.

How it works: the parent never imports the application. It runs the same command line plus
``--no-reload`` in a child (forked where possible, see :class:`Supervisor`), then watches
``*.py`` files (and the config file) under the current directory and the application's
top-level package. On a change it first compiles the changed Python files: a syntax error is
logged and the running child is left alone, so a half-saved file never takes the server
down; otherwise the child is stopped (SIGTERM, then SIGKILL after a grace period) and
started again. A child that dies on its own (an import error, say) has printed its own error
line and is started again at the next change. Watching uses ``watchfiles`` when it is
installed, else a stat poll.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set

from rocket.config.sources import Resolved
from rocket.process.supervision import exit_process

log = logging.getLogger("Rocket.Reload")

Main = Callable[[Sequence[str]], int]
"""The command line's entry point, ``rocket.cli.main.main``: handed in, so this module never
imports the one that imports it."""

POLL_INTERVAL_S = 0.3
"""Stat-poll period: a change is seen within about this long; a scan of a project costs
milliseconds, so a third of a second keeps reloads prompt without a busy loop."""

STOP_GRACE_S = 5.0
"""How long a child gets to stop after SIGTERM before it is killed."""

SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "dist-packages",
                       "build", "dist"})
"""Directories never scanned (besides hidden ones such as .git and .venv)."""


def watch_roots(app_spec: Optional[str], cwd: str) -> List[str]:
    """Directories to watch: the current one and the one holding the app's top-level package."""
    roots = [os.path.abspath(cwd)]
    if app_spec:
        top = app_spec.partition(":")[0].split(".")[0]
        saved = list(sys.path)
        sys.path.insert(0, cwd)
        try:
            spec = importlib.util.find_spec(top)  # a top-level name: nothing is executed
        except (ImportError, ValueError):
            spec = None
        finally:
            sys.path[:] = saved
        origin = getattr(spec, "origin", None)
        if origin and os.path.isfile(origin):
            folder = os.path.dirname(os.path.abspath(origin))
            if spec is not None and spec.submodule_search_locations:
                folder = os.path.dirname(folder)  # a package: watch its parent folder
            if not any(folder == r or folder.startswith(r + os.sep) for r in roots):
                roots.append(folder)
    return roots


def scan(roots: Iterable[str], extra_files: Iterable[str] = ()) -> Dict[str, float]:
    """``{path: mtime}`` of every ``*.py`` file under ``roots`` plus ``extra_files``."""
    found: Dict[str, float] = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS]
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    try:
                        found[path] = os.stat(path).st_mtime
                    except OSError:
                        pass
    for path in extra_files:
        try:
            found[path] = os.stat(path).st_mtime
        except OSError:
            pass
    return found


def changed_paths(before: Dict[str, float], after: Dict[str, float]) -> Set[str]:
    """Files added, removed or modified between two scans."""
    return {p for p in set(before) | set(after) if before.get(p) != after.get(p)}


def maybe_syntax_error(paths: Iterable[str]) -> Optional[str]:
    """One line describing the first syntax error among the ``.py`` files, or None."""
    for path in sorted(paths):
        if not path.endswith(".py") or not os.path.isfile(path):
            continue
        try:
            with open(path, "rb") as f:
                compile(f.read(), path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            return f"{path}, line {exc.lineno}: {exc.msg}"
        except (OSError, ValueError):
            continue
    return None


class PollWatcher:
    """Yields sets of changed paths by polling ``scan`` every ``interval_s``."""

    def __init__(self, roots: Sequence[str], extra_files: Sequence[str],
                 stop: threading.Event, interval_s: float = POLL_INTERVAL_S) -> None:
        self.roots, self.extra_files = list(roots), list(extra_files)
        self.stop, self.interval_s = stop, interval_s

        self._before = scan(self.roots, self.extra_files)  # now: changes from here on count

    def __iter__(self) -> Any:
        before = self._before
        while not self.stop.wait(self.interval_s):
            after = scan(self.roots, self.extra_files)
            changed = changed_paths(before, after)
            before = after
            if changed:
                yield changed


def make_watcher(roots: Sequence[str], extra_files: Sequence[str],
                 stop: threading.Event) -> Iterable[Set[str]]:
    """``watchfiles.watch`` (only Python and config files) when installed, else PollWatcher."""
    try:
        import watchfiles  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return PollWatcher(roots, extra_files, stop)
    wanted = {os.path.abspath(p) for p in extra_files}

    def relevant(change: Any, path: str) -> bool:
        return path.endswith(".py") or os.path.abspath(path) in wanted

    paths = list(roots) + [os.path.dirname(os.path.abspath(p)) for p in extra_files]
    return ({path for _, path in batch}
            for batch in watchfiles.watch(*paths, watch_filter=relevant, stop_event=stop,
                                          debounce=200, step=50))


class Supervisor:
    """Runs the serving child and replaces it on demand.

    Where ``os.fork`` exists the child is forked from this process (which has imported Rocket
    but never the app) and runs ``main(argv + ['--no-reload'])``: a restart then
    costs no interpreter start-up, which keeps reloads quick on a busy machine. Elsewhere the
    child is ``python -m rocket ARGV --no-reload``.
    """

    def __init__(self, argv: Sequence[str], main: Main, use_fork: Optional[bool] = None) -> None:
        self.argv = [*argv, "--no-reload"]
        self.main = main
        self.use_fork = hasattr(os, "fork") if use_fork is None else use_fork
        self.pid: Optional[int] = None
        self.child: Optional[subprocess.Popen] = None  # type: ignore[type-arg]

    def start(self) -> None:
        """Start a child (any previous one must be stopped)."""
        if not self.use_fork:
            self.child = subprocess.Popen([sys.executable, "-m", "rocket", *self.argv])
            return
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which never returns here
            _child_main(self.main, self.argv)
        self.pid = pid

    def stop(self) -> None:
        """SIGTERM the child and wait; SIGKILL after STOP_GRACE_S."""
        child, self.child = self.child, None
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        pid, self.pid = self.pid, None
        if pid is not None:
            _stop_pid(pid)

    def wait(self, timeout: float) -> Optional[int]:
        """The child's exit code once it exits within ``timeout`` seconds (reaped), else None."""
        if self.child is not None:
            try:
                return self.child.wait(timeout)
            except subprocess.TimeoutExpired:
                return None
        deadline = time.monotonic() + timeout
        while self.pid is not None:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.pid = None
                return os.waitstatus_to_exitcode(status) if hasattr(
                    os, "waitstatus_to_exitcode") else status >> 8
            if time.monotonic() > deadline:
                return None
            time.sleep(0.01)
        return None

    def restart(self) -> None:
        """Stop the running child, start a new one."""
        self.stop()
        self.start()


def _stop_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + STOP_GRACE_S
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return
        time.sleep(0.01)


def _child_main(main: Main, argv: Sequence[str]) -> None:  # pragma: no cover - forked child
    code = 1
    try:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)  # the server installs its own handlers
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - the last word of the process
        import traceback

        traceback.print_exc()
    finally:
        exit_process(code)


def run_reloader(argv: Sequence[str], resolved: Resolved, main: Main,
                 config_file: Optional[str] = None) -> int:
    """Serve ``argv`` in a child running ``main`` and restart it on source changes (and on
    changes of ``config_file``) until SIGTERM or Ctrl-C."""
    from rocket.cli.logsetup import LOG_FORMAT

    if not logging.getLogger().handlers and not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    stop = threading.Event()
    extra = [config_file] if config_file else []
    roots = watch_roots(resolved.values.get("app"), os.getcwd())
    supervisor = Supervisor(argv, main)
    if supervisor.use_fork:
        from rocket.workers import get_worker_class

        get_worker_class("wsgi")  # imported once here, so each forked child starts warm

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    log.info("reloading on changes under %s", ", ".join(roots))
    watcher = make_watcher(roots, extra, stop)  # before the child starts: no change is missed
    supervisor.start()
    try:
        for changed in watcher:
            problem = maybe_syntax_error(changed)
            if problem is not None:
                log.error("not reloading: syntax error in %s; waiting for the next change",
                          problem)
                continue
            log.info("reloading: %s changed", ", ".join(sorted(changed)[:3]))
            supervisor.restart()
    finally:
        supervisor.stop()
        for signum, handler in old.items():
            signal.signal(signum, handler)
    return 0
