"""The one way tests start an in-process server: real, on 127.0.0.1 port 0, always stopped.

- the ``start_server`` fixture (tests/conftest.py) is a :class:`Servers`: every server it
  starts is stopped at teardown, even when its start failed;
- :func:`running` is the same as a context manager, for code that cannot take a fixture
  (module-scoped fixtures, hypothesis, loops over parameters).

``start_server(app, **settings)`` builds a ``Rocket`` serving the WSGI ``app``;
``start_server(None, method="fs", app_info={...})`` another method;
``start_server(interfaces=[...])`` other addresses (TLS tuples, ``unix:PATH``);
``start_server(server)`` starts a server built by the test (``SocketServer``, ``Server``, a
subclass). Signals stay off unless asked. The started server is returned with ``port`` set to
its first TCP port (None when it only listens on unix sockets).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, List

from rocket import Rocket

LOCAL = ("127.0.0.1", 0)


class Servers:
    """Starts servers in the background and remembers them for :meth:`stop_all`."""

    def __init__(self) -> None:
        self.started: List[Rocket] = []

    def __call__(self, app: Any = None, *, interfaces: Any = LOCAL, method: str = "wsgi",
                 app_info: Any = None, **settings: Any) -> Any:
        if isinstance(app, Rocket):
            if settings or app_info is not None or interfaces is not LOCAL or method != "wsgi":
                raise TypeError("a server built by the test takes no further options")
            server = app
        else:
            info = dict(app_info or {})
            if app is not None:
                info["wsgi_app"] = app
            settings.setdefault("handle_signals", False)
            server = Rocket(interfaces, method, info, **settings)
        self.started.append(server)
        server.start(background=True)
        ports = server.ports
        server.port = ports[0] if ports else None  # type: ignore[attr-defined]
        return server

    def stop_all(self) -> None:
        """Stop every server started here, the last one first."""
        while self.started:
            self.started.pop().stop()


@contextlib.contextmanager
def running(app: Any = None, **options: Any) -> Iterator[Any]:
    """``with running(app, **options) as server``: :class:`Servers` for one block."""
    servers = Servers()
    try:
        yield servers(app, **options)
    finally:
        servers.stop_all()
