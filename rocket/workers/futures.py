"""The futures extra (Rocket's ``wsgiorg.executor`` / ``wsgiorg.futures``).

With ``app_info['futures'] = True`` every environ carries ``wsgiorg.executor``, a
``concurrent.futures`` executor whose ``submit`` returns a :class:`WSGIFuture`, and
``wsgiorg.futures``, a dict shared by all requests. A request starts background work and
``future.remember("report-42", lifespan=60)`` files it under a name; a later request finds it
in ``environ['wsgiorg.futures']`` and collects the result. ``forget()`` removes it; a
``lifespan`` (seconds, 0 = until forgotten) makes it expire on its own.
:class:`FuturesMiddleware` gives the same to any WSGI server.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Dict, Iterable, Optional

__all__ = ["WSGIFuture", "WSGIExecutor", "FuturesDict", "FuturesMiddleware"]

# Rocket's futures pool size: background work for a few requests, not a second server pool.
DEFAULT_FUTURE_THREADS = 5


class FuturesDict(dict):
    """Remembered futures by name; entries past their lifespan are dropped by :meth:`purge`."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self._expiring: Dict[str, float] = {}  # name -> monotonic expiry
        # No entry expires before this (it may be earlier than needed after a forget()), so
        # the per-request purge is one comparison until then, not a locked scan of them all.
        self._next_expiry = math.inf

    def purge(self, now: Optional[float] = None) -> None:
        """Forget every future whose lifespan has ended (called once per request)."""
        if not self._expiring:
            return
        now = time.monotonic() if now is None else now
        if now < self._next_expiry:
            return
        with self.lock:
            for name, expires in list(self._expiring.items()):
                if expires <= now:
                    del self._expiring[name]
                    self.pop(name, None)
            self._next_expiry = min(self._expiring.values(), default=math.inf)

    def _remember(self, name: str, future: WSGIFuture, lifespan: float) -> None:
        with self.lock:
            other = self.get(name)
            if other is not None and other is not future:
                raise NameError(f"a future is already remembered as {name!r}; forget() it first")
            self[name] = future
            if lifespan > 0:
                expires = self._expiring[name] = time.monotonic() + lifespan
                self._next_expiry = min(self._next_expiry, expires)
            else:
                self._expiring.pop(name, None)

    def _forget(self, name: str, future: WSGIFuture) -> None:
        with self.lock:
            if self.get(name) is future:
                del self[name]
                self._expiring.pop(name, None)


class WSGIFuture(Future):
    """A ``concurrent.futures.Future`` that can be remembered by name across requests."""

    def __init__(self, registry: FuturesDict) -> None:
        super().__init__()
        self._registry = registry
        self.name: Optional[str] = None

    def remember(self, name: str, lifespan: float = 0) -> WSGIFuture:
        """File this future in ``wsgiorg.futures`` as ``name`` for ``lifespan`` seconds
        (0 = until :meth:`forget`). Raises ``NameError`` if another future holds the name."""
        self._registry._remember(name, self, lifespan)
        self.name = name
        return self

    def forget(self) -> None:
        """Remove this future from ``wsgiorg.futures`` (no-op if it is not remembered)."""
        if self.name is not None:
            self._registry._forget(self.name, self)
            self.name = None


class WSGIExecutor(ThreadPoolExecutor):
    """A thread pool whose ``submit`` returns :class:`WSGIFuture` objects.

    ``multithread`` and ``multiprocess`` tell the application how its work runs (wsgiorg
    executor convention); ``futures`` is the shared name -> future dict.
    """

    multithread = True
    multiprocess = False

    def __init__(self, max_workers: int = DEFAULT_FUTURE_THREADS) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="rocket-future")
        self.futures = FuturesDict()

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> WSGIFuture:
        """Schedule ``fn(*args, **kwargs)``; return its :class:`WSGIFuture`."""
        future = WSGIFuture(self.futures)
        inner = super().submit(fn, *args, **kwargs)
        _chain(inner, future)
        return future


def _chain(inner: Future, outer: WSGIFuture) -> None:
    """Make ``outer`` follow ``inner``; cancelling ``outer`` cancels ``inner`` if not started."""

    def copy(done: Future) -> None:
        if done.cancelled():
            outer.cancel()
        elif outer.set_running_or_notify_cancel():
            exc = done.exception()
            if exc is not None:
                outer.set_exception(exc)
            else:
                outer.set_result(done.result())

    inner.add_done_callback(copy)
    original_cancel = outer.cancel

    def cancel() -> bool:
        return inner.cancel() and original_cancel()

    outer.cancel = cancel  # type: ignore[method-assign]


class FuturesMiddleware:
    """WSGI middleware adding ``wsgiorg.executor``/``wsgiorg.futures`` for any server."""

    def __init__(self, app: Callable, threads: int = DEFAULT_FUTURE_THREADS) -> None:
        self.app = app
        self.executor = WSGIExecutor(threads)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        self.executor.futures.purge()
        environ["wsgiorg.executor"] = self.executor
        environ["wsgiorg.futures"] = self.executor.futures
        return self.app(environ, start_response)
