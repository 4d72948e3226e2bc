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
from typing import List, Optional, Sequence

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
    """``rocket ARGS`` with stdout/stderr collected by reader threads; always ``stop()`` it."""

    def __init__(self, args: Sequence[str], cwd: str, env: Optional[dict] = None,
                 use_module: bool = False, program: Optional[Sequence[str]] = None) -> None:
        # ``program`` replaces the rocket command, e.g. [sys.executable, "-c", SCRIPT]
        program = list(program) if program is not None else command(use_module)
        self.proc = subprocess.Popen(program + list(args), cwd=cwd,
                                     env=env if env is not None else clean_env(),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out: List[str] = []
        self.err: List[str] = []
        self._changed = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(s, into), daemon=True)
                         for s, into in ((self.proc.stdout, self.out),
                                         (self.proc.stderr, self.err))]
        for t in self._readers:
            t.start()

    def _read(self, stream, into: List[str]) -> None:
        for line in stream:
            with self._changed:
                into.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, pattern: re.Pattern[str] | str, stream: str = "err",
                 timeout: float = 10.0) -> re.Match[str]:
        """The first match of ``pattern`` in a line of ``stream``; AssertionError on timeout."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        lines = self.err if stream == "err" else self.out
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in lines:
                    match = regex.search(line)
                    if match:
                        return match
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None
                                      and not any(t.is_alive() for t in self._readers)):
                    raise AssertionError(f"{regex.pattern!r} not seen; stderr: {''.join(self.err)}")
                self._changed.wait(min(remaining, 0.2))

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

    @property
    def stderr(self) -> str:
        """Everything written to stderr so far."""
        return "".join(self.err)


def run_rocket(args: Sequence[str], cwd: str, env: Optional[dict] = None,
               timeout: float = 15.0) -> subprocess.CompletedProcess:
    """Run ``rocket ARGS`` to completion (for commands expected to exit by themselves)."""
    return subprocess.run(command() + list(args), cwd=cwd, env=env if env is not None
                          else clean_env(), capture_output=True, text=True, timeout=timeout)


def error_lines(stderr: str) -> List[str]:
    """The stderr lines that are not log records (``[time] LEVEL name: ...``)."""
    return [line for line in stderr.splitlines() if not line.startswith("[")]
