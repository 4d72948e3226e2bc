"""``examples/echo.py`` and ``examples/line_chat.py`` run as subprocesses on loopback, driven
by their command-line flags; every process is stopped (SIGTERM, then SIGKILL) by the
``rocket_process`` fixture."""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List, Tuple

import pytest

from tests.functional.cli_support import RocketProcess
from tests.functional.test_socketserver import recv_exactly

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
LISTENING = re.compile(r"Listening on sockets: (\S+?):(\d+)$")

if not hasattr(signal, "SIGTERM") or os.name != "posix":  # pragma: no cover
    pytest.skip("the examples are driven with POSIX signals", allow_module_level=True)


def example(name: str, *args: str) -> RocketProcess:
    """``python examples/NAME ARGS`` with its log (stdout and stderr) read live."""
    return RocketProcess(args, ROOT, env=dict(os.environ, PYTHONPATH=ROOT, PYTHONUNBUFFERED="1"),
                         program=[sys.executable, os.path.join(EXAMPLES, name)],
                         merge_output=True)


def tcp_port(process: RocketProcess) -> int:
    return int(process.wait_for(LISTENING).group(2))


def echo_clients(address: Tuple, family: int, clients: int) -> List[bool]:
    """``clients`` concurrent connections, each sending its own bytes and checking them."""

    def one(n: int) -> bool:
        payload = (b"<%d>" % n) * 500
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(address)
            sock.sendall(payload)
            return recv_exactly(sock, len(payload)) == payload

    with ThreadPoolExecutor(min(clients, 32)) as pool:
        return list(pool.map(one, range(clients), timeout=30))


def test_echo_example_over_tcp_with_the_documented_flags(rocket_process):
    echo = rocket_process(example("echo.py", "--bind", "127.0.0.1:0", "--backlog", "1000",
                       "--keep-alive", "10", "--concurrency", "thread"))
    port = tcp_port(echo)
    assert echo_clients(("127.0.0.1", port), socket.AF_INET, 50) == [True] * 50
    assert echo.stop() == 0
    assert "Stopping Server" in echo.log() and "Traceback" not in echo.log()


def test_echo_example_over_a_unix_socket(rocket_process, tmp_path):
    path = str(tmp_path / "echo.sock")
    echo = rocket_process(example("echo.py", "--bind", "unix:" + path))
    echo.wait_for(re.escape("Listening on sockets: unix:" + path))
    assert echo_clients(path, socket.AF_UNIX, 20) == [True] * 20
    assert echo.stop() == 0


def test_echo_example_keep_alive_flag_closes_idle_clients(rocket_process):
    echo = rocket_process(example("echo.py", "--bind", "127.0.0.1:0", "--keep-alive", "0.5"))
    with socket.create_connection(("127.0.0.1", tcp_port(echo)), timeout=5) as sock:
        sock.sendall(b"ping")
        assert recv_exactly(sock, 4) == b"ping"
        started = time.monotonic()
        assert sock.recv(10) == b""  # closed by the server, not by the 5 s client timeout
        assert time.monotonic() - started < 3.0


def test_echo_example_bad_flag_is_one_line_and_exit_code_2(rocket_process):
    echo = rocket_process(example("echo.py", "--backlog", "lots"))
    assert echo.proc.wait(20) == 2
    echo.wait()
    assert "--backlog" in echo.log() and "Traceback" not in echo.log()


def test_line_chat_example_broadcasts_to_the_others(rocket_process):
    chat = rocket_process(example("line_chat.py", "--bind", "127.0.0.1:0"))
    port = tcp_port(chat)
    people: List[socket.socket] = []
    readers = []
    try:
        for n in range(3):  # one at a time: each welcome counts the people online
            people.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            readers.append(people[-1].makefile("rb"))
            assert readers[-1].readline() == b"* welcome, %d online\n" % (n + 1)
        alice, bob, carol = people
        alice_port = alice.getsockname()[1]
        alice.sendall(b"hello\nhow are you\n")
        for reader in readers[1:]:
            assert reader.readline() == b"127.0.0.1:%d: hello\n" % alice_port
            assert reader.readline() == b"127.0.0.1:%d: how are you\n" % alice_port
        alice.settimeout(0.3)
        with pytest.raises(socket.timeout):
            alice.recv(100)  # nobody echoes to the sender
        readers[1].close()
        bob.close()  # bob leaves: the others keep chatting
        time.sleep(0.2)
        carol.sendall(b"bye\n")
        alice.settimeout(5)
        assert readers[0].readline() == b"127.0.0.1:%d: bye\n" % carol.getsockname()[1]
    finally:
        for sock in people:
            sock.close()
    assert chat.stop() == 0
