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


# ---------------------------------------------------------------- escaping (issue 13, defect 4)

def _unescape(text: str) -> str:
    """Read an Apache-escaped log value back (what a log parser does)."""
    simple = {"b": "\b", "n": "\n", "r": "\r", "t": "\t", "v": "\v", '"': '"', "\\": "\\"}
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char != "\\":
            out.append(char)
            i += 1
        elif text[i + 1] == "x":
            out.append(chr(int(text[i + 2 : i + 4], 16)))
            i += 4
        else:
            out.append(simple[text[i + 1]])
            i += 2
    return "".join(out)


def test_escape_leaves_printable_ascii_alone():
    value = "GET /a?b=c&d=%41~ HTTP/1.1"
    assert accesslog.escape(value) is value


@pytest.mark.parametrize("code", range(256))
def test_escape_writes_every_byte_as_apache_does(code):
    char = chr(code)
    escaped = accesslog.escape("a" + char + "z")
    assert escaped.isascii() and escaped.isprintable()
    assert _unescape(escaped) == "a" + char + "z"
    if 0x20 <= code < 0x7F and char not in '"\\':
        assert escaped == "a" + char + "z"
    elif char in '"\\':
        assert escaped == "a\\" + char + "z"
    elif char in "\b\n\r\t\v":
        assert escaped == "a\\" + "bnrtv"["\b\n\r\t\v".index(char)] + "z"
    else:
        assert escaped == f"a\\x{code:02x}z"


def test_escaped_value_cannot_close_its_quotes():
    escaped = accesslog.escape('x" 200 0 "-" "forged\\')
    assert '"' not in escaped.replace('\\"', "")
    assert not escaped.endswith("\\") or escaped.endswith("\\\\")


def test_a_request_cannot_forge_fields_or_lines_in_the_access_log(start_server):
    from rocket.logs import COMBINED_FORMAT
    from tests.functional.client import RawClient

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"abc"]

    out = io.StringIO()
    accesslog.install(AccessLogWriter(out, interval_s=60))
    try:
        server = start_server(app, access_log_format=COMBINED_FORMAT)
        c = RawClient(server.port)
        c.send(b'GET /a"b\\nc" HTTP/1.1\r\nHost: x\r\n'
               b'Referer: http://r/" 404 0 "\\\r\n'
               b'User-Agent: evil" "x\\n127.0.0.1 - - \tz\xff\r\n\r\n')
        response, body = c.response()
        c.close()
        assert (response.status, body) == (200, b"abc")
        deadline = time.monotonic() + 5
        while not out.getvalue() and time.monotonic() < deadline:
            accesslog.flush()
            time.sleep(0.01)
    finally:
        accesslog.uninstall()
    lines = out.getvalue().split("\n")
    assert len(lines) == 2 and lines[1] == "", lines  # one line and its newline
    line = lines[0]
    assert line.startswith("127.0.0.1 - - [")
    assert line.endswith(
        '"GET /a\\"b\\\\nc\\" HTTP/1.1" 200 3 '
        '"http://r/\\" 404 0 \\"\\\\" '
        '"evil\\" \\"x\\\\n127.0.0.1 - - \\tz\\xff"'
    ), line
