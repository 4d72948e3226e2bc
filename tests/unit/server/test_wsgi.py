"""Which defaults each entry point takes: compatibility APIs keep Rocket's, the rest production."""

from __future__ import annotations

import pytest

from rocket import CherryPyWSGIServer, Rocket, Rocket3, Server, SocketServer
from rocket.config.settings import MAX_THREADS_BOUND


def app(environ, start_response):
    start_response("200 OK", [])
    return [b""]


class Lines:
    def decode(self, data):
        return None, data

    def encode(self, message):
        return message


@pytest.mark.parametrize("make,bound", [
    (lambda: Rocket(("127.0.0.1", 0), "wsgi", {"wsgi_app": app}), 0),
    (lambda: Rocket3(("127.0.0.1", 0), "wsgi", {"wsgi_app": app}), 0),
    (lambda: CherryPyWSGIServer(("127.0.0.1", 0), app), 0),
    (lambda: Server(app, port=0), MAX_THREADS_BOUND),
    (lambda: Server(app, port=0, threads="4"), MAX_THREADS_BOUND),
    (lambda: SocketServer(Lines, lambda conn, msg: None, bind=("127.0.0.1", 0)),
     MAX_THREADS_BOUND),
])
def test_each_entry_point_takes_its_max_threads_default(make, bound):
    server = make()
    assert server.config.max_threads == server.max_threads == bound
    assert server.config.compatible == (bound == 0)


def test_explicit_threads_win_everywhere():
    assert Server(app, port=0, threads="2:6").config.max_threads == 6
    assert Server(app, port=0, threads="4:0").config.max_threads == 0
    assert Rocket(("127.0.0.1", 0), "wsgi", {"wsgi_app": app}, 2, 9).config.max_threads == 9
    server = Server(app, port=0, threads=str(MAX_THREADS_BOUND + 1))
    assert server.config.max_threads == MAX_THREADS_BOUND + 1  # MIN above the bound raises it


@pytest.mark.parametrize("make,keep_alive", [
    (lambda: Rocket(("127.0.0.1", 0), "wsgi", {"wsgi_app": app}), 600),
    (lambda: Rocket3(("127.0.0.1", 0), "wsgi", {"wsgi_app": app}), 600),
    (lambda: Server(app, port=0), 75),
    (lambda: SocketServer(Lines, lambda conn, msg: None, bind=("127.0.0.1", 0)), 75),
    (lambda: Server(app, port=0, keep_alive=5), 5),
    (lambda: Rocket(("127.0.0.1", 0), "wsgi", {"wsgi_app": app}, timeout=9), 9),
])
def test_each_entry_point_takes_its_keep_alive_default(make, keep_alive):
    assert make().config.keep_alive == keep_alive


def test_the_command_line_takes_the_production_keep_alive(capsys):
    from rocket.cli.main import main

    assert main(["--check-config", "--bind", "127.0.0.1:0"]) == 0
    assert "keep_alive = 75.0" in capsys.readouterr().out
