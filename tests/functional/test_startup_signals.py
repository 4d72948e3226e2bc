"""Signal handlers are in place before the listeners exist: a SIGTERM right after the
"Listening on sockets" line is a clean stop (exit 0, unix socket file removed)."""

from __future__ import annotations

import os
import signal
import socket
import tempfile
import threading

import pytest

from rocket import Rocket
from tests.functional.cli_support import HELLO_APP, RocketProcess


def app(environ, start_response):
    start_response("204 No Content", [])
    return []


class RecordingRocket(Rocket):
    """Records the SIGTERM handler in force when the listeners are being created."""

    handler_at_bind = None

    def _start_components(self):
        self.handler_at_bind = signal.getsignal(signal.SIGTERM)
        super()._start_components()


@pytest.fixture
def short_dir():
    path = tempfile.mkdtemp(prefix="rks", dir="/tmp")  # sun_path holds about 100 bytes
    try:
        yield path
    finally:
        for name in os.listdir(path):
            os.unlink(os.path.join(path, name))
        os.rmdir(path)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signal handlers need the main thread")
def test_handlers_are_installed_before_the_listeners_and_restored_after(start_server):
    before = signal.getsignal(signal.SIGTERM)
    server = start_server(RecordingRocket(("127.0.0.1", 0), "wsgi", {"wsgi_app": app},
                                          handle_signals=True))
    assert server.handler_at_bind == server._signals.handler
    assert signal.getsignal(signal.SIGTERM) == server._signals.handler
    server.stop()
    assert signal.getsignal(signal.SIGTERM) == before
    quiet = start_server(RecordingRocket(("127.0.0.1", 0), "wsgi", {"wsgi_app": app},
                                         handle_signals=False))
    assert quiet.handler_at_bind == before  # handle_signals=False leaves them alone


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signal handlers need the main thread")
def test_a_failed_start_restores_the_handlers(start_server):
    before = signal.getsignal(signal.SIGTERM)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        server = RecordingRocket(taken.getsockname(), "wsgi", {"wsgi_app": app},
                                 handle_signals=True)
        with pytest.raises(OSError):
            start_server(server)
    assert server.handler_at_bind == server._signals.handler
    assert signal.getsignal(signal.SIGTERM) == before
    assert not server.running


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="unix sockets")
@pytest.mark.parametrize("round", range(3))
def test_sigterm_right_after_listening_is_a_clean_stop(tmp_path, short_dir, round):
    (tmp_path / "hello.py").write_text(HELLO_APP)
    path = os.path.join(short_dir, "s.sock")
    proc = RocketProcess(["-b", f"unix:{path}", "hello:app"], str(tmp_path))
    try:
        proc.wait_for("Listening on sockets: unix:")
        proc.proc.send_signal(signal.SIGTERM)  # at once: no request, no settling time
        code = proc.wait()
    finally:
        proc.stop()
    assert code == 0, proc.stderr
    assert not os.path.exists(path), "the unix socket file was left behind"
    assert "Stopping Server" in proc.stderr
