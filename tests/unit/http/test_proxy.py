"""The PROXY protocol parser against its corpus (tests/corpus/proxy): every case whole, byte by
byte and in random chunks, followed by HTTP bytes that must come out untouched; and a property:
any bytes parse, ask for more, or raise ProxyHeaderError, never anything else."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, List

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rocket.http.events import NEED_DATA
from rocket.http.proxy import (
    NO_HEADER,
    ProxyHeaderError,
    ProxyHeaderParser,
    ProxyInfo,
    proxy_mode,
)

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "proxy"
AFTER = b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n"


def load(kind: str) -> List[Any]:
    return [pytest.param(path.read_bytes(), json.loads(path.with_suffix(".json").read_text()),
                         id=f"{kind}-{path.stem}")
            for path in sorted((CORPUS / kind).glob("*.bin"))]


def pieces(data: bytes, how: str) -> List[bytes]:
    if how == "whole":
        return [data]
    if how == "bytewise":
        return [data[i:i + 1] for i in range(len(data))]
    rng, out, i = random.Random(len(data)), [], 0
    while i < len(data):
        step = rng.randint(1, 9)
        out.append(data[i:i + step])
        i += step
    return out


def run(mode: str, chunks: List[bytes], eof: bool = False) -> Any:
    """Feed until the parser decides, then the remaining chunks; (parser, event)."""
    parser = ProxyHeaderParser(mode)
    event = NEED_DATA
    for i, chunk in enumerate(chunks):
        parser.feed(chunk)
        event = parser.next_event()
        if event is not NEED_DATA:
            for rest in chunks[i + 1:]:
                parser.feed(rest)
            break
    if eof and event is NEED_DATA:
        parser.feed(b"")
        event = parser.next_event()
    return parser, event


def test_corpus_is_not_empty():
    assert len(load("valid")) >= 15 and len(load("invalid")) >= 20


@pytest.mark.parametrize("how", ["whole", "bytewise", "random"])
@pytest.mark.parametrize("data, meta", load("valid"))
def test_valid(data, meta, how):
    stream = data + AFTER
    parser, event = run(meta["mode"], pieces(stream, how))
    expect = meta["expect"]
    if expect.get("no_header"):
        assert event is NO_HEADER
        assert parser.trailing_data == stream  # nothing consumed: all of it is HTTP's
        return
    assert isinstance(event, ProxyInfo)
    got = event._asdict()
    for key in ("source", "destination"):
        if isinstance(got[key], tuple):
            got[key] = list(got[key])
    got["tlvs"] = {str(k): v.decode("latin-1") for k, v in got["tlvs"].items()}
    for key, value in expect.items():
        assert got[key] == value, key
    # Whatever followed arrives intact for the next reader, however the bytes were cut.
    assert parser.trailing_data == AFTER
    assert parser.next_event() is event


@pytest.mark.parametrize("how", ["whole", "bytewise", "random"])
@pytest.mark.parametrize("data, meta", load("invalid"))
def test_invalid(data, meta, how):
    chunks = pieces(data if meta["eof"] else data + AFTER, how)
    with pytest.raises(ProxyHeaderError, match=None) as info:
        run(meta["mode"], chunks, eof=meta["eof"])
    assert meta["error"] in str(info.value)


def test_errors_are_sticky():
    parser = ProxyHeaderParser("v2")
    parser.feed(b"GET / HTTP/1.1\r\n")
    for _ in range(2):
        with pytest.raises(ProxyHeaderError):
            parser.next_event()


def test_a_v2_header_is_bounded_before_it_is_read():
    parser = ProxyHeaderParser("v2", max_bytes=64)
    parser.feed(b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x40")  # announces 16 + 64 bytes
    with pytest.raises(ProxyHeaderError, match="exceeds 64"):
        parser.next_event()


def test_proxy_mode_setting_values():
    assert [proxy_mode(v) for v in ("off", "V1", " v2 ", "auto", False)] == \
        ["off", "v1", "v2", "auto", "off"]
    with pytest.raises(ValueError, match="off, v1, v2, auto"):
        proxy_mode("v3")


@given(st.binary(max_size=300), st.sampled_from(["v1", "v2", "auto"]), st.booleans())
def test_any_bytes_parse_or_raise_proxy_header_error(data, mode, eof):
    parser = ProxyHeaderParser(mode)
    parser.feed(data)
    try:
        event = parser.next_event()
        if eof and event is NEED_DATA:
            parser.feed(b"")
            parser.next_event()
    except ProxyHeaderError:
        pass
