"""The CLI's buffered access-log writer: batches, bounds, terminals, fork."""

from __future__ import annotations

import io
import os
import time

import pytest

from rocket import accesslog
from rocket.accesslog import AccessLogWriter


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_lines_are_written_in_batches_by_the_background_thread():
    out = io.StringIO()
    writer = AccessLogWriter(out, interval_s=0.05)
    try:
        writer.write("a")
        writer.write("b")
        deadline = time.monotonic() + 5
        while out.getvalue() != "a\nb\n" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert out.getvalue() == "a\nb\n"
    finally:
        writer.close()


def test_nothing_is_written_before_the_interval_and_all_on_close():
    out = io.StringIO()
    writer = AccessLogWriter(out, interval_s=60)
    writer.write("one")
    assert out.getvalue() == ""
    writer.close()
    assert out.getvalue() == "one\n"


def test_pending_lines_are_bounded():
    out = io.StringIO()
    writer = AccessLogWriter(out, interval_s=60, max_pending=3)
    try:
        for i in range(4):
            writer.write(str(i))
        assert out.getvalue() == "0\n1\n2\n3\n"  # the writing thread flushed itself
    finally:
        writer.close()


def test_a_terminal_sees_each_line_at_once():
    out = Tty()
    writer = AccessLogWriter(out, interval_s=60)
    writer.write("now")
    assert out.getvalue() == "now\n"
    writer.close()


def test_a_failing_stream_never_raises_into_the_request():
    out = io.StringIO()
    writer = AccessLogWriter(out, interval_s=60)
    out.close()
    writer.write("lost")
    writer.flush()  # ValueError from the closed stream is swallowed
    writer.close()


def test_install_routes_and_uninstall_closes():
    out = io.StringIO()
    accesslog.install(AccessLogWriter(out, interval_s=60))
    try:
        assert accesslog.active is not None
        accesslog.active.write("x")
        accesslog.flush()
        assert out.getvalue() == "x\n"
    finally:
        accesslog.uninstall()
    assert accesslog.active is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_writes_its_own_lines_only(tmp_path):
    path = tmp_path / "access.log"
    stream = open(path, "a", encoding="utf-8")  # noqa: SIM115
    writer = AccessLogWriter(stream, interval_s=0.05, close_stream=True)
    writer.write("parent-before-fork")
    pid = os.fork()
    if pid == 0:  # child: the parent's queued line is not written twice
        try:
            writer.write("child")
            time.sleep(0.3)
            writer.close()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    writer.close()
    lines = path.read_text().splitlines()
    assert sorted(lines) == ["child", "parent-before-fork"], lines
