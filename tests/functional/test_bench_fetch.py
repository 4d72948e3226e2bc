"""``fetch`` against a real Rocket: chunked and Content-Length responses, raw bytes, uploads."""

from __future__ import annotations

import pytest

from rocket.bench.__main__ import main
from rocket.bench.apps import app
from rocket.bench.fetch import fetch
from rocket.bench.target import Target


@pytest.fixture
def address(start_server):
    return "127.0.0.1", start_server(app).port


def test_chunked_response(address):
    res = fetch(Target(*address, b"/stream"))
    assert res.complete
    assert res.response.status == 200
    assert res.framing == "chunked"
    assert res.body == (b"s" * 99 + b"\n") * 100
    assert b"\r\n0\r\n\r\n" in res.received
    assert 0 < res.connect_s <= res.first_byte_s <= res.total_s


def test_content_length_response(address):
    res = fetch(Target(*address, b"/"))
    assert res.complete
    assert res.framing == "length"
    assert res.header(b"content-length") == b"13"
    assert res.body == b"Hello, World!"
    assert res.received.endswith(b"\r\n\r\nHello, World!")
    assert res.response.keep_alive


def test_head_has_no_body(address):
    res = fetch(Target(*address, b"/"), method=b"HEAD")
    assert res.complete and res.framing == "none" and res.body == b""


def test_cli_chunked(address, capsys):
    host, port = address
    assert main(["fetch", f"http://{host}:{port}/stream"]) == 0
    out = capsys.readouterr().out
    assert "Transfer-Encoding: chunked" in out
    assert "framing     chunked; body 10000 bytes" in out
    assert "timings     connect " in out and "first byte" in out and "total" in out


def test_cli_raw_shows_exact_bytes(address, capsys):
    host, port = address
    assert main(["fetch", "--raw", f"http://{host}:{port}/"]) == 0
    out = capsys.readouterr().out
    assert "> GET / HTTP/1.1\\r\\n" in out
    assert "< HTTP/1.1 200 OK\\r\\n" in out
    assert "< Content-Length: 13\\r\\n" in out
    assert "< Hello, World!" in out
    assert "framing     length; body 13 bytes" in out


def test_cli_chunked_upload(address, capsys):
    host, port = address
    assert main(["fetch", "--raw", "--chunked", "-d", "hello world",
                 f"http://{host}:{port}/echo"]) == 0
    out = capsys.readouterr().out
    assert "> POST /echo HTTP/1.1\\r\\n" in out
    assert "> Transfer-Encoding: chunked\\r\\n" in out
    assert "> b\\r\\n" in out  # the chunk size line, in hex
    assert out.splitlines()[out.splitlines().index("--") - 1] == "< 11"


def test_cli_body_from_file(address, capsys, tmp_path):
    host, port = address
    body = tmp_path / "body.bin"
    body.write_bytes(b"x" * 5000)
    assert main(["fetch", "-d", f"@{body}", f"http://{host}:{port}/echo"]) == 0
    assert "\n5000\n" in capsys.readouterr().out
