"""HTTP dates: the IMF-fixdate format and the once-a-second cache of the Date line."""

from __future__ import annotations

from rocket.http import dates
from rocket.http.dates import date_line, http_date
from rocket.http.writer import plan_response


def test_http_date_formats_imf_fixdate():
    assert http_date(0) == b"Thu, 01 Jan 1970 00:00:00 GMT"
    assert http_date(784111777) == b"Sun, 06 Nov 1994 08:49:37 GMT"


def test_http_date_agrees_with_email_utils():
    from email.utils import formatdate  # the reference; dates avoids it (imports socket)

    for t in [0, 951782400, 1709164800, 4102444799, 2**31, 2**33] + list(range(0, 10**9, 7654321)):
        assert http_date(t) == formatdate(t, usegmt=True).encode(), t


def test_date_is_formatted_once_per_second(monkeypatch):
    clock = [1000.25]
    monkeypatch.setattr(dates, "_time", lambda: clock[0])
    monkeypatch.setattr(dates, "_cache", (0.0, b"", b""))
    first = http_date()
    assert first == http_date(1000)
    clock[0] = 1000.99
    assert http_date() is first
    assert date_line() == b"Date: " + first + b"\r\n"
    head = plan_response(b"GET", b"1.1", True, "200 OK", [], 0)
    assert b"\r\nDate: " + first + b"\r\n" in head.data
    clock[0] = 1001.0
    assert http_date() == http_date(1001) != first
    assert date_line() == b"Date: " + http_date(1001) + b"\r\n"
