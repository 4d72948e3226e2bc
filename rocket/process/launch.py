"""The one process launcher: ``Rocket.start()``, ``SocketServer.start()`` and the ``rocket``
command all serve in worker processes through :func:`launch`.

The server side hands in what this package must not import (it never imports
``rocket.server``):

- ``build_server(app, settings, sockets)``, run in each forked worker process, returns the
  single-process server it runs: one with ``start(background=True)``, ``stop()``,
  ``figures()``, ``drain(timeout, hurry=, stop=)`` and ``listeners``
  (:class:`rocket.server.lifecycle.Lifecycle`). ``settings`` are the arbiter's, with ``bind``
  holding the bound interfaces; ``sockets`` are the pre-bound listening sockets, in order.
- ``describe(arbiter)``, the shape of ``info()`` (``rocket.server.info.arbiter_info``).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from rocket.process.arbiter import Arbiter

__all__ = ["launch", "app_loader"]


def launch(settings: Dict[str, Any], build_server: Callable[..., Any],
           load_app: Optional[Callable[[], Any]] = None, *,
           describe: Callable[[Arbiter], Dict[str, Any]],
           ready: Optional[Callable[[Arbiter], None]] = None) -> int:
    """Bind, fork ``settings['workers']`` processes, each running ``build_server(load_app(),
    ...)``, and supervise them until stopped; returns the exit code (0, or 3 when no worker
    could boot).

    Runs in the foreground on the main thread (the arbiter takes the signals). ``ready``
    receives the :class:`~rocket.process.arbiter.Arbiter` before it starts, for other threads
    to read ``info()`` and call ``request_stop()``. Without ``load_app`` the app is None (a
    server that already holds its app).
    """
    arbiter = Arbiter(load_app or _no_app, settings, build_server, describe)
    if ready is not None:
        ready(arbiter)
    return arbiter.run()


def app_loader(app: Any) -> Callable[[], Any]:
    """``load_app`` for ``app``: a ``MODULE:APP`` string is imported in each worker process
    (so a reload imports fresh code); anything else is handed over as it is."""
    if isinstance(app, str):
        from rocket.appimport import load_app

        return lambda: load_app(app)
    return lambda: app


def _no_app() -> None:
    return None
