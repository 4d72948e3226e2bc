"""The Rocket 1.x / rocket3 surface: signature, aliases, constants, loggers, access-log line,
CherryPyWSGIServer, the modern Server/serve forms."""

from __future__ import annotations

import inspect
import logging
import platform
import socket
import threading

import pytest

import rocket
from rocket import CherryPyWSGIServer, ConfigError, Rocket, Rocket3, Server
from tests.apps.hello import app as hello
from tests.functional.client import raw_get, read_response


def test_signature_is_rockets_in_order():
    params = list(inspect.signature(Rocket).parameters.values())
    names = [p.name for p in params[:8]]
    assert names == ["interfaces", "method", "app_info", "min_threads", "max_threads",
                     "queue_size", "timeout", "handle_signals"]
    defaults = [p.default for p in params[:8]]
    assert defaults == [("127.0.0.1", 8000), "wsgi", None, None, None, None, 600, True]
    assert Rocket3 is Rocket


def test_constants():
    assert f"Rocket {rocket.__version__}" == rocket.SERVER_SOFTWARE
    assert f"{rocket.SERVER_SOFTWARE} Python/{platform.python_version()}" == \
        rocket.HTTP_SERVER_SOFTWARE
    assert rocket.BUF_SIZE == 16384 and rocket.SOCKET_TIMEOUT == 10
    assert rocket.DEFAULTS == {"LISTEN_QUEUE_SIZE": 5, "MIN_THREADS": 10, "MAX_THREADS": 0}
    assert socket.gethostname() == rocket.SERVER_NAME
    assert rocket.NullHandler is logging.NullHandler
    assert rocket.__version__ == rocket.VERSION
    assert set(rocket.__all__) >= {"Rocket", "Rocket3", "CherryPyWSGIServer", "serve"}


def test_all_positional_arguments():
    app_info = {"wsgi_app": hello}
    server = Rocket(("127.0.0.1", 0), "Wsgi", app_info, 2, 4, 3, 30, False)
    assert (server.min_threads, server.max_threads, server.timeout) == (2, 4, 30)
    assert server.config.queue_size == 3 and server.config.backlog == 3
    assert not server.handle_signals


def test_queue_size_is_capped_by_max_threads():
    server = Rocket(("127.0.0.1", 0), "wsgi", {"wsgi_app": hello}, 1, 2, 50,
                    handle_signals=False)
    assert server.config.queue_size == 2  # Rocket: no more waiting than there are threads
    assert server.config.backlog == 50


def test_unknown_method_and_setting_are_clear_errors():
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        Rocket(("127.0.0.1", 0), "nope", {"wsgi_app": hello})
    with pytest.raises(ConfigError, match="unknown setting 'linger_s'"):
        Rocket(("127.0.0.1", 0), "wsgi", {"wsgi_app": hello}, linger_s=1)
    with pytest.raises(ConfigError, match="min_threads"):
        Rocket(("127.0.0.1", 0), "wsgi", {"wsgi_app": hello}, 10, 5)


def test_loggers_and_access_line(start_server, caplog):
    caplog.set_level(logging.INFO, logger="Rocket")
    server = start_server(hello)
    port = server.port
    assert raw_get(port, "/x?y=1")[0] == b"HTTP/1.1 200 OK"
    server.stop()
    names = {record.name for record in caplog.records}
    assert "Rocket" in names and "Rocket.Requests" in names
    line = [r.getMessage() for r in caplog.records if r.name == "Rocket.Requests"][0]
    assert line == '127.0.0.1 - "GET /x?y=1 HTTP/1.1" - 200 13'
    assert any(r.getMessage() == "Stopping Server" for r in caplog.records)
    root = logging.getLogger("Rocket")
    assert any(isinstance(h, logging.NullHandler) for h in root.handlers)


def test_cherrypy_adapter_serves(start_server):
    server = CherryPyWSGIServer(("127.0.0.1", 0), hello, numthreads=3, server_name="cp.local",
                                max=8, request_queue_size=20, timeout=7)
    assert isinstance(server, Rocket)
    assert (server.min_threads, server.max_threads) == (3, 8)
    assert server.config.header_timeout == 7 and server.server_name == "cp.local"
    start_server(server)
    assert raw_get(server.port) == (b"HTTP/1.1 200 OK", b"Hello, World!")
    assert CherryPyWSGIServer(("127.0.0.1", 0), hello).max_threads == 0  # max=-1: unbounded


def test_server_context_manager_and_serve():
    with Server(hello, host="127.0.0.1", port=0, threads="2:6") as server:
        assert (server.min_threads, server.max_threads) == (2, 6)
        assert raw_get(server.ports[0])[1] == b"Hello, World!"
    assert not server.running

    holder = []

    def app(environ, start_response):
        return hello(environ, start_response)

    import rocket.server.wsgi as server_module

    original = server_module.Server.start

    def start_and_remember(self, background=False):
        holder.append(self)
        return original(self, background)

    server_module.Server.start = start_and_remember
    try:
        thread = threading.Thread(target=rocket.serve, args=(app,),
                                  kwargs={"port": 0, "handle_signals": False})
        thread.start()
        while not holder or not holder[0].running:
            thread.join(0.01)
        assert raw_get(holder[0].ports[0])[1] == b"Hello, World!"
        holder[0].stop()
        thread.join(5)
        assert not thread.is_alive()  # serve() returned once stopped
    finally:
        server_module.Server.start = original


def test_wsgi_multithread_reflects_max_threads(start_server):
    seen = {}

    def app(environ, start_response):
        seen["multithread"] = environ["wsgi.multithread"]
        seen["server_name"] = environ["SERVER_NAME"]
        return hello(environ, start_response)

    server = start_server(app, min_threads=1, max_threads=1)
    raw_get(server.port)
    assert seen == {"multithread": False, "server_name": socket.gethostname()}


def test_unix_socket_bind(start_server, tmp_path):
    path = str(tmp_path / "rocket.sock")
    server = start_server(hello, interfaces=f"unix:{path}")
    assert server.info()["listen"] == [f"unix:{path}"]
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(path)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock) == (b"HTTP/1.1 200 OK", b"Hello, World!")
    server.stop()
    import os

    assert not os.path.exists(path)


def test_worker_extension_point_is_exported(start_server):
    class Echo(rocket.Worker):
        """Answers every connection with one line and closes it."""

        def handle(self, conn):
            conn.sendall(b"echo\n")
            conn.close()
            return False

    rocket.register_method("echo-test", Echo)
    assert rocket.get_worker_class("ECHO-TEST") is Echo
    assert issubclass(rocket.WSGIWorker, rocket.Worker)
    server = start_server(method="echo-test")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        assert sock.recv(100) == b"echo\n"


def test_process_mode_refuses_the_background():
    server = Rocket(("127.0.0.1", 0), "wsgi", {"wsgi_app": hello}, workers=2,
                    handle_signals=False)
    assert server.multi_process
    with pytest.raises(ConfigError, match="foreground"):
        server.start(background=True)
    assert not server.running and server.info()["workers"] == []
