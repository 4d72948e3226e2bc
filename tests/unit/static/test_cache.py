"""The small-file response cache: hits equal misses, and every change is noticed."""

from __future__ import annotations

import gzip
import os

import rocket.static.files
from rocket.static.cache import ResponseCache
from rocket.static.files import StaticFiles
from tests.unit.static.harness import call


def test_hit_equals_miss_and_skips_the_full_path(tmp_path, monkeypatch):
    (tmp_path / "a.css").write_bytes(b"a{}")
    app = StaticFiles(tmp_path, cache_control="max-age=1")
    first = call(app, "/a.css")
    assert len(app._cache) == 1

    def no_resolution(*args, **kwargs):
        raise AssertionError("a cache hit resolved the path again")

    monkeypatch.setattr(rocket.static.files, "resolve", no_resolution)
    second = call(app, "/a.css")
    assert (second.status, second.headers, second.body) == (first.status, first.headers, first.body)
    assert len(app._cache) == 1


def test_changes_are_seen_at_once(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes(b"one")
    app = StaticFiles(tmp_path)
    assert call(app, "/a.txt").body == b"one"
    f.write_bytes(b"two!")  # size changes
    assert call(app, "/a.txt").body == b"two!"
    st = os.stat(f)
    f.write_bytes(b"TWO!")  # same size: the mtime/ctime tell
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert call(app, "/a.txt").body == b"TWO!"
    f.unlink()
    assert call(app, "/a.txt").code == 404


def test_chmod_is_seen(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes(b"one")
    app = StaticFiles(tmp_path)
    call(app, "/a.txt")
    before = app._cache._entries[("/a.txt", "")][1]
    os.chmod(f, 0)
    if os.geteuid() == 0:  # root reads anyway; the entry must still have been renewed
        call(app, "/a.txt")
        assert app._cache._entries[("/a.txt", "")][1] != before
    else:
        assert call(app, "/a.txt").code == 403


def test_ttl_lets_new_siblings_in(tmp_path):
    (tmp_path / "a.js").write_bytes(b"x = 1;\n" * 100)
    app = StaticFiles(tmp_path)
    app._cache.ttl_s = 0.0
    assert call(app, "/a.js", ACCEPT_ENCODING="gzip").header("Content-Encoding") is None
    (tmp_path / "a.js.gz").write_bytes(gzip.compress(b"x = 1;\n" * 100))
    assert call(app, "/a.js", ACCEPT_ENCODING="gzip").header("Content-Encoding") == "gzip"


def test_keyed_by_accept_encoding(tmp_path):
    (tmp_path / "a.js").write_bytes(b"plain")
    (tmp_path / "a.js.gz").write_bytes(gzip.compress(b"plain"))
    app = StaticFiles(tmp_path)
    for _ in range(2):
        assert call(app, "/a.js").body == b"plain"
        assert call(app, "/a.js", ACCEPT_ENCODING="gzip").header("Content-Encoding") == "gzip"


def test_conditional_and_range_requests_bypass(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"hello")
    app = StaticFiles(tmp_path)
    etag = call(app, "/a.txt").header("ETag")
    assert call(app, "/a.txt", IF_NONE_MATCH=etag).code == 304
    assert call(app, "/a.txt", RANGE="bytes=0-0").body == b"h"
    assert call(app, "/a.txt", "HEAD").body == b""
    assert len(app._cache) == 1


def test_budget_and_off_switch(tmp_path):
    for i in range(4):
        (tmp_path / f"{i}.bin").write_bytes(bytes(100))
    app = StaticFiles(tmp_path, cache_bytes=250)
    for i in range(4):
        call(app, f"/{i}.bin")
        assert app._cache.size_bytes <= 250
    off = StaticFiles(tmp_path, cache_bytes=0)
    assert call(off, "/0.bin").body == bytes(100) and off._cache is None


def test_store_refuses_oversized_body(tmp_path):
    cache = ResponseCache(max_bytes=10)
    (tmp_path / "f").write_bytes(b"x")
    cache.store(("/f", ""), str(tmp_path / "f"), os.stat(tmp_path / "f"), [], b"x" * 11)
    assert len(cache) == 0


def test_storing_a_key_again_counts_its_body_once(tmp_path):
    cache = ResponseCache(max_bytes=1000)
    (tmp_path / "f").write_bytes(b"x")
    st = os.stat(tmp_path / "f")
    for _ in range(3):  # e.g. three threads that missed the same file at once
        cache.store(("/f", ""), str(tmp_path / "f"), st, [], b"x" * 40)
    assert len(cache) == 1 and cache.size_bytes == 40
