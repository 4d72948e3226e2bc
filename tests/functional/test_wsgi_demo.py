"""The ``make run`` demo app: environ page and form echo, served by Rocket."""

from __future__ import annotations

from wsgiref.validate import validator

import requests

from rocket.demo import app


def test_demo_pages(start_server):
    server = start_server(validator(app))
    with requests.Session() as s:
        url = f"http://127.0.0.1:{server.port}"
        page = s.get(url + "/", headers={"X-Probe": "<b>"})
        assert page.status_code == 200 and "REQUEST_METHOD" in page.text
        assert "&#x27;&lt;b&gt;&#x27;" in page.text and "<b>" not in page.text  # escaped
        echo = s.post(url + "/echo", data={"name": "Ann", "message": "hi <there>"})
        assert "&#x27;hi &lt;there&gt;&#x27;" in echo.text and "bytes received" in echo.text
        assert s.get(url + "/echo").status_code == 405
        assert s.get(url + "/nope").status_code == 404
