"""One HTTP/2 connection: the ``h2`` state machine, its socket I/O and its streams.

How it works
------------
- The session replaces the connection's reader, and the monitor holds the connection in its
  ``session`` phase for good (:meth:`rocket.net.monitor.Monitor.hold`): each readiness event
  runs :meth:`H2Session.on_ready` on the monitor thread, which reads what arrived without
  waiting, feeds it to ``h2``, acts on the events and sends what ``h2`` has to say (SETTINGS
  and PING acks are ``h2``'s own). No thread ever waits on the client for the connection.
- A stream whose HEADERS are complete becomes a :class:`~rocket.http2.stream.StreamConn` run
  by the WSGI worker on a pool thread. At most ``http2_max_threads`` of one connection's
  streams run at once; the others queue on the session, and a thread that finishes a stream
  takes the next one.
- One lock guards the ``h2`` connection, the outgoing buffer and the socket, so the monitor's
  reads and the streams' writes never interleave (OpenSSL forbids it). Sends never wait
  either: what the socket does not take stays in ``_out`` and the monitor is armed for
  writing. A stream's thread with less than ``DEFER_BYTES`` to send only arms the monitor,
  which sends all queued by then in one call and reads the requests these responses prompted.
  A stream whose flow control window is closed, or whose connection has more than
  ``OUT_HIGH_WATER_BYTES`` unsent, waits on the session's condition (its own thread, never the
  monitor); ``wsgi.input`` waits so for DATA (limits: :mod:`rocket.http2.deadlines`).
- DATA is acknowledged (WINDOW_UPDATE) only as ``wsgi.input`` takes it, so a slow application
  holds at most ``http2_stream_window`` bytes per stream.
- Limits: ``h2`` answers a header list larger than ``http2_max_header_list_size`` and more
  than 64 CONTINUATION frames in one block with GOAWAY; more than ``http2_max_resets_per_s``
  client resets in a second (the rapid reset attack, CVE-2023-44487) get GOAWAY
  ENHANCE_YOUR_CALM. A header block unfinished after ``header_timeout`` s gets GOAWAY
  PROTOCOL_ERROR, and ``keep_alive`` s without an open stream GOAWAY NO_ERROR.
- :meth:`H2Session.drain` (graceful stop, reload) sends GOAWAY: streams already begun finish,
  newer ones are refused, and the connection closes once the last one is done.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any, Callable, Deque, Dict

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RemoteSettingsChanged,
    RequestReceived,
    StreamEnded,
    StreamReset,
    WindowUpdated,
)
from h2.exceptions import H2Error, ProtocolError
from h2.settings import SettingCodes, Settings
from hyperframe.frame import GoAwayFrame

from rocket.http.errors import HTTPError
from rocket.http2.deadlines import mid_header_block
from rocket.http2.stream import StreamConn, build_request
from rocket.http2.streaming import OUT_HIGH_WATER_BYTES, H2Options, JobCount, StreamJob, StreamSide
from rocket.logs import monitor_log as log

__all__ = ["H2Session", "CONNECTION_WINDOW_BYTES", "SEND_BLOCK_BYTES", "DEFER_BYTES"]

CONNECTION_WINDOW_BYTES = 16 << 20
"""The connection's receive window: room for many streams' windows at once; each stream is
still bounded by ``http2_stream_window``."""
SEND_BLOCK_BYTES = 256 * 1024
"""Bytes per send system call."""
DEFER_BYTES = 64 * 1024
"""Below this many unsent bytes a stream's thread leaves the send to the monitor (see
:meth:`H2Session._flush`)."""


class H2Session(StreamSide):
    """The HTTP/2 side of one connection; see the module docstring.

    ``monitor`` holds the connection; ``submit(job)`` hands a :class:`StreamJob` (counted in
    ``jobs``) to the pool; ``serve(stream, request)`` answers one (``serve_request``)."""

    def __init__(self, conn: Any, monitor: Any, submit: Callable[[Any], None], jobs: JobCount,
                 serve: Callable[[Any, Any], Any], options: H2Options) -> None:
        self.conn = conn
        self.monitor = monitor
        self.submit = submit
        self.jobs = jobs
        self.serve = serve
        self.options = options
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        # Response fields come checked and lower-cased (rocket.http.writer, response_headers):
        # h2 need not check them again; requests are still validated.
        h2 = self.h2 = H2Connection(H2Configuration(
            client_side=False, header_encoding=None, validate_outbound_headers=False,
            normalize_outbound_headers=False))
        h2.local_settings = Settings(client=False, initial_values={
            SettingCodes.MAX_CONCURRENT_STREAMS: options.max_streams,
            SettingCodes.MAX_HEADER_LIST_SIZE: options.max_header_list,
            SettingCodes.INITIAL_WINDOW_SIZE: options.stream_window,
            SettingCodes.ENABLE_PUSH: 0,
        })
        h2.initiate_connection()
        h2.increment_flow_control_window(CONNECTION_WINDOW_BYTES - 65535)
        self.streams: Dict[int, StreamConn] = {}
        self.queued: Deque[StreamConn] = collections.deque()
        self.running = 0
        self.watch: Any = None
        self.dead = False
        self.goaway_sent = False
        self._out = bytearray()
        self._tls_retry = 0  # the length of a TLS send to repeat (OpenSSL wants the same)
        self._armed_write = False
        self._idle_at = 0.0  # keep_alive's deadline while no stream is open
        self._block_since = 0.0  # when the header block arriving began (0 = none)
        self._resets = 0
        self._resets_since = 0.0

    # -- the monitor's side --------------------------------------------------------------------
    def start(self, received: bytes) -> None:
        """Take over the connection, with the bytes already read (the preface onwards)."""
        conn = self.conn
        conn.reader = self
        with self.lock:
            self.watch = self.monitor.hold(conn)
            if self.watch is None:  # the server stops: the monitor closed it
                self.dead = True
                return
            self.feed(received)
            self._flush()
            if not self.streams:
                self._idle_deadline()

    trailing_data = b""
    """Generic code (eviction, hand-off checks) sees no HTTP/1 bytes buffered."""

    def feed(self, data: bytes) -> None:
        """Bytes read from the socket (the connection's ``fill``; the lock is held)."""
        if self.dead:
            return
        if not data:
            self._die()
            return
        try:
            events = self.h2.receive_data(data)
        except ProtocolError as exc:  # h2 queued the GOAWAY already
            log.info("HTTP/2 connection from %s closed: %s", self.conn.client_addr[0], exc)
            self._flush()
            self._close()
            return
        for event in events:
            if self.dead:
                break
            self._on_event(event)
        if self.options.header_timeout and not self.dead:
            pending = mid_header_block(self.h2.incoming_buffer)
            if pending is not bool(self._block_since):
                self._block_since = time.monotonic() if pending else 0.0
                self._reschedule()

    def on_ready(self, watch: Any) -> None:
        """The socket is readable or writable (monitor thread): read, act, send, re-arm."""
        with self.lock:
            self.watch = watch
            self._armed_write = False
            if self._out:
                self._flush()
            if not self.dead and len(self._out) <= OUT_HIGH_WATER_BYTES:
                try:  # past the high water the client must read first (PING, SETTINGS floods)
                    self.conn.read_nowait()
                except OSError:
                    self._die()
            if not self.dead:
                self._flush()
            if not self.dead and watch is self.watch:
                self.monitor.rearm(watch, bool(self._out))
                self._armed_write = bool(self._out)

    def on_deadline(self, watch: Any) -> None:
        """``header_timeout`` passed with a header block half received: GOAWAY
        PROTOCOL_ERROR (:mod:`rocket.http2.deadlines` says why), and close; ``keep_alive``
        passed without an open stream: GOAWAY NO_ERROR, and close."""
        with self.lock:
            if self.dead:  # aborted (server stop): the monitor let go of the watch
                self.conn.close()
                return
            since = self._block_since
            late = since and time.monotonic() >= since + self.options.header_timeout
            if not late and (self.streams or since):  # a stream or a block began as it fired
                self.watch = self.monitor.hold(self.conn)
                self._armed_write = False
                self._flush()  # what its thread queued meanwhile armed the watch let go
                self._reschedule()
                return
            if late:
                log.info("HTTP/2 client %s left a header block unfinished past header_timeout"
                         "=%gs: GOAWAY", self.conn.client_addr[0], self.options.header_timeout)
            self.h2.close_connection(ErrorCodes.PROTOCOL_ERROR if late else ErrorCodes.NO_ERROR)
            self._flush()
            self.watch = None
            self._close()

    def drain(self) -> None:
        """Graceful stop: GOAWAY; running streams finish, the connection closes after them."""
        with self.lock:
            if self.dead:
                return
            if not self.goaway_sent:
                # Framed here: h2's close_connection() would refuse the running streams'
                # frames that must still go out (RFC 9113 §6.8: they complete).
                self.goaway_sent = True
                frame = GoAwayFrame(0, error_code=ErrorCodes.NO_ERROR,
                                    last_stream_id=self.h2.highest_inbound_stream_id)
                self._out += self.h2.data_to_send() + frame.serialize()
                self._flush()
            if not self.streams:
                self._close()

    def abort(self) -> None:
        """Server stop: the connection is going; wake every wait of its streams."""
        with self.lock:
            self._end_streams()

    # -- h2 events (lock held) -----------------------------------------------------------------
    def _on_event(self, event: Any) -> None:
        cls = event.__class__
        if cls is DataReceived:
            stream = self.streams.get(event.stream_id)
            if stream is not None and not stream.body.ended:
                stream.body.chunks.append((event.data, event.flow_controlled_length))
                self.cond.notify_all()
            elif event.flow_controlled_length:
                self._ack(event.stream_id, event.flow_controlled_length)
        elif cls is RequestReceived:
            self._open(event)
        elif cls is StreamEnded:
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                stream.body.ended = True
                self.cond.notify_all()
        elif cls is StreamReset:
            self._on_reset(event.stream_id)
        elif cls is WindowUpdated or cls is RemoteSettingsChanged:
            self.cond.notify_all()
        elif cls is ConnectionTerminated:  # the client leaves; h2 sends nothing more now
            self._flush()
            self._close()

    def _open(self, event: Any) -> None:
        stream_id = event.stream_id
        if self.goaway_sent:
            self._reset(stream_id, ErrorCodes.REFUSED_STREAM)
            return
        try:
            request = build_request(event.headers, event.stream_ended is not None)
        except (HTTPError, ValueError):
            self._reset(stream_id, ErrorCodes.PROTOCOL_ERROR)
            return
        stream = StreamConn(self, stream_id, request)
        if self._idle_at or self._block_since:  # not idle; a block that spanned reads ended
            self._idle_at = self._block_since = 0.0
            self._reschedule()
        self.streams[stream_id] = stream
        if self.running < self.options.max_threads:
            self.running += 1
            self.submit(StreamJob(self, stream, self.jobs))
        else:
            self.queued.append(stream)

    def _on_reset(self, stream_id: int) -> None:
        now = time.monotonic()
        if now - self._resets_since >= 1.0:
            self._resets_since, self._resets = now, 0
        self._resets += 1
        stream = self.streams.get(stream_id)
        if stream is not None:
            stream.reset = True
            if stream in self.queued:
                self.queued.remove(stream)
                self._forget(stream)
            self.cond.notify_all()
        if self._resets > self.options.max_resets_per_s:
            log.warning("HTTP/2 client %s reset more than http2_max_resets_per_s=%d streams "
                        "in a second; GOAWAY ENHANCE_YOUR_CALM", self.conn.client_addr[0],
                        self.options.max_resets_per_s)
            self.h2.close_connection(ErrorCodes.ENHANCE_YOUR_CALM)
            self._flush()
            self._close()

    # -- internals (lock held) -----------------------------------------------------------------
    def _check(self, stream: StreamConn) -> None:
        if stream.reset or self.dead:
            raise ConnectionResetError("the client reset the HTTP/2 stream")

    def _ack(self, stream_id: int, flow: int) -> None:
        if self.dead:
            return
        try:
            self.h2.acknowledge_received_data(flow, stream_id)
        except H2Error:  # the stream closed meanwhile: the connection window is credited
            pass

    def _reset(self, stream_id: int, code: int) -> None:
        try:
            self.h2.reset_stream(stream_id, code)
        except H2Error:
            pass

    def _forget(self, stream: StreamConn) -> None:
        if self.streams.pop(stream.stream_id, None) is None:
            return
        for _, flow in stream.body.chunks:  # unread body: credit the connection window
            self._ack(stream.stream_id, flow)
        stream.body.chunks.clear()
        if self.streams or self.dead:
            return
        if self.goaway_sent:
            self._flush()
            self._close()
        else:
            self._flush(True)
            self._idle_deadline()

    def _idle_deadline(self) -> None:
        keep_alive = self.options.keep_alive
        if keep_alive:
            self._idle_at = time.monotonic() + keep_alive
            self._reschedule()

    def _reschedule(self) -> None:
        """The monitor's deadline: the header block's, else keep_alive's (no stream open)."""
        if self.watch is not None:
            since = self._block_since
            self.monitor.set_deadline(self.watch, since + self.options.header_timeout
                                      if since else self._idle_at)

    def _flush(self, defer: bool = False) -> None:
        """Send what h2 has queued, as much as the socket takes now; arm for the rest.

        With ``defer`` (a stream's thread) and less than ``DEFER_BYTES`` unsent, only arm the
        monitor for writing: it sends once for every frame queued until it runs, so the
        responses of many small streams share one send and the requests they prompt arrive
        together."""
        if self.dead:
            return
        out = self._out
        data = self.h2.data_to_send()
        if data:
            out += data
        if defer and len(out) < DEFER_BYTES and self.watch is not None:
            if out and not self._armed_write:
                self.monitor.rearm(self.watch, True)
                self._armed_write = True
            return
        conn = self.conn
        while out:
            size = self._tls_retry or min(len(out), SEND_BLOCK_BYTES)
            try:
                sent = conn.send_some_nowait(out[:size])
            except OSError:
                self._die()
                return
            if not sent:
                self._tls_retry = size if conn.secure else 0
                break
            self._tls_retry = 0
            del out[:sent]
            self.cond.notify_all()
        if out and not self._armed_write and self.watch is not None:
            self.monitor.rearm(self.watch, True)
            self._armed_write = True

    def _end_streams(self) -> Any:
        """The connection is going: its streams' waits and sends fail from now on, queued ones
        are dropped, and the ``h2`` state goes now, though the connection may stay referenced
        a while (the monitor's heap). Returns the watch, no longer the session's."""
        self.dead = True
        self.h2 = None
        for stream in self.streams.values():
            stream.reset = True
        for stream in self.queued:
            self.streams.pop(stream.stream_id, None)
        self.queued.clear()
        self.cond.notify_all()
        watch, self.watch = self.watch, None
        return watch

    def _close(self) -> None:
        """Close the connection gently (FIN, then drop what the client still sends)."""
        watch = self._end_streams()
        if watch is not None:
            self.monitor.close_session(watch)
        else:
            self.monitor.close_gently(self.conn)

    def _die(self) -> None:
        """The peer is gone: close now."""
        watch = self._end_streams()
        if watch is not None:
            self.monitor.drop(watch)
        else:
            self.conn.close()
