"""Write the request-parser corpus: ``valid/NNN.http`` and ``invalid/NNN.http`` with sidecars.

Run ``python tests/corpus/make_corpus.py`` after editing a case; the generated files are
committed so the corpus stays readable as exact bytes. Each case is written by hand here:
the expectations are never computed by a parser.

Valid sidecar keys: description, method, target, http_version, headers ([name, value] pairs,
names lower-cased, values stripped), keep_alive, expect_continue, content_length, chunked,
body and trailers (latin-1 strings), limits (keyword arguments for ``Limits``, optional).
Invalid sidecar keys: description, error (class name in ``rocket.http.errors``), status,
limits (optional), pipeline (False when appending a second request would change the meaning,
e.g. a message cut short by EOF).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
CRLF = b"\r\n"


def head(line: bytes, *fields: bytes, pre: bytes = b"") -> bytes:
    """A request head: optional leading bytes, the request line, raw field lines, CRLF."""
    return pre + line + CRLF + b"".join(f + CRLF for f in fields) + CRLF


def chunked(*chunks: bytes, trailers: Sequence[bytes] = ()) -> bytes:
    """A chunked body with lower-case hex sizes, the last chunk and optional trailer lines."""
    out = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
    return out + b"0\r\n" + b"".join(t + CRLF for t in trailers) + CRLF


def fields_of(raw_fields: Sequence[bytes]) -> List[Tuple[bytes, bytes]]:
    """Expected header pairs for well-formed field lines (name lower-cased, value stripped)."""
    out = []
    for line in raw_fields:
        name, _, value = line.partition(b":")
        out.append((name.lower(), value.strip(b" \t")))
    return out


VALID: List[dict] = []
INVALID: List[dict] = []


def valid(
    desc: str,
    line: bytes,
    fields: Sequence[bytes] = (),
    body: bytes = b"",
    *,
    pre: bytes = b"",
    method: Optional[bytes] = None,
    target: Optional[bytes] = None,
    version: Optional[bytes] = None,
    keep_alive: Optional[bool] = None,
    expect_continue: bool = False,
    content_length: Optional[int] = None,
    is_chunked: bool = False,
    decoded: Optional[bytes] = None,
    trailers: Sequence[Tuple[bytes, bytes]] = (),
    headers: Optional[Sequence[Tuple[bytes, bytes]]] = None,
    limits: Optional[Dict[str, int]] = None,
) -> None:
    """Add a valid case; method/target/version default to the request line's three parts."""
    m, t, v = line.split(b" ")
    version = version if version is not None else v[5:]
    if keep_alive is None:
        keep_alive = version == b"1.1"
    VALID.append(
        dict(
            description=desc,
            raw=head(line, *fields, pre=pre) + body,
            method=method or m,
            target=target or t,
            http_version=version,
            headers=list(headers) if headers is not None else fields_of(fields),
            keep_alive=keep_alive,
            expect_continue=expect_continue,
            content_length=content_length,
            chunked=is_chunked,
            body=decoded if decoded is not None else body,
            trailers=list(trailers),
            limits=limits,
        )
    )


def invalid(
    desc: str,
    raw: bytes,
    error: str = "BadRequest",
    status: int = 400,
    *,
    limits: Optional[Dict[str, int]] = None,
    pipeline: bool = True,
) -> None:
    """Add an invalid case with the expected error class name and status."""
    INVALID.append(
        dict(description=desc, raw=raw, error=error, status=status, limits=limits, pipeline=pipeline)
    )


H = b"Host: example.com"
GET = b"GET / HTTP/1.1"
POST = b"POST /submit HTTP/1.1"
TE_CHUNKED = b"Transfer-Encoding: chunked"

# ---------------------------------------------------------------- valid: methods and targets
valid("minimal GET", GET, [H])
valid("origin-form with query", b"GET /search?q=rocket&page=2 HTTP/1.1", [H])
valid("HEAD", b"HEAD /index.html HTTP/1.1", [H])
valid("POST with Content-Length body", POST, [H, b"Content-Length: 11"], b"hello world",
      content_length=11)
valid("PUT with body", b"PUT /r/1 HTTP/1.1", [H, b"Content-Length: 4"], b"data", content_length=4)
valid("DELETE without body", b"DELETE /r/1 HTTP/1.1", [H])
valid("OPTIONS asterisk-form (RFC 9112 3.2.4)", b"OPTIONS * HTTP/1.1", [H])
valid("CONNECT authority-form (RFC 9112 3.2.3)", b"CONNECT example.com:443 HTTP/1.1",
      [b"Host: example.com:443"])
valid("absolute-form target (RFC 9112 3.2.2)", b"GET http://example.com/path?q=1 HTTP/1.1", [H])
valid("absolute-form https with port", b"GET https://example.com:8443/ HTTP/1.1",
      [b"Host: example.com:8443"])
valid("PATCH with body", b"PATCH /r/1 HTTP/1.1",
      [H, b"Content-Type: application/json", b"Content-Length: 2"], b"{}", content_length=2)
valid("TRACE", b"TRACE / HTTP/1.1", [H])
valid("extension method PROPFIND", b"PROPFIND /dav/ HTTP/1.1", [H, b"Depth: 1"])
valid("method token with dash", b"M-SEARCH /upnp HTTP/1.1", [b"Host: 239.255.255.250:1900"])
valid("lower-case method is a distinct token (RFC 9110 9.1)", b"get / HTTP/1.1", [H])
valid("method made of every tchar punctuation (RFC 9110 5.6.2)", b"!#$%&'*+-.^_`|~ / HTTP/1.1", [H])
valid("percent-encoded target kept raw", b"GET /a%20b/c%2Fd HTTP/1.1", [H])
valid("target with sub-delims and pchar", b"GET /p;a=b/c@d:e!$&'()*+,;=?x=y&z=%41~/? HTTP/1.1",
      [H])
valid("long target under the limit", b"GET /" + b"a" * 8000 + b" HTTP/1.1", [H])
valid("target with empty query", b"GET /path? HTTP/1.1", [H])

# ---------------------------------------------------------------- valid: versions and keep-alive
valid("HTTP/1.0 without Host closes by default (RFC 9112 9.3)", b"GET / HTTP/1.0", [])
valid("HTTP/1.0 Connection: keep-alive", b"GET / HTTP/1.0", [b"Connection: keep-alive"],
      keep_alive=True)
valid("HTTP/1.0 Connection token is case-insensitive", b"GET / HTTP/1.0",
      [H, b"Connection: Keep-Alive"], keep_alive=True)
valid("HTTP/1.0 Connection: close", b"GET / HTTP/1.0", [b"Connection: close"], keep_alive=False)
valid("HTTP/1.1 persistent by default", GET, [H], keep_alive=True)
valid("HTTP/1.1 Connection: close", GET, [H, b"Connection: close"], keep_alive=False)
valid("HTTP/1.1 Connection: CLOSE upper case", GET, [H, b"Connection: CLOSE"], keep_alive=False)
valid("HTTP/1.1 Connection: keep-alive", GET, [H, b"Connection: keep-alive"], keep_alive=True)
valid("HTTP/1.1 close among other tokens", GET, [H, b"Connection: upgrade, close"],
      keep_alive=False)
valid("HTTP/1.1 close in a list without spaces", GET, [H, b"Connection: foo,close"],
      keep_alive=False)
valid("token 'closed' is not 'close'", GET, [H, b"Connection: closed"], keep_alive=True)
valid("two Connection fields combine (RFC 9110 5.3)", GET,
      [H, b"Connection: keep-alive", b"Connection: close"], keep_alive=False)
valid("HTTP/1.0 keep-alive among other tokens", b"GET / HTTP/1.0",
      [b"Connection: keep-alive, Upgrade"], keep_alive=True)
valid("HTTP/1.0 keep-alive after another token", b"GET / HTTP/1.0",
      [b"Connection: TE,keep-alive"], keep_alive=True)
valid("HTTP/1.0 close in an earlier Connection field still wins", b"GET / HTTP/1.0",
      [b"Connection: close", b"Connection: keep-alive"], keep_alive=False)
valid("HTTP/1.0 close wins over keep-alive", b"GET / HTTP/1.0",
      [b"Connection: keep-alive, close"], keep_alive=False)
valid("Connection value with tabs as OWS", GET, [H, b"Connection:\t close \t"], keep_alive=False)
valid("HTTP/1.0 with a Host header", b"GET /old HTTP/1.0", [H], keep_alive=False)
valid("HTTP/1.0 POST with body", b"POST /form HTTP/1.0", [b"Content-Length: 3"], b"a=b",
      content_length=3, keep_alive=False)

# ---------------------------------------------------------------- valid: Host
valid("Host with port", GET, [b"Host: example.com:8080"])
valid("empty Host is allowed (RFC 9112 3.2)", GET, [b"Host:"])
valid("absolute-form with a different Host (RFC 9112 3.2.2: Host ignored)",
      b"GET http://a.example/ HTTP/1.1", [b"Host: b.example"])
valid("IPv6 literal Host", GET, [b"Host: [::1]:8080"])
valid("Host name case-insensitive", GET, [b"HOST: example.com"])

# ---------------------------------------------------------------- valid: Content-Length bodies
valid("Content-Length: 0", POST, [H, b"Content-Length: 0"], content_length=0)
valid("Content-Length with leading zeros (1*DIGIT)", POST, [H, b"Content-Length: 0005"], b"12345",
      content_length=5)
valid("Content-Length with OWS and tab", POST, [H, b"Content-Length: \t5 \t"], b"abcde",
      content_length=5)
valid("body with CRLF and high bytes", POST, [H, b"Content-Length: 8"], b"a\r\nb\xff\xfe\r\n",
      content_length=8)
valid("body with NUL bytes", POST, [H, b"Content-Length: 4"], b"\x00\x01\x00\x02",
      content_length=4)
valid("GET with a body", GET, [H, b"Content-Length: 3"], b"xyz", content_length=3)
valid("10000-byte body", POST, [H, b"Content-Length: 10000"], bytes(range(256)) * 39 + b"x" * 16,
      content_length=10000)
valid("body that looks like a request", POST, [H, b"Content-Length: 35"],
      b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", content_length=35)
valid("mixed-case Content-Length name", POST, [H, b"content-LENGTH: 2"], b"ok", content_length=2)
valid("POST with no framing has no body (RFC 9112 6.3)", POST, [H])
valid("Content-Length 1", POST, [H, b"Content-Length: 1"], b"!", content_length=1)

# ---------------------------------------------------------------- valid: chunked bodies
valid("one chunk", POST, [H, TE_CHUNKED], chunked(b"hello"), is_chunked=True, decoded=b"hello")
valid("three chunks", POST, [H, TE_CHUNKED], chunked(b"ab", b"cde", b"f"), is_chunked=True,
      decoded=b"abcdef")
valid("upper-case hex size", POST, [H, TE_CHUNKED], b"A\r\n0123456789\r\n0\r\n\r\n",
      is_chunked=True, decoded=b"0123456789")
valid("lower-case hex size", POST, [H, TE_CHUNKED], b"a\r\n0123456789\r\n0\r\n\r\n",
      is_chunked=True, decoded=b"0123456789")
valid("mixed-case hex sizes", POST, [H, TE_CHUNKED],
      b"1F\r\n" + b"x" * 31 + b"\r\n1f\r\n" + b"y" * 31 + b"\r\n0\r\n\r\n", is_chunked=True,
      decoded=b"x" * 31 + b"y" * 31)
valid("chunk size with leading zeros", POST, [H, TE_CHUNKED], b"0005\r\nhello\r\n000\r\n\r\n",
      is_chunked=True, decoded=b"hello")
valid("chunk extension name=value (RFC 9112 7.1.1)", POST, [H, TE_CHUNKED],
      b"5;name=value\r\nhello\r\n0\r\n\r\n", is_chunked=True, decoded=b"hello")
valid("chunk extension without value", POST, [H, TE_CHUNKED], b"5;foo\r\nhello\r\n0\r\n\r\n",
      is_chunked=True, decoded=b"hello")
valid("quoted chunk extension with escapes and semicolon", POST, [H, TE_CHUNKED],
      b'5;name="quoted; \\"value\\""\r\nhello\r\n0\r\n\r\n', is_chunked=True, decoded=b"hello")
valid("several chunk extensions", POST, [H, TE_CHUNKED], b"5;a=1;b=2;c\r\nhello\r\n0\r\n\r\n",
      is_chunked=True, decoded=b"hello")
valid("extension on the last chunk", POST, [H, TE_CHUNKED], b"2\r\nhi\r\n0;final=yes\r\n\r\n",
      is_chunked=True, decoded=b"hi")
valid("one trailer field (RFC 9112 7.1.2)", POST, [H, TE_CHUNKED, b"Trailer: Checksum"],
      chunked(b"hello", trailers=[b"Checksum: abc123"]), is_chunked=True, decoded=b"hello",
      trailers=[(b"checksum", b"abc123")])
valid("two trailers, names lower-cased, values stripped", POST, [H, TE_CHUNKED],
      chunked(b"data", trailers=[b"X-One: 1", b"X-TWO:\t two \t"]), is_chunked=True,
      decoded=b"data", trailers=[(b"x-one", b"1"), (b"x-two", b"two")])
valid("empty chunked body", POST, [H, TE_CHUNKED], b"0\r\n\r\n", is_chunked=True, decoded=b"")
valid("Transfer-Encoding value is case-insensitive", POST, [H, b"Transfer-Encoding: Chunked"],
      chunked(b"abc"), is_chunked=True, decoded=b"abc")
valid("Transfer-Encoding CHUNKED with OWS", POST, [H, b"Transfer-Encoding:  CHUNKED\t"],
      chunked(b"abc"), is_chunked=True, decoded=b"abc")
valid("chunk data containing CRLF", POST, [H, TE_CHUNKED], chunked(b"a\r\nb", b"\r\n"),
      is_chunked=True, decoded=b"a\r\nb\r\n")
valid("chunked with Expect: 100-continue", POST,
      [H, TE_CHUNKED, b"Expect: 100-continue"], chunked(b"body"), is_chunked=True,
      decoded=b"body", expect_continue=True)
valid("4 KiB chunk", POST, [H, TE_CHUNKED], chunked(b"z" * 4096), is_chunked=True,
      decoded=b"z" * 4096)
valid("twenty one-byte chunks", POST, [H, TE_CHUNKED], chunked(*[bytes([65 + i]) for i in range(20)]),
      is_chunked=True, decoded=bytes(range(65, 85)))
valid("trailer with empty value", POST, [H, TE_CHUNKED], chunked(b"x", trailers=[b"X-Empty:"]),
      is_chunked=True, decoded=b"x", trailers=[(b"x-empty", b"")])
valid("trailers after an empty body", POST, [H, TE_CHUNKED], b"0\r\nX-A: a\r\nX-B: b\r\n\r\n",
      is_chunked=True, decoded=b"", trailers=[(b"x-a", b"a"), (b"x-b", b"b")])
valid("chunked GET", GET, [H, TE_CHUNKED], chunked(b"q"), is_chunked=True, decoded=b"q")
valid("chunk data with NUL and high bytes", POST, [H, TE_CHUNKED], chunked(b"\x00\xff\r"),
      is_chunked=True, decoded=b"\x00\xff\r")

# ---------------------------------------------------------------- valid: Expect
valid("Expect: 100-continue", POST, [H, b"Content-Length: 2", b"Expect: 100-continue"], b"hi",
      content_length=2, expect_continue=True)
valid("Expect value is case-insensitive (RFC 9110 10.1.1)", POST,
      [H, b"Content-Length: 2", b"Expect: 100-Continue"], b"hi", content_length=2,
      expect_continue=True)
valid("Expect: 100-continue is ignored in HTTP/1.0 (RFC 9110 10.1.1)", b"POST / HTTP/1.0",
      [b"Content-Length: 2", b"Expect: 100-continue"], b"hi", content_length=2,
      expect_continue=False, keep_alive=False)

# ---------------------------------------------------------------- valid: leading empty lines
valid("one empty line before the request line (RFC 9112 2.2)", GET, [H], pre=CRLF)
valid("two empty lines before the request line", GET, [H], pre=CRLF * 2)

# ---------------------------------------------------------------- valid: field syntax
valid("obs-text in a value (RFC 9110 5.5)", GET, [H, b"X-Latin: caf\xe9 \x80\xff"])
valid("tab inside a value", GET, [H, b"X-Tab: a\tb"])
valid("tabs as OWS around a value", GET, [H, b"X-Ows:\t\tvalue\t"])
valid("empty value", GET, [H, b"X-Empty:"])
valid("value of only whitespace becomes empty", GET, [H, b"X-Blank:  \t "])
valid("field name of every tchar", GET, [H, b"!#$%&'*+-.^_`|~0aZ: v"])
valid("repeated field kept in order", GET, [H, b"X-A: 1", b"X-B: 2", b"X-A: 3"])
valid("value containing colons", GET, [H, b"X-Time: 12:34:56"])
valid("no space after the colon", GET, [b"Host:example.com", b"X:y"])
valid("inner spaces of a value kept", GET, [H, b"X-Sp: a  b   c"])
valid("long value under the field limit", GET, [H, b"X-Long: " + b"v" * 8000])
valid("browser-like request", b"GET /app/page?id=7 HTTP/1.1", [
    b"Host: www.example.com",
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    b"Accept-Language: en-US,en;q=0.5",
    b"Accept-Encoding: gzip, deflate, br",
    b"Referer: https://www.example.com/",
    b"Cookie: session=abc123; theme=dark; _ga=GA1.2.3.4",
    b"Upgrade-Insecure-Requests: 1",
    b"Sec-Fetch-Dest: document",
    b"Sec-Fetch-Mode: navigate",
    b"Sec-Fetch-Site: same-origin",
    b"Connection: keep-alive",
], keep_alive=True)
valid("100 fields is the default maximum", GET, [H] + [b"X-F%d: %d" % (i, i) for i in range(99)])
valid("exactly max_headers fields with small limits", GET, [H, b"A: 1", b"B: 2"],
      limits={"max_headers": 3})
valid("body exactly max_body", POST, [H, b"Content-Length: 10"], b"0123456789", content_length=10,
      limits={"max_body": 10})
valid("chunked body exactly max_body", POST, [H, TE_CHUNKED], chunked(b"01234", b"56789"),
      is_chunked=True, decoded=b"0123456789", limits={"max_body": 10})
valid("max_body 0 means unbounded", POST, [H, b"Content-Length: 20"], b"x" * 20, content_length=20,
      limits={"max_body": 0})
valid("quoted-string value kept verbatim", GET, [H, b'X-Q: "a, b" ; c=\\"d\\"'])
valid("header name case folded, value case kept", GET, [H, b"X-MiXeD: VaLuE"])

# ================================================================ invalid: framing
CL5 = b"Content-Length: 5"
invalid("Content-Length with Transfer-Encoding (RFC 9112 6.1)",
        head(POST, H, CL5, TE_CHUNKED) + chunked(b"hello"))
invalid("Transfer-Encoding before Content-Length: 0",
        head(POST, H, TE_CHUNKED, b"Content-Length: 0") + chunked(b"hello"))
invalid("duplicate identical Content-Length (RFC 9112 6.3)", head(POST, H, CL5, CL5) + b"hello")
invalid("duplicate different Content-Length", head(POST, H, CL5, b"Content-Length: 6") + b"hello!")
invalid("Content-Length list", head(POST, H, b"Content-Length: 5, 5") + b"hello")
invalid("Content-Length +1", head(POST, H, b"Content-Length: +1") + b"x")
invalid("Content-Length -1", head(POST, H, b"Content-Length: -1") + b"x")
invalid("Content-Length '1 2'", head(POST, H, b"Content-Length: 1 2") + b"x" * 12)
invalid("Content-Length 0x10", head(POST, H, b"Content-Length: 0x10") + b"x" * 16)
invalid("empty Content-Length", head(POST, H, b"Content-Length:") + b"x")
invalid("Content-Length with underscore (int() would accept)", head(POST, H, b"Content-Length: 1_0")
        + b"x" * 10)
invalid("Content-Length not a number", head(POST, H, b"Content-Length: abc"))
invalid("Content-Length decimal", head(POST, H, b"Content-Length: 1.0") + b"x")
invalid("Content-Length non-ASCII digit", head(POST, H, b"Content-Length: \xd9\xa5") + b"x" * 5)
invalid("Transfer-Encoding chunked not final (RFC 9112 6.3)",
        head(POST, H, b"Transfer-Encoding: chunked, gzip") + chunked(b"x"))
invalid("Transfer-Encoding gzip without chunked", head(POST, H, b"Transfer-Encoding: gzip") + b"x")
invalid("Transfer-Encoding gzip, chunked is an unknown coding (RFC 9112 6.1)",
        head(POST, H, b"Transfer-Encoding: gzip, chunked") + chunked(b"x"), "NotImplementedCoding",
        501)
invalid("Transfer-Encoding deflate, chunked is an unknown coding",
        head(POST, H, b"Transfer-Encoding: deflate, chunked") + chunked(b"x"),
        "NotImplementedCoding", 501)
invalid("chunked applied twice (RFC 9112 7)",
        head(POST, H, b"Transfer-Encoding: chunked, chunked") + chunked(b"x"))
invalid("empty Transfer-Encoding", head(POST, H, b"Transfer-Encoding:") + chunked(b"x"))
invalid("Transfer-Encoding identity", head(POST, H, b"Transfer-Encoding: identity") + b"x")
invalid("Transfer-Encoding xchunked", head(POST, H, b"Transfer-Encoding: xchunked") + b"x")
invalid("Transfer-Encoding in HTTP/1.0 (RFC 9112 6.1: faulty framing)",
        head(b"POST / HTTP/1.0", TE_CHUNKED) + chunked(b"x"))
invalid("two Transfer-Encoding: chunked fields",
        head(POST, H, TE_CHUNKED, TE_CHUNKED) + chunked(b"x"))

# ---------------------------------------------------------------- invalid: line syntax
invalid("obs-fold with space (RFC 9112 5.2)", head(GET, H, b"X-A: one", b" two"))
invalid("obs-fold with tab", head(GET, H, b"X-A: one", b"\ttwo"))
invalid("whitespace between request line and first field (RFC 9112 2.2)",
        head(GET, b" X-A: 1", H))
invalid("bare CR inside a value (RFC 9112 2.2)", head(GET, H, b"X-A: a\rb"))
invalid("bare CR in the request line", b"GET /\r HTTP/1.1\r\n" + H + b"\r\n\r\n")
invalid("bare CR ending a field line", b"GET / HTTP/1.1\r\n" + H + b"\rX-A: b\r\n\r\n")
invalid("bare LF ending the request line", b"GET / HTTP/1.1\n" + H + b"\r\n\r\n")
invalid("bare LF ending a field line", b"GET / HTTP/1.1\r\n" + H + b"\n\r\n")
invalid("bare LF as the empty line", b"GET / HTTP/1.1\r\n" + H + b"\r\n\n")
invalid("only bare LF line endings", b"GET / HTTP/1.1\n" + H + b"\n\n")
invalid("bare LF as a leading empty line", b"\n" + head(GET, H))
invalid("NUL in a value", head(GET, H, b"X-A: a\x00b"))
invalid("NUL in the target", head(b"GET /a\x00b HTTP/1.1", H))
invalid("NUL in the method", head(b"G\x00T / HTTP/1.1", H))
invalid("control character 0x01 in a value (RFC 9110 5.5)", head(GET, H, b"X-A: a\x01b"))
invalid("DEL in a value", head(GET, H, b"X-A: a\x7fb"))
invalid("ESC in a field name", head(GET, H, b"X-\x1bA: b"))
invalid("vertical tab in a value", head(GET, H, b"X-A: a\x0bb"))
invalid("form feed in a value", head(GET, H, b"X-A: a\x0cb"))
invalid("space before the colon (RFC 9112 5.1)", head(GET, b"Host : example.com"))
invalid("tab before the colon", head(GET, H, b"X-A\t: b"))
invalid("empty field name", head(GET, H, b": value"))
invalid("field line without a colon", head(GET, H, b"Garbage"))
invalid("space inside a field name", head(GET, H, b"X Y: z"))
invalid("'@' in a field name (not a tchar)", head(GET, H, b"X@Y: z"))
invalid("parentheses in a field name", head(GET, H, b"X(Y): z"))
invalid("quote in a field name", head(GET, H, b'X"Y: z'))
invalid("non-ASCII in a field name", head(GET, H, b"X-\xe9: z"))
invalid("invalid method token (RFC 9112 3.1)", head(b"G(T / HTTP/1.1", H))
invalid("non-ASCII method", head(b"G\xc9T / HTTP/1.1", H))
invalid("empty method", head(b" / HTTP/1.1", H))
invalid("two spaces after the method (RFC 9112 3)", head(b"GET  / HTTP/1.1", H))
invalid("trailing space after the version", head(b"GET / HTTP/1.1 ", H))
invalid("missing target", head(b"GET HTTP/1.1", H))
invalid("HTTP/0.9 style request line", b"GET /\r\n\r\n")
invalid("tabs as request-line separators", head(b"GET\t/\tHTTP/1.1", H))
invalid("space inside the target", head(b"GET /a b HTTP/1.1", H))
invalid("DEL in the target", head(b"GET /a\x7f HTTP/1.1", H))
invalid("control character in the target", head(b"GET /a\x01 HTTP/1.1", H))
invalid("request line of only spaces", head(b"   ", H))
invalid("asterisk-form with GET (RFC 9112 3.2.4)", head(b"GET * HTTP/1.1", H))
invalid("CONNECT without a port (RFC 9112 3.2.3)", head(b"CONNECT example.com HTTP/1.1", H))
invalid("target that is no form at all", head(b"GET index.html HTTP/1.1", H))
invalid("fragment in the target (RFC 9112 3.2)", head(b"GET /a#frag HTTP/1.1", H))
invalid("non-ASCII byte in the target", head(b"GET /caf\xe9 HTTP/1.1", H))

# ---------------------------------------------------------------- invalid: chunked body
CH = head(POST, H, TE_CHUNKED)
invalid("non-hex chunk size (RFC 9112 7.1)", CH + b"g\r\nhello\r\n0\r\n\r\n")
invalid("chunk size with 0x prefix", CH + b"0x5\r\nhello\r\n0\r\n\r\n")
invalid("negative chunk size", CH + b"-5\r\nhello\r\n0\r\n\r\n")
invalid("chunk size with plus sign", CH + b"+5\r\nhello\r\n0\r\n\r\n")
invalid("chunk size with underscore", CH + b"5_0\r\n" + b"x" * 80 + b"\r\n0\r\n\r\n")
invalid("chunk size with leading space", CH + b" 5\r\nhello\r\n0\r\n\r\n")
invalid("empty chunk size line", CH + b"\r\nhello\r\n0\r\n\r\n")
invalid("chunk size overflow with unbounded max_body", CH + b"1" + b"0" * 20 + b"\r\nhello\r\n",
        limits={"max_body": 0})
invalid("chunk line over max_chunk_line", CH + b"5;ext=" + b"e" * 200 + b"\r\nhello\r\n0\r\n\r\n",
        limits={"max_chunk_line": 64})
invalid("chunk data not followed by CRLF", CH + b"5\r\nhelloX\r\n0\r\n\r\n")
invalid("chunk data followed by bare LF", CH + b"5\r\nhello\n0\r\n\r\n")
invalid("chunk size line ended by bare LF", CH + b"5\nhello\r\n0\r\n\r\n")
invalid("bare LF inside a chunk extension", CH + b"5;a\nb\r\nhello\r\n0\r\n\r\n")
invalid("bare CR inside a chunk extension", CH + b"5;a\rb\r\nhello\r\n0\r\n\r\n")
invalid("chunk shorter than its size then CRLF", CH + b"5\r\nhel\r\n0\r\n\r\n")
invalid("obs-fold in a trailer", CH + b"0\r\nX-T: a\r\n b\r\n\r\n")
invalid("space before colon in a trailer", CH + b"0\r\nX-T : a\r\n\r\n")
invalid("NUL in a trailer", CH + b"0\r\nX-T: a\x00\r\n\r\n")
invalid("trailer line without colon", CH + b"0\r\nnot a field\r\n\r\n")
invalid("trailer section over max_trailer_bytes", CH + b"0\r\nX-T: " + b"t" * 200 + b"\r\n\r\n",
        "HeaderTooLarge", 431, limits={"max_trailer_bytes": 64})

# ---------------------------------------------------------------- invalid: Host
invalid("HTTP/1.1 without Host (RFC 9112 3.2)", head(GET, b"X-A: 1"))
invalid("HTTP/1.1 with two Host fields", head(GET, H, b"Host: other.example"))
invalid("two identical Host fields", head(GET, H, H))
invalid("HTTP/1.0 with two Host fields", head(b"GET / HTTP/1.0", H, b"Host: other.example"))
invalid("absolute-form still needs Host in HTTP/1.1", head(b"GET http://example.com/ HTTP/1.1"))

# ---------------------------------------------------------------- invalid: version
invalid("HTTP/2.0 (RFC 9110 15.6.6)", head(b"GET / HTTP/2.0", H), "VersionNotSupported", 505)
invalid("HTTP/3.1", head(b"GET / HTTP/3.1", H), "VersionNotSupported", 505)
invalid("HTTP/9.9", head(b"GET / HTTP/9.9", H), "VersionNotSupported", 505)
invalid("HTTP/1 without minor (RFC 9112 2.3)", head(b"GET / HTTP/1", H))
invalid("lower-case http/1.1 (HTTP-name is case-sensitive)", head(b"GET / http/1.1", H))
invalid("HTTP/1.1.1", head(b"GET / HTTP/1.1.1", H))
invalid("HTTP/a.b", head(b"GET / HTTP/a.b", H))
invalid("HTTPS/1.1", head(b"GET / HTTPS/1.1", H))
invalid("HTTP/1.10", head(b"GET / HTTP/1.10", H))
invalid("space inside the version", head(b"GET / HTTP/ 1.1", H))

# ---------------------------------------------------------------- invalid: limits
invalid("request line over the default limit (414)", head(b"GET /" + b"a" * 9000 + b" HTTP/1.1", H),
        "RequestLineTooLong", 414)
invalid("request line over a small limit", head(b"GET /" + b"a" * 100 + b" HTTP/1.1", H),
        "RequestLineTooLong", 414, limits={"max_request_line": 64})
invalid("one field over the default field limit (431)", head(GET, H, b"X-Big: " + b"b" * 9000),
        "HeaderTooLarge", 431)
invalid("one field over a small field limit", head(GET, H, b"X-Big: " + b"b" * 100),
        "HeaderTooLarge", 431, limits={"max_field_bytes": 64})
invalid("header block over a small block limit", head(GET, H, *[b"X-%d: %s" % (i, b"v" * 40)
        for i in range(10)]), "HeaderTooLarge", 431, limits={"max_header_bytes": 256})
invalid("header block over the default block limit",
        head(GET, H, *[b"X-%d: %s" % (i, b"v" * 8000) for i in range(9)]), "HeaderTooLarge", 431)
invalid("more fields than a small max_headers", head(GET, H, b"A: 1", b"B: 2", b"C: 3"),
        "HeaderTooLarge", 431, limits={"max_headers": 3})
invalid("101 fields over the default max_headers", head(GET, H, *[b"X-%d: v" % i for i in range(100)]),
        "HeaderTooLarge", 431)
invalid("Content-Length over max_body (413)", head(POST, H, b"Content-Length: 11") + b"x" * 11,
        "BodyTooLarge", 413, limits={"max_body": 10})
invalid("chunked body over max_body", CH + chunked(b"x" * 6, b"y" * 6), "BodyTooLarge", 413,
        limits={"max_body": 10})
invalid("huge Content-Length over the default max_body",
        head(POST, H, b"Content-Length: 99999999999999999999"), "BodyTooLarge", 413)

# ---------------------------------------------------------------- invalid: EOF mid-message
invalid("EOF inside the request line", b"GET /inde", "IncompleteRequest", pipeline=False)
invalid("EOF after the request line", b"GET / HTTP/1.1\r\n", "IncompleteRequest", pipeline=False)
invalid("EOF inside the fields", b"GET / HTTP/1.1\r\nHost: exa", "IncompleteRequest",
        pipeline=False)
invalid("EOF before the empty line", b"GET / HTTP/1.1\r\nHost: a\r\n", "IncompleteRequest",
        pipeline=False)
invalid("EOF after leading empty lines and a partial line", b"\r\nGE", "IncompleteRequest",
        pipeline=False)
invalid("EOF before a Content-Length body", head(POST, H, b"Content-Length: 10"),
        "IncompleteRequest", pipeline=False)
invalid("EOF inside a Content-Length body", head(POST, H, b"Content-Length: 10") + b"12345",
        "IncompleteRequest", pipeline=False)
invalid("EOF inside a chunk size line", CH + b"1", "IncompleteRequest", pipeline=False)
invalid("EOF inside chunk data", CH + b"5\r\nhel", "IncompleteRequest", pipeline=False)
invalid("EOF before the CRLF after chunk data", CH + b"5\r\nhello", "IncompleteRequest",
        pipeline=False)
invalid("EOF inside the trailer section", CH + b"0\r\nX-T: 1\r\n", "IncompleteRequest",
        pipeline=False)
invalid("EOF after the last chunk before the empty line", CH + b"0\r\n", "IncompleteRequest",
        pipeline=False)

# ---------------------------------------------------------------- invalid: Expect
invalid("Expect other than 100-continue (RFC 9110 10.1.1)", head(GET, H, b"Expect: foo"),
        "ExpectationFailed", 417)
invalid("Expect: 200-ok", head(POST, H, b"Content-Length: 1", b"Expect: 200-ok") + b"x",
        "ExpectationFailed", 417)

# ---------------------------------------------------------------- differential fuzzing findings
# Inputs where Rocket and llhttp/h11 disagree and Rocket is right (docs/reliability.md).
valid("HTTP/1.2 is answered as 1.1 (RFC 9110 2.5); llhttp rejects it",
      b"POST /a HTTP/1.2", [H, b"Content-Length: 5"], b"hello", version=b"1.1", content_length=5)
valid("BWS before a chunk extension (RFC 9112 7.1.1); llhttp and h11 reject",
      POST, [H, TE_CHUNKED], b"5\t;a=b\r\nhello\r\n0 ;c\r\n\r\n", is_chunked=True,
      decoded=b"hello")
valid("BWS around '=' and a quoted-pair in a chunk extension (RFC 9112 7.1.1)",
      POST, [H, TE_CHUNKED], b'5; a = "b\\"c"\r\nhello\r\n0\r\n\r\n', is_chunked=True,
      decoded=b"hello")
valid("a Content-Length trailer is a trailer, not framing (RFC 9110 6.5.1); llhttp rejects",
      POST, [H, TE_CHUNKED], chunked(b"hello", trailers=[b"Content-Length: 99"]),
      is_chunked=True, decoded=b"hello", trailers=[(b"content-length", b"99")])
invalid("whitespace after a chunk size without an extension (RFC 9112 7.1); h11 accepts it",
        CH + b"5\t\r\nhello\r\n0\r\n\r\n")
invalid("last chunk with more than 15 digits; llhttp accepts it", CH + b"0" * 21 + b"\r\n\r\n")
invalid("control character in a trailer value (RFC 9110 5.5); h11 accepts it",
        CH + b"0\r\nT: \x01\r\n\r\n")
invalid("Content-Length list of equal values; h11 merges it (RFC 9110 8.6 allows either)",
        head(POST, H, b"Content-Length: 5,5") + b"hello")

# Empty list elements in Transfer-Encoding: llhttp, h11 and nginx refuse them, and so does
# Rocket (a smuggling risk; see RequestParser._transfer_coding and docs/reliability.md).
invalid("empty list element after chunked", head(POST, H, b"Transfer-Encoding: chunked,") + chunked(b"x"))
invalid("empty list element before chunked", head(POST, H, b"Transfer-Encoding: ,chunked") + chunked(b"x"))
invalid("empty list elements between OWS", head(POST, H, b"Transfer-Encoding: chunked, ,") + chunked(b"x"))
invalid("empty Transfer-Encoding line beside chunked",
        head(POST, H, TE_CHUNKED, b"Transfer-Encoding:") + chunked(b"x"))
invalid("empty Transfer-Encoding line before chunked",
        head(POST, H, b"Transfer-Encoding: ", TE_CHUNKED) + chunked(b"x"))


def _latin1(b: bytes) -> str:
    return b.decode("latin-1")


def write() -> None:
    """Regenerate both corpus directories from the case lists above."""
    for kind, cases in (("valid", VALID), ("invalid", INVALID)):
        d = HERE / kind
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        for n, case in enumerate(cases, 1):
            raw = case.pop("raw")
            (d / f"{n:03d}.http").write_bytes(raw)
            if kind == "valid":
                for key in ("method", "target", "http_version", "body"):
                    case[key] = _latin1(case[key])
                case["headers"] = [[_latin1(k), _latin1(v)] for k, v in case["headers"]]
                case["trailers"] = [[_latin1(k), _latin1(v)] for k, v in case["trailers"]]
            if case["limits"] is None:
                del case["limits"]
            lines = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in case.items()]
            (d / f"{n:03d}.json").write_text("{\n" + ",\n".join(lines) + "\n}\n")
    print(f"{len(VALID)} valid, {len(INVALID)} invalid cases written under {HERE}")


if __name__ == "__main__":
    write()
