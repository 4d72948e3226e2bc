"""The fs method and static mounts on a real server: curl, requests, TLS, statuses, traversal."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import time

import pytest
import requests

from rocket.static.validators import http_date
from tests.functional.static_support import (
    MiB,
    memory_kib,
    raw_request,
    running,
    status_of,
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


@pytest.fixture(scope="module", params=["plain", "tls"])
def server(request, site, tls_files):
    root, _ = site
    tls = tls_files[:2] if request.param == "tls" else None
    with running("fs", {"document_root": str(root), "display_index": False}, tls=tls) as srv:
        scheme = "https" if tls else "http"
        yield f"{scheme}://127.0.0.1:{srv.ports[0]}", tls_files[2]


def get(server, path, method="GET", **headers):
    url, ca = server
    return requests.request(
        method, url + path, headers=headers, verify=ca, timeout=10, allow_redirects=False
    )


def test_requests_sizes(server, site):
    _, digests = site
    for name, size in SIZES.items():
        r = get(server, "/" + name)
        assert r.status_code == 200
        assert r.headers["Content-Length"] == str(size)
        assert hashlib.sha256(r.content).hexdigest() == digests[name]


@pytest.mark.skipif(CURL is None, reason="curl is not installed (apt-get install curl)")
def test_curl_sizes_and_ranges(server, site, tmp_path):
    url, ca = server
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
    url, ca = server
    done = subprocess.run(
        [CURL, "-s", "--cacert", ca, "-r", "0-1,10-11", "-D", "-", url + "/mib.bin"],
        capture_output=True,
        timeout=30,
    )
    assert done.stdout.startswith(b"HTTP/1.1 206")
    assert b"Content-Type: multipart/byteranges; boundary=" in done.stdout


def test_every_status(server, site):
    root, _ = site
    r = get(server, "/page.html")
    etag, last_modified = r.headers["ETag"], r.headers["Last-Modified"]
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["Accept-Ranges"] == "bytes"
    assert get(server, "/page.html", "HEAD").headers["Content-Length"] == "11"
    r = get(server, "/page.html", Range="bytes=1-2")
    assert (r.status_code, r.content, r.headers["Content-Range"]) == (206, b"h1", "bytes 1-2/11")
    r = get(server, "/page.html", Range="bytes=0-0,-1")
    assert r.status_code == 206 and r.headers["Content-Type"].startswith("multipart/byteranges")
    assert len(r.content) == int(r.headers["Content-Length"])
    r = get(server, "/docs")
    assert r.status_code == 301 and r.headers["Location"] == "/docs/"
    assert get(server, "/docs/").content == b"docs index"
    assert get(server, "/page.html", **{"If-None-Match": etag}).status_code == 304
    assert get(server, "/page.html", **{"If-Modified-Since": last_modified}).status_code == 304
    assert get(server, "/page.html", **{"If-Match": '"nope"'}).status_code == 412
    old = http_date(time.time() - 10 * 365 * 86400)
    assert get(server, "/page.html", **{"If-Unmodified-Since": old}).status_code == 412
    r = get(server, "/page.html", Range="bytes=100-")
    assert r.status_code == 416 and r.headers["Content-Range"] == "bytes */11"
    r = get(server, "/page.html", Range="bytes=0-1", **{"If-Range": '"stale"'})
    assert r.status_code == 200 and r.content == b"<h1>hi</h1>"
    assert get(server, "/empty-dir/").status_code == 403
    assert get(server, "/missing").status_code == 404
    assert get(server, "/.env").status_code == 404
    assert get(server, "/escape.txt").status_code == 404
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        r = get(server, "/page.html", method)
        assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD"


def test_precompressed_over_the_wire(server, site):
    root, _ = site
    r = get(server, "/app.css", **{"Accept-Encoding": "gzip"})
    assert r.headers["Content-Encoding"] == "gzip" and r.headers["Vary"] == "Accept-Encoding"
    assert r.content == (root / "app.css").read_bytes()  # requests decodes gzip
    r = get(server, "/app.css", **{"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in r.headers and r.headers["Vary"] == "Accept-Encoding"


def test_keep_alive_mix_on_one_connection(server, site):
    url, ca = server
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


def test_thirty_traversals_on_the_wire(site):
    root, _ = site
    with running("fs", {"document_root": str(root), "display_index": True}) as srv:
        port = srv.ports[0]
        for target in TRAVERSALS:
            response = raw_request(port, target)
            assert response, target
            assert status_of(response) in (301, 400, 403, 404), (target, response[:200])
            assert b"SECRET" not in response, target
            assert b"root:" not in response, target


def test_static_mounts_in_front_of_an_app(site):
    from rocket.static.mounts import static_mounts

    root, _ = site

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
        return [b"app"]

    mounted = static_mounts(app, [("/assets", str(root), {"cache_control": "max-age=60"})])
    with running("wsgi", {"wsgi_app": mounted}) as srv:
        url = f"http://127.0.0.1:{srv.ports[0]}"
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
