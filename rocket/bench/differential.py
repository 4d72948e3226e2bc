"""Differential parsing: the same bytes through Rocket's parser, llhttp and h11, compared.

Servers that disagree on where a request ends are how request smuggling happens: a front
proxy forwards what it takes for one request, the server behind it reads two (or half of
one). :func:`compare` runs one byte stream (one or more pipelined requests) through

- Rocket's sans-I/O :class:`~rocket.http.parser.RequestParser`, fed the whole stream;
- llhttp through ``httptools`` (what uvicorn and others use; Node's parser), fed byte by byte
  so that each message's end is known to the byte;
- ``h11`` (a strict pure-Python parser), answered with an empty response after each message
  so that it reads the next one.

Each parser's run becomes an :class:`Outcome`: the messages it completed (method, target,
body, chunk sizes, the offset of the first byte after the message, persistence) and how it
stopped (``clean``, ``incomplete``, ``error``, ``closed`` after a non-persistent message,
``upgrade``, and for Rocket ``crash``). Two kinds of :class:`Finding` compare parsers:

- ``accepts``: Rocket completes a message that both others reject (an error, not "need more").
- ``framing``: Rocket and one other parser both complete message *k* but disagree on its
  body, its chunk boundaries or where it ends; or one of them completes message *k* while the
  other is still waiting for more of it.

Two more come from Rocket alone: ``splits`` (fed one byte at a time it does not reach the
same messages as when fed whole) and ``crash`` (it raised something other than an
``HTTPError``, or kept returning events). Rocket rejecting what the others accept is not a
finding: strictness is a stated choice (see ``docs/reliability.md``). CONNECT and ``Upgrade`` hand the connection to another
protocol in llhttp and h11 but not in Rocket, so the comparison stops at such a message.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from rocket.http.errors import HTTPError
from rocket.http.events import NEED_DATA, ConnectionClosed, Data, EndOfMessage, Request
from rocket.http.parser import RequestParser

__all__ = ["Message", "Outcome", "Finding", "PARSERS", "available", "compare", "run_rocket",
           "run_llhttp", "run_h11"]

_NOISE = re.compile(r"[0-9]+|b?['\"].*")  # offsets and quoted bytes in error messages
MAX_EVENTS = 10_000  # a parser returning events without consuming input is a bug, not a loop


class Message(NamedTuple):
    """One message a parser completed."""

    method: bytes
    target: bytes
    body: bytes
    chunks: Tuple[int, ...]  # sizes of the non-empty chunks, () for a Content-Length body
    end: int  # offset of the first byte after the message
    keep_alive: bool


class Outcome(NamedTuple):
    """What one parser made of a byte stream."""

    parser: str
    messages: List[Message]
    state: str  # clean | incomplete | error | closed | upgrade | crash (Rocket only: a bug)
    error: str = ""


class Finding(NamedTuple):
    """One disagreement worth a look; ``signature`` groups findings of the same cause."""

    kind: str  # accepts | framing | splits | crash
    parser: str  # the other parser (``both`` for accepts, ``rocket`` for splits)
    index: int  # the message it is about
    detail: str
    data: bytes
    errors: Tuple[Tuple[str, str], ...] = ()  # (parser, its error) for accepts

    @property
    def signature(self) -> str:
        """One bucket per cause: kind, parser, the first word of the detail, and for
        ``accepts`` the start of each parser's error (without digits or quoted bytes)."""
        words = [self.kind, self.parser, self.detail.split(" ", 1)[0]]
        words += [f"{p}={_NOISE.sub('', e)[:48]}" for p, e in self.errors]
        return ":".join(words)


def run_rocket(data: bytes, step: int = 0) -> Outcome:
    """Rocket's parser on ``data``: fed whole (each chunk then arrives as one ``Data``, so
    ``chunks`` holds the chunk sizes), or ``step`` bytes at a time (``chunks`` then holds the
    sizes of the ``Data`` events, not of the chunks)."""
    parser = RequestParser()
    pieces = [data[i : i + step] for i in range(0, len(data), step)] if step else [data]
    pieces.reverse()
    messages: List[Message] = []
    head: Optional[Request] = None
    body: List[bytes] = []
    try:
        for _ in range(MAX_EVENTS + len(data)):
            event = parser.next_event()
            if event is NEED_DATA:
                if pieces:
                    parser.feed(pieces.pop())
                    continue
                busy = not parser.idle or head is not None or parser.trailing_data
                return Outcome("rocket", messages, "incomplete" if busy else "clean")
            if isinstance(event, Request):
                head, body = event, []
            elif isinstance(event, Data):
                body.append(event.data)
            elif isinstance(event, EndOfMessage):
                assert head is not None
                chunks = tuple(len(b) for b in body) if head.chunked else ()
                end = len(data) - len(parser.trailing_data) - sum(map(len, pieces))
                messages.append(Message(head.method, head.target, b"".join(body), chunks, end,
                                        head.keep_alive))
                head = None
                if not messages[-1].keep_alive:
                    return Outcome("rocket", messages, "closed")
            elif isinstance(event, ConnectionClosed):
                return Outcome("rocket", messages, "clean")
    except HTTPError as exc:
        return Outcome("rocket", messages, "error", f"{type(exc).__name__} {exc.status}: {exc}")
    except Exception as exc:  # the parser raises HTTPError and nothing else: a bug
        return Outcome("rocket", messages, "crash", f"{type(exc).__name__}: {exc}")
    return Outcome("rocket", messages, "crash", "events without end (no input consumed)")


class _LlhttpRecorder:
    """httptools callbacks that record messages, chunk sizes and where each message ends."""

    def __init__(self) -> None:
        self.messages: List[Message] = []
        self.pos = 0
        self.in_message = False
        self.parser: Any = None
        self._reset()

    def _reset(self) -> None:
        self.url: List[bytes] = []
        self.body: List[bytes] = []
        self.chunks: List[int] = []
        self.chunk_start = -1
        self.keep_alive = False

    def on_message_begin(self) -> None:
        self.in_message = True
        self._reset()

    def on_url(self, url: bytes) -> None:
        self.url.append(url)

    def on_headers_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_chunk_header(self) -> None:
        self.chunk_start = sum(map(len, self.body))

    def on_chunk_complete(self) -> None:
        size = sum(map(len, self.body)) - self.chunk_start
        if size:
            self.chunks.append(size)

    def on_message_complete(self) -> None:
        self.in_message = False
        self.messages.append(Message(
            self.parser.get_method(), b"".join(self.url), b"".join(self.body),
            tuple(self.chunks), self.pos + 1, self.keep_alive,
        ))


def run_llhttp(data: bytes) -> Outcome:
    """llhttp (through httptools, default strict settings) on ``data``, one byte at a time."""
    import httptools

    recorder = _LlhttpRecorder()
    parser = recorder.parser = httptools.HttpRequestParser(recorder)
    try:
        for pos in range(len(data)):
            recorder.pos = pos
            parser.feed_data(data[pos : pos + 1])
            messages = recorder.messages
            if messages and messages[-1].end == pos + 1 and not messages[-1].keep_alive:
                return Outcome("llhttp", messages, "closed")
    except httptools.HttpParserUpgrade:
        return Outcome("llhttp", recorder.messages, "upgrade")
    except httptools.HttpParserError as exc:
        return Outcome("llhttp", recorder.messages, "error", f"{type(exc).__name__}: {exc}")
    return Outcome("llhttp", recorder.messages, "incomplete" if recorder.in_message else "clean")


def run_h11(data: bytes) -> Outcome:
    """h11 on ``data``; each message gets an empty response so that h11 reads the next."""
    import h11

    conn = h11.Connection(h11.SERVER)
    if data:
        conn.receive_data(data)  # b"" would mean EOF
    messages: List[Message] = []
    head: Any = None
    body: List[bytes] = []
    chunks: List[int] = []
    pending = 0
    try:
        for _ in range(MAX_EVENTS):
            event = conn.next_event()
            if event is h11.NEED_DATA:
                busy = head is not None or conn.trailing_data[0]
                return Outcome("h11", messages, "incomplete" if busy else "clean")
            if event is h11.PAUSED:
                return Outcome("h11", messages, "upgrade")
            if isinstance(event, h11.Request):
                head, body, chunks, pending = event, [], [], 0
            elif isinstance(event, h11.Data):
                body.append(event.data)
                pending += len(event.data)
                if event.chunk_end and pending:
                    chunks.append(pending)
                    pending = 0
            elif isinstance(event, h11.EndOfMessage):
                end = len(data) - len(conn.trailing_data[0])
                conn.send(h11.Response(status_code=200, headers=[(b"content-length", b"0")]))
                conn.send(h11.EndOfMessage())
                keep_alive = conn.our_state is h11.DONE and conn.their_state is h11.DONE
                messages.append(Message(head.method, head.target, b"".join(body), tuple(chunks),
                                        end, keep_alive))
                head = None
                if not keep_alive:
                    return Outcome("h11", messages, "closed")
                conn.start_next_cycle()
    except h11.RemoteProtocolError as exc:
        return Outcome("h11", messages, "error", f"RemoteProtocolError: {exc}")
    raise AssertionError("h11 produced events without end")


PARSERS: Dict[str, Callable[[bytes], Outcome]] = {"llhttp": run_llhttp, "h11": run_h11}
"""The parsers Rocket is compared with, by name."""


def available() -> Optional[str]:
    """None when httptools and h11 import; else a sentence saying what is missing."""
    missing = []
    for module in ("httptools", "h11"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if not missing:
        return None
    return (f"the differential harness needs {' and '.join(missing)} "
            "(pip install 'rocket[fuzz]'; httptools is CPython-only)")


def _framing(rocket: Outcome, other: Outcome, data: bytes) -> Optional[Finding]:
    for index, (mine, theirs) in enumerate(zip(rocket.messages, other.messages)):
        for field in ("end", "body", "chunks"):
            if getattr(mine, field) != getattr(theirs, field):
                return Finding("framing", other.parser, index,
                               f"{field} rocket={getattr(mine, field)!r} "
                               f"{other.parser}={getattr(theirs, field)!r}", data)
    index = min(len(rocket.messages), len(other.messages))
    if len(rocket.messages) > index and other.state == "incomplete":
        return Finding("framing", other.parser, index,
                       f"waits rocket completes at {rocket.messages[index].end}, "
                       f"{other.parser} wants more", data)
    if len(other.messages) > index and rocket.state == "incomplete":
        return Finding("framing", other.parser, index,
                       f"completes {other.parser} ends at {other.messages[index].end}, "
                       "rocket wants more", data)
    return None


def _splits(whole: Outcome, bytewise: Outcome, data: bytes) -> Optional[Finding]:
    """Rocket must reach the same messages and end state however the bytes arrive."""
    def shape(outcome: Outcome) -> list:
        return [(m.method, m.target, m.body, m.end, m.keep_alive) for m in outcome.messages]

    if shape(whole) != shape(bytewise) or whole.state != bytewise.state:
        return Finding("splits", "rocket", len(whole.messages),
                       f"bytewise whole={whole.state}/{len(whole.messages)} "
                       f"bytewise={bytewise.state}/{len(bytewise.messages)} "
                       f"{whole.error or bytewise.error}", data)
    return None


def compare(data: bytes, bytewise: bool = True,
            parsers: Optional[Dict[str, Callable[[bytes], Outcome]]] = None,
            ) -> Tuple[Dict[str, Outcome], List[Finding]]:
    """Run Rocket and ``parsers`` (default :data:`PARSERS`) on ``data``; return their
    outcomes and the findings.

    With ``bytewise``, Rocket's parser also gets the bytes one at a time and must agree with
    itself (a ``splits`` finding otherwise).
    """
    parsers = PARSERS if parsers is None else parsers
    outcomes = {"rocket": run_rocket(data)}
    for name, run in parsers.items():
        outcomes[name] = run(data)
    rocket = outcomes["rocket"]
    if rocket.state == "crash":
        return outcomes, [Finding("crash", "rocket", len(rocket.messages), rocket.error, data)]
    others = [outcomes[name] for name in parsers]
    findings = [f for f in (_framing(rocket, other, data) for other in others) if f is not None]
    if all(o.state == "error" for o in others):
        index = max(len(o.messages) for o in others)
        if len(rocket.messages) > index:
            errors = tuple((o.parser, o.error) for o in others)
            findings.append(Finding("accepts", "both", index, "rejected-by-both "
                                    + "; ".join(f"{p}: {e}" for p, e in errors), data, errors))
    if bytewise:
        split = _splits(rocket, run_rocket(data, step=1), data)
        if split is not None:
            findings.append(split)
    return outcomes, findings
