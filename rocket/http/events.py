"""Events produced by the parsers.

They are plain ``__slots__`` classes rather than dataclasses: one is built per request on the
hot path, and slot classes with a hand-written ``__init__`` are the cheapest to create.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

Headers = List[Tuple[bytes, bytes]]


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


NEED_DATA = _Sentinel("NEED_DATA")
"""``next_event()`` needs more bytes before it can say anything."""


class Request:
    """A complete request head.

    ``headers`` holds ``(name, value)`` byte pairs in arrival order; names are lower-cased,
    values are stripped of surrounding whitespace. ``http_version`` is ``b"1.0"`` or ``b"1.1"``.
    ``content_length`` is the declared body length (``None`` when chunked or absent).
    """

    __slots__ = (
        "method",
        "target",
        "http_version",
        "headers",
        "keep_alive",
        "expect_continue",
        "content_length",
        "chunked",
    )

    def __init__(
        self,
        method: bytes,
        target: bytes,
        http_version: bytes,
        headers: Headers,
        keep_alive: bool,
        expect_continue: bool,
        content_length: Optional[int],
        chunked: bool,
    ) -> None:
        self.method = method
        self.target = target
        self.http_version = http_version
        self.headers = headers
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.content_length = content_length
        self.chunked = chunked

    @property
    def has_body(self) -> bool:
        """True when body bytes follow the head (chunked, or a non-zero Content-Length)."""
        return self.chunked or bool(self.content_length)

    def __repr__(self) -> str:
        return (
            f"Request(method={self.method!r}, target={self.target!r}, "
            f"http_version={self.http_version!r}, headers={self.headers!r}, "
            f"keep_alive={self.keep_alive}, expect_continue={self.expect_continue}, "
            f"content_length={self.content_length}, chunked={self.chunked})"
        )


class Response:
    """A complete response head, as seen by the client-side parser."""

    __slots__ = ("status", "reason", "http_version", "headers", "keep_alive")

    def __init__(
        self, status: int, reason: bytes, http_version: bytes, headers: Headers, keep_alive: bool
    ) -> None:
        self.status = status
        self.reason = reason
        self.http_version = http_version
        self.headers = headers
        self.keep_alive = keep_alive

    def __repr__(self) -> str:
        return (
            f"Response(status={self.status}, reason={self.reason!r}, "
            f"http_version={self.http_version!r}, headers={self.headers!r}, "
            f"keep_alive={self.keep_alive})"
        )


class Data:
    """A piece of message body (already de-chunked)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"Data({self.data!r})"


class _NoTrailers(list):
    """An empty list that refuses to change: one instance is shared by every message
    without trailers, so that one consumer's edit cannot leak into later messages."""

    __slots__ = ()

    def _read_only(self, *args: object, **kwargs: object) -> None:
        raise TypeError("the shared empty trailer list is read-only; copy it with list()")

    append = extend = insert = remove = pop = clear = sort = reverse = _read_only  # type: ignore
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only  # type: ignore


NO_TRAILERS: Headers = _NoTrailers()
"""The ``trailers`` of an ``EndOfMessage`` the request parser shares between messages."""


class EndOfMessage:
    """The body is complete; ``trailers`` holds chunked trailer fields (lower-cased names)."""

    __slots__ = ("trailers",)

    def __init__(self, trailers: Optional[Headers] = None) -> None:
        self.trailers = trailers if trailers is not None else []

    def __repr__(self) -> str:
        return f"EndOfMessage(trailers={self.trailers!r})"


class ConnectionClosed:
    """The peer closed the connection cleanly, between two messages."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ConnectionClosed()"
