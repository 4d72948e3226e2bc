"""Headless Chromium for the browser tests: the DOM after a page ran, and screenshots.

Screenshots go to ``build/screenshots/`` at the top of the checkout (or ``$ROCKET_SCREENSHOTS``)
so that a person can look at what the tests saw.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from typing import List, Sequence, Tuple

from tests.functional.programs import needs

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = needs(CHROMIUM, "chromium", "chromium")

SCREENSHOTS = os.environ.get("ROCKET_SCREENSHOTS") or os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "build", "screenshots")


def _run(tmp_path, extra: List[str], url: str,
         virtual_time_budget_ms: int = 5000) -> subprocess.CompletedProcess:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", f"--virtual-time-budget={virtual_time_budget_ms}",
         *extra, url],
        capture_output=True, timeout=50)


def dump_dom(tmp_path, url: str, width: int = 1200, height: int = 900,
             virtual_time_budget_ms: int = 5000, flags: Sequence[str] = ()) -> str:
    """The page's DOM once its scripts ran, in a window ``width`` x ``height``; ``flags``
    go to Chromium (``--ignore-certificate-errors`` for the test CA)."""
    done = _run(tmp_path, [f"--window-size={width},{height}", "--dump-dom", *flags], url,
                virtual_time_budget_ms)
    return done.stdout.decode("utf-8", "replace")


def screenshot(tmp_path, url: str, name: str, width: int, height: int = 900) -> str:
    """Save a ``width`` x ``height`` PNG of ``url`` as ``SCREENSHOTS/name``; returns its path."""
    os.makedirs(SCREENSHOTS, exist_ok=True)
    path = os.path.abspath(os.path.join(SCREENSHOTS, name))
    if os.path.exists(path):
        os.unlink(path)
    done = _run(tmp_path, [f"--window-size={width},{height}", f"--screenshot={path}"], url)
    assert os.path.exists(path), done.stderr[-2000:]
    return path


def png_size(path: str) -> Tuple[int, int]:
    """Width and height of a PNG file, from its IHDR chunk."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def fits_width_page(target: str, width: int) -> bytes:
    """A same-origin page that loads ``target`` in a ``width``-px frame and writes, once it
    loaded, whether the framed page scrolls sideways into ``<p id="fit">``."""
    return (
        "<!doctype html><html><body style='margin:0'>"
        f"<iframe id='f' src='{target}' style='width:{width}px;height:800px;border:0'></iframe>"
        "<p id='fit'>pending</p><script>"
        "document.getElementById('f').onload = function () {"
        " var d = this.contentDocument.documentElement;"
        " document.getElementById('fit').textContent ="
        "  'scroll=' + d.scrollWidth + ' client=' + d.clientWidth; };"
        "</script></body></html>").encode()
