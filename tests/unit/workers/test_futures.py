"""The futures extra: WSGIExecutor, remember/forget/lifespan, FuturesMiddleware."""

from __future__ import annotations

import pytest

from rocket.workers.futures import FuturesMiddleware, WSGIExecutor, WSGIFuture


@pytest.fixture
def executor():
    ex = WSGIExecutor(2)
    try:
        yield ex
    finally:
        ex.shutdown(wait=True)


def test_submit_returns_rememberable_future(executor):
    future = executor.submit(lambda a, b: a + b, 2, b=3)
    assert isinstance(future, WSGIFuture) and future.result(timeout=5) == 5
    assert future.remember("sum") is future and executor.futures["sum"] is future
    other = executor.submit(lambda: 1)
    with pytest.raises(NameError, match="sum"):
        other.remember("sum")
    future.forget()
    assert "sum" not in executor.futures
    future.forget()  # idempotent


def test_exceptions_propagate(executor):
    def boom():
        raise KeyError("x")

    with pytest.raises(KeyError):
        executor.submit(boom).result(timeout=5)


def test_lifespan_expires_on_purge(executor):
    future = executor.submit(lambda: 1).remember("short", lifespan=10)
    executor.submit(lambda: 2).remember("forever")
    executor.futures.purge(now=0)
    assert "short" in executor.futures
    import time

    executor.futures.purge(now=time.monotonic() + 11)
    assert "short" not in executor.futures and "forever" in executor.futures
    assert future.result(timeout=5) == 1


def test_purge_checks_only_from_the_earliest_expiry_and_survives_forget(executor):
    import time

    start = time.monotonic()
    first = executor.submit(lambda: 1).remember("first", lifespan=10)
    executor.submit(lambda: 2).remember("second", lifespan=20)
    first.forget()  # the earliest expiry is gone: the later one must still expire
    executor.futures.purge(now=start + 15)
    assert "second" in executor.futures
    executor.futures.purge(now=start + 21)
    assert "second" not in executor.futures and not executor.futures._expiring
    executor.submit(lambda: 3).remember("third", lifespan=5)  # a new, earlier expiry counts
    executor.futures.purge(now=time.monotonic() + 6)
    assert "third" not in executor.futures


def test_attributes(executor):
    assert executor.multithread is True and executor.multiprocess is False


def test_middleware_injects_keys():
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        return [b""]

    mw = FuturesMiddleware(app, threads=1)
    try:
        mw({}, None)
        assert seen["wsgiorg.executor"] is mw.executor
        assert seen["wsgiorg.futures"] is mw.executor.futures
        assert mw.executor.submit(lambda: 7).result(timeout=5) == 7
    finally:
        mw.executor.shutdown()
