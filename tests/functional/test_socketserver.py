"""SocketServer end to end on loopback (TCP and unix): echo under 200 concurrent clients,
framing across reads, decode errors, limits, hooks (also on the WSGI server), info() and the
keep-alive idle close. Every server is stopped in a fixture's ``finally``."""

from __future__ import annotations

import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, List, Tuple

import pytest

from rocket import LineProtocol, Protocol, SocketServer
from rocket.server.info import INFO_KEYS
from rocket.workers.protocol import MessageTimeout, MessageTooLarge
from tests.apps import hello
from tests.functional.client import read_to_eof
from tests.unit.server.test_sockets import LengthPrefixed

IO_TIMEOUT_S = 10.0

if not hasattr(socket, "AF_UNIX"):  # pragma: no cover - unix sockets are POSIX
    pytest.skip("these tests use unix sockets too", allow_module_level=True)


def socket_server(protocol_factory: Any = Protocol, handler: Any = None,
                  **settings: Any) -> SocketServer:
    """A SocketServer on 127.0.0.1:0 without signal handlers, for the start_server fixture."""
    settings.setdefault("bind", "127.0.0.1:0")
    settings.setdefault("handle_signals", False)
    return SocketServer(protocol_factory, handler or echo, **settings)


def echo(conn: Any, message: Any) -> Any:
    return message


def connect(server: Any) -> socket.socket:
    interface = server.interfaces[0]
    if interface.unix_path is not None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(IO_TIMEOUT_S)
        sock.connect(interface.unix_path)
        return sock
    return socket.create_connection(("127.0.0.1", server.ports[0]), timeout=IO_TIMEOUT_S)


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def closed_by_server(sock: socket.socket, within_s: float = 3.0) -> bool:
    """True when the server closes (EOF or reset) within ``within_s``; replies are skipped."""
    sock.settimeout(within_s)
    deadline = time.monotonic() + within_s
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


# -- echo ------------------------------------------------------------------------------------
def test_echo_under_200_concurrent_clients_each_gets_its_own_bytes(start_server):
    server = start_server(socket_server(Protocol, echo))
    barrier = threading.Barrier(200, timeout=IO_TIMEOUT_S)

    def client(n: int) -> bool:
        payload = (b"client-%03d:" % n) * 300  # ~3.3 KB unique to this client
        with connect(server) as sock:
            barrier.wait()  # all 200 connected at once
            for part in range(0, len(payload), 1000):
                sock.sendall(payload[part:part + 1000])
            return recv_exactly(sock, len(payload)) == payload

    with ThreadPoolExecutor(200) as pool:
        results = list(pool.map(client, range(200), timeout=30))
    assert results == [True] * 200
    assert server.info()["received_connections"] == 200


@pytest.mark.parametrize("where", ["tcp", "unix"])
def test_messages_split_across_reads_and_several_in_one_read(start_server, tmp_path, where):
    bind = "127.0.0.1:0" if where == "tcp" else "unix:" + str(tmp_path / "s.sock")
    server = start_server(socket_server(LengthPrefixed, lambda conn, m: m.upper(), bind=bind))
    with connect(server) as sock:
        for piece in (b"0", b"5h", b"el", b"lo"):  # one message over four reads
            sock.sendall(piece)
            time.sleep(0.02)
        assert recv_exactly(sock, 7) == b"05HELLO"
        sock.sendall(b"01a02bc03def")  # three messages in one read
        assert recv_exactly(sock, 12) == b"01A02BC03DEF"
        sock.sendall(b"02xy00")  # an empty message is a message too
        assert recv_exactly(sock, 6) == b"02XY00"


def test_repeated_binds_tcp_unix_and_an_inherited_fd(start_server, tmp_path):
    inherited = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    inherited.bind(("127.0.0.1", 0))
    inherited.listen(16)
    path = str(tmp_path / "both.sock")
    try:
        bind = ["127.0.0.1:0", "unix:" + path, f"fd://{inherited.fileno()}"]
        server = start_server(socket_server(LineProtocol, echo, bind=bind))
        addresses = [(socket.AF_INET, ("127.0.0.1", server.ports[0])), (socket.AF_UNIX, path),
                     (socket.AF_INET, inherited.getsockname())]
        for family, address in addresses:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(IO_TIMEOUT_S)
                sock.connect(address)
                sock.sendall(b"%r\n" % (address,))
                assert recv_exactly(sock, len(b"%r\n" % (address,))) == b"%r\n" % (address,)
        assert server.info()["received_connections"] == 3
    finally:
        inherited.close()


def test_replies_come_back_in_order_and_none_means_no_reply(start_server):
    def handler(conn: Any, message: bytes) -> Any:
        time.sleep(0.001 * (message[0] % 5))  # uneven work must not reorder replies
        return None if message.startswith(b"quiet") else message

    server = start_server(socket_server(LineProtocol, handler))
    lines = [b"msg-%d" % i for i in range(50)]
    with connect(server) as sock:
        sock.sendall(b"".join(line + b"\n" + b"quiet\n" for line in lines))
        expected = b"".join(line + b"\n" for line in lines)
        assert recv_exactly(sock, len(expected)) == expected


# -- errors and limits -----------------------------------------------------------------------
def test_decode_error_closes_that_connection_only_with_one_log_line(start_server, caplog):
    server = start_server(socket_server(LengthPrefixed, echo))
    with connect(server) as good:
        good.sendall(b"02ok")
        assert recv_exactly(good, 4) == b"02ok"
        with caplog.at_level(logging.WARNING, logger="Rocket.Errors.Sockets"), \
                connect(server) as bad:
            bad.sendall(b"zz")
            assert closed_by_server(bad)
            assert wait_until(lambda: any("cannot decode" in r.getMessage()
                                          for r in caplog.records))
        lines = [r for r in caplog.records if r.name == "Rocket.Errors.Sockets"]
        assert len(lines) == 1 and "bad length prefix" in lines[0].getMessage()
        assert lines[0].exc_info is None  # one line, no traceback
        good.sendall(b"03yes")  # the other connection and the server go on
        assert recv_exactly(good, 5) == b"03yes"
    with connect(server) as again:
        again.sendall(b"01!")
        assert recv_exactly(again, 3) == b"01!"


def test_max_message_bytes_and_max_requests_close_the_connection(start_server):
    lost: List[Any] = []
    server = start_server(socket_server(LineProtocol, echo, max_message_bytes=16, max_requests=2,
                                        connection_lost=lambda conn, exc: lost.append(exc)))
    with connect(server) as sock:
        sock.sendall(b"x" * 40)  # no newline within 16 bytes
        assert closed_by_server(sock)
    assert wait_until(lambda: len(lost) == 1)  # the hook runs just after the socket closes
    with connect(server) as sock:
        sock.sendall(b"one\ntwo\nthree\n")
        assert recv_exactly(sock, 8) == b"one\ntwo\n"
        assert closed_by_server(sock)  # max_requests=2 messages on this connection
    assert wait_until(lambda: len(lost) == 2)
    assert isinstance(lost[0], MessageTooLarge) and lost[1] is None, lost


def test_rest_of_a_message_must_arrive_within_header_timeout(start_server):
    lost: List[Any] = []
    server = start_server(socket_server(LineProtocol, echo, header_timeout=0.3,
                                        connection_lost=lambda conn, exc: lost.append(exc)))
    with connect(server) as sock:
        sock.sendall(b"no end of line")
        started = time.monotonic()
        assert closed_by_server(sock, within_s=3.0)
        assert 0.25 <= time.monotonic() - started < 2.5
    assert wait_until(lambda: len(lost) == 1) and isinstance(lost[0], MessageTimeout)


def test_a_raising_handler_closes_the_connection_with_a_traceback(start_server, caplog):
    def handler(conn: Any, message: bytes) -> bytes:
        if message == b"boom":
            raise RuntimeError("handler bug")
        return message

    server = start_server(socket_server(LineProtocol, handler))
    with caplog.at_level(logging.ERROR, logger="Rocket.Errors.Sockets"), connect(server) as sock:
        sock.sendall(b"boom\n")
        assert closed_by_server(sock)
        assert wait_until(lambda: any(r.exc_info for r in caplog.records))
    with connect(server) as sock:
        sock.sendall(b"fine\n")
        assert recv_exactly(sock, 5) == b"fine\n"


def test_a_failing_protocol_factory_closes_only_that_connection(start_server):
    made = []

    def factory() -> Protocol:
        made.append(1)
        if len(made) == 1:
            raise RuntimeError("factory bug")
        return LineProtocol()

    server = start_server(socket_server(factory, echo))
    with connect(server) as sock:
        assert closed_by_server(sock)
    with connect(server) as sock:
        sock.sendall(b"ok\n")
        assert recv_exactly(sock, 3) == b"ok\n"


# -- hooks -----------------------------------------------------------------------------------
def test_hooks_fire_in_order_per_connection(start_server):
    events: List[Tuple[Any, ...]] = []
    lock = threading.Lock()

    def record(*event: Any) -> None:
        with lock:
            events.append(event)

    server = start_server(socket_server(
        LineProtocol, lambda conn, m: m + b"!",
        connection_made=lambda conn: record("made", id(conn)),
        pre_request=lambda conn, m: record("pre", id(conn), m),
        post_request=lambda conn, m, reply: record("post", id(conn), m, reply),
        connection_lost=lambda conn, exc: record("lost", id(conn), exc)))
    with connect(server) as sock:
        sock.sendall(b"a\nb\n")
        assert recv_exactly(sock, 6) == b"a!\nb!\n"
    assert wait_until(lambda: len(events) == 6)
    conn_id = events[0][1]
    assert events == [("made", conn_id), ("pre", conn_id, b"a"), ("post", conn_id, b"a", b"a!"),
                      ("pre", conn_id, b"b"), ("post", conn_id, b"b", b"b!"),
                      ("lost", conn_id, None)]


def test_raising_hooks_are_logged_and_never_break_the_loop(start_server, caplog):
    calls: List[str] = []

    def failing(name: str) -> Callable[..., None]:
        def hook(*args: Any) -> None:
            calls.append(name)
            raise RuntimeError(f"{name} bug")
        return hook

    server = start_server(socket_server(LineProtocol, echo, connection_made=failing("made"),
                                        pre_request=failing("pre"), post_request=failing("post"),
                                        connection_lost=failing("lost")))
    with caplog.at_level(logging.ERROR, logger="Rocket.Errors.Hooks"):
        with connect(server) as sock:
            sock.sendall(b"x\ny\n")
            assert recv_exactly(sock, 4) == b"x\ny\n"
        assert wait_until(lambda: "lost" in calls)
    assert calls == ["made", "pre", "post", "pre", "post", "lost"]
    assert len([r for r in caplog.records if r.name == "Rocket.Errors.Hooks"]) == 6


def test_the_wsgi_server_fires_the_same_hooks(start_server):
    events: List[Tuple[Any, ...]] = []
    server = start_server(hello.app, access_log=False,
                          connection_made=lambda conn: events.append(("made",)),
                          pre_request=lambda conn, req: events.append(("pre", req.target)),
                          post_request=lambda conn, req, reply: events.append(("post", reply)),
                          connection_lost=lambda conn, exc: events.append(("lost", exc)))
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n"
                     b"Connection: close\r\n\r\n")
        data = read_to_eof(sock)
    assert data.count(b"200 OK") == 2
    assert wait_until(lambda: len(events) == 6)
    assert events == [("made",), ("pre", b"/a"), ("post", None), ("pre", b"/b"),
                      ("post", None), ("lost", None)]


# -- info and idle connections ---------------------------------------------------------------
def test_info_counts_connections_and_messages(start_server):
    server = start_server(socket_server(LineProtocol, echo, keep_alive=30))
    socks = [connect(server) for _ in range(5)]
    try:
        for sock in socks:
            sock.sendall(b"1\n2\n3\n")
            assert recv_exactly(sock, 6) == b"1\n2\n3\n"
        assert wait_until(lambda: server.info()["idle_connections"] == 5)
        info = server.info()
        assert set(info) == set(INFO_KEYS)
        assert info["received_connections"] == 5 and info["active_connections"] == 5
        assert info["requests"] == 15 and info["running"] is True
        assert info["listen_on"] == [f"127.0.0.1:{server.ports[0]}"]
        assert info["read_timeout"] == 10.0 and info["keep_alive_timeout"] == 30
        assert info["threads_busy"] + info["threads_idle"] == info["threads"] > 0
        assert info["queue_depth"] == 0 and info["workers"] == []
    finally:
        for sock in socks:
            sock.close()
    assert wait_until(lambda: server.info()["active_connections"] == 0)


def test_keep_alive_closes_idle_clients(start_server):
    lost: List[Any] = []
    server = start_server(socket_server(LineProtocol, echo, keep_alive=1.0,
                                        connection_lost=lambda conn, exc: lost.append(exc)))
    with connect(server) as idle, connect(server) as busy:
        idle.sendall(b"hi\n")
        assert recv_exactly(idle, 3) == b"hi\n"
        started = time.monotonic()
        assert not closed_by_server(idle, within_s=0.5)  # not before keep_alive
        while time.monotonic() - started < 1.5:  # busy talks past the idle timeout
            busy.sendall(b"x\n")
            assert recv_exactly(busy, 2) == b"x\n"
            time.sleep(0.05)
        assert closed_by_server(idle, within_s=3.0)
        assert time.monotonic() - started < 4.5
        busy.sendall(b"still\n")
        assert recv_exactly(busy, 6) == b"still\n"
    assert wait_until(lambda: len(lost) == 2) and lost == [None, None]


def test_process_mode_refuses_background_start():
    server = SocketServer(Protocol, echo, bind="127.0.0.1:0", concurrency="process",
                          handle_signals=False)
    with pytest.raises(Exception, match="foreground"):
        server.start(background=True)


def test_constructor_checks_its_callables():
    with pytest.raises(TypeError, match="protocol_factory"):
        SocketServer(None, echo)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="handler"):
        SocketServer(Protocol)
