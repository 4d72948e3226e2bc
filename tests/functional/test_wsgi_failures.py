"""Application failures: the client gets an honest answer, the log names the cause, and the
server goes on serving."""

from __future__ import annotations

import logging
import time
from wsgiref.validate import validator

import pytest

from tests.apps import raises
from tests.functional.client import RawClient, header


@pytest.fixture
def server(start_server):
    raises.ClosingBody.closed.clear()
    return start_server(raises.app)


def _eventually(predicate, timeout=2.0):
    """close() runs after the response is sent, so the client may see the answer first."""
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
    return predicate()


def _still_serving(server):
    c = RawClient(server.port)
    c.send(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
    response, body = c.response()
    c.close()
    assert response.status == 200 and body == b"ok"


def test_raise_before_headers_is_500_logged_and_closed(server, caplog):
    caplog.set_level(logging.INFO, logger="Rocket")
    c = RawClient(server.port)
    c.send(b"GET /before HTTP/1.1\r\nHost: x\r\n\r\n")
    response, body = c.response()
    assert response.status == 500 and header(response, b"content-type") == b"text/plain"
    assert header(response, b"connection") == b"close" and b"boom" not in body
    assert c.closed()
    errors = [r for r in caplog.records if r.name.startswith("Rocket.Errors.")]
    assert errors and errors[0].exc_info and "boom before headers" in str(errors[0].exc_info[1])
    access = [r.getMessage() for r in caplog.records if r.name == "Rocket.Requests"]
    assert access == ['127.0.0.1 - "GET /before HTTP/1.1" - 500 22']
    _still_serving(server)


def test_raise_after_headers_closes_connection(server, caplog):
    c = RawClient(server.port)
    c.send(b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
    data = c.recv_all()
    assert data.startswith(b"HTTP/1.1 200 OK") and b"first block" in data
    assert not data.endswith(b"0\r\n\r\n")  # truncated, never completed
    assert any("raised" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    assert raises.ClosingBody.closed == [True]
    _still_serving(server)


@pytest.mark.parametrize("path, kind", [("/none", "NoneType"), ("/str", "str")])
def test_bad_return_value_is_500_naming_the_rule(server, caplog, path, kind):
    c = RawClient(server.port)
    c.send(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.response()[0].status == 500
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("Rocket.Errors.")]
    assert any(kind in m and "PEP 3333" in m and "iterable of bytestrings" in m for m in messages)
    _still_serving(server)


def test_short_body_closes_connection(server, caplog):
    c = RawClient(server.port)
    c.send(b"GET /short HTTP/1.1\r\nHost: x\r\n\r\n")
    data = c.recv_all()
    assert data.endswith(b"\r\n\r\n12345") and c.closed()
    assert any("5 of its 10-byte" in r.getMessage() for r in caplog.records)
    assert raises.ClosingBody.closed == [True]
    _still_serving(server)


def test_long_body_is_truncated_and_logged(server, caplog):
    c = RawClient(server.port)
    c.send(b"GET /long HTTP/1.1\r\nHost: x\r\n\r\nGET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.response()[1] == b"123"
    assert c.response()[1] == b"ok"  # framing intact: the next response parses
    assert any("more than its Content-Length" in r.getMessage() for r in caplog.records)


def test_bad_header_from_app_is_500(server, caplog):
    c = RawClient(server.port)
    c.send(b"GET /badheader HTTP/1.1\r\nHost: x\r\n\r\n")
    data = c.recv_all()
    assert data.startswith(b"HTTP/1.1 500 ") and b"X-Injected" not in data
    _still_serving(server)


def test_write_callable_works_and_warns_once(server, caplog):
    for _ in range(2):
        c = RawClient(server.port)
        c.send(b"GET /write HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.response()[1] == b"written and returned"
        c.close()
    warnings = [r for r in caplog.records if "write() callable" in r.getMessage()]
    assert len(warnings) <= 1  # once per process (an earlier test may have used it)
    assert _eventually(lambda: raises.ClosingBody.closed == [True, True])


def test_exc_info_replaces_status_before_headers(server):
    c = RawClient(server.port)
    c.send(b"GET /excinfo HTTP/1.1\r\nHost: x\r\n\r\n")
    response, body = c.response()
    assert response.status == 500 and response.reason == b"Oops" and body == b"recovered"


def test_close_called_on_success(server):
    c = RawClient(server.port)
    c.send(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
    c.response()
    c.close()
    assert _eventually(lambda: raises.ClosingBody.closed == [True])


def test_access_log_format_and_off_switch(start_server, caplog):
    def app(environ, start_response):
        start_response("201 Created", [("Content-Type", "text/plain")])
        return [b"made"]

    caplog.set_level(logging.INFO, logger="Rocket.Requests")
    server = start_server(validator(app))
    c = RawClient(server.port)
    c.send(b"POST /x?y=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    c.response()
    c.close()
    server.stop()
    assert [r.getMessage() for r in caplog.records if r.name == "Rocket.Requests"] == [
        '127.0.0.1 - "POST /x?y=1 HTTP/1.1" - 201 4'
    ]
    caplog.clear()
    server = start_server(validator(app), access_log=False)
    c = RawClient(server.port)
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    c.response()
    c.close()
    server.stop()
    assert not [r for r in caplog.records if r.name == "Rocket.Requests"]


def test_combined_access_log_format(start_server, caplog):
    from rocket.logs import COMBINED_FORMAT

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"abc"]

    caplog.set_level(logging.INFO, logger="Rocket.Requests")
    server = start_server(validator(app), access_log_format=COMBINED_FORMAT)
    c = RawClient(server.port)
    c.send(b"GET /c HTTP/1.1\r\nHost: x\r\nReferer: http://r/\r\nUser-Agent: ua/1\r\n\r\n")
    c.response()
    c.close()
    server.stop()
    (line,) = [r.getMessage() for r in caplog.records if r.name == "Rocket.Requests"]
    assert line.startswith("127.0.0.1 - - [") and line.endswith(
        '] "GET /c HTTP/1.1" 200 3 "http://r/" "ua/1"')
