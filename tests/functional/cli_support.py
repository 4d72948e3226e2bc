"""Run the ``rocket`` command in a subprocess and read its output while it serves."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Sequence, Tuple

ROCKET_SCRIPT = os.path.join(os.path.dirname(sys.executable), "rocket")

LISTENING = re.compile(r"Listening on sockets: (\S+?):(\d+)")

HELLO_APP = '''
def app(environ, start_response):
    body = ("%s %s %s" % (MESSAGE, environ["REQUEST_METHOD"], environ["PATH_INFO"])).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]

def create_app(message):
    global MESSAGE
    MESSAGE = message
    return app

MESSAGE = "hello"
'''


def command(use_module: bool = False) -> List[str]:
    """The installed ``rocket`` script, or ``python -m rocket``."""
    if use_module or not os.path.exists(ROCKET_SCRIPT):
        return [sys.executable, "-m", "rocket"]
    return [ROCKET_SCRIPT]


def clean_env(**extra: str) -> dict:
    """This environment without ROCKET_* variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROCKET_")}
    env.update(extra)
    return env


def free_port() -> int:
    """A TCP port that was free a moment ago (for tests that restart on the same port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen, signum: int, timeout: float) -> None:
    """Send ``signum`` to a running ``proc``, SIGKILL it after ``timeout`` s; it is reaped."""
    if proc.poll() is None:
        proc.send_signal(signum)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class RocketProcess:
    """``rocket ARGS`` (or any ``program``) with its output collected live by reader threads;
    always ``stop()`` it. ``merge_output`` sends stderr into stdout (one log, in order); the
    stream that holds the log is ``log_stream``. ``popen`` goes to ``subprocess.Popen``
    (``pass_fds``, ``stdin``)."""

    def __init__(self, args: Sequence[str], cwd: str, env: Optional[dict] = None,
                 use_module: bool = False, program: Optional[Sequence[str]] = None,
                 merge_output: bool = False, **popen) -> None:
        # ``program`` replaces the rocket command, e.g. [sys.executable, "-c", SCRIPT]
        program = list(program) if program is not None else command(use_module)
        self.proc = subprocess.Popen(program + list(args), cwd=cwd,
                                     env=env if env is not None else clean_env(),
                                     stdout=subprocess.PIPE, text=True,
                                     stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
                                     **popen)
        self.log_stream = "out" if merge_output else "err"
        self._lines: Dict[str, List[Tuple[float, str]]] = {"out": [], "err": []}
        self._changed = threading.Condition()
        streams = [(self.proc.stdout, "out")] + ([] if merge_output
                                                 else [(self.proc.stderr, "err")])
        self._readers = [threading.Thread(target=self._read, args=pair, daemon=True)
                         for pair in streams]
        for t in self._readers:
            t.start()

    def _read(self, stream, name: str) -> None:
        for line in stream:
            with self._changed:
                self._lines[name].append((time.monotonic(), line))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def out(self) -> List[str]:
        """The stdout lines so far."""
        with self._changed:
            return [line for _, line in self._lines["out"]]

    @property
    def err(self) -> List[str]:
        """The stderr lines so far."""
        with self._changed:
            return [line for _, line in self._lines["err"]]

    def wait_for_all(self, pattern: re.Pattern[str] | str, count: int,
                     stream: Optional[str] = None, timeout: float = 10.0,
                     since: float = 0.0) -> List[re.Match[str]]:
        """The first ``count`` matches of ``pattern`` in lines of ``stream`` (the log by
        default) read at or after monotonic time ``since``; AssertionError on timeout."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        lines = self._lines[stream or self.log_stream]
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [m for t, line in lines if t >= since for m in [regex.search(line)] if m]
                if len(found) >= count:
                    return found[:count]
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None
                                      and not any(t.is_alive() for t in self._readers)):
                    raise AssertionError(f"{regex.pattern!r} x{count} not seen in {timeout}s; "
                                         f"log:\n{self.log()}")
                self._changed.wait(min(remaining, 0.1))

    def wait_for(self, pattern: re.Pattern[str] | str, stream: Optional[str] = None,
                 timeout: float = 10.0, since: float = 0.0) -> re.Match[str]:
        """The first match of ``pattern`` (see :meth:`wait_for_all`)."""
        return self.wait_for_all(pattern, 1, stream, timeout, since)[0]

    def port(self, timeout: float = 10.0) -> int:
        """The TCP port from the 'Listening on sockets' log line."""
        return int(self.wait_for(LISTENING, timeout=timeout).group(2))

    def wait(self, timeout: float = 15.0) -> int:
        """Wait for exit (readers drained); returns the exit code."""
        code = self.proc.wait(timeout)
        for t in self._readers:
            t.join(5)
        return code

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Send ``signum`` (SIGKILL after ``timeout``) and return the exit code."""
        stop_process(self.proc, signum, timeout)
        return self.wait()

    def timed_lines(self, stream: Optional[str] = None) -> List[Tuple[float, str]]:
        """(monotonic time read, line) of every line of ``stream`` (the log by default)."""
        with self._changed:
            return list(self._lines[stream or self.log_stream])

    def log(self) -> str:
        """Everything in the log stream so far."""
        with self._changed:
            return "".join(line for _, line in self._lines[self.log_stream])

    @property
    def stderr(self) -> str:
        """Everything written to stderr so far."""
        return "".join(self.err)


class Processes:
    """The ``rocket_process`` fixture: ``rocket_process(args, cwd, **kwargs)`` starts a
    :class:`RocketProcess`, ``rocket_process(process)`` adopts one built by the test; every
    one is stopped by :meth:`stop_all`."""

    def __init__(self) -> None:
        self.started: List[RocketProcess] = []

    def __call__(self, args: Sequence[str] | RocketProcess, cwd: Optional[str] = None,
                 **kwargs) -> RocketProcess:
        if isinstance(args, RocketProcess):
            process = args
        else:
            if cwd is None:
                raise TypeError("rocket_process(args, cwd): cwd is required")
            process = RocketProcess(args, str(cwd), **kwargs)
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        """Stop every process, the last one first."""
        while self.started:
            self.started.pop().stop()


def run_rocket(args: Sequence[str], cwd: str, env: Optional[dict] = None,
               timeout: float = 15.0) -> subprocess.CompletedProcess:
    """Run ``rocket ARGS`` to completion (for commands expected to exit by themselves)."""
    return subprocess.run(command() + list(args), cwd=cwd, env=env if env is not None
                          else clean_env(), capture_output=True, text=True, timeout=timeout)


def error_lines(stderr: str) -> List[str]:
    """The stderr lines that are neither log records (``[time] LEVEL name: ...``) nor the
    ``Serving on URL`` lines printed once listening."""
    return [line for line in stderr.splitlines()
            if not line.startswith(("[", "Serving on "))]
