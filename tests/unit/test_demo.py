"""rocket.demo: the echo page shows a body by its media type."""

from __future__ import annotations

import io

from rocket.demo import app, describe_body


def call(method: str, path: str, body: bytes = b"", content_type: str = ""):
    seen = {}

    def start_response(status, headers):
        seen["status"] = status

    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(body),
               "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body))}
    page = b"".join(app(environ, start_response)).decode()
    return seen["status"], page


def test_json_is_shown_pretty_printed_not_as_a_form_key():
    status, page = call("POST", "/echo", b'{"a": [1, 2], "b": "<x>"}', "application/json")
    assert status == "200 OK"
    assert "<h2>JSON</h2>" in page and "Form fields" not in page
    assert '&quot;a&quot;: [\n    1,\n    2\n  ]' in page
    assert "&lt;x&gt;" in page and "<x>" not in page


def test_invalid_json_says_so_and_shows_the_text():
    assert "<h2>Invalid JSON</h2>" in describe_body("application/json; charset=utf-8", b"{nope")


def test_form_fields_are_a_table_and_the_raw_body_is_kept():
    html = describe_body("application/x-www-form-urlencoded", b"name=Ann&message=hi+%3Cthere%3E")
    assert "<h2>Form fields</h2>" in html
    assert "&#x27;hi &lt;there&gt;&#x27;" in html
    assert "name=Ann&amp;message=hi+%3Cthere%3E" in html


def test_text_and_bytes():
    assert describe_body("text/plain", b"hello <b>") == "<h2>Body</h2><pre>hello &lt;b&gt;</pre>"
    assert describe_body("application/octet-stream", b"\x00\xff<") == (
        "<h2>Body (bytes)</h2><pre>\\x00\\xff&lt;</pre>")


def test_the_page_is_readable_on_a_phone():
    status, page = call("GET", "/")
    assert status == "200 OK"
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "overflow-wrap:anywhere" in page
