"""The fs method and static mounts on a real server: curl, requests, TLS, statuses, traversal."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import ssl
import subprocess
import time
from typing import NamedTuple, Optional

import pytest
import requests

from rocket.static.validators import http_date
from tests.functional.client import raw_request, request, status_of
from tests.functional.serving import running
from tests.functional.static_support import (
    MiB,
    memory_kib,
    subprocess_server,
    write_pattern_file,
)
from tests.unit.static.test_paths import TRAVERSALS

SIZES = {"zero.bin": 0, "one.bin": 1, "mib.bin": MiB}
CURL = shutil.which("curl")


@pytest.fixture(scope="module")
def tls_files(tls_files):
    """(key, cert, CA) paths of the shared test certificates."""
    return tls_files.key_path, tls_files.cert_path, tls_files.ca_path


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("site")
    root = base / "root"
    root.mkdir()
    digests = {name: write_pattern_file(str(root / name), size) for name, size in SIZES.items()}
    (root / "page.html").write_bytes(b"<h1>hi</h1>")
    (root / "app.css").write_bytes(b"body { color: red }\n" * 20)
    (root / "app.css.gz").write_bytes(gzip.compress((root / "app.css").read_bytes()))
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_bytes(b"docs index")
    (root / "empty-dir").mkdir()
    (root / ".env").write_bytes(b"SECRET=1")
    (base / "secret.txt").write_bytes(b"SECRET")
    os.symlink(base / "secret.txt", root / "escape.txt")
    return root, digests


class Served(NamedTuple):
    """The module's fs server: its URL and port, the CA file, and a client TLS context."""

    url: str
    port: int
    ca: str
    context: Optional[ssl.SSLContext]


@pytest.fixture(scope="module", params=["plain", "tls"])
def server(request, site, tls_files):
    root, _ = site
    key, cert, ca = tls_files
    tls = request.param == "tls"
    app_info = {"document_root": str(root), "display_index": False}
    with running(method="fs", app_info=app_info,
                 interfaces=("127.0.0.1", 0, key, cert) if tls else ("127.0.0.1", 0)) as srv:
        url = f"{'https' if tls else 'http'}://127.0.0.1:{srv.port}"
        yield Served(url, srv.port, ca, ssl.create_default_context(cafile=ca) if tls else None)


def test_requests_sizes(server, site):
    _, digests = site
    for name, size in SIZES.items():
        r = requests.get(server.url + "/" + name, verify=server.ca, timeout=10)
        assert r.status_code == 200
        assert r.headers["Content-Length"] == str(size)
        assert hashlib.sha256(r.content).hexdigest() == digests[name]


@pytest.mark.skipif(CURL is None, reason="curl is not installed (apt-get install curl)")
def test_curl_sizes_and_ranges(server, site, tmp_path):
    url, ca = server.url, server.ca
    root, digests = site
    for name, size in SIZES.items():
        out = tmp_path / name
        subprocess.run(
            [CURL, "-sSf", "--cacert", ca, "-o", str(out), url + "/" + name], check=True, timeout=30
        )
        assert hashlib.sha256(out.read_bytes()).hexdigest() == digests[name]
        data = (root / name).read_bytes()
        for spec in ("0-0", "-1", "1-", "0-99999999"):
            done = subprocess.run(
                [
                    CURL,
                    "-s",
                    "--cacert",
                    ca,
                    "-r",
                    spec,
                    "-o",
                    str(out),
                    "-w",
                    "%{http_code}",
                    url + "/" + name,
                ],
                capture_output=True,
                timeout=30,
            )
            code = int(done.stdout)
            if size == 0 or (spec == "1-" and size == 1):
                assert code == 416, (name, spec)
                continue
            assert code == 206, (name, spec)
            first, _, last = spec.partition("-")
            if not first:
                expected = data[-int(last) :]
            else:
                expected = data[int(first) : int(last) + 1 if last else None]
            assert out.read_bytes() == expected, (name, spec)


@pytest.mark.skipif(CURL is None, reason="curl is not installed (apt-get install curl)")
def test_curl_multiple_ranges(server):
    url, ca = server.url, server.ca
    done = subprocess.run(
        [CURL, "-s", "--http1.1", "--cacert", ca, "-r", "0-1,10-11", "-D", "-",
         url + "/mib.bin"],
        capture_output=True,
        timeout=30,
    )
    assert done.stdout.startswith(b"HTTP/1.1 206")
    assert b"Content-Type: multipart/byteranges; boundary=" in done.stdout


def test_every_status(server):
    port, ctx = server.port, server.context
    r = request(port, "/page.html", context=ctx)
    etag, last_modified = r.headers["ETag"], r.headers["Last-Modified"]
    assert r.status == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["Accept-Ranges"] == "bytes"
    assert request(port, "/page.html", "HEAD", context=ctx).headers["Content-Length"] == "11"
    r = request(port, "/page.html", headers={"Range": "bytes=1-2"}, context=ctx)
    assert (r.status, r.body, r.headers["Content-Range"]) == (206, b"h1", "bytes 1-2/11")
    r = request(port, "/page.html", headers={"Range": "bytes=0-0,-1"}, context=ctx)
    assert r.status == 206 and r.headers["Content-Type"].startswith("multipart/byteranges")
    assert len(r.body) == int(r.headers["Content-Length"])
    r = request(port, "/docs", context=ctx)
    assert r.status == 301 and r.headers["Location"] == "/docs/"
    assert request(port, "/docs/", context=ctx).body == b"docs index"
    old = http_date(time.time() - 10 * 365 * 86400)
    for condition, status in (({"If-None-Match": etag}, 304),
                              ({"If-Modified-Since": last_modified}, 304),
                              ({"If-Match": '"nope"'}, 412),
                              ({"If-Unmodified-Since": old}, 412)):
        assert request(port, "/page.html", headers=condition, context=ctx).status == status
    r = request(port, "/page.html", headers={"Range": "bytes=100-"}, context=ctx)
    assert r.status == 416 and r.headers["Content-Range"] == "bytes */11"
    r = request(port, "/page.html", headers={"Range": "bytes=0-1", "If-Range": '"stale"'},
                context=ctx)
    assert r.status == 200 and r.body == b"<h1>hi</h1>"
    for path, status in (("/empty-dir/", 403), ("/missing", 404), ("/.env", 404),
                         ("/escape.txt", 404)):
        assert request(port, path, context=ctx).status == status, path
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        r = request(port, "/page.html", method, context=ctx)
        assert r.status == 405 and r.headers["Allow"] == "GET, HEAD"


def test_precompressed_over_the_wire(server, site):
    root, _ = site
    r = request(server.port, "/app.css", headers={"Accept-Encoding": "gzip"},
                context=server.context)
    assert r.headers["Content-Encoding"] == "gzip" and r.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(r.body) == (root / "app.css").read_bytes()
    r = request(server.port, "/app.css", headers={"Accept-Encoding": "identity"},
                context=server.context)
    assert "Content-Encoding" not in r.headers and r.headers["Vary"] == "Accept-Encoding"


def test_keep_alive_mix_on_one_connection(server, site):
    url, ca = server.url, server.ca
    with requests.Session() as s:
        s.verify, s.trust_env = ca, False  # env CA bundles would override verify
        etag = s.get(url + "/page.html", timeout=10).headers["ETag"]
        for _ in range(3):
            assert s.head(url + "/mib.bin", timeout=10).status_code == 200
            r = s.get(url + "/page.html", headers={"If-None-Match": etag}, timeout=10)
            assert r.status_code == 304
            assert s.get(url + "/mib.bin", headers={"Range": "bytes=5-9"}, timeout=10).content
            assert len(s.get(url + "/mib.bin", timeout=10).content) == MiB
            assert s.post(url + "/page.html", data=b"x" * 1000, timeout=10).status_code == 405


def test_thirty_traversals_on_the_wire(start_server, site):
    root, _ = site
    port = start_server(method="fs", app_info={"document_root": str(root),
                                               "display_index": True}).port
    for target in TRAVERSALS:
        response = raw_request(port, target)
        assert response, target
        assert status_of(response) in (301, 400, 403, 404), (target, response[:200])
        assert b"SECRET" not in response, target
        assert b"root:" not in response, target


def test_static_mounts_in_front_of_an_app(start_server, site):
    from rocket.static.mounts import static_mounts

    root, _ = site

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
        return [b"app"]

    mounted = static_mounts(app, [("/assets", str(root), {"cache_control": "max-age=60"})])
    url = f"http://127.0.0.1:{start_server(mounted).port}"
    r = requests.get(url + "/assets/page.html", timeout=10)
    assert r.content == b"<h1>hi</h1>" and r.headers["Cache-Control"] == "max-age=60"
    assert requests.get(url + "/other", timeout=10).content == b"app"
    r = requests.get(url + "/assets", allow_redirects=False, timeout=10)
    assert r.status_code == 301 and r.headers["Location"] == "/assets/"


@pytest.mark.slow
@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_100_mib_memory_stays_flat(tmp_path, tls_files, tls):
    root = tmp_path / "big"
    root.mkdir()
    digest = write_pattern_file(str(root / "big.bin"), 100 * MiB)
    tls_args = tls_files[:2] if tls else ()
    with subprocess_server(str(root), tls_args) as (pid, port):
        url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/big.bin"
        warm = requests.get(
            url, headers={"Range": "bytes=0-65535"}, verify=tls_files[2], timeout=10
        )
        assert warm.status_code == 206
        rss_before, hwm_before = memory_kib(pid)
        h = hashlib.sha256()
        size = 0
        with requests.get(url, stream=True, verify=tls_files[2], timeout=30) as r:
            assert r.headers["Content-Length"] == str(100 * MiB)
            for chunk in r.iter_content(1 << 20):
                h.update(chunk)
                size += len(chunk)
        rss_after, hwm_after = memory_kib(pid)
    print("VmRSS/VmHWM KiB before", rss_before, hwm_before, "after", rss_after, hwm_after)
    assert size == 100 * MiB and h.hexdigest() == digest
    # The file is 100 MiB; the server may grow by a few blocks at most.
    assert hwm_after - hwm_before < 16 * 1024, (rss_before, hwm_before, rss_after, hwm_after)
