"""``python -m rocket.bench.serve KIND --port PORT``: run one server on the benchmark app.

``compare`` starts every server through this launcher (or through the server's own command
line, for gunicorn and granian), in the foreground, until SIGTERM. Every server gets the same
policy: loopback only, keep-alive on, access log off, ``--threads`` request threads for
thread-pool peers. Rocket itself runs with its own defaults, as a user would run it.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Callable, Dict

from rocket.appimport import AppImportError, load_app

BACKLOG = 1024  # peers default to 5..128; c=256 scenarios need a deeper accept queue
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _stop_on_sigterm() -> None:
    def handler(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, handler)


def run_rocket(app: Callable, a: argparse.Namespace) -> None:
    """The project's Rocket through its Rocket 1.x-compatible API, with default settings."""
    import rocket
    logging.getLogger("Rocket").setLevel(logging.CRITICAL)
    # Rocket handles SIGTERM/SIGINT itself (handle_signals defaults to True)
    rocket.Rocket((a.host, a.port), "wsgi", {"wsgi_app": app}).start()


def run_wsgiref(app: Callable, a: argparse.Namespace) -> None:
    """Standard library ``wsgiref`` with a thread per connection (HTTP/1.0, no keep-alive)."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args) -> None:
            pass

    class Threaded(ThreadingMixIn, WSGIServer):
        daemon_threads = True
        request_queue_size = BACKLOG

    srv = make_server(a.host, a.port, app, server_class=Threaded, handler_class=Quiet)
    _stop_on_sigterm()
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


def run_waitress(app: Callable, a: argparse.Namespace) -> None:
    """waitress with ``--threads`` threads (connection_limit raised for c=256)."""
    import waitress
    waitress.serve(app, host=a.host, port=a.port, threads=a.threads, backlog=BACKLOG,
                   connection_limit=4096, _quiet=True)


def run_cheroot(app: Callable, a: argparse.Namespace) -> None:
    """cheroot (CherryPy's server) with ``--threads`` threads."""
    from cheroot import wsgi
    server = wsgi.Server((a.host, a.port), app, numthreads=a.threads,
                         request_queue_size=BACKLOG)
    _stop_on_sigterm()
    try:
        server.safe_start()
    except KeyboardInterrupt:
        server.stop()


def run_rocket3(app: Callable, a: argparse.Namespace) -> None:
    """rocket3 (web2py's Rocket); max_threads=0 there means a fixed pool of min_threads."""
    import rocket3
    logging.getLogger("Rocket").setLevel(logging.CRITICAL)
    rocket3.Rocket3((a.host, a.port), "wsgi", {"wsgi_app": app},
                    min_threads=a.threads, max_threads=0).start()


def run_bjoern(app: Callable, a: argparse.Namespace) -> None:
    """bjoern (C, libev), single thread."""
    import bjoern
    bjoern.run(app, a.host, a.port)


def run_meinheld(app: Callable, a: argparse.Namespace) -> None:
    """meinheld (C, picoev), single thread; its keep-alive is off unless set."""
    from meinheld import server
    server.set_backlog(BACKLOG)
    server.set_keepalive(10)
    server.listen((a.host, a.port))
    server.run(app)


LAUNCHERS: Dict[str, Callable[[Callable, argparse.Namespace], None]] = {
    "rocket": run_rocket,
    "wsgiref": run_wsgiref,
    "waitress": run_waitress,
    "cheroot": run_cheroot,
    "rocket3": run_rocket3,
    "bjoern": run_bjoern,
    "meinheld": run_meinheld,
}


def main(argv=None) -> int:
    """Parse the launcher's arguments and serve until SIGTERM."""
    p = argparse.ArgumentParser(prog="python -m rocket.bench.serve",
                                description=__doc__.splitlines()[0])
    p.add_argument("kind", choices=sorted(LAUNCHERS))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--threads", type=int, default=32)
    p.add_argument("--app", default="rocket.bench.apps:app")
    a = p.parse_args(argv)
    if a.host not in LOOPBACK:
        p.error("benchmark servers listen on loopback only")
    try:
        app = load_app(a.app, add_cwd=False)
    except AppImportError as exc:
        p.error(str(exc))
    LAUNCHERS[a.kind](app, a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
