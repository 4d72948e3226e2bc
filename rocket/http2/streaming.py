"""The streams' side of an HTTP/2 session: what pool threads call (a mixin of
:class:`~rocket.http2.session.H2Session`, whose module docstring says how it works), plus
the pool item that runs a session's streams and the settings a session reads."""

from __future__ import annotations

import threading
import time
from typing import Any, Optional

from h2.errors import ErrorCodes
from h2.exceptions import H2Error

from rocket.http2.deadlines import rate_deadline, too_slow
from rocket.http2.stream import StreamConn, timed_out
from rocket.logs import errors_log

__all__ = ["StreamSide", "StreamJob", "JobCount", "H2Options", "OUT_HIGH_WATER_BYTES"]

OUT_HIGH_WATER_BYTES = 1 << 20
"""Unsent bytes past which streams wait for the client to read: bounds memory per connection."""

log = errors_log("HTTP2")


class H2Options:
    """The settings a session uses (read once from the server's Config)."""

    __slots__ = ("max_streams", "max_threads", "max_header_list", "max_resets_per_s",
                 "stream_window", "keep_alive", "header_timeout", "send_timeout", "max_body",
                 "body_min_rate", "send_min_rate", "min_rate_grace")

    def __init__(self, config: Any) -> None:
        self.max_streams = config.http2_max_concurrent_streams
        self.max_threads = config.http2_max_threads
        self.max_header_list = config.http2_max_header_list_size
        self.max_resets_per_s = config.http2_max_resets_per_s
        self.stream_window = config.http2_stream_window
        self.keep_alive = config.keep_alive
        self.header_timeout = config.header_timeout
        self.send_timeout = config.body_timeout or None
        self.max_body = config.max_body
        self.body_min_rate = config.body_min_rate
        self.send_min_rate = config.send_min_rate
        self.min_rate_grace = config.min_rate_grace


class JobCount:
    """How many :class:`StreamJob` are on a pool thread or queued for one, over every session
    of a server. The pool counts each as an item, but its connection is counted once already,
    in the monitor: ``max_connections`` and ``info()`` take these off."""

    __slots__ = ("value", "_lock")

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        """Count ``count`` more jobs (fewer when negative)."""
        with self._lock:
            self.value += count


class StreamJob:
    """A pool item: runs a session's streams one after another (see the module docstring).
    Counted in ``jobs`` (a :class:`JobCount`) from here until it ran or was discarded."""

    __slots__ = ("session", "stream", "jobs")

    def __init__(self, session: Any, stream: StreamConn, jobs: JobCount) -> None:
        self.session = session
        self.stream = stream
        self.jobs = jobs
        jobs.add(1)

    def run(self) -> None:
        """Serve the stream, then the next queued ones of the same connection, if any."""
        session = self.session
        stream: Optional[StreamConn] = self.stream
        try:
            while stream is not None:
                session.serve_stream(stream)
                stream = session.next_stream(stream)
        finally:
            self.jobs.add(-1)

    def close(self) -> None:
        """The pool discards this job (stop): reset its stream."""
        self.jobs.add(-1)
        self.stream.close()

    def abort(self) -> None:
        """The pool stops while the job runs: wake its waits."""
        self.session.abort()


class StreamSide:
    """Mixin of :class:`~rocket.http2.session.H2Session`: the methods its streams' threads
    call. Each takes the session's lock; waits release it (the session's condition)."""

    lock: Any
    cond: Any
    h2: Any
    options: H2Options
    dead: bool
    queued: Any
    running: int
    serve: Any

    # -- the streams' side (pool threads) ------------------------------------------------------
    def serve_stream(self, stream: StreamConn) -> None:
        """Run the application for ``stream`` and complete it (pool thread)."""
        try:
            if not stream.reset:
                self.serve(stream, stream.request)
                stream.finish()
        except OSError:
            stream.close()
        except Exception:
            log.exception("HTTP/2 stream %d failed", stream.stream_id)
            stream.close()

    def next_stream(self, done: StreamConn) -> Optional[StreamConn]:
        """Forget the stream ``done``; the next queued one for the calling job, or None
        (the job ends). One lock for both: this runs once per stream."""
        with self.lock:
            if not done.body.ended and not done.reset and not self.dead:
                self._reset(done.stream_id, ErrorCodes.NO_ERROR)  # RFC 9113 §8.1
            self._forget(done)
            if self.queued and not self.dead:
                return self.queued.popleft()  # type: ignore[no-any-return]
            self.running -= 1
            return None

    def wait_body(self, stream: StreamConn, timeout: Optional[float]) -> None:
        """Wait up to ``timeout`` s for body bytes of ``stream`` (``wsgi.input``)."""
        body = stream.body
        with self.cond:
            deadline = time.monotonic() + (timeout or 1e9)
            while not body.chunks and not body.ended:
                if stream.reset or self.dead:
                    raise ConnectionResetError("the client reset the stream")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise timed_out()
                self.cond.wait(left)

    def consumed(self, stream_id: int, flow: int) -> None:
        """``wsgi.input`` took ``flow`` bytes: let the client send as much again."""
        if flow:
            with self.lock:
                self._ack(stream_id, flow)
                self._flush(True)

    def send_headers(self, stream: StreamConn, fields: Any, end: bool, body: bytes = b"",
                     last: bool = False) -> None:
        """HEADERS for ``stream`` (END_STREAM with ``end``), then ``body`` as for
        :meth:`send_body`: a whole small response costs one lock and one send."""
        with self.cond:
            self._check(stream)
            try:
                self.h2.send_headers(stream.stream_id, fields, end_stream=end)
                if body:
                    self._send_data(stream, memoryview(body), last)
                    return
            except H2Error as exc:
                raise _gone(stream, exc) from None
            self._flush(True)

    def send_body(self, stream: StreamConn, data: bytes, last: bool) -> None:
        """DATA for ``stream``, as the flow control windows allow; END_STREAM with ``last``."""
        view = memoryview(data)
        with self.cond:
            try:
                self._send_data(stream, view, last)
            except H2Error as exc:
                raise _gone(stream, exc) from None

    def _send_data(self, stream: StreamConn, view: memoryview, last: bool) -> None:
        """Within ``body_timeout`` per wait and the ``send_min_rate`` floor
        (:func:`~rocket.http2.deadlines.rate_deadline`) over the waits."""
        h2 = self.h2
        stream_id = stream.stream_id
        options = self.options
        timeout = options.send_timeout or 1e9
        deadline = 0.0  # while waiting: when the client must have made room
        waited = False
        while True:
            self._check(stream)
            room = min(h2.local_flow_control_window(stream_id), len(view))
            if room <= 0 or len(self._out) > OUT_HIGH_WATER_BYTES:
                now = time.monotonic()
                deadline = deadline or now + timeout
                floor = rate_deadline(stream, options.send_min_rate, options.min_rate_grace, now)
                if now >= floor:
                    raise too_slow(options.send_min_rate)
                if now >= deadline:
                    raise timed_out()
                waited = True
                self.cond.wait(min(deadline, floor) - now)
                continue
            deadline = 0.0
            frame = h2.max_outbound_frame_size
            if waited:
                stream.send_waited += room
            while room > 0:
                size = min(room, frame)
                h2.send_data(stream_id, bytes(view[:size]),
                             end_stream=last and size == len(view))
                view = view[size:]
                room -= size
            self._flush(True)
            if not view:
                if not waited:  # the client keeps up: the floor's average starts again
                    stream.send_since = 0.0
                return

    def end_stream(self, stream: StreamConn) -> None:
        """END_STREAM (an empty DATA frame) once the response is complete."""
        with self.lock:
            self._check(stream)
            try:
                self.h2.end_stream(stream.stream_id)
            except H2Error as exc:
                raise _gone(stream, exc) from None
            self._flush(True)

    def reset_stream(self, stream: StreamConn) -> None:
        """RST_STREAM INTERNAL_ERROR: the response failed after its head."""
        with self.lock:
            if not stream.reset and not self.dead:
                stream.reset = True
                self._reset(stream.stream_id, ErrorCodes.INTERNAL_ERROR)
                self._flush(True)


def _gone(stream: StreamConn, exc: Exception) -> ConnectionResetError:
    """The stream closed under a send (reset, or the connection going): the worker's
    "peer gone" error."""
    stream.reset = True
    return ConnectionResetError(f"HTTP/2 stream {stream.stream_id} closed: {exc}")
