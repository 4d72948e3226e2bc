"""Pages people look at (the demo app, the directory listing), seen by headless Chromium at
desktop (1200 px) and phone (390 px) widths: screenshots are saved, and no page scrolls
sideways."""

from __future__ import annotations

import re

import pytest

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
