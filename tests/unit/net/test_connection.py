"""Connection: reads feed the parser, timeouts, sends, sendfile, close; plain TCP and unix."""

from __future__ import annotations

import errno
import os
import socket
import time

import pytest

from rocket.http.events import NEED_DATA, Request
from rocket.http.parser import RequestParser
from rocket.net.connection import PEER_GONE_ERRNOS, Connection


class RecordingParser:
    """Keeps what it is fed; ``trailing_data`` is what was fed and not taken."""

    def __init__(self):
        self.fed = []
        self.trailing_data = b""

    def feed(self, data):
        self.fed.append(data)
        self.trailing_data += data


def tcp_pair():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = socket.create_connection(listener.getsockname())
    server, addr = listener.accept()
    listener.close()
    return server, addr, client


@pytest.fixture(params=["tcp", "unix"])
def pair(request):
    if request.param == "tcp":
        server, addr, client = tcp_pair()
    else:
        server, client = socket.socketpair()
        addr = ""
    conn = Connection(server, addr, server.getsockname(), RecordingParser(),
                      read_timeout=1.0, send_timeout=1.0)
    yield conn, client
    conn.close()
    client.close()


def test_fill_feeds_the_parser_and_reports_eof(pair):
    conn, client = pair
    client.sendall(b"GET / HTTP/1.1\r\n")
    assert conn.fill() is True
    assert conn.reader.fed == [b"GET / HTTP/1.1\r\n"]
    assert type(conn.reader.fed[0]) is bytes
    assert conn.has_buffered
    client.shutdown(socket.SHUT_WR)
    assert conn.fill() is False
    assert conn.reader.fed[-1] == b""


def test_fill_times_out(pair):
    conn, client = pair
    t0 = time.monotonic()
    with pytest.raises(socket.timeout):
        conn.fill(0.1)
    assert 0.05 < time.monotonic() - t0 < 0.5
    with pytest.raises(socket.timeout):
        conn.fill(0)  # a single try without waiting
    client.sendall(b"x")
    time.sleep(0.05)
    assert conn.fill(0) is True  # and the previous timeouts did not break the socket
    assert conn.reader.fed[-1] == b"x"


def test_linger_then_send_keeps_the_send_timeout(pair):
    conn, client = pair
    with pytest.raises(socket.timeout):
        conn.fill(0.01)
    payload = os.urandom(1 << 20)  # larger than the socket buffers: needs the reader
    import threading

    got = bytearray()

    def read():
        while len(got) < len(payload):
            got.extend(client.recv(65536))

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.05)  # the send has to wait longer than the last read timeout
    conn.sendall(payload)
    reader.join(5)
    assert bytes(got) == payload


def test_real_parser_pipelining():
    server, addr, client = tcp_pair()
    conn = Connection(server, addr, server.getsockname(), RequestParser())
    try:
        client.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.05)
        conn.fill()
        first = conn.reader.next_event()
        assert isinstance(first, Request) and first.target == b"/a"
        conn.reader.next_event()  # EndOfMessage
        assert conn.has_buffered
        assert conn.reader.next_event().target == b"/b"
        conn.reader.next_event()
        assert conn.reader.next_event() is NEED_DATA and not conn.has_buffered
        assert conn.client_addr == addr and conn.server_addr[1] == server.getsockname()[1]
        assert server.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        conn.close()
        client.close()


def test_sendfile_sends_the_requested_span(pair, tmp_path):
    conn, client = pair
    path = tmp_path / "data.bin"
    data = os.urandom(300_000)
    path.write_bytes(data)
    import threading

    got = bytearray()

    def read(n):
        while len(got) < n:
            chunk = client.recv(65536)
            if not chunk:
                break
            got.extend(chunk)

    reader = threading.Thread(target=read, args=(200_000,))
    reader.start()
    with open(path, "rb") as f:
        assert conn.sendfile(f, 1000, 200_000) == 200_000
        assert f.tell() == 201_000
    reader.join(5)
    assert bytes(got) == data[1000:201_000]


def test_sendfile_falls_back_for_objects_without_a_descriptor(pair):
    import io

    conn, client = pair
    assert conn.sendfile(io.BytesIO(b"0123456789"), 2, 5) == 5
    assert client.recv(100) == b"23456"


@pytest.mark.parametrize("offset, count", [(1000, 200_000), (0, None), (5, 65_536)])
def test_sendfile_over_tls_sends_the_requested_span(tls_files, tmp_path, offset, count):
    """Under TLS the file goes through one reused buffer and ``SSLSocket.send``."""
    import ssl
    import threading

    path = tmp_path / "data.bin"
    data = os.urandom(300_000)
    path.write_bytes(data)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tls_files.cert_path, tls_files.key_path)
    client_ctx = ssl.create_default_context()
    tls_files.ca.configure_trust(client_ctx)
    server, addr, client = tcp_pair()
    wrapped = []
    handshake = threading.Thread(target=lambda: wrapped.append(
        client_ctx.wrap_socket(client, server_hostname="127.0.0.1")))
    handshake.start()
    server = server_ctx.wrap_socket(server, server_side=True)
    handshake.join(5)
    tls_client = wrapped[0]
    conn = Connection(server, addr, server.getsockname(), RecordingParser(), secure=True,
                      read_timeout=5.0, send_timeout=5.0)
    want = data[offset:] if count is None else data[offset:offset + count]
    got = bytearray()

    def read():
        while len(got) < len(want):
            chunk = tls_client.recv(65536)
            if not chunk:
                break
            got.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        with open(path, "rb") as f:
            assert conn.sendfile(f, offset, count) == len(want)
        reader.join(5)
        assert bytes(got) == want
    finally:
        conn.close()
        tls_client.close()


def test_a_partial_tls_write_is_completed():
    import io

    sent = bytearray()

    def write(data):  # at most 1,000 bytes a call
        sent.extend(bytes(data[:1000]))
        return min(len(data), 1000)

    data = os.urandom(150_000)
    assert Connection._write_file(io.BytesIO(data).readinto, write, 140_001) == 140_001
    assert bytes(sent) == data[:140_001]
    sent.clear()
    assert Connection._write_file(io.BytesIO(data).readinto, write, None) == 150_000
    assert bytes(sent) == data


def test_close_is_idempotent_and_send_after_peer_close_raises(pair):
    conn, client = pair
    client.close()
    with pytest.raises(OSError) as info:
        for _ in range(50):
            conn.sendall(b"x" * 65536)
    assert info.value.errno in PEER_GONE_ERRNOS or isinstance(info.value, socket.timeout)
    conn.close()
    conn.close()
    assert conn.closed
    assert errno.EPIPE in PEER_GONE_ERRNOS and errno.ECONNRESET in PEER_GONE_ERRNOS


def test_abort_wakes_a_blocked_reader(pair):
    import threading

    conn, client = pair
    result = []
    reader = threading.Thread(target=lambda: result.append(conn.fill(5)))
    reader.start()
    time.sleep(0.1)
    conn.abort()
    reader.join(2)
    assert not reader.is_alive() and result == [False]


def test_sendmany_sends_every_buffer_in_order(pair):
    import threading

    conn, client = pair
    buffers = [b"HTTP/1.1 200 OK\r\n\r\n", b""] + [os.urandom(65536) for _ in range(16)]
    buffers += [b"x"] * 600  # more buffers than one sendmsg call takes
    expected = b"".join(buffers)
    got = bytearray()

    def read():
        while len(got) < len(expected):
            chunk = client.recv(1 << 20)
            if not chunk:
                break
            got.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    conn.sendmany(buffers)
    reader.join(5)
    assert bytes(got) == expected


def test_the_monitor_side_never_waits(pair):
    conn, client = pair
    assert conn.read_nowait() is None  # nothing yet
    client.sendall(b"GET / HT")
    time.sleep(0.05)
    assert conn.read_nowait() is True and conn.reader.trailing_data == b"GET / HT"
    conn.send_nowait(b"answer")
    conn.shut_write()
    assert client.recv(100) == b"answer" and client.recv(100) == b""  # FIN after the answer
    assert conn.discard_nowait() is None
    client.sendall(b"x" * 5000)
    time.sleep(0.05)
    dropped = 0
    while dropped < 5000:
        dropped += conn.discard_nowait() or 0
    assert conn.reader.trailing_data == b"GET / HT"  # dropped, not fed to the reader
    client.shutdown(socket.SHUT_WR)
    time.sleep(0.05)
    assert conn.discard_nowait() == 0


def test_send_min_rate_cuts_a_client_that_stops_reading():
    server, addr, client = tcp_pair()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    conn = Connection(server, addr, server.getsockname(), RecordingParser(), send_timeout=5.0,
                      send_min_rate=100_000, min_rate_grace=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(socket.timeout, match="send_min_rate"):
            for _ in range(1000):
                conn.sendall(b"x" * 65536)  # nobody reads: the buffers fill, then it waits
        assert time.monotonic() - started < 2.0  # the grace, not send_timeout
    finally:
        conn.close()
        client.close()
