"""``wsgi.input``: the request body, streamed from the connection as the application reads.

The body is never buffered whole: each read pulls ``Data`` events from the connection's parser
(which has already de-chunked and length-limited them) and, when the parser needs bytes, does
one ``conn.fill`` bounded by the body timeout and by the connection's ``body_min_rate``
floor: once the body has waited on the client for ``min_rate_grace`` s, it must average that
many bytes/s since its first wait, or the read fails with 408. End of file is the parser's ``EndOfMessage``, so
``read()`` with no size stops at Content-Length or at the last chunk (PEP 3333 "simulate EOF";
``wsgi.input_terminated``). ``100 Continue`` goes out on the first read, never before.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator, List, Optional

from rocket.http.errors import HTTPError, RequestTimeout
from rocket.http.events import NEED_DATA, Data, EndOfMessage
from rocket.workers.base import TIMEOUT_ERRORS

__all__ = ["WSGIInput", "EmptyInput", "EMPTY_INPUT"]


class EmptyInput:
    """``wsgi.input`` of a request without a body: always at end of file. Stateless, shared."""

    __slots__ = ()

    error = None
    at_eof = True

    def read(self, size: Optional[int] = -1) -> bytes:
        """Return b"" (end of file)."""
        return b""

    def readline(self, size: Optional[int] = -1) -> bytes:
        """Return b"" (end of file)."""
        return b""

    def readlines(self, hint: Optional[int] = -1) -> List[bytes]:
        """Return [] (end of file)."""
        return []

    def __iter__(self) -> Iterator[bytes]:
        return iter(())


EMPTY_INPUT = EmptyInput()


class _Uncounted:
    """The progress record of a WSGIInput that nobody reads."""

    bytes_moved = 0
    waiting = False


class WSGIInput:
    """The streamed body of one request.

    ``conn`` is the Connection; ``body_timeout_s`` bounds each wait for more bytes;
    ``before_first_read`` (optional) runs once before the first read that needs the body:
    the WSGI worker uses it to send ``100 Continue``. ``counter`` is the reading thread's
    :class:`~rocket.workers.progress.ThreadProgress`: its ``bytes_moved`` grows by each piece
    of body read, and it is ``waiting`` while a read waits on the client. Errors reading the body (limit exceeded,
    bad chunk, timeout, peer gone) raise the parser's ``HTTPError`` (or ``OSError``) to the
    application; the worker then answers with that status if it still can, and closes.
    """

    __slots__ = ("_conn", "_timeout", "_buf", "_pos", "_eof", "_hook", "_counter", "error",
                 "trailers", "_min_rate", "received", "_waiting_since")

    def __init__(
        self,
        conn: Any,
        body_timeout_s: float,
        before_first_read: Optional[Callable[[], None]] = None,
        counter: Any = None,
    ) -> None:
        self._conn = conn
        self._counter = counter if counter is not None else _Uncounted()
        self._timeout = body_timeout_s
        self._buf = b""
        self._pos = 0
        self._eof = False
        self._hook = before_first_read
        self.error: Optional[BaseException] = None  # set when reading failed: the body is broken
        self.trailers: list = []
        self._min_rate = getattr(conn, "body_min_rate", 0.0)
        self.received = 0
        """Body bytes taken from the connection so far (the minimum rate, the metrics' bytes
        in)."""
        self._waiting_since = 0.0  # when the body first waited on the client; 0 = not yet

    @property
    def at_eof(self) -> bool:
        """True once the whole body has been received (it may still be partly unread)."""
        return self._eof

    def _pull(self) -> bytes:
        """The next piece of body from the parser, waiting for the peer if needed; b"" at EOF."""
        if self._eof:
            return b""
        if self._hook is not None:
            hook, self._hook = self._hook, None
            hook()
        conn = self._conn
        next_event = conn.reader.next_event
        try:
            while True:
                event = next_event()
                cls = event.__class__
                if cls is Data:
                    data = event.data
                    if data:
                        self.received += len(data)
                        self._counter.bytes_moved += len(data)
                        return data
                elif cls is EndOfMessage:
                    self._eof = True
                    self.trailers = event.trailers
                    return b""
                elif event is NEED_DATA:
                    wait = self._wait_s() if self._min_rate else self._timeout
                    counter = self._counter
                    counter.waiting = True
                    try:
                        conn.fill(wait)
                    except TIMEOUT_ERRORS:
                        if wait < self._timeout:
                            raise self._too_slow() from None
                        raise RequestTimeout(
                            f"request body not received within body_timeout={self._timeout:g} s"
                        ) from None
                    finally:
                        counter.waiting = False
                else:  # pragma: no cover - the parser never yields anything else in a body
                    raise RuntimeError(f"unexpected event in a request body: {event!r}")
        except (HTTPError, OSError) as exc:
            self.error = exc
            self._eof = True
            raise

    def _wait_s(self) -> float:
        """How long the next read may wait: ``body_timeout``, shortened to when the average
        rate since the first wait would fall below ``body_min_rate``."""
        now = time.monotonic()
        if not self._waiting_since:
            self._waiting_since = now
        grace = getattr(self._conn, "min_rate_grace", 0.0)
        left = self._waiting_since + max(grace, self.received / self._min_rate) - now
        if left <= 0:
            raise self._too_slow()
        return min(self._timeout, left) if self._timeout else left

    def _too_slow(self) -> RequestTimeout:
        return RequestTimeout(f"request body slower than body_min_rate={self._min_rate:g} B/s")

    def read(self, size: Optional[int] = -1) -> bytes:
        """Read up to ``size`` bytes (all the rest when ``size`` is None or negative)."""
        buf, pos = self._buf, self._pos
        if size is None or size < 0:
            parts = [buf[pos:]] if pos < len(buf) else []
            while True:
                piece = self._pull()
                if not piece:
                    break
                parts.append(piece)
            self._buf, self._pos = b"", 0
            return b"".join(parts)
        available = len(buf) - pos
        if available >= size:
            self._pos = pos + size
            return buf[pos : pos + size]
        # Like a file, block until ``size`` bytes or end of file: apps do
        # ``read(int(CONTENT_LENGTH))`` and expect the whole body.
        parts = [buf[pos:]] if available else []
        need = size - available
        self._buf, self._pos = b"", 0
        while need > 0:
            piece = self._pull()
            if not piece:
                break
            if len(piece) > need:
                self._buf, self._pos = piece, need
                piece = piece[:need]
            parts.append(piece)
            need -= len(piece)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readline(self, size: Optional[int] = -1) -> bytes:
        """Read one line, including its b"\\n"; at most ``size`` bytes when ``size`` >= 0."""
        limit = -1 if size is None else size
        if limit == 0:
            return b""
        parts: List[bytes] = []
        total = 0
        while True:
            buf, pos = self._buf, self._pos
            if pos >= len(buf):
                piece = self._pull()
                if not piece:
                    break
                self._buf, self._pos = buf, pos = piece, 0
            end = buf.find(b"\n", pos)
            stop = len(buf) if end < 0 else end + 1
            if limit >= 0 and total + (stop - pos) > limit:
                stop = pos + (limit - total)
            parts.append(buf[pos:stop])
            total += stop - pos
            self._pos = stop
            if end >= 0 and stop == end + 1 or (limit >= 0 and total >= limit):
                break
        return b"".join(parts)

    def readlines(self, hint: Optional[int] = -1) -> List[bytes]:
        """Read lines until end of file, or until their total size reaches ``hint`` (> 0)."""
        lines: List[bytes] = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                break
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def drain(self, max_bytes: int) -> bool:
        """Discard the unread rest of the body; True if it ended within ``max_bytes``.

        Used after the response so the next pipelined request can be parsed. Hooks (100
        Continue) are not run: a client still waiting for 100 must not be asked to send.
        """
        self._hook = None
        self._buf, self._pos = b"", 0
        seen = 0
        try:
            while not self._eof:
                seen += len(self._pull())
                if seen > max_bytes:
                    return False
        except (HTTPError, OSError):
            return False
        return True
