"""Floods of slow clients cost no threads and never delay a normal request (issue 12).

Partial heads and silent TLS clients wait in the monitor; a normal request answers in under
100 ms while thousands of them are held and while their deadlines fire; stop() stays prompt.
"""

from __future__ import annotations

import socket
import ssl
import statistics
import threading
import time

from tests.functional.slow_support import (
    GET,
    PARTIAL,
    Dripper,
    hello,
    need_fds,
    open_many,
    timed_get,
    wait_until,
)

PROBE_LIMIT_S = 0.1


def probe_while(port, seconds, context=None):
    """Normal requests every 50 ms for ``seconds``: their durations."""
    durations = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        elapsed, data = timed_get(port, context)
        assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b"hello")
        durations.append(elapsed)
        time.sleep(0.05)
    return durations


def test_two_thousand_partial_heads_cost_no_thread(start_server):
    need_fds(4600)
    server = start_server(None, interfaces=("127.0.0.1", 0), app_info={"wsgi_app": hello},
                            header_timeout=3.0)
    port = server.ports[0]
    timed_get(port)
    threads = threading.active_count()
    socks = open_many(port, 2000, PARTIAL)
    try:
        assert wait_until(lambda: server.monitor.phases()["head"] == 2000)
        held = probe_while(port, 1.0)
        assert threading.active_count() <= threads + 1  # the pool's bound is not even near
        fired = probe_while(port, 3.5)  # the 2,000 deadlines fire meanwhile
        assert wait_until(lambda: server.monitor.timed_out == 2000)
        assert max(held) < PROBE_LIMIT_S, sorted(held)[-3:]
        assert max(fired) < PROBE_LIMIT_S, sorted(fired)[-3:]
        assert threading.active_count() <= threads + 1
        for sock in socks[::100]:
            sock.settimeout(5)
            assert sock.recv(4096).startswith(b"HTTP/1.1 408 ")
    finally:
        for sock in socks:
            sock.close()
    assert wait_until(lambda: len(server.monitor) == 0)  # the lingering closes end at EOF


def test_five_hundred_silent_tls_clients_cost_no_thread(start_server, tls_files):
    need_fds(1200)
    server = start_server(None, interfaces=("127.0.0.1", 0, tls_files.key_path, tls_files.cert_path),
                            app_info={"wsgi_app": hello}, tls_handshake_timeout=2.0)
    port = server.ports[0]
    context = ssl.create_default_context()
    tls_files.ca.configure_trust(context)
    timed_get(port, context)
    threads = threading.active_count()
    socks = open_many(port, 500)
    try:
        assert wait_until(lambda: server.monitor.phases()["handshake"] == 500)
        durations = probe_while(port, 3.0, context)  # the handshake deadlines fire meanwhile
        assert wait_until(lambda: server.monitor.phases()["handshake"] == 0)
        assert threading.active_count() <= threads + 1
        assert statistics.median(durations) < PROBE_LIMIT_S
        assert max(durations) < PROBE_LIMIT_S, sorted(durations)[-3:]
        socks[0].settimeout(5)
        assert socks[0].recv(100) == b""
    finally:
        for sock in socks:
            sock.close()


def test_sixty_drip_clients_never_delay_a_normal_request(start_server):
    server = start_server(None, interfaces=("127.0.0.1", 0), app_info={"wsgi_app": hello})
    port = server.ports[0]
    timed_get(port)
    threads = threading.active_count()
    socks = open_many(port, 60)
    dripper = Dripper(socks, interval_s=1.0)
    dripper.start()
    try:
        durations = probe_while(port, 4.0)
        assert max(durations) < PROBE_LIMIT_S, sorted(durations)[-3:]
        assert threading.active_count() <= threads + 2  # + the dripper
        assert server.monitor.phases()["head"] == 60
    finally:
        dripper.stopped.set()
        dripper.join(5)
        for sock in socks:
            sock.close()


def test_stop_is_prompt_while_two_thousand_heads_wait(start_server):
    need_fds(4600)
    server = start_server(None, interfaces=("127.0.0.1", 0), app_info={"wsgi_app": hello})
    socks = open_many(server.ports[0], 2000, PARTIAL)
    try:
        assert wait_until(lambda: len(server.monitor) == 2000)
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.0
        socks[0].settimeout(5)
        assert socks[0].recv(100) == b""
    finally:
        for sock in socks:
            sock.close()


def test_a_connection_that_sends_nothing_gets_no_thread_and_no_answer(start_server):
    server = start_server(None, interfaces=("127.0.0.1", 0), app_info={"wsgi_app": hello},
                            header_timeout=0.5)
    with socket.create_connection(("127.0.0.1", server.ports[0]), timeout=5) as sock:
        assert sock.recv(100) == b""  # closed at header_timeout, no 408 for silence
    assert server.figures()["requests"] == 0


def read_hello(sock):
    """One keep-alive response to GET (the hello app's): its bytes."""
    data = b""
    while not data.endswith(b"hello"):
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    return data


def test_partial_next_heads_of_keep_alive_clients_wait_in_the_monitor(start_server):
    """A parked keep-alive connection that became readable is read by a pool thread; when
    that read finds only part of the next head, the connection goes back to the monitor at
    once: 50 such clients on 2 threads hold no thread, and a normal request is answered."""
    server = start_server(None, interfaces=("127.0.0.1", 0), app_info={"wsgi_app": hello},
                          min_threads=2, max_threads=2, header_timeout=10.0)
    port = server.ports[0]
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(50)]
    try:
        for sock in socks:
            sock.sendall(GET)
            assert read_hello(sock).startswith(b"HTTP/1.1 200 ")
        assert wait_until(lambda: server.monitor.phases()["idle"] == 50)
        for sock in socks:
            sock.sendall(PARTIAL)
        assert wait_until(lambda: server.monitor.phases()["head"] == 50)
        elapsed, data = timed_get(port)
        assert data.startswith(b"HTTP/1.1 200 ") and elapsed < 1.0
        for sock in socks:
            sock.sendall(b"\r\n")
        for sock in socks:
            assert read_hello(sock).startswith(b"HTTP/1.1 200 ")
    finally:
        for sock in socks:
            sock.close()
