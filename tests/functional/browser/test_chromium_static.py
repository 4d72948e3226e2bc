"""Headless Chromium loads a page whose 20 assets come from a static mount."""

from __future__ import annotations

import gzip
import re
import struct
import zlib

from rocket.static.mounts import static_mounts
from tests.functional.browser.chromium import dump_dom, needs_chromium

pytestmark = needs_chromium

N_JS, N_CSS, N_PNG, N_SVG = 7, 7, 3, 3


def tiny_png(r: int, g: int, b: int) -> bytes:
    """A valid 1x1 RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(bytes([0, r, g, b]))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def build_assets(root) -> str:
    """Write 20 assets under ``root`` (some with .gz siblings); return the page's HTML."""
    (root / "js").mkdir()
    (root / "css").mkdir()
    (root / "img").mkdir()
    tags = []
    for i in range(N_JS):
        src = f"mark('js{i}');\n" + "// padding\n" * 200
        (root / "js" / f"a{i}.js").write_text(src)
        if i % 2:
            (root / "js" / f"a{i}.js.gz").write_bytes(gzip.compress(src.encode()))
        tags.append(f'<script src="/assets/js/a{i}.js" onerror="bad(\'js{i}\')"></script>')
    for i in range(N_CSS):
        (root / "css" / f"s{i}.css").write_text(f".c{i} {{ margin-left: {i + 1}px }}\n")
        tags.append(
            f'<link rel="stylesheet" href="/assets/css/s{i}.css" '
            f"onload=\"mark('css{i}')\" onerror=\"bad('css{i}')\">"
        )
    for i in range(N_PNG):
        (root / "img" / f"p{i}.png").write_bytes(tiny_png(10 * i, 20, 30))
        tags.append(
            f'<img src="/assets/img/p{i}.png" onload="mark(\'png{i}\')" onerror="bad(\'png{i}\')">'
        )
    for i in range(N_SVG):
        (root / "img" / f"v{i}.svg").write_text(
            '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4">'
            f'<rect width="4" height="{i + 1}" fill="red"/></svg>'
        )
        tags.append(
            f'<img src="/assets/img/v{i}.svg" onload="mark(\'svg{i}\')" onerror="bad(\'svg{i}\')">'
        )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><script>"
        "function add(cls, name) { var li = document.createElement('li');"
        " li.className = cls; li.textContent = name;"
        " document.getElementById('marks').appendChild(li); }"
        "function mark(name) { add('ok', name); }"
        "function bad(name) { add('failed', name); }"
        "</script></head><body><ul id='marks'></ul>" + "".join(tags) + "</body></html>"
    )


def test_chromium_loads_all_twenty_assets(start_server, tmp_path):
    assets = tmp_path / "assets"
    assets.mkdir()
    page = build_assets(assets).encode()
    assert N_JS + N_CSS + N_PNG + N_SVG == 20

    def app(environ, start_response):
        start_response(
            "200 OK",
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(page)))],
        )
        return [page]

    mounted = static_mounts(app, [("/assets", str(assets), {"cache_control": "no-cache"})])
    url = f"http://127.0.0.1:{start_server(mounted, access_log=False).port}/"
    dom = dump_dom(tmp_path, url, virtual_time_budget_ms=10000)
    ok = re.findall(r'<li class="ok">([a-z]+\d)</li>', dom)
    failed = re.findall(r'<li class="failed">([a-z]+\d)</li>', dom)
    assert not failed, failed
    assert sorted(ok) == sorted(
        [f"js{i}" for i in range(N_JS)]
        + [f"css{i}" for i in range(N_CSS)]
        + [f"png{i}" for i in range(N_PNG)]
        + [f"svg{i}" for i in range(N_SVG)]
    ), dom[-3000:]
