"""``CherryPyWSGIServer``: Rocket's drop-in adapter for code written against CherryPy's server."""

from __future__ import annotations

from typing import Any, Optional

from rocket.server.wsgi import Rocket


def CherryPyWSGIServer(bind_addr: Any, wsgi_app: Any, numthreads: int = 10,
                       server_name: Optional[str] = None, max: int = -1,
                       request_queue_size: int = 5, timeout: int = 10,
                       shutdown_timeout: int = 5) -> Rocket:
    """A Rocket serving ``wsgi_app`` on ``bind_addr`` with CherryPy's argument names.

    ``numthreads`` is the minimum pool size, ``max`` the maximum (-1 = unbounded),
    ``request_queue_size`` the listen backlog, ``timeout`` the per-socket read timeout.
    ``shutdown_timeout`` is the ``graceful_timeout`` of stop() (CherryPy's meaning: seconds
    requests in flight get to finish).
    """
    max_threads = max if max is not None and max > 0 else 0
    settings: dict = {"header_timeout": timeout, "body_timeout": timeout,
                      "handle_signals": False, "graceful_timeout": shutdown_timeout}
    if server_name is not None:
        settings["server_name"] = server_name
    if max_threads and numthreads > max_threads:
        numthreads = max_threads
    return Rocket(bind_addr, "wsgi", {"wsgi_app": wsgi_app}, numthreads, max_threads,
                  request_queue_size, **settings)
