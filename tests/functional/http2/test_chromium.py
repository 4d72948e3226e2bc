"""Headless Chromium loads a page with 50 assets from a static mount over HTTPS: HTTP/2 carries
every request (environ and access log) on one connection."""

from __future__ import annotations

import logging
import re
import threading

from rocket.static.mounts import static_mounts
from tests.functional.browser.chromium import dump_dom, needs_chromium
from tests.functional.http2.support import rocket_only

pytestmark = [needs_chromium, rocket_only]

N_JS = N_SVG = 25


def build_page(root) -> bytes:
    """50 assets under ``root`` (25 scripts, 25 SVG images); the page that loads them and
    lists each one that loaded (``ok``) or failed."""
    tags = []
    for i in range(N_JS):
        (root / f"a{i}.js").write_text(f"mark('js{i}');\n" + "// padding\n" * 100)
        tags.append(f'<script src="/assets/a{i}.js" onerror="bad(\'js{i}\')"></script>')
    for i in range(N_SVG):
        (root / f"v{i}.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" '
                                        f'height="4"><rect width="4" height="{i % 4 + 1}"/></svg>')
        tags.append(f'<img src="/assets/v{i}.svg" onload="mark(\'svg{i}\')" '
                    f'onerror="bad(\'svg{i}\')">')
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><script>"
            "function add(c, n) { var li = document.createElement('li'); li.className = c;"
            " li.textContent = n; document.getElementById('marks').appendChild(li); }"
            "function mark(n) { add('ok', n); } function bad(n) { add('failed', n); }"
            "</script></head><body><ul id='marks'></ul>" + "".join(tags)
            + "</body></html>").encode()


def test_fifty_assets_over_one_http2_connection(start_server, tls_files, tmp_path, caplog):
    assets = tmp_path / "assets"
    assets.mkdir()
    page = build_page(assets)
    seen = []
    lock = threading.Lock()

    def index(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(page)))])
        return [page]

    mounted = static_mounts(index, [("/assets", str(assets), {"cache_control": "no-cache"})])

    def recorder(environ, start_response):
        with lock:
            seen.append((environ["PATH_INFO"], environ["SERVER_PROTOCOL"],
                         environ.get("REMOTE_PORT")))
        return mounted(environ, start_response)

    server = start_server(recorder, interfaces=("127.0.0.1", 0, tls_files.key_path,
                                                tls_files.cert_path))
    with caplog.at_level(logging.INFO, logger="Rocket.Requests"):
        dom = dump_dom(tmp_path, f"https://127.0.0.1:{server.port}/",
                       virtual_time_budget_ms=10000, flags=["--ignore-certificate-errors"])
    ok = re.findall(r'<li class="ok">([a-z]+\d+)</li>', dom)
    assert not re.findall(r'<li class="failed">', dom), dom[-2000:]
    assert sorted(ok) == sorted([f"js{i}" for i in range(N_JS)]
                                + [f"svg{i}" for i in range(N_SVG)]), dom[-2000:]
    asset_requests = [s for s in seen if s[0].startswith("/assets/")]
    assert len(asset_requests) == N_JS + N_SVG
    assert {protocol for _, protocol, _ in seen} == {"HTTP/2"}
    pages = [s for s in seen if s[0] == "/"]
    assert len({port for _, _, port in pages + asset_requests}) == 1, seen
    lines = [r.getMessage() for r in caplog.records if r.name == "Rocket.Requests"]
    assert len(lines) >= 1 + N_JS + N_SVG
    assert all("HTTP/2.0" in line for line in lines), lines[:3]
