"""Listening sockets (rocket.net.binding, the one binder: single server and arbiter) and the
shared worker slot (rocket.process.scoreboard)."""

from __future__ import annotations

import os
import socket

import pytest

from rocket.config.settings import Config, ConfigError, Interface
from rocket.net.binding import (
    adopt_fd,
    bind_interfaces,
    bind_socket,
    listen_fds,
    reuse_port_sockets,
    reuse_port_supported,
)
from rocket.process.scoreboard import SERVING, Board, Slot


def test_bind_tcp_port_0_is_listening_and_inheritable():
    sock = bind_socket(Interface("127.0.0.1", 0), backlog=8)
    try:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        assert sock.get_inheritable()
        assert sock.getsockname()[0] == "127.0.0.1" and sock.getsockname()[1] > 0
    finally:
        sock.close()


@pytest.mark.skipif(not reuse_port_supported(), reason="no SO_REUSEPORT")
def test_reuse_port_lets_two_sockets_listen_on_one_port():
    first = bind_socket(Interface("127.0.0.1", 0), reuse_port=True)
    port = first.getsockname()[1]
    second = bind_socket(Interface("127.0.0.1", port), reuse_port=True)
    try:
        assert second.getsockname()[1] == port
        with pytest.raises(OSError):
            bind_socket(Interface("127.0.0.1", port)).close()   # without it: address in use
    finally:
        first.close()
        second.close()


def test_unix_socket_replaces_a_stale_file_but_not_a_live_server_or_a_file(tmp_path):
    path = str(tmp_path / "s.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()                                   # the file stays, nobody listens
    live = bind_socket(Interface("", 0, unix_path=path))
    try:
        assert live.getsockname() == path
        with pytest.raises(OSError, match="in use"):
            bind_socket(Interface("", 0, unix_path=path))
    finally:
        live.close()
    plain = tmp_path / "plain"
    plain.write_text("x")
    with pytest.raises(OSError, match="not a socket"):
        bind_socket(Interface("", 0, unix_path=str(plain)))
    assert plain.read_text() == "x"


def test_adopt_fd_takes_a_listening_socket_and_refuses_anything_else():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    adopted = adopt_fd(listener.fileno())
    try:
        assert adopted.family == socket.AF_INET and adopted.type == socket.SOCK_STREAM
        assert adopted.getsockname() == listener.getsockname()
        assert adopted.fileno() != listener.fileno()  # a duplicate: fd N stays the caller's
        adopted.close()
        assert listener.getsockname()[1]  # still open: closing the adopted one closed its copy
    finally:
        adopted.close()
        listener.close()
    idle = socket.socket()
    try:
        with pytest.raises(OSError, match="not listening"):
            adopt_fd(idle.fileno())
    finally:
        idle.close()
    r, w = os.pipe()
    before = len(os.listdir("/proc/self/fd"))
    try:
        with pytest.raises(OSError, match="not an open socket"):
            adopt_fd(r)
        assert len(os.listdir("/proc/self/fd")) == before  # its duplicate closed again
    finally:
        os.close(r)
        os.close(w)


def test_listen_fds_ignores_other_processes_and_clears_the_variables():
    env = {"LISTEN_PID": str(os.getpid() + 1), "LISTEN_FDS": "1", "LISTEN_FDNAMES": "web"}
    assert listen_fds(environ=env) == []
    assert env == {}
    assert listen_fds(environ={}) == []
    with pytest.raises(OSError, match="not a number"):
        listen_fds(environ={"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "two"})


def test_fd_bind_strings():
    with pytest.raises(ConfigError, match="fd:// needs a descriptor number"):
        Config(bind=["fd://x"])
    config = Config(bind=["fd://5", "127.0.0.1:0"])
    assert config.bind[0].fd == 5 and config.bind[0].describe() == "fd://5"


def test_slot_round_trip_and_unknown_fields():
    slot = Slot(lambda: 5.0)
    try:
        assert slot.read()["heartbeat_at"] == 5.0 and slot.read()["requests"] == 0
        slot.write(pid=42, state=SERVING, requests=7, progress_at=6.5)
        record = slot.read()
        assert (record["pid"], record["state"], record["requests"]) == (42, SERVING, 7)
        assert record["progress_at"] == 6.5
        with pytest.raises(KeyError):
            slot.write(nonsense=1)
    finally:
        slot.close()


def test_slot_written_by_a_child_process_is_read_by_the_parent():
    slot = Slot()
    pid = os.fork()
    if pid == 0:
        try:
            slot.write(pid=os.getpid(), requests=123)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    try:
        assert slot.read()["pid"] == pid and slot.read()["requests"] == 123
    finally:
        slot.close()


def test_slot_left_mid_write_is_still_readable():
    slot = Slot()
    slot.write(requests=9)
    slot._map[0:8] = (slot._seq + 1).to_bytes(8, "little")   # a writer killed mid-write
    try:
        assert slot.read()["requests"] == 9
    finally:
        slot.close()


def test_board_entries_are_claimed_published_and_freed():
    board = Board(entries=3)
    try:
        assert board.counts() == (-1, -1, -1)
        assert [board.claim(), board.claim(), board.claim(), board.claim()] == [0, 1, 2, None]
        board.set(1, 7)
        board.set(0, -1)
        assert board.counts() == (-1, 7, 0) and board.claim() == 0
    finally:
        board.close()


def test_bind_interfaces_resolves_ports_and_lists_unix_paths(tmp_path):
    path = str(tmp_path / "a.sock")
    sockets, bound, unix_paths = bind_interfaces(
        [Interface("127.0.0.1", 0), Interface("", 0, unix_path=path)], backlog=8)
    try:
        assert bound[0].port == sockets[0].getsockname()[1] != 0
        assert unix_paths == [path] and bound[1].unix_path == path
    finally:
        for sock in sockets:
            sock.close()


@pytest.mark.skipif(not reuse_port_supported(), reason="no SO_REUSEPORT")
def test_reuse_port_reserves_the_port_without_listening_and_workers_bind_their_own():
    sockets, bound, _ = bind_interfaces([Interface("127.0.0.1", 0)], backlog=8, reuse_port=True)
    reserved = sockets[0]
    own = reuse_port_sockets(bound, sockets, backlog=8)
    try:
        assert not reserved.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        assert own[0] is not reserved and own[0].getsockname() == reserved.getsockname()
        client = socket.create_connection(("127.0.0.1", bound[0].port), timeout=5)
        accepted, _ = own[0].accept()                # the only listener gets the connection
        accepted.close()
        client.close()
    finally:
        own[0].close()
        reserved.close()


def test_refusals_carry_eaddrinuse_so_the_cli_says_address_already_in_use(tmp_path):
    import errno

    plain = tmp_path / "plain"
    plain.write_text("x")
    with pytest.raises(OSError) as refused:
        bind_socket(Interface("", 0, unix_path=str(plain)))
    assert refused.value.errno == errno.EADDRINUSE
    path = str(tmp_path / "live.sock")
    live = bind_socket(Interface("", 0, unix_path=path))
    try:
        with pytest.raises(OSError) as taken:
            bind_socket(Interface("", 0, unix_path=path))
        assert taken.value.errno == errno.EADDRINUSE
    finally:
        live.close()


def test_host_names_resolve_and_inheritance_is_the_callers_choice():
    sock = bind_socket(Interface("localhost", 0), inheritable=False)
    try:
        assert not sock.get_inheritable()
        assert sock.getsockname()[0] in ("127.0.0.1", "::1")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
    finally:
        sock.close()


def test_an_ipv6_literal_is_ipv6_only_so_both_families_can_share_a_port():
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        v6 = bind_socket(Interface("::", 0))
    except OSError:
        pytest.skip("IPv6 is not available here")
    try:
        assert v6.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
        v4 = bind_socket(Interface("0.0.0.0", v6.getsockname()[1]))
        v4.close()
    finally:
        v6.close()
