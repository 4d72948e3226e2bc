"""StaticFiles called directly as a WSGI app: methods, validators, ranges, variants, paths."""

from __future__ import annotations

import gzip
import os

import pytest

from rocket.static.files import SMALL_FILE_BYTES, StaticFiles
from rocket.static.validators import http_date
from tests.unit.static.harness import call

BIG = SMALL_FILE_BYTES * 3 + 17  # large enough to take the block-iterator path


@pytest.fixture
def root(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "one.bin").write_bytes(b"x")
    (tmp_path / "hello.txt").write_bytes(b"hello world\n")
    (tmp_path / "big.bin").write_bytes(bytes(range(256)) * (BIG // 256) + b"z" * (BIG % 256))
    (tmp_path / "app.js").write_bytes(b"console.log(1);\n" * 50)
    (tmp_path / "app.js.gz").write_bytes(gzip.compress(b"console.log(1);\n" * 50))
    (tmp_path / "app.js.br").write_bytes(b"fake brotli bytes")
    (tmp_path / "style.css").write_bytes(b"body{}")
    (tmp_path / "style.css.gz").write_bytes(gzip.compress(b"body{}"))
    (tmp_path / ".secret").write_bytes(b"token")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "index.html").write_bytes(b"<p>sub index</p>")
    (tmp_path / "list").mkdir()
    (tmp_path / "list" / "a <b>&.txt").write_bytes(b"a")
    (tmp_path / "list" / "dir").mkdir()
    (tmp_path / "list" / ".hidden").write_bytes(b"h")
    return tmp_path


@pytest.fixture
def app(root):
    return StaticFiles(root)


def test_get_small_text_file(app):
    r = call(app, "/hello.txt")
    assert r.code == 200
    assert r.body == b"hello world\n"
    assert r.header("Content-Type") == "text/plain; charset=utf-8"
    assert r.header("Content-Length") == "12"
    assert r.header("Accept-Ranges") == "bytes"
    assert r.header("ETag").startswith('"c-')
    assert r.header("Last-Modified").endswith(" GMT")
    assert r.header("Cache-Control") is None


@pytest.mark.parametrize("name,size", [("empty.txt", 0), ("one.bin", 1), ("big.bin", BIG)])
def test_sizes(app, root, name, size):
    r = call(app, "/" + name)
    assert r.code == 200
    assert r.header("Content-Length") == str(size)
    assert r.body == (root / name).read_bytes()


def test_head_has_headers_and_no_body(app):
    get, head = call(app, "/big.bin"), call(app, "/big.bin", "HEAD")
    assert head.code == 200 and head.body == b""
    assert head.header("Content-Length") == get.header("Content-Length") == str(BIG)
    assert head.header("ETag") == get.header("ETag")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_other_methods_405_with_allow(app, method):
    r = call(app, "/hello.txt", method)
    assert r.code == 405
    assert r.header("Allow") == "GET, HEAD"
    assert r.header("Content-Length") == str(len(r.body))


def test_content_types(app, root):
    assert call(app, "/app.js").header("Content-Type") == "text/javascript; charset=utf-8"
    assert call(app, "/style.css").header("Content-Type") == "text/css; charset=utf-8"
    assert call(app, "/one.bin").header("Content-Type") == "application/octet-stream"
    assert call(app, "/app.js.gz").header("Content-Type") == "application/gzip"
    assert call(app, "/app.js.gz").header("Content-Encoding") is None


def test_404_and_trailing_slash_on_file(app):
    assert call(app, "/nope.txt").code == 404
    assert call(app, "/hello.txt/").code == 404
    assert call(app, "/hello.txt/x").code == 404


def test_dotfiles_hidden_unless_shown(root):
    assert call(StaticFiles(root), "/.secret").code == 404
    assert call(StaticFiles(root, show_dotfiles=True), "/.secret").body == b"token"


def test_cache_control_per_app(root):
    app = StaticFiles(root, cache_control="public, max-age=60")
    assert call(app, "/hello.txt").header("Cache-Control") == "public, max-age=60"
    etag = call(app, "/hello.txt").header("ETag")
    assert call(app, "/hello.txt", IF_NONE_MATCH=etag).header("Cache-Control") == (
        "public, max-age=60"
    )


# -- conditional requests ----------------------------------------------------------------


def test_if_none_match_304(app):
    etag = call(app, "/hello.txt").header("ETag")
    for value in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        r = call(app, "/hello.txt", IF_NONE_MATCH=value)
        assert r.code == 304, value
        assert r.body == b"" and r.header("ETag") == etag
        assert r.header("Content-Length") is None
    assert call(app, "/hello.txt", IF_NONE_MATCH='"other"').code == 200


def test_if_modified_since(app, root):
    mtime = int(os.stat(root / "hello.txt").st_mtime)
    assert call(app, "/hello.txt", IF_MODIFIED_SINCE=http_date(mtime)).code == 304
    assert call(app, "/hello.txt", IF_MODIFIED_SINCE=http_date(mtime + 60)).code == 304
    assert call(app, "/hello.txt", IF_MODIFIED_SINCE=http_date(mtime - 60)).code == 200
    assert call(app, "/hello.txt", IF_MODIFIED_SINCE="not a date").code == 200


def test_if_none_match_beats_if_modified_since(app, root):
    mtime = int(os.stat(root / "hello.txt").st_mtime)
    r = call(app, "/hello.txt", IF_NONE_MATCH='"x"', IF_MODIFIED_SINCE=http_date(mtime))
    assert r.code == 200  # RFC 9110 §13.1.3: IMS is ignored when INM is present


def test_if_match_412(app):
    etag = call(app, "/hello.txt").header("ETag")
    assert call(app, "/hello.txt", IF_MATCH=etag).code == 200
    assert call(app, "/hello.txt", IF_MATCH="*").code == 200
    r = call(app, "/hello.txt", IF_MATCH='"nope"')
    assert r.code == 412 and r.header("Content-Length") == str(len(r.body))
    assert call(app, "/hello.txt", IF_MATCH=f"W/{etag}").code == 412  # strong comparison


def test_if_unmodified_since_412(app, root):
    mtime = int(os.stat(root / "hello.txt").st_mtime)
    assert call(app, "/hello.txt", IF_UNMODIFIED_SINCE=http_date(mtime - 10)).code == 412
    assert call(app, "/hello.txt", IF_UNMODIFIED_SINCE=http_date(mtime)).code == 200


def test_412_before_304(app):
    r = call(app, "/hello.txt", IF_MATCH='"nope"', IF_NONE_MATCH="*")
    assert r.code == 412


def test_etag_changes_with_content(app, root):
    before = call(app, "/hello.txt").header("ETag")
    (root / "hello.txt").write_bytes(b"hello world, longer\n")
    assert call(app, "/hello.txt").header("ETag") != before


# -- ranges ------------------------------------------------------------------------------


def test_single_range(app, root):
    data = (root / "big.bin").read_bytes()
    for spec, (first, last) in {
        "bytes=0-0": (0, 0),
        "bytes=10-19": (10, 19),
        "bytes=-5": (BIG - 5, BIG - 1),
        f"bytes={BIG - 3}-": (BIG - 3, BIG - 1),
        f"bytes=100-{BIG * 2}": (100, BIG - 1),
        "bytes=1000-150000": (1000, 150000),
    }.items():
        r = call(app, "/big.bin", RANGE=spec)
        assert r.code == 206, spec
        assert r.header("Content-Range") == f"bytes {first}-{last}/{BIG}"
        assert r.header("Content-Length") == str(last - first + 1)
        assert r.body == data[first : last + 1]


def test_multiple_ranges_multipart(app, root):
    data = (root / "hello.txt").read_bytes()
    r = call(app, "/hello.txt", RANGE="bytes=0-1, 6-")
    assert r.code == 206
    ctype = r.header("Content-Type")
    assert ctype.startswith("multipart/byteranges; boundary=")
    boundary = ctype.split("boundary=")[1].encode()
    assert r.header("Content-Length") == str(len(r.body))
    expected = (
        b"--" + boundary + b"\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Range: bytes 0-1/12\r\n\r\n" + data[0:2] + b"\r\n"
        b"--" + boundary + b"\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Range: bytes 6-11/12\r\n\r\n" + data[6:] + b"\r\n"
        b"--" + boundary + b"--\r\n"
    )
    assert r.body == expected


def test_unsatisfiable_416(app):
    for path, size in (("/hello.txt", 12), ("/empty.txt", 0)):
        r = call(app, path, RANGE="bytes=50-60")
        assert r.code == 416
        assert r.header("Content-Range") == f"bytes */{size}"
    assert call(app, "/empty.txt", RANGE="bytes=-1").code == 416


def test_invalid_or_foreign_range_ignored(app):
    for spec in ("bytes=5-1", "bytes=a-b", "items=0-1", "bytes", "bytes=--1"):
        assert call(app, "/hello.txt", RANGE=spec).code == 200, spec


def test_range_ignored_on_head(app):
    r = call(app, "/hello.txt", "HEAD", RANGE="bytes=0-1")
    assert r.code == 200 and r.header("Content-Length") == "12"


def test_if_range(app, root):
    first = call(app, "/hello.txt")
    etag, lm = first.header("ETag"), first.header("Last-Modified")
    assert call(app, "/hello.txt", RANGE="bytes=0-1", IF_RANGE=etag).code == 206
    assert call(app, "/hello.txt", RANGE="bytes=0-1", IF_RANGE=lm).code == 206
    r = call(app, "/hello.txt", RANGE="bytes=0-1", IF_RANGE='"stale"')
    assert r.code == 200 and r.body == b"hello world\n"
    assert call(app, "/hello.txt", RANGE="bytes=0-1", IF_RANGE=f"W/{etag}").code == 200
    old = http_date(int(os.stat(root / "hello.txt").st_mtime) - 100)
    assert call(app, "/hello.txt", RANGE="bytes=0-1", IF_RANGE=old).code == 200


# -- precompressed siblings --------------------------------------------------------------


def test_precompressed_gzip(app, root):
    r = call(app, "/style.css", ACCEPT_ENCODING="gzip, deflate")
    assert r.header("Content-Encoding") == "gzip"
    assert r.header("Vary") == "Accept-Encoding"
    assert r.header("Content-Type") == "text/css; charset=utf-8"
    assert gzip.decompress(r.body) == b"body{}"
    plain = call(app, "/style.css")
    assert plain.header("Content-Encoding") is None and plain.body == b"body{}"
    assert plain.header("Vary") == "Accept-Encoding"
    assert plain.header("ETag") != r.header("ETag")


def test_brotli_preferred_and_q_values(app):
    assert call(app, "/app.js", ACCEPT_ENCODING="gzip, br").header("Content-Encoding") == "br"
    r = call(app, "/app.js", ACCEPT_ENCODING="gzip;q=1.0, br;q=0.5")
    assert r.header("Content-Encoding") == "gzip"
    r = call(app, "/app.js", ACCEPT_ENCODING="br;q=0, gzip;q=0")
    assert r.header("Content-Encoding") is None
    assert call(app, "/app.js", ACCEPT_ENCODING="*").header("Content-Encoding") == "br"
    assert call(app, "/app.js", ACCEPT_ENCODING="identity").header("Content-Encoding") is None


def test_no_vary_without_siblings_or_when_disabled(app, root):
    assert call(app, "/hello.txt", ACCEPT_ENCODING="gzip").header("Vary") is None
    off = StaticFiles(root, precompressed=False)
    r = call(off, "/style.css", ACCEPT_ENCODING="gzip")
    assert r.header("Content-Encoding") is None and r.header("Vary") is None


def test_range_on_precompressed_variant(app, root):
    gz = (root / "style.css.gz").read_bytes()
    r = call(app, "/style.css", ACCEPT_ENCODING="gzip", RANGE="bytes=0-3")
    assert r.code == 206 and r.body == gz[:4]
    assert r.header("Content-Range") == f"bytes 0-3/{len(gz)}"


# -- directories -------------------------------------------------------------------------


def test_directory_redirects_with_301(app):
    r = call(app, "/sub", QUERY_STRING="a=1")
    assert r.code == 301 and r.header("Location") == "/sub/?a=1"
    r = call(app, "/sub", SCRIPT_NAME="/static")
    assert r.header("Location") == "/static/sub/"
    assert call(app, "//sub").header("Location") == "/sub/"  # never scheme-relative


def test_directory_index_html(app):
    r = call(app, "/sub/")
    assert r.code == 200 and r.body == b"<p>sub index</p>"
    assert r.header("Content-Type") == "text/html; charset=utf-8"


def test_directory_without_index(root):
    assert call(StaticFiles(root), "/list/").code == 403
    r = call(StaticFiles(root, display_index=True), "/list/")
    assert r.code == 200 and r.header("Content-Type") == "text/html; charset=utf-8"
    assert b"a &lt;b&gt;&amp;.txt" in r.body and b"<b>" not in r.body
    assert b'href="a%20%3Cb%3E%26.txt"' in r.body
    assert b'href="dir/"' in r.body and b"hidden" not in r.body
    assert r.header("Content-Length") == str(len(r.body))


def test_root_listing(root):
    r = call(StaticFiles(root, display_index=True), "/")
    assert r.code == 200 and b"hello.txt" in r.body and b".secret" not in r.body


# -- symlinks ----------------------------------------------------------------------------


def test_symlinks(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"outside")
    (root / "real.txt").write_bytes(b"inside")
    os.symlink(root / "real.txt", root / "inner-link.txt")
    os.symlink(outside / "secret.txt", root / "out-link.txt")
    os.symlink(outside, root / "out-dir")
    app = StaticFiles(root)
    assert call(app, "/inner-link.txt").body == b"inside"
    assert call(app, "/out-link.txt").code == 404
    assert call(app, "/out-dir/secret.txt").code == 404
    allowed = StaticFiles(root, follow_symlinks=True)
    assert call(allowed, "/out-link.txt").body == b"outside"
    assert call(allowed, "/out-dir/secret.txt").body == b"outside"


def test_fifo_is_not_served(root):
    os.mkfifo(root / "pipe")
    assert call(StaticFiles(root), "/pipe").code == 404  # and never blocks opening it


def test_root_must_be_a_directory(tmp_path):
    with pytest.raises(ValueError, match="not a directory"):
        StaticFiles(tmp_path / "missing")


def test_symlinked_siblings_and_index_follow_the_same_rule(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "d").mkdir(parents=True)
    outside.mkdir()
    (outside / "x.gz").write_bytes(b"OUTSIDE-GZ")
    (outside / "index.html").write_bytes(b"OUTSIDE-INDEX")
    (root / "a.txt").write_bytes(b"inside")
    os.symlink(outside / "x.gz", root / "a.txt.gz")
    os.symlink(outside / "index.html", root / "d" / "index.html")
    app = StaticFiles(root, display_index=True)
    r = call(app, "/a.txt", ACCEPT_ENCODING="gzip")
    assert r.body == b"inside" and r.header("Content-Encoding") is None
    r = call(app, "/d/")
    assert r.code == 200 and b"OUTSIDE" not in r.body and b"index.html" not in r.body
    allowed = StaticFiles(root, follow_symlinks=True)
    assert call(allowed, "/a.txt", ACCEPT_ENCODING="gzip").body == b"OUTSIDE-GZ"
    assert call(allowed, "/d/").body == b"OUTSIDE-INDEX"


def test_foreign_file_wrapper_gets_whole_files_only(app, root):
    """Under another server, its wsgi.file_wrapper sends a whole large file; a range, which
    that wrapper cannot express, is read in blocks instead."""
    import wsgiref.util

    seen = []

    def wrapper(f, block_size):
        seen.append(f)
        return wsgiref.util.FileWrapper(f, block_size)

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/big.bin", "wsgi.file_wrapper": wrapper}
    body = app(environ, lambda status, headers: None)
    assert isinstance(body, wsgiref.util.FileWrapper) and len(seen) == 1
    assert b"".join(body) == (root / "big.bin").read_bytes()
    body.close()
    environ["HTTP_RANGE"] = "bytes=1-"
    body = app(environ, lambda status, headers: None)
    assert len(seen) == 1
    assert b"".join(body) == (root / "big.bin").read_bytes()[1:]
    body.close()
