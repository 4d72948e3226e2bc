"""The request-parser corpus: every case whole, byte by byte, in random chunks, pipelined.

Cases live in ``tests/corpus/{valid,invalid}/NNN.http`` with a ``NNN.json`` sidecar (see
``tests/corpus/make_corpus.py`` for the keys). A valid case must produce exactly the expected
request, body and trailers however the bytes arrive, and a pipelined request after it must
parse too; an invalid case must raise the expected error however the bytes arrive, and even
when another request follows it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Iterable, List, Optional

import pytest

from rocket.http import errors, fields
from rocket.http import parser as parser_module
from rocket.http.events import NEED_DATA, ConnectionClosed, Data, EndOfMessage, Request
from rocket.http.parser import Limits, RequestParser

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
NEXT = b"GET /next?pipelined=1 HTTP/1.1\r\nHost: next.example\r\n\r\n"
MAX_EVENTS = 100_000  # a parser stuck returning events without consuming input fails loudly


def load(kind: str) -> List[tuple]:
    """(name, raw bytes, sidecar dict) for each case of one kind, in file order."""
    out = []
    for http in sorted((CORPUS / kind).glob("*.http")):
        meta = json.loads(http.with_suffix(".json").read_text())
        out.append((http.stem, http.read_bytes(), meta))
    return out


def params(cases: List[tuple]) -> list:
    """pytest params for cases, named by their file number."""
    return [pytest.param(*case, id=case[0]) for case in cases]


VALID = load("valid")
INVALID = load("invalid")
VALID_PARAMS = params(VALID)
INVALID_PARAMS = params(INVALID)
PIPELINE_PARAMS = params([c for c in INVALID if c[2]["pipeline"]])


def split_whole(data: bytes, seed: int) -> List[bytes]:
    return [data]


def split_bytewise(data: bytes, seed: int) -> List[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def split_random(data: bytes, seed: int) -> List[bytes]:
    rng = random.Random(seed)
    pieces, i = [], 0
    while i < len(data):
        n = rng.randint(1, 64)
        pieces.append(data[i : i + n])
        i += n
    return pieces


SPLITS = {"whole": split_whole, "bytewise": split_bytewise, "random": split_random}


def run(parser: RequestParser, pieces: Iterable[bytes]) -> list:
    """Feed each piece, drain events after each, then EOF; stop at ConnectionClosed."""
    events: list = []

    def drain() -> bool:
        for _ in range(MAX_EVENTS):
            event = parser.next_event()
            if event is NEED_DATA:
                return False
            events.append(event)
            if isinstance(event, ConnectionClosed):
                return True
        raise AssertionError("parser produced too many events without needing data")

    for piece in pieces:
        parser.feed(piece)
        drain()
    parser.feed(b"")
    assert drain(), "after EOF the parser must end with ConnectionClosed or raise"
    return events


def messages(events: list) -> List[dict]:
    """Group events into messages: the Request, the joined body and the trailers."""
    out: List[dict] = []
    current: Optional[dict] = None
    for event in events:
        if isinstance(event, Request):
            assert current is None, f"Request before EndOfMessage: {event!r}"
            current = {"request": event, "body": b"", "trailers": None}
        elif isinstance(event, Data):
            assert current is not None, "Data outside a message"
            assert type(event.data) is bytes and event.data, repr(event.data)
            current["body"] += event.data
        elif isinstance(event, EndOfMessage):
            assert current is not None, "EndOfMessage outside a message"
            current["trailers"] = list(event.trailers)
            out.append(current)
            current = None
        else:
            assert isinstance(event, ConnectionClosed), f"unexpected event {event!r}"
            assert current is None, "ConnectionClosed inside a message"
    return out


def latin1(text: str) -> bytes:
    return text.encode("latin-1")


def check_types(msg: dict) -> None:
    """Every byte string handed out is exactly ``bytes`` (a bytearray would compare equal)."""
    req = msg["request"]
    for value in (req.method, req.target, req.http_version):
        assert type(value) is bytes, repr(value)
    for pairs in (req.headers, msg["trailers"]):
        assert type(pairs) is list
        for pair in pairs:
            assert type(pair) is tuple and len(pair) == 2
            assert type(pair[0]) is bytes and type(pair[1]) is bytes, repr(pair)


def check_message(msg: dict, meta: dict) -> None:
    check_types(msg)
    req = msg["request"]
    assert req.method == latin1(meta["method"])
    assert req.target == latin1(meta["target"])
    assert req.http_version == latin1(meta["http_version"])
    assert req.headers == [(latin1(k), latin1(v)) for k, v in meta["headers"]]
    assert req.keep_alive is meta["keep_alive"]
    assert req.expect_continue is meta["expect_continue"]
    assert req.content_length == meta["content_length"]
    assert req.chunked is meta["chunked"]
    assert req.has_body is (meta["chunked"] or bool(meta["content_length"]))
    assert msg["body"] == latin1(meta["body"])
    assert msg["trailers"] == [(latin1(k), latin1(v)) for k, v in meta["trailers"]]


def check_next(msg: dict) -> None:
    req = msg["request"]
    assert (req.method, req.target, req.http_version) == (b"GET", b"/next?pipelined=1", b"1.1")
    assert req.headers == [(b"host", b"next.example")]
    assert msg["body"] == b"" and msg["trailers"] == []


def parser_for(meta: dict) -> RequestParser:
    return RequestParser(Limits(**meta.get("limits", {})))


def test_corpus_is_big_enough():
    assert len(VALID) >= 90 and len(INVALID) >= 90
    for name, raw, meta in VALID + INVALID:
        assert raw, name
        assert meta["description"], name


@pytest.mark.parametrize("split", sorted(SPLITS))
@pytest.mark.parametrize("name,raw,meta", VALID_PARAMS)
def test_valid(name, raw, meta, split):
    msgs = messages(run(parser_for(meta), SPLITS[split](raw, int(name))))
    assert len(msgs) == 1, meta["description"]
    check_message(msgs[0], meta)


@pytest.mark.parametrize("split", sorted(SPLITS))
@pytest.mark.parametrize("name,raw,meta", VALID_PARAMS)
def test_valid_pipelined(name, raw, meta, split):
    parser = parser_for(meta)
    msgs = messages(run(parser, SPLITS[split](raw + NEXT + raw, int(name) + 1000)))
    assert len(msgs) == 3, meta["description"]
    check_message(msgs[0], meta)
    check_next(msgs[1])
    check_message(msgs[2], meta)
    assert parser.trailing_data == b"" and type(parser.trailing_data) is bytes


def expect_error(parser: RequestParser, pieces: List[bytes], meta: dict) -> errors.HTTPError:
    expected = getattr(errors, meta["error"])
    with pytest.raises(errors.HTTPError) as info:
        run(parser, pieces)
    exc = info.value
    assert isinstance(exc, expected), f"{meta['description']}: got {exc!r}"
    assert exc.status == meta["status"]
    if expected is not errors.IncompleteRequest:
        # The error is about the bytes, not about the connection closing after them.
        assert not isinstance(exc, errors.IncompleteRequest), f"{meta['description']}: {exc!r}"
    assert exc.message and str(exc)
    return exc


@pytest.mark.parametrize("split", sorted(SPLITS))
@pytest.mark.parametrize("name,raw,meta", INVALID_PARAMS)
def test_invalid(name, raw, meta, split):
    expect_error(parser_for(meta), SPLITS[split](raw, int(name)), meta)


@pytest.mark.parametrize("split", sorted(SPLITS))
@pytest.mark.parametrize("name,raw,meta", PIPELINE_PARAMS)
def test_invalid_pipelined(name, raw, meta, split):
    expect_error(parser_for(meta), SPLITS[split](raw + NEXT, int(name) + 1000), meta)


@pytest.mark.parametrize("name,raw,meta", INVALID_PARAMS)
def test_invalid_after_a_valid_request(name, raw, meta):
    """A bad request after a good one on the same connection still fails the same way."""
    parser = parser_for(meta)
    parser.feed(NEXT)
    seen = []
    while True:
        event = parser.next_event()
        seen.append(event)
        if isinstance(event, EndOfMessage):
            break
    check_next(messages(seen)[0])
    expect_error(parser, split_random(raw, int(name)), meta)


def test_eof_between_messages_is_connection_closed():
    parser = RequestParser()
    assert parser.next_event() is NEED_DATA
    parser.feed(b"")
    assert isinstance(parser.next_event(), ConnectionClosed)


def test_body_less_request_yields_request_then_end_of_message():
    parser = RequestParser()
    parser.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert isinstance(parser.next_event(), Request)
    assert isinstance(parser.next_event(), EndOfMessage)
    assert parser.next_event() is NEED_DATA


@pytest.mark.parametrize("name,raw,meta", VALID_PARAMS + INVALID_PARAMS)
def test_the_line_cache_changes_no_outcome(name, raw, meta, emptied):
    """Every case gives the same events, or the same error, with its field lines parsed afresh
    as with each cacheable one taken from the line cache or the watched-lines cache
    (fields.read_fields), whose lines skip the control-character check."""

    def outcome() -> list:
        try:
            return [repr(event) for event in run(parser_for(meta), [raw])]
        except errors.HTTPError as exc:
            return [type(exc).__name__, exc.status, exc.message]

    cached = emptied(fields._LINE_CACHE)
    watched = emptied(fields._WATCHED_LINES)
    fresh = outcome()
    assert outcome() == fresh
    short = fields._LINE_CACHE_MAX_BYTES - 16  # room for the colon and any whitespace
    if "error" not in meta and any(latin1(k) not in fields.WATCHED_NAMES and len(k + v) < short
                                   for k, v in meta["headers"]):
        assert cached, "a cacheable line was not cached, so the second run proved nothing"
    if "error" not in meta and any(latin1(k) in fields.WATCHED_NAMES and len(k + v) < short
                                   for k, v in meta["headers"]):
        assert watched, "a watched line was not kept, so the second run proved nothing"
    assert not any(pair[0] in fields.WATCHED_NAMES for pair in cached.values())
    assert all(pair[0] in fields.WATCHED_NAMES for pair in watched.values())


@pytest.mark.parametrize("name,raw,meta", VALID_PARAMS + INVALID_PARAMS)
def test_splitting_a_head_with_splitlines_changes_no_outcome(name, raw, meta, monkeypatch,
                                                             emptied):
    """PyPy's split of a head (fields.split_lines: splitlines() and a length check) gives
    every case the same events, or the same error, as splitting on CR LF."""
    from rocket.http import parser as parser_module

    def outcome(split) -> list:
        monkeypatch.setattr(parser_module, "split_lines", split)
        emptied(fields._LINE_CACHE)
        emptied(fields._WATCHED_LINES)
        try:
            return [repr(event) for event in run(parser_for(meta), [raw])]
        except errors.HTTPError as exc:
            return [type(exc).__name__, exc.status, exc.message]

    assert outcome(fields._split_lines) == outcome(None)


def _feed_and_drain(parser: RequestParser, data: bytes) -> list:
    """Feed ``data`` (no EOF after it) and take every event up to NEED_DATA, as reprs, or the
    error raised as (type, status, message)."""
    parser.feed(data)
    seen: list = []
    try:
        for _ in range(MAX_EVENTS):
            event = parser.next_event()
            if event is NEED_DATA:
                return seen
            seen.append(repr(event))
    except errors.HTTPError as exc:
        return seen + [(type(exc).__name__, exc.status, exc.message)]
    raise AssertionError("parser produced too many events without needing data")


@pytest.mark.parametrize("name,raw,meta", VALID_PARAMS + INVALID_PARAMS)
def test_no_earlier_request_changes_an_outcome(name, raw, meta):
    """A parser keeps what its last head's framing fields decided (RequestParser._framed) and
    its last head (the memo): after any valid corpus request (whose framing fields may equal
    this case's, or differ from them only in the HTTP version), every case gives the events,
    or the error, that it gives on a new parser."""
    alone = _feed_and_drain(parser_for(meta), raw)
    for _, before, _ in VALID:
        parser = parser_for(meta)
        warm = _feed_and_drain(parser, before)
        if not warm or type(warm[-1]) is tuple or not parser.idle or parser.trailing_data:
            continue  # refused under this case's limits, or not complete without EOF
        assert _feed_and_drain(parser, raw) == alone, before


def test_framing_outcomes_shared_by_every_parser_change_no_outcome(monkeypatch):
    """What framing fields decided is kept for every parser (parser._FRAMINGS), so that a new
    connection skips the framing rules: every corpus case gives, on a new parser, the events
    or the error it gives with that store empty, after every valid corpus request went
    through parsers of their own (whose Host, Connection, Content-Length... may equal this
    case's, or differ from them only in the HTTP version), and with a store bound of one."""
    cases = VALID + INVALID
    store = parser_module._FRAMINGS
    store.clear()
    cold = []
    for _, raw, meta in cases:
        store.clear()
        cold.append(_feed_and_drain(parser_for(meta), raw))
    for _, before, meta in VALID:
        _feed_and_drain(parser_for(meta), before)
    assert store, "the valid corpus left no framing outcome behind"
    assert [_feed_and_drain(parser_for(meta), raw) for _, raw, meta in cases] == cold
    monkeypatch.setattr(parser_module, "_FRAMINGS_MAX", 1)
    store.clear()
    assert [_feed_and_drain(parser_for(meta), raw) for _, raw, meta in cases] == cold
    assert len(store) <= 1


def test_a_head_that_breaks_a_framing_rule_leaves_no_outcome_behind():
    """Only outcomes are shared: a head whose framing fields break a rule fails on every new
    parser, and the store holds nothing for it."""
    store = parser_module._FRAMINGS
    store.clear()
    bad = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
    for _ in range(3):
        with pytest.raises(errors.BadRequest, match="more than one Content-Length"):
            _drain_raising(RequestParser(), bad)
    assert store == {}
    good = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    _drain_raising(RequestParser(), good)
    assert len(store) == 1


def _drain_raising(parser: RequestParser, data: bytes) -> None:
    parser.feed(data)
    while parser.next_event() is not NEED_DATA:
        pass
