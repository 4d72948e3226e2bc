"""Pages people look at (the demo app, the directory listing), seen by headless Chromium at
desktop (1200 px) and phone (390 px) widths: screenshots are saved, and no page scrolls
sideways."""

from __future__ import annotations

import re

import pytest

from rocket import Server
from rocket.demo import app as demo_app
from tests.functional.browser.chromium import (
    dump_dom,
    fits_width_page,
    needs_chromium,
    png_size,
    screenshot,
)

pytestmark = needs_chromium

LONG_VALUE = "x" * 400 + "/" + "y" * 300


def with_fit_check(inner, target: str, width: int):
    """``inner`` plus ``/__fit``: a page that measures ``target`` in a ``width``-px frame."""
    page = fits_width_page(target, width)

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/__fit":
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [page]
        return inner(environ, start_response)

    return app


def scroll_figures(dom: str):
    found = re.search(r'<p id="fit">scroll=(\d+) client=(\d+)</p>', dom)
    assert found, dom[-2000:]
    return int(found.group(1)), int(found.group(2))


@pytest.mark.parametrize("width", [1200, 390])
def test_demo_page_wraps_long_values_at_every_width(start_server, tmp_path, width):
    wrapped = with_fit_check(demo_app, "/?long=" + LONG_VALUE, width)
    base = f"http://127.0.0.1:{start_server(wrapped).port}"
    shot = screenshot(tmp_path, base + "/?long=" + LONG_VALUE, f"demo-{width}.png", width)
    assert png_size(shot) == (width, 900)
    scroll, client = scroll_figures(dump_dom(tmp_path, base + "/__fit", width=width + 40))
    assert scroll <= client, f"the demo page scrolls sideways at {width} px: {scroll} > {client}"


@pytest.fixture
def listed_folder(tmp_path):
    """A folder to list: a long unbroken name, a name to escape, sizes from bytes to MiB."""
    root = tmp_path / "site" / "docs"
    (root / "photos").mkdir(parents=True)
    (root / ("a-very-long-file-name-without-any-break-" * 4 + ".tar.gz")).write_bytes(b"x" * 700)
    (root / "<b>escaped & shown<i>.txt").write_bytes(b"x" * 20)
    (root / "report.pdf").write_bytes(b"x" * (3 << 20))
    (root / "notes.md").write_bytes(b"x" * 4100)
    return root.parent


@pytest.mark.parametrize("width", [1200, 390])
def test_directory_listing_is_a_sortable_table_at_every_width(start_server, tmp_path,
                                                            listed_folder, width):
    page = "/files/docs/?sort=size&order=desc"
    fit = with_fit_check(lambda environ, start_response: [], page, width)
    server = start_server(Server(fit, port=0, static=[f"/files={listed_folder};display_index"]))
    base = f"http://127.0.0.1:{server.ports[0]}"
    shot = screenshot(tmp_path, base + page, f"listing-{width}.png", width)
    assert png_size(shot) == (width, 900)
    dom = dump_dom(tmp_path, base + page, width=width)
    shown = re.findall(r'<td class="name"><a href="([^"]+)">', dom)
    assert shown[:3] == ["../", "photos/", "report.pdf"] and shown[-1].endswith(".txt"), shown
    assert "&lt;b&gt;escaped &amp; shown&lt;i&gt;.txt" in dom and "<b>escaped" not in dom
    scroll, client = scroll_figures(dump_dom(tmp_path, base + "/__fit", width=width + 40))
    assert scroll <= client, f"the listing scrolls sideways at {width} px: {scroll} > {client}"
