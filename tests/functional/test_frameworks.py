"""Flask, Django and Bottle apps on Rocket, each wrapped in wsgiref.validate."""

from __future__ import annotations

import wsgiref.validate

import pytest
import requests

STREAM = "".join(f"{i}\n" for i in range(1000))


class _TerminatedInput(wsgiref.validate.InputWrapper):
    """The validator's input check, plus ``read()`` with no size: allowed when the server sets
    ``wsgi.input_terminated`` (werkzeug relies on it), refused by the PEP 3333-era validator."""

    def read(self, *args):
        assert len(args) <= 1
        data = self.input.read(*args)
        assert type(data) is bytes
        return data


@pytest.fixture(autouse=True)
def _terminated_input(monkeypatch):
    monkeypatch.setattr(wsgiref.validate, "InputWrapper", _TerminatedInput)


def test_flask(start_server):
    pytest.importorskip("flask")
    from tests.apps.flask_app import make_app

    server = start_server(wsgiref.validate.validator(make_app()))
    with requests.Session() as s:
        url = f"http://127.0.0.1:{server.port}"
        assert s.get(url + "/hello/w%C3%B6rld?a=1").json() == {"hello": "wörld", "args": {"a": "1"}}
        assert s.post(url + "/form", data={"x": "1", "y": "é"}).json() == {"form": {"x": "1", "y": "é"}}
        r = s.post(url + "/upload", files={"file": ("f.bin", b"\0" * 200_000)})
        assert r.json() == {"name": "f.bin", "size": 200_000}
        r = s.get(url + "/stream")
        assert r.text == STREAM and r.headers["Transfer-Encoding"] == "chunked"
        assert s.get(url + "/missing").status_code == 404


def test_django(start_server):
    pytest.importorskip("django")
    from tests.apps.django_app import make_app

    server = start_server(wsgiref.validate.validator(make_app()))
    with requests.Session() as s:
        url = f"http://127.0.0.1:{server.port}"
        assert s.get(url + "/hello/ann?q=2").json() == {"hello": "ann", "method": "GET", "q": "2"}
        assert s.post(url + "/echo", data=b"abc" * 1000).content == b"abc" * 1000
        assert s.get(url + "/stream").text == STREAM
        assert s.get(url + "/nothing").status_code == 404


def test_bottle(start_server):
    pytest.importorskip("bottle")
    from tests.apps.bottle_app import make_app

    server = start_server(wsgiref.validate.validator(make_app()))
    with requests.Session() as s:
        url = f"http://127.0.0.1:{server.port}"
        assert s.get(url + "/hello/bo?q=x").json() == {"hello": "bo", "q": "x"}
        assert s.post(url + "/json", json={"a": [1, 2]}).json() == {"got": {"a": [1, 2]}}
        assert s.get(url + "/stream").text == STREAM
