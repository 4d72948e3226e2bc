"""Framing-relevant request streams for the differential harness, from any source of choices.

:func:`generate` builds one to three pipelined requests from a :class:`Choices` source: one
``pick(n)`` call per decision. The same generator serves hypothesis (``data.draw``), atheris
(``FuzzedDataProvider``) and ``random.Random``. Every list puts the ordinary spelling first,
so a source that returns 0 (hypothesis shrinking, an exhausted fuzz input) tends towards a
plain valid request, and each failing example shrinks to the one deviation that matters.

What varies: the request line (methods, targets, versions, separators), line endings,
Host (absent, duplicated), Content-Length and Transfer-Encoding (spellings, duplicates, both
at once, names with whitespace or folded), bodies shorter or longer than declared, chunk
sizes (leading zeros, upper case, signs, ``0x``, overflow), chunk extensions, the CRLF after
chunk data, the last chunk, trailers, persistence, ``Expect`` and pipelining (with CRLFs or
stray bytes between requests). Bodies often look like a request, as a smuggled one would.
"""

from __future__ import annotations

import random
from typing import Any, Dict, Iterator, List, Sequence, TypeVar

__all__ = ["Choices", "RandomChoices", "FuzzChoices", "Scripted", "deviations", "generate"]

T = TypeVar("T")


class Choices:
    """A source of decisions; subclasses implement :meth:`pick`."""

    def pick(self, n: int) -> int:
        """An integer in ``range(n)``."""
        raise NotImplementedError

    def choice(self, options: Sequence[T]) -> T:
        """One of ``options`` (the first is the ordinary one)."""
        return options[self.pick(len(options))]

    def chance(self, one_in: int) -> bool:
        """True about once in ``one_in`` draws (never when the source returns 0)."""
        return self.pick(one_in) == one_in - 1


class RandomChoices(Choices):
    """Decisions from ``random.Random(seed)``, the ordinary option with ``plain`` probability."""

    def __init__(self, seed: Any = None, plain: float = 0.75) -> None:
        self.rng = random.Random(seed)
        self.plain = plain

    def pick(self, n: int) -> int:
        """An integer in ``range(n)``: 0 with probability ``plain``, else uniform."""
        rng = self.rng
        return 0 if rng.random() < self.plain else rng.randrange(n)


class FuzzChoices(Choices):
    """Decisions from an ``atheris.FuzzedDataProvider`` (0 once its bytes run out)."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider

    def pick(self, n: int) -> int:
        """An integer in ``range(n)``."""
        return self.provider.ConsumeIntInRange(0, n - 1) if n > 1 else 0


class Scripted(Choices):
    """The ordinary option everywhere except at the decisions ``forced`` names by position;
    records how many options each decision had (``trace``)."""

    def __init__(self, forced: Dict[int, int]) -> None:
        self.forced = forced
        self.trace: List[int] = []

    def pick(self, n: int) -> int:
        """``forced[k]`` for the k-th decision (when in range), else 0."""
        value = self.forced.get(len(self.trace), 0)
        self.trace.append(n)
        return value if value < n else 0


def deviations(depth: int = 2) -> Iterator[bytes]:
    """Every stream that differs from the plainest one in one decision, then in one more
    decision on top of each deviation that opened new decisions (a chunked body, a second
    request, an extra header): a deterministic sweep of the generator, ``depth`` levels deep."""
    seen = set()
    frontier: List[Dict[int, int]] = [{}]
    for _ in range(depth):
        deeper = []
        for forced in frontier:
            base = Scripted(forced)
            generate(base)
            for k, n in enumerate(base.trace):
                for value in range(1, n if k not in forced else 0):
                    src = Scripted({**forced, k: value})
                    data = generate(src)
                    if data not in seen:
                        seen.add(data)
                        yield data
                    if len(src.trace) > len(base.trace) + 2:
                        deeper.append(src.forced)
        frontier = deeper


METHODS = [b"POST", b"GET", b"PUT", b"HEAD", b"OPTIONS", b"DELETE", b"PATCH", b"get", b"G\x7fT"]
TARGETS = [b"/", b"/a?b=c", b"*", b"http://x/y", b"/%00", b"/a b", b"", b"/\xff", b"/#f"]
VERSIONS = [b"HTTP/1.1", b"HTTP/1.0", b"HTTP/1.2", b"HTTP/2.0", b"HTTP/0.9", b"http/1.1",
            b"HTTP/1.01", b"HTTP/11", b"HTTP/1.1 ", b"HTTP/1"]
SEPARATORS = [b" ", b"  ", b"\t", b" \t"]
LINE_ENDS = [b"\r\n", b"\n", b"\r", b"\r\r\n", b"\n\r"]
HOSTS = [[b"Host: x"], [], [b"Host: x", b"Host: y"], [b"Host:"], [b"Host: x", b"host: x"]]
CL_NAMES = [b"Content-Length", b"content-length", b"CONTENT-LENGTH", b"Content-Length ",
            b"Content-Length\t", b" Content-Length", b"Content_Length", b"Content-Length\x00",
            b"\x0bContent-Length"]
TE_NAMES = [b"Transfer-Encoding", b"transfer-encoding", b"Transfer-Encoding ",
            b"Transfer-Encoding\t", b" Transfer-Encoding", b"Transfer_Encoding",
            b"Transfer-Encoding\x0b"]
TE_VALUES = [b"chunked", b"Chunked", b"CHUNKED", b" chunked ", b"chunked, chunked",
             b"gzip, chunked", b"chunked, gzip", b"identity, chunked", b"chunked,", b",chunked",
             b"chunked;q=1", b"xchunked", b'"chunked"', b"chunk", b"chunked\t", b"identity",
             b"", b"gzip", b"chunked\x0b", b"chunked\xff"]
CL_SPELLINGS = [b"%d", b"0%d", b"+%d", b" %d ", b"%d, %d", b"%d,%d", b"%d.0", b"-%d",
                b"0x%x", b"%d\t", b"%d\x00", b"1%018d", b"%d\x0b"]
BODIES = [b"hello", b"0\r\n\r\n", b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", b"\r\n", b""]
CHUNK_SIZES = [b"%x", b"%X", b"0%x", b"000000000000000000%x", b"+%x", b"-%x", b"0x%x",
               b" %x", b"%x ", b"%x\t", b"1%016x", b"%x\x00", b"%x_"]
CHUNK_EXTS = [b"", b";a", b";a=b", b';a="b c"', b" ;a", b";", b";a=", b'; a = "b\\"c"',
              b";a=b\x00", b";\xff", b";a\r"]
CHUNK_ENDS = [b"\r\n", b"", b"\n", b"\r", b"xx\r\n", b"\r\n\r\n"]
LAST_CHUNKS = [b"0", b"00", b"0 ", b"0;a=b", b"0\t", b"000000000000000000000"]
TRAILERS = [b"", b"T: v\r\n", b"T: v\r\nU: w\r\n", b"Content-Length: 5\r\n", b"T v\r\n",
            b" T: v\r\n", b"T: \x01\r\n"]
BETWEEN = [b"", b"\r\n", b"\r\n\r\n", b"\n", b" ", b"x"]
EXTRA = [b"Connection: close", b"Connection: keep-alive", b"Expect: 100-continue",
         b"X-A: b", b"X-A : b", b" folded", b"X-\x00: b", b"Connection: close, keep-alive",
         b"Keep-Alive: timeout=5"]


def _content_length(src: Choices, length: int) -> List[bytes]:
    lines = []
    for _ in range(1 + src.chance(4)):
        spelling = src.choice(CL_SPELLINGS)
        value = spelling % ((length,) * spelling.count(b"%")) if b"%" in spelling else spelling
        if src.chance(6):
            value = b"%d" % (length + src.choice([1, -1, 2]))
        lines.append(src.choice(CL_NAMES) + b":" + src.choice([b" ", b"", b"  ", b"\t"]) + value)
    return lines


def _transfer_encoding(src: Choices) -> List[bytes]:
    return [src.choice(TE_NAMES) + b": " + src.choice(TE_VALUES)
            for _ in range(1 + src.chance(4))]


def _chunked_body(src: Choices) -> bytes:
    out = []
    for _ in range(src.choice([1, 0, 2, 3])):
        data = src.choice(BODIES) or b"a"
        size = len(data) + (src.choice([1, -1, 2]) if src.chance(6) else 0)
        spelling = src.choice(CHUNK_SIZES)
        out.append(spelling % max(size, 0) + src.choice(CHUNK_EXTS) + b"\r\n" + data
                   + src.choice(CHUNK_ENDS))
    out.append(src.choice(LAST_CHUNKS) + src.choice(CHUNK_EXTS) + b"\r\n")
    out.append(src.choice(TRAILERS) + b"\r\n")
    return b"".join(out)


def _request(src: Choices) -> bytes:
    sep = src.choice(SEPARATORS) if src.chance(8) else b" "
    line = src.choice(METHODS) + sep + src.choice(TARGETS) + sep + src.choice(VERSIONS)
    fields = list(src.choice(HOSTS))
    framing = src.choice(["length", "chunked", "none", "both", "chunked-then-length"])
    body = b""
    if framing in ("length", "both"):
        body = src.choice(BODIES)
        fields += _content_length(src, len(body))
    if framing != "length" and framing != "none":
        fields += _transfer_encoding(src)
        body = _chunked_body(src)
    if framing == "chunked-then-length":
        fields += _content_length(src, len(body))
    for _ in range(src.pick(3)):
        fields.insert(src.pick(len(fields) + 1), src.choice(EXTRA))
    if src.chance(5):
        random.Random(src.pick(1 << 16)).shuffle(fields)
    eol = src.choice(LINE_ENDS) if src.chance(6) else b"\r\n"
    lines = [line] + fields
    head = b"".join(text + (src.choice(LINE_ENDS) if src.chance(20) else eol) for text in lines)
    return head + eol + body


def generate(src: Choices) -> bytes:
    """One to three pipelined requests (with what may come between them)."""
    parts = [src.choice(BETWEEN) if src.chance(6) else b""]
    for _ in range(1 + src.pick(3)):
        parts.append(_request(src))
        if src.chance(5):
            parts.append(src.choice(BETWEEN))
    return b"".join(parts)
