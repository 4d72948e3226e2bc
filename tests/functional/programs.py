"""Real programs in front of Rocket (nginx, haproxy, Prometheus, systemd-socket-activate).

- :func:`need` finds a program: missing, the test skips with the reason locally, and FAILS
  when ``CI=true`` (``.ci/run`` installs them: a test of a real program never skips in CI);
- :func:`doc_block` reads a configuration from docs/deploy.md (the block after
  ``<!-- test: NAME -->``), so the documented configuration is the tested one;
- :func:`replace` changes one documented value, failing loudly when the docs no longer hold it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from tests.functional.cli_support import free_port

__all__ = ["need", "needs", "doc_block", "replace", "free_port", "wait_until", "start", "stop"]

DEPLOY_MD = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
APT_PACKAGES = {"nginx": "nginx-light", "haproxy": "haproxy", "prometheus": "prometheus",
                "systemd-socket-activate": "systemd"}


def needs(found: Optional[str], program: str, package: str) -> Any:
    """A ``skipif`` mark for tests of the real ``program`` (``found``: its path or None); in
    CI (``CI=true``) a missing program fails the collection instead of skipping."""
    reason = f"{program} is not installed (apt-get install {package}; .ci/run does)"
    if found is None and os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the tests of {program}: {reason}", pytrace=False)
    return pytest.mark.skipif(found is None, reason=reason)


def need(program: str) -> str:
    """The path of ``program``; skip (fail in CI) when it is not installed."""
    found = shutil.which(program) or next(
        (p for p in (f"/usr/sbin/{program}", f"/usr/bin/{program}") if os.access(p, os.X_OK)),
        None)
    if found:
        return found
    reason = (f"{program} is not installed (apt-get install {APT_PACKAGES.get(program, program)};"
              " .ci/run does)")
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)
    raise AssertionError("unreachable")


def doc_block(name: str) -> str:
    """The fenced code block after ``<!-- test: NAME -->`` in docs/deploy.md."""
    text = DEPLOY_MD.read_text(encoding="utf-8")
    match = re.search(r"<!-- test: " + re.escape(name) + r" -->\n```[a-z]*\n(.*?)```", text,
                      re.S)
    assert match, f"docs/deploy.md has no block marked <!-- test: {name} -->"
    return match.group(1)


def replace(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced; the documented configuration must still contain it."""
    assert old in text, f"docs/deploy.md changed: {old!r} is no longer in the tested block"
    return text.replace(old, new)


def wait_until(check: Callable[[], object], timeout: float, what: str,
               proc: Optional[subprocess.Popen] = None) -> object:
    """Poll ``check()`` until it returns something true; AssertionError after ``timeout`` s
    (or as soon as ``proc`` exited)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except OSError as exc:
            last = exc
        else:
            if last:
                return last
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.05)
    output = ""
    if proc is not None and proc.poll() is not None and proc.stdout is not None:
        output = proc.stdout.read()
    raise AssertionError(f"{what} not seen within {timeout}s (last: {last!r}) {output}")


def start(args: list, **kwargs) -> subprocess.Popen:
    """A program with stdout and stderr in one pipe (read when it fails)."""
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **kwargs)


def stop(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """Terminate ``proc`` (SIGKILL after ``timeout``) and reap it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    if proc.stdout is not None:
        proc.stdout.close()
