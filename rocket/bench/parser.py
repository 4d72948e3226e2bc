"""Request-parser benchmark: Rocket's parser against h11 and httptools, requests per second.

``python -m rocket.bench.parser [--seconds S] [--json]``

Three messages: a minimal GET, a browser-like GET with 12 headers and a POST with a 4 KiB
body. Every parser does the same work per request and hands back the same result: method,
target, a list of (lower-case name, value) headers and the whole body, after the end of the
message was seen. All three are checked to agree before anything is timed.

- Rocket: one ``RequestParser`` for the whole run, as a server keeps one per connection, fed
  the message and a twin spelled ``host:`` instead of ``Host:`` in turn. The twin parses to the
  same result with the same work, and it keeps every head different from the one before, so
  every head is validated in full: a parser that sees the same head again reuses its last
  result. That case is the separate ``rocket-repeat`` column (the same message over and over,
  the way a benchmark client's keep-alive connection looks).
- httptools: one ``HttpRequestParser`` for the whole run as well (it handles pipelining);
  the callbacks collect the same result (names lower-cased, as the other two return them).
- h11: a new ``Connection`` per message. h11 only starts a new request cycle after a response
  was sent, so reusing one would add response serialisation to its side; a fresh connection
  is the cheaper choice for h11 (its constructor cost is printed alongside).

h11 and httptools are optional (the ``bench`` extra); a missing one is reported as n/a.
Each figure is the best of ``--rounds`` timed rounds of ``seconds / rounds`` each, timed with
the process's CPU clock, so that other load on the machine disturbs the figures less.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from typing import Callable, Dict, List, Optional, Tuple

from rocket.http.events import Data, EndOfMessage, Request
from rocket.http.parser import RequestParser

Result = Tuple[bytes, bytes, List[Tuple[bytes, bytes]], bytes]

MESSAGES: Dict[str, bytes] = {
    "minimal-get": b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "browser-get": (
        b"GET /app/page?id=7&tab=info HTTP/1.1\r\n"
        b"Host: www.example.com\r\n"
        b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
        b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
        b"Accept-Language: en-US,en;q=0.5\r\n"
        b"Accept-Encoding: gzip, deflate, br\r\n"
        b"Referer: https://www.example.com/app/\r\n"
        b"Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark; _ga=GA1.2.3.4\r\n"
        b"Upgrade-Insecure-Requests: 1\r\n"
        b"Sec-Fetch-Dest: document\r\n"
        b"Sec-Fetch-Mode: navigate\r\n"
        b"Sec-Fetch-Site: same-origin\r\n"
        b"Connection: keep-alive\r\n"
        b"\r\n"
    ),
    "post-4k": (
        b"POST /api/upload HTTP/1.1\r\n"
        b"Host: api.example.com\r\n"
        b"Content-Type: application/octet-stream\r\n"
        b"Content-Length: 4096\r\n"
        b"\r\n" + bytes(range(256)) * 16
    ),
}


def _rocket_once(messages: List[bytes]) -> Callable[[], Result]:
    """One Rocket parser fed ``messages`` in turn, one per call, as a connection would."""
    parser = RequestParser()
    feed, next_event = parser.feed, parser.next_event
    turn = list(messages)

    def once() -> Result:
        turn.reverse()
        feed(turn[0])
        req = next_event()
        assert type(req) is Request
        body = []
        while True:
            event = next_event()
            if type(event) is Data:
                body.append(event.data)
            elif type(event) is EndOfMessage:
                return req.method, req.target, req.headers, b"".join(body)
            else:
                raise RuntimeError(f"unexpected event {event!r}")

    return once


def rocket_runner(message: bytes) -> Callable[[], Result]:
    """Heads that differ from the previous one each time (full validation)."""
    twin = message.replace(b"\r\nHost:", b"\r\nhost:", 1)
    assert twin != message, "every benchmark message carries a Host field"
    return _rocket_once([twin, message])


def rocket_repeat_runner(message: bytes) -> Callable[[], Result]:
    """The same message every time (the parser's repeated-head memo hits)."""
    return _rocket_once([message])


def maybe_h11_runner(message: bytes) -> Optional[Callable[[], Result]]:
    """A fresh h11 server connection per iteration, or None when h11 is not installed."""
    try:
        import h11
    except ImportError:
        return None
    Connection, SERVER, NEED = h11.Connection, h11.SERVER, h11.NEED_DATA
    H11Request, H11Data, H11End = h11.Request, h11.Data, h11.EndOfMessage

    def once() -> Result:
        conn = Connection(SERVER)
        conn.receive_data(message)
        req = conn.next_event()
        assert type(req) is H11Request
        body = []
        while True:
            event = conn.next_event()
            if type(event) is H11Data:
                body.append(event.data)
            elif type(event) is H11End:
                return req.method, req.target, list(req.headers), b"".join(body)
            elif event is NEED:
                raise RuntimeError("h11 needs more data for a complete message")

    return once


def maybe_httptools_runner(message: bytes) -> Optional[Callable[[], Result]]:
    """One httptools parser reused for every iteration, or None when not installed."""
    try:
        import httptools
    except ImportError:
        return None

    class Collector:
        __slots__ = ("url", "headers", "body", "done")

        def __init__(self) -> None:
            self.url, self.headers, self.body, self.done = b"", [], [], False

        def on_url(self, url: bytes) -> None:
            self.url += url

        def on_header(self, name: bytes, value: bytes) -> None:
            self.headers.append((name.lower(), value))

        def on_body(self, body: bytes) -> None:
            self.body.append(body)

        def on_message_complete(self) -> None:
            self.done = True

    box = Collector()
    parser = httptools.HttpRequestParser(box)
    feed, get_method = parser.feed_data, parser.get_method

    def once() -> Result:
        box.url, box.headers, box.body, box.done = b"", [], [], False
        feed(message)
        if not box.done:
            raise RuntimeError("httptools did not complete the message")
        return get_method(), box.url, box.headers, b"".join(box.body)

    return once


RUNNERS = {
    "rocket": rocket_runner,
    "rocket-repeat": rocket_repeat_runner,
    "h11": maybe_h11_runner,
    "httptools": maybe_httptools_runner,
}


def normalise(result: Result) -> Result:
    method, target, headers, body = result
    return bytes(method), bytes(target), [(bytes(n), bytes(v)) for n, v in headers], body


def rate(once: Callable[[], Result], seconds: float, rounds: int) -> float:
    """Best requests/s over ``rounds`` timed rounds of ``seconds / rounds`` each."""
    for _ in range(50):  # warm up caches (and a JIT on PyPy)
        once()
    per_round = seconds / rounds
    best = 0.0
    for _ in range(rounds):
        count, batch = 0, 64
        start = time.process_time()
        deadline = start + per_round
        now = start
        while now < deadline:
            for _ in range(batch):
                once()
            count += batch
            now = time.process_time()
        best = max(best, count / (now - start))
    return best


def h11_constructor_us() -> Optional[float]:
    """Microseconds per ``h11.Connection(h11.SERVER)``, the part of h11's figure not parsing."""
    try:
        import h11
    except ImportError:
        return None
    n = 20000
    start = time.process_time()
    for _ in range(n):
        h11.Connection(h11.SERVER)
    return (time.process_time() - start) / n * 1e6


def run(seconds: float = 3.0, rounds: int = 3) -> dict:
    """Measure every available parser on every message; raise if their results disagree."""
    results: Dict[str, Dict[str, Optional[float]]] = {}
    for name, message in MESSAGES.items():
        runners = {p: make(message) for p, make in RUNNERS.items()}
        reference = normalise(runners["rocket"]())
        for parser, once in runners.items():
            if once is not None and normalise(once()) != reference:
                raise RuntimeError(f"{parser} disagrees with rocket on {name}")
        share = seconds / (len(MESSAGES) * len(runners))
        results[name] = {
            parser: (rate(once, share, rounds) if once is not None else None)
            for parser, once in runners.items()
        }
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "seconds": seconds,
        "rounds": rounds,
        "requests_per_second": results,
        "h11_constructor_us": h11_constructor_us(),
    }


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a and b else None


def format_table(report: dict) -> str:
    """The human-readable table printed by ``main``."""
    fmt = "{:<12} {:>12} {:>14} {:>12} {:>12} {:>11} {:>17}"
    lines = [
        f"request parser, requests/s ({report['python']}, best of {report['rounds']} rounds)",
        fmt.format("message", "rocket", "rocket-repeat", "h11", "httptools", "rocket/h11",
                   "rocket/httptools"),
    ]

    def num(x: Optional[float], spec: str) -> str:
        return format(x, spec) if x is not None else "n/a"

    for name, r in report["requests_per_second"].items():
        lines.append(fmt.format(
            name, num(r["rocket"], ",.0f"), num(r["rocket-repeat"], ",.0f"), num(r["h11"], ",.0f"),
            num(r["httptools"], ",.0f"),
            num(ratio(r["rocket"], r["h11"]), ".2f"), num(ratio(r["rocket"], r["httptools"]), ".2f"),
        ))
    ctor = report["h11_constructor_us"]
    if ctor is not None:
        lines.append(f"h11 figures include a new Connection per request ({ctor:.2f} us each)")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    ap = argparse.ArgumentParser(prog="python -m rocket.bench.parser", description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0,
                    help="total measuring time, shared by all parsers and messages (default 3)")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds per figure; best wins")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args(argv)
    if args.seconds <= 0 or args.rounds < 1:
        ap.error("--seconds must be > 0 and --rounds >= 1")
    report = run(args.seconds, args.rounds)
    print(json.dumps(report) if args.json else format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
