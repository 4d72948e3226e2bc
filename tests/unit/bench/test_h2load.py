"""rocket.bench.h2load: the parsing of h2load's summary and the command lines it runs."""

from __future__ import annotations

import pytest

from rocket.bench.h2load import H2loadResult, h2load_argv, parse_h2load, render

OUTPUT = """starting benchmark...
spawning thread #0: 4 total client(s). 2000 total requests
TLS Protocol: TLSv1.3
Cipher: TLS_AES_256_GCM_SHA384
Server Temp Key: X25519 253 bits
Application protocol: h2
progress: 100% done

finished in 2.27s, 880.79 req/s, 38.96KB/s
requests: 2000 total, 1990 started, 1985 done, 1980 succeeded, 5 failed, 3 errored, 2 timeout
status codes: 1980 2xx, 0 3xx, 4 4xx, 1 5xx
traffic: 88.48KB (90600) total, 10.12KB (10360) headers (space savings 94.77%), 25.39KB (26000) data
                     min         max         mean         sd        +/- sd
time for request:    98.85ms    397.33ms    222.04ms     80.44ms    68.70%
"""


def test_parse_summary():
    r = parse_h2load(OUTPUT)
    assert r.seconds == pytest.approx(2.27)
    assert r.req_per_s == pytest.approx(880.79)
    assert (r.total, r.started, r.done, r.succeeded) == (2000, 1990, 1985, 1980)
    assert (r.failed, r.errored, r.timeout) == (5, 3, 2)
    assert r.status == {"2xx": 1980, "3xx": 0, "4xx": 4, "5xx": 1}
    assert r.protocol == "h2"
    assert not r.all_succeeded


@pytest.mark.parametrize("text, seconds", [("120.65ms", 0.12065), ("950us", 0.00095),
                                           ("3s", 3.0)])
def test_parse_duration_units(text, seconds):
    clean = OUTPUT.replace("2.27s", text).replace(
        "1990 started, 1985 done, 1980 succeeded, 5 failed, 3 errored, 2 timeout",
        "2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout").replace(
        "1980 2xx, 0 3xx, 4 4xx, 1 5xx", "2000 2xx, 0 3xx, 0 4xx, 0 5xx")
    r = parse_h2load(clean)
    assert r.seconds == pytest.approx(seconds)
    assert r.all_succeeded


def test_no_summary_is_an_error():
    with pytest.raises(ValueError, match="no h2load summary"):
        parse_h2load("h2load: -D: value error 2.0\n")


def test_argv_duration_and_count():
    assert h2load_argv("https://127.0.0.1:1/", 16, 10, 5.0, warmup_s=1.0,
                       prefix=["taskset", "-c", "0"]) == [
        "taskset", "-c", "0", "h2load", "-t", "1", "-c", "16", "-m", "10", "-D", "5000ms",
        "--warm-up-time", "1000ms", "https://127.0.0.1:1/"]
    assert h2load_argv("http://127.0.0.1:1/", 1, 100, requests=500, h1=True) == [
        "h2load", "-t", "1", "-c", "1", "-m", "100", "-n", "500", "--h1", "http://127.0.0.1:1/"]


def test_render_table():
    ok = H2loadResult(5.0, 12345.6, 100, 100, 100, 100, 0, 0, 0, {"2xx": 100}, "h2")
    table = render({"rocket-h2": {"c1x100": ok, "c16x10": "did not start"}},
                   ["c1x100", "c16x10"])
    lines = table.splitlines()
    assert lines[0] == ("| server | protocol | c1x100 req/s | c16x10 req/s | c1x100 not ok "
                        "| c16x10 not ok |")
    assert lines[2] == "| rocket-h2 | h2 | 12.3k | - | 0 | did not start |"
