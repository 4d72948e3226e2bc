"""Listener: accepts on TCP/IPv6/unix, back-pressure, EMFILE back-off, clean stop, TLS setup."""

from __future__ import annotations

import errno
import os
import socket
import struct
import sys
import threading
import time

import pytest

from rocket.config.settings import ConfigError, Interface
from rocket.net.listener import ACCEPT_CAPACITY_ERRNOS, Listener


@pytest.fixture
def listeners():
    made = []

    def make(*args, **kwargs):
        listener = Listener(*args, **kwargs)
        made.append(listener)
        listener.start()
        return listener

    yield make
    for listener in made:
        listener.stop()


def collector():
    got = []
    event = threading.Event()

    def on_accept(sock, addr, listener):
        got.append((sock, addr, listener))
        event.set()

    return got, event, on_accept


def test_accepts_and_names_its_thread(listeners):
    got, event, on_accept = collector()
    listener = listeners(Interface("127.0.0.1", 0), on_accept)
    assert listener.port > 0 and listener.interface.port == listener.port
    assert f"rocket-listener-{listener.port}" in [t.name for t in threading.enumerate()]
    client = socket.create_connection(("127.0.0.1", listener.port))
    assert event.wait(2)
    sock, addr, who = got[0]
    assert who is listener and addr[1] == client.getsockname()[1]
    assert sock.gettimeout() is None
    sock.close()
    client.close()


def test_queued_clients_are_accepted_without_waiting_and_a_new_one_wakes_the_wait():
    """accept() comes first: clients already queued cost no wait (no poll() per connection);
    the thread waits only when none is queued, and a client arriving then is taken at once,
    not after the wait's ACCEPT_POLL_S."""
    listener = Listener(Interface("127.0.0.1", 0), lambda *a: None)
    assert listener.sock.gettimeout() == 0.0  # non-blocking: no poll() hidden in accept()
    waits = []
    wait = listener._wait_for_client

    def counted():
        waits.append(time.monotonic())
        wait()

    listener._wait_for_client = counted  # type: ignore[method-assign]
    got, event, on_accept = collector()
    listener.on_accept = on_accept
    clients = [socket.create_connection(("127.0.0.1", listener.port)) for _ in range(20)]
    time.sleep(0.1)  # every handshake done: all 20 queued before the thread starts
    listener.start()
    try:
        deadline = time.monotonic() + 3
        while len(got) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(got) == 20
        assert len(waits) <= 1  # at most the wait begun after the queue ran dry
        time.sleep(0.3)  # the thread waits for a client now
        event.clear()
        started = time.monotonic()
        late = socket.create_connection(("127.0.0.1", listener.port))
        clients.append(late)
        assert event.wait(3) and len(got) == 21
        assert time.monotonic() - started < 0.5  # woken by the client, well before 1 s
    finally:
        listener.stop()
        for sock in clients + [g[0] for g in got]:
            sock.close()


def test_stop_closes_the_socket_and_the_port_is_free_at_once():
    listener = Listener(Interface("127.0.0.1", 0), lambda *a: a[0].close())
    listener.start()
    port = listener.port
    client = socket.create_connection(("127.0.0.1", port))  # leaves a TIME_WAIT behind
    time.sleep(0.05)
    client.close()
    t0 = time.monotonic()
    listener.stop()
    assert time.monotonic() - t0 < 0.5
    assert not [t for t in threading.enumerate() if t.name == f"rocket-listener-{port}"]
    again = Listener(Interface("127.0.0.1", port), lambda *a: None)
    assert again.port == port
    again.close()


def test_back_pressure_waits_for_room(listeners):
    got, event, on_accept = collector()
    room = [False]
    listener = listeners(Interface("127.0.0.1", 0), on_accept, has_room=lambda: room[0])
    client = socket.create_connection(("127.0.0.1", listener.port))  # sits in the backlog
    assert not event.wait(0.2)
    room[0] = True
    assert event.wait(2)
    got[0][0].close()
    client.close()


def test_ipv6(listeners):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("::1 not available")
    got, event, on_accept = collector()
    listener = listeners(Interface("::1", 0), on_accept)
    client = socket.create_connection(("::1", listener.port))
    assert event.wait(2)
    assert got[0][1][0] == "::1"
    got[0][0].close()
    client.close()


def test_own_socket_is_not_inherited_by_the_apps_processes(listeners):
    listener = listeners(Interface("127.0.0.1", 0), lambda *a: None)
    assert listener.owns_socket and not listener.sock.get_inheritable()


def test_unix_socket(listeners, tmp_path):
    path = str(tmp_path / "r.sock")
    got, event, on_accept = collector()
    listener = listeners(Interface("", 0, unix_path=path), on_accept)
    client = socket.socket(socket.AF_UNIX)
    client.connect(path)
    assert event.wait(2)
    got[0][0].close()
    client.close()
    listener.stop()
    assert not os.path.exists(path)


class CapacityFailingSocket:
    """A listening socket whose accept() fails with EMFILE: the listener must back off.
    (The listener calls ``_accept``, the descriptor-level accept of ``socket.socket``.)"""

    family = socket.AF_INET
    type = socket.SOCK_STREAM

    def __init__(self):
        self.calls = 0

    def getsockname(self):
        return ("127.0.0.1", 1)

    def setblocking(self, flag):
        pass

    def _accept(self):
        self.calls += 1
        raise OSError(errno.EMFILE, "Too many open files")

    def shutdown(self, how):
        pass

    def close(self):
        pass


def test_backs_off_when_out_of_descriptors(caplog):
    fake = CapacityFailingSocket()
    listener = Listener(Interface("127.0.0.1", 1), lambda *a: None, sock=fake)  # type: ignore[arg-type]
    listener.start()
    time.sleep(0.6)
    listener.stop()
    assert 2 <= fake.calls <= 12  # 10 ms, 20 ms, ... 500 ms: no spinning
    assert "Too many open files" in caplog.text
    assert errno.EMFILE in ACCEPT_CAPACITY_ERRNOS and errno.ENFILE in ACCEPT_CAPACITY_ERRNOS


class CapacityOnceSocket(CapacityFailingSocket):
    """Fails with EMFILE ``failures`` times, then accepts a real connection each call."""

    def __init__(self, failures, real):
        super().__init__()
        self.failures = failures
        self.real = real

    def _accept(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise OSError(errno.EMFILE, "Too many open files")
        return self.real._accept()


def test_capacity_callbacks_retry_at_once_or_back_off_then_recover_and_make_room():
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)  # the fake's setblocking() does nothing: let the thread see stop()
    clients = [socket.create_connection(server.getsockname()) for _ in range(2)]
    freed, recovered, accepted, rooms = [True, False], [], [], []
    fake = CapacityOnceSocket(2, server)
    listener = Listener(Interface("127.0.0.1", 1), lambda sock, *a: accepted.append(sock),
                        sock=fake, on_capacity_error=lambda exc: freed.pop(0),  # type: ignore[arg-type]
                        on_capacity_recovered=lambda: recovered.append(len(accepted)),
                        make_room=lambda: rooms.append(len(accepted)))
    listener.start()
    try:
        deadline = time.monotonic() + 3
        while len(accepted) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        listener.stop()
        for sock in accepted + clients:
            sock.close()
        server.close()
    assert len(accepted) == 2 and freed == []
    assert recovered == [0]  # once, on the first accept after the back-off
    assert rooms == [0, 1]  # once per accepted connection, before it is passed on


def test_a_connection_make_room_refuses_is_closed_and_not_passed_on(listeners):
    got, event, on_accept = collector()
    answers = [False, True]
    listener = listeners(Interface("127.0.0.1", 0), on_accept, make_room=lambda: answers.pop(0))
    refused = socket.create_connection(("127.0.0.1", listener.port), timeout=3)
    refused.settimeout(3)
    assert refused.recv(1) == b""  # closed by the server, never passed on
    admitted = socket.create_connection(("127.0.0.1", listener.port), timeout=3)
    try:
        assert event.wait(3) and len(got) == 1 and answers == []
    finally:
        refused.close()
        admitted.close()
        for sock, _, _ in got:
            sock.close()


def test_missing_or_bad_tls_files_fail_at_construction(tmp_path, tls_files):
    missing = Interface("127.0.0.1", 0, str(tmp_path / "nokey.pem"), tls_files.cert_path)
    with pytest.raises(ConfigError, match="keyfile .*nokey.pem.* does not exist"):
        Listener(missing, lambda *a: None)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(ConfigError, match="cannot use certfile"):
        Listener(Interface("127.0.0.1", 0, tls_files.key_path, str(garbage)), lambda *a: None)


def test_tls_sockets_are_wrapped_without_handshake(listeners, tls_files):
    import ssl

    got, event, on_accept = collector()
    listener = listeners(Interface("127.0.0.1", 0, tls_files.key_path, tls_files.cert_path),
                         on_accept)
    silent = socket.create_connection(("127.0.0.1", listener.port))  # never handshakes
    assert event.wait(2)  # the accept path did not wait for it
    sock = got[0][0]
    assert isinstance(sock, ssl.SSLSocket)
    sock.close()
    silent.close()


@pytest.mark.skipif(not hasattr(socket, "TCP_DEFER_ACCEPT"), reason="Linux only")
def test_defer_accept_hands_over_a_connection_with_its_first_bytes(listeners):
    got, event, on_accept = collector()
    listener = listeners(Interface("127.0.0.1", 0), on_accept, defer_accept_s=1)
    assert listener.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT) > 0
    silent = socket.create_connection(("127.0.0.1", listener.port))
    talking = socket.create_connection(("127.0.0.1", listener.port))
    talking.sendall(b"GET / HTTP/1.1\r\n")
    assert event.wait(2)
    sock = got[0][0]
    assert got[0][1][1] == talking.getsockname()[1]  # the silent one waits in the kernel
    assert sock.recv(100, socket.MSG_DONTWAIT) == b"GET / HTTP/1.1\r\n"
    for item in got:
        item[0].close()
    silent.close()
    talking.close()
    plain = listeners(Interface("127.0.0.1", 0), on_accept)
    assert plain.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT) == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux copies the options")
def test_tcp_options_are_set_once_on_the_listener_and_inherited_by_accepted_sockets(listeners):
    got, event, on_accept = collector()
    listener = listeners(Interface("127.0.0.1", 0), on_accept, send_timeout_s=7.5)
    assert listener.inherited_options
    client = socket.create_connection(("127.0.0.1", listener.port))
    assert event.wait(2)
    sock = got[0][0]
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    assert struct.unpack("ll", sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, 16)) \
        == (7, 500000)
    sock.close()
    client.close()
    plain = listeners(Interface("127.0.0.1", 0), on_accept)  # no send timeout: nothing set
    assert not plain.inherited_options


def test_a_hand_over_makes_a_new_thread_accept_while_the_old_one_serves(listeners):
    """begin_serving/end_serving bracket a request served on the accepting thread; hand_over
    starts a new accepting thread, the old one ends after its request, and stop() does not
    wait for a thread that is serving."""
    release = threading.Event()
    served = []

    def on_accept(sock, addr, listener):
        since = listener.begin_serving()
        try:
            served.append((threading.current_thread(), since))
            release.wait(10)
        finally:
            listener.end_serving(since)
            sock.close()

    listener = listeners(Interface("127.0.0.1", 0), on_accept)
    name = f"rocket-listener-{listener.port}"
    first = socket.create_connection(("127.0.0.1", listener.port))
    deadline = time.monotonic() + 5
    while not served:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    old, since = served[0]
    assert listener.serving_since == since
    assert not listener.hand_over(since + 1)  # not the request being served
    assert listener.hand_over(since)
    assert not listener.hand_over(since)  # once
    assert listener.hand_overs == 1 and listener.serving_since == 0.0
    # The new thread accepts (and serves) while the old one is still in its request.
    second = socket.create_connection(("127.0.0.1", listener.port))
    while len(served) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert served[1][0] is not old and listener.serving_since == served[1][1]
    t0 = time.monotonic()
    listener.stop()  # both threads serve: stop() waits for neither
    assert time.monotonic() - t0 < 0.5
    release.set()
    old.join(5)
    served[1][0].join(5)
    assert not [t for t in threading.enumerate() if t.name == name]
    assert listener.serving_since == 0.0
    first.close()
    second.close()


def test_an_ended_request_cannot_be_handed_over(listeners):
    listener = listeners(Interface("127.0.0.1", 0), lambda *a: a[0].close())
    since = listener.begin_serving()
    listener.end_serving(since)
    assert listener.serving_since == 0.0 and not listener.hand_over(since)
    since = listener.begin_serving()
    listener.stop()
    assert not listener.hand_over(since)  # stopped: no new thread
    listener.end_serving(since)
