"""One real connection to a real server, driven through random interleavings by a hypothesis
state machine: pipelined requests with both framings, ``Expect: 100-continue``, bodies the
app reads fully, partly or not at all, HEAD, app errors before and after the headers.

Every response must match its request (an ``X-Id`` header and the body say which request and
how many body bytes the app read), in order, and the connection must close exactly when the
rules below say, and stay open otherwise. Responses are parsed by h11, not by Rocket's client.

The rules (Rocket's, see rocket/workers/wsgi.py and exchange.py): the connection closes after
- an app error (500 before the headers; a truncated body after them, except for HEAD, whose
  body the server never iterates);
- ``Connection: close``;
- a body the app left unread that the server will not drain: ``Expect: 100-continue`` never
  answered, a Content-Length over ``DRAIN_MAX_BYTES``, or a chunked rest over it.

Bounded for ``make test`` (a few seconds); ``STATEFUL_EXAMPLES=500`` runs a longer campaign.
"""

from __future__ import annotations

import os
import socket
from typing import List, Optional

import pytest

h11 = pytest.importorskip("h11")

from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule  # noqa: E402

from rocket.workers.exchange import DRAIN_MAX_BYTES  # noqa: E402
from tests.functional.serving import running  # noqa: E402

EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", "12"))
SIZES = (0, 10, 3000, DRAIN_MAX_BYTES + 5000)
TIMEOUT_S = 5.0


def app(environ, start_response):
    """Reads the body as the query says (``read=all|part|none``), then fails as it says
    (``err=before|after``), else answers ``<id>:<bytes read>`` with an ``X-Id`` header."""
    query = dict(p.split("=", 1) for p in environ["QUERY_STRING"].split("&") if "=" in p)
    ident, read, err = query["id"], query.get("read", "all"), query.get("err", "")
    body = environ["wsgi.input"]
    got = len(body.read()) if read == "all" else len(body.read(1)) if read == "part" else 0
    if err == "before":
        raise RuntimeError("app error before the headers (expected by the test)")
    data = f"{ident}:{got}".encode()
    if err == "after":
        def late():
            start_response("200 OK", [("X-Id", ident)])
            yield data
            raise RuntimeError("app error after the headers (expected by the test)")
        return late()
    start_response("200 OK", [("X-Id", ident), ("Content-Length", str(len(data)))])
    return [data]


class Sent:
    """What the model expects of one request's response."""

    def __init__(self, ident: int, method: str, size: int, chunked: bool, read: str, err: str,
                 close: bool, expect: bool) -> None:
        self.ident = ident
        self.method = method
        self.size = size
        self.chunked = chunked
        self.read = read
        self.err = err
        self.close_header = close
        self.expect = expect
        self.read_bytes = size if read == "all" else min(1, size) if read == "part" else 0

    @property
    def server_closes(self) -> bool:
        """Rocket's rules (module docstring) for closing after this response."""
        if self.err == "before" or (self.err == "after" and self.method != "HEAD"):
            return True
        if self.close_header:
            return True
        unread = self.size - self.read_bytes
        if self.size and unread:
            if self.expect and self.read == "none":
                return True
            if not self.chunked and self.size > DRAIN_MAX_BYTES:
                return True
            if self.chunked and unread > DRAIN_MAX_BYTES:
                return True
        return False

    @property
    def may_reset(self) -> bool:
        """A close with unread request bytes: Rocket has no lingering close, so the client's
        kernel may see a reset before the response is read (RFC 9112 section 9.6)."""
        return self.server_closes and self.size > self.read_bytes and not self.expect

    def wire(self, with_body: bool = True) -> bytes:
        target = f"/?id={self.ident}&read={self.read}&err={self.err}"
        lines = [f"{self.method} {target} HTTP/1.1", "Host: x"]
        if self.method == "POST":
            lines.append("Transfer-Encoding: chunked" if self.chunked
                         else f"Content-Length: {self.size}")
        if self.expect:
            lines.append("Expect: 100-continue")
        if self.close_header:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        return head + self.body() if with_body else head

    def body(self) -> bytes:
        if self.method != "POST":
            return b""
        data = b"b" * self.size
        if not self.chunked:
            return data
        chunks = [data[i:i + 1000] for i in range(0, len(data), 1000)]
        return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


class ConnectionMachine(RuleBasedStateMachine):
    """The model: requests sent and not yet answered, and whether the server will close."""

    server = None

    def __init__(self) -> None:
        super().__init__()
        self.sock: Optional[socket.socket] = None
        self.buffer = b""
        self.pending: List[Sent] = []
        self.next_ident = 0
        self.connect()

    def connect(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=TIMEOUT_S)
        self.buffer = b""
        self.pending = []

    def teardown(self) -> None:
        if self.sock is not None:
            self.sock.close()

    def _new(self, **kwargs) -> Sent:
        self.next_ident += 1
        return Sent(self.next_ident, **kwargs)

    @property
    def closing(self) -> bool:
        return bool(self.pending) and self.pending[-1].server_closes

    @precondition(lambda self: not self.closing)
    @rule(method=st.sampled_from(["GET", "HEAD", "POST"]), size=st.sampled_from(SIZES),
          chunked=st.booleans(), read=st.sampled_from(["all", "part", "none"]),
          err=st.sampled_from(["", "", "", "before", "after"]), close=st.booleans())
    def pipeline(self, method, size, chunked, read, err, close):
        """Send one request without waiting for the answers of those before it."""
        sent = self._new(method=method, size=size if method == "POST" else 0,
                         chunked=chunked and method == "POST", read=read, err=err,
                         close=close and size % 2 == 1, expect=False)
        self.sock.sendall(sent.wire())
        self.pending.append(sent)

    @precondition(lambda self: not self.pending)
    @rule(size=st.sampled_from(SIZES[1:]), chunked=st.booleans(),
          read=st.sampled_from(["all", "part", "none"]), err=st.sampled_from(["", "before"]))
    def expect_continue(self, size, chunked, read, err):
        """Send a head with ``Expect: 100-continue`` and the body only once 100 arrives, as a
        client does; an app that never reads gets no body (and the server closes)."""
        sent = self._new(method="POST", size=size, chunked=chunked, read=read, err=err,
                         close=False, expect=True)
        self.sock.sendall(sent.wire(with_body=False))
        first = self._response(sent, interim_ok=True)
        if first == "continue":
            assert sent.read != "none", "100 Continue though the app never read"
            self.sock.sendall(sent.body())
            self.pending.append(sent)
            self.answers()
        else:
            assert sent.read == "none", f"final response before 100 though the app read: {first}"
            self._check(sent, first)
            self._check_close(sent)

    @precondition(lambda self: bool(self.pending))
    @rule()
    def answers(self):
        """Read every pending response, in order, and check each against its request."""
        pending, self.pending = self.pending, []
        for sent in pending:
            self._check(sent, self._response(sent))
        self._check_close(pending[-1])

    def _check_close(self, last: Sent) -> None:
        if last.server_closes:
            assert self._at_eof(), f"request {last.ident}: the connection should have closed"
            self.connect()
        else:
            self.sock.settimeout(0.05)
            try:
                assert self.sock.recv(1, socket.MSG_PEEK) != b"", \
                    f"request {last.ident}: the connection closed against the rules"
            except socket.timeout:
                pass
            finally:
                self.sock.settimeout(TIMEOUT_S)

    def _at_eof(self) -> bool:
        if self.buffer:
            return False
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def _response(self, sent: Sent, interim_ok: bool = False):
        """("continue" | (status, headers, body, complete)) parsed by h11."""
        client = h11.Connection(h11.CLIENT)
        client.send(h11.Request(method=sent.method, target="/", headers=[("Host", "x")]))
        client.send(h11.EndOfMessage())
        if self.buffer:  # b"" would mean end of file to h11
            client.receive_data(self.buffer)
        self.buffer = b""
        status, headers, body = None, {}, b""
        while True:
            try:
                event = client.next_event()
            except h11.RemoteProtocolError:
                return (status, headers, body, False)
            if event is h11.NEED_DATA:
                try:
                    data = self.sock.recv(65536)
                except ConnectionResetError:
                    if sent.may_reset:
                        return "reset"
                    raise
                client.receive_data(data)
                continue
            if isinstance(event, h11.InformationalResponse):
                assert interim_ok and event.status_code == 100, event
                self.buffer = client.trailing_data[0]
                return "continue"
            if isinstance(event, h11.Response):
                status = event.status_code
                headers = {k.decode().lower(): v.decode() for k, v in event.headers}
            elif isinstance(event, h11.Data):
                body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self.buffer = client.trailing_data[0]
                return (status, headers, body, True)
            elif isinstance(event, h11.ConnectionClosed):
                return (status, headers, body, False)

    def _check(self, sent: Sent, got) -> None:
        if got == "reset":
            return
        status, headers, body, complete = got
        if sent.err == "before":
            assert status == 500 and complete, (sent.ident, got)
            return
        assert status == 200, (sent.ident, got)
        assert headers.get("x-id") == str(sent.ident), (sent.ident, got)
        if sent.method == "HEAD":
            assert body == b"" and complete, (sent.ident, got)
        elif sent.err == "after":
            assert not complete and body == f"{sent.ident}:{sent.read_bytes}".encode(), got
        else:
            assert complete and body == f"{sent.ident}:{sent.read_bytes}".encode(), got

    @invariant()
    def bounded_pipeline(self):
        assert len(self.pending) <= 20


@pytest.fixture(scope="module")
def server():
    with running(app, access_log=False) as srv:
        yield srv


def test_one_connection_through_random_interleavings(server):
    ConnectionMachine.server = server
    run = ConnectionMachine.TestCase
    run.settings = settings(max_examples=EXAMPLES, stateful_step_count=15, deadline=None,
                            suppress_health_check=list(HealthCheck))
    run("runTest").runTest()
