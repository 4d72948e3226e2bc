"""Server lifecycle on real sockets: start/stop cycles leak nothing, stop from anywhere,
restart, signals, idle timeout, SOCKET_TIMEOUT, info()."""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import sys
import textwrap
import threading
import time

import pytest

import rocket
from rocket import Rocket
from tests.apps import hello
from tests.functional.cli_support import LISTENING
from tests.functional.client import keep_alive_get, raw_get, read_to_eof
from tests.functional.serving import running


def open_fds():
    """Descriptors open now, once unreachable sockets are collected: PyPy, which does not
    count references, closes earlier tests' sockets at whichever collection comes next, and
    an object with a finalizer only at the collection after the one that found it (one
    collection left 13 of them open in the count before the loop, closed during it)."""
    for _ in range(3):
        gc.collect()
    return len(os.listdir("/proc/self/fd"))


def rocket_threads():
    return [t for t in threading.enumerate() if t.name.startswith("rocket")]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_twenty_start_stop_cycles_leak_no_thread_or_fd(start_server):
    server = start_server(hello.app)  # warm-up: lazy imports, logging, parser caches
    raw_get(server.port)
    server.stop()
    threads_before = threading.active_count()
    fds_before = open_fds()
    for _ in range(20):
        server = start_server(hello.app, min_threads=2)
        status, idle = keep_alive_get(server.port)  # leave a parked keep-alive connection
        assert status == b"HTTP/1.1 200 OK"
        server.stop()
        idle.close()
    assert rocket_threads() == []
    assert threading.active_count() == threads_before
    assert open_fds() == fds_before


def test_stop_from_another_thread_unblocks_start_and_is_idempotent():
    server = Rocket(("127.0.0.1", 0), "wsgi", {"wsgi_app": hello.app}, handle_signals=False)
    stopper = threading.Timer(0.3, server.stop)
    stopper.start()
    t0 = time.monotonic()
    server.start()  # blocks until stopped
    assert 0.2 < time.monotonic() - t0 < 3
    stopper.join()
    server.stop()
    server.stop()
    threads = [threading.Thread(target=server.stop) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(3)
    assert rocket_threads() == [] and not server.running


def test_port_can_be_bound_again_right_after_stop(start_server):
    server = start_server(hello.app)
    port = server.port
    _, sock = keep_alive_get(port)
    server.stop()
    sock.close()
    start_server(hello.app, interfaces=("127.0.0.1", port))
    assert raw_get(port)[0] == b"HTTP/1.1 200 OK"


def test_restart_keeps_the_port_and_serves(start_server):
    server = start_server(hello.app)
    port = server.ports[0]
    assert raw_get(port)[0] == b"HTTP/1.1 200 OK"
    server.restart()
    assert server.ports == [port] and server.running
    assert raw_get(port)[0] == b"HTTP/1.1 200 OK"


def test_an_fd_bind_never_closes_the_callers_descriptor():
    with socket.socket() as inherited:
        inherited.bind(("127.0.0.1", 0))
        inherited.listen(16)
        address = inherited.getsockname()
        with running(hello.app, interfaces=f"fd://{inherited.fileno()}") as server:
            assert raw_get(address[1])[0] == b"HTTP/1.1 200 OK"
            server.restart()
            assert raw_get(address[1])[0] == b"HTTP/1.1 200 OK"
        del server
        gc.collect()  # a socket Rocket left holding N would close it now, at any later moment
        assert inherited.getsockname() == address  # N is still the caller's own socket


def test_app_info_write_back_and_startup_log(start_server, caplog):
    caplog.set_level(logging.INFO, logger="Rocket")
    app_info = {"wsgi_app": hello.app}
    server = Rocket([("127.0.0.1", 0), ("127.0.0.1", 0)], "WSGI", app_info, 3, 7,
                    handle_signals=False)
    assert app_info["server_software"] == rocket.SERVER_SOFTWARE
    assert (app_info["min_threads"], app_info["max_threads"]) == (3, 7)
    ports = start_server(server).ports
    assert len(set(ports)) == 2
    assert f"Listening on sockets: 127.0.0.1:{ports[0]}, 127.0.0.1:{ports[1]}" in caplog.text
    for port in ports:
        assert raw_get(port)[0] == b"HTTP/1.1 200 OK"


def test_idle_keep_alive_connections_close_after_timeout(start_server):
    server = start_server(hello.app, timeout=0.5, linger=0.01)
    _, sock = keep_alive_get(server.port)
    sock.settimeout(5)
    t0 = time.monotonic()
    assert sock.recv(100) == b""  # the server closed it
    assert 0.3 < time.monotonic() - t0 < 3
    sock.close()


def test_socket_timeout_global_is_read_at_start(start_server, monkeypatch):
    monkeypatch.setattr(rocket, "SOCKET_TIMEOUT", 0.5)
    server = start_server(hello.app)
    assert server.config.header_timeout == 0.5
    sock = socket.create_connection(("127.0.0.1", server.ports[0]), timeout=5)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finishes its head
    t0 = time.monotonic()
    data = read_to_eof(sock)
    assert data.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - t0 < 3
    sock.close()


def test_info_counts_connections_and_threads(start_server):
    server = start_server(hello.app, min_threads=3)
    port = server.port
    socks = [keep_alive_get(port)[1] for _ in range(5)]
    deadline = time.monotonic() + 2
    while server.info()["connections_idle"] < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    info = server.info()
    assert info["listen"] == [f"127.0.0.1:{port}"]
    assert info["connections_received"] == 5 and info["connections_idle"] == 5
    assert info["threads"] >= 3 and info["threads_busy"] == 0 and info["queue_depth"] == 0
    assert info["read_timeout"] == 10 and info["parks"] >= 5
    for sock in socks:
        sock.close()


SIGNAL_SCRIPT = textwrap.dedent("""
    import logging, sys
    sys.path.insert(0, {root!r})
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
    import rocket
    from tests.apps.hello import app

    server = rocket.Rocket(("127.0.0.1", 0), "wsgi", {{"wsgi_app": app}})
    server.start()
    print("EXITED", flush=True)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="POSIX signals")
def test_signals_restart_and_stop_in_a_subprocess(rocket_process, tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    script = tmp_path / "serve.py"
    script.write_text(SIGNAL_SCRIPT.format(root=root))
    proc = rocket_process([], str(tmp_path), env=dict(os.environ), merge_output=True,
                          program=[sys.executable, "-u", str(script)])
    port = proc.port(timeout=15)
    assert raw_get(port)[0] == b"HTTP/1.1 200 OK"
    proc.proc.send_signal(signal.SIGUSR1)
    proc.wait_for_all(LISTENING, 2)
    assert "Restarting" in proc.log()
    assert raw_get(port)[0] == b"HTTP/1.1 200 OK"
    assert proc.stop(signal.SIGTERM, timeout=10) == 0
    assert "EXITED" in proc.log()


def test_signal_handling_is_skipped_off_the_main_thread(start_server):
    before = signal.getsignal(signal.SIGTERM)
    errors = []
    server = Rocket(("127.0.0.1", 0), "wsgi", {"wsgi_app": hello.app}, handle_signals=True)

    def run():
        try:
            start_server(server)
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(5)
    assert errors == [] and server.running
    assert signal.getsignal(signal.SIGTERM) is before
    assert raw_get(server.port)[0] == b"HTTP/1.1 200 OK"


def test_signal_handlers_are_restored_after_stop(start_server):
    before = signal.getsignal(signal.SIGTERM)
    server = start_server(hello.app, handle_signals=True)
    assert signal.getsignal(signal.SIGTERM) == server._signals.handler
    server.stop()
    assert signal.getsignal(signal.SIGTERM) is before


def test_the_same_server_can_start_again_after_stop(start_server):
    server = start_server(hello.app)
    port = server.port
    server.stop()
    start_server(server)
    assert server.ports == [port]
    assert raw_get(port)[0] == b"HTTP/1.1 200 OK"
