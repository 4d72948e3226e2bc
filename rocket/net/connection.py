"""One client connection: the only code in Rocket that calls recv, send or sendfile.

Reads go into one reusable buffer and are fed straight to the connection's reader (the HTTP
request parser, or the SocketServer's message stream), which keeps any leftover (pipelined)
bytes. Timeouts on plain sockets on Linux are kernel timeouts
(``SO_RCVTIMEO``/``SO_SNDTIMEO``) on a blocking socket, so a read costs one ``recv`` syscall and
not a ``poll`` plus a ``recv`` as Python's socket timeouts do; they are re-set only when the
wanted value changes. TLS sockets use Python's timeouts, cached the same way.

The monitor's side never waits: :meth:`Connection.read_nowait`,
:meth:`Connection.handshake_nowait`, :meth:`Connection.send_nowait` and, for a lingering
close, :meth:`Connection.shut_write` then :meth:`Connection.discard_nowait`.

On plain TCP on Linux a send first tries without waiting (one ``send`` with ``MSG_DONTWAIT``,
as cheap as ``sendall`` when the kernel takes it all); only when the client does not keep up
does it wait, each wait bounded by ``send_timeout`` and by the ``send_min_rate`` floor,
averaged over the time sends have been waiting once ``min_rate_grace`` passed.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import struct
import sys
import time
from typing import Any, Optional, Sequence, Tuple

from rocket.net.nowait import MSG_DONTWAIT as _MSG_DONTWAIT
from rocket.net.nowait import (
    RECV_BUFFER_BYTES,
    NoWaitIO,
    thread_buffer,
    thread_buffers,
    tls_wants_io,
)

PEER_GONE_ERRNOS = frozenset(
    getattr(errno, name)
    for name in ("EPIPE", "ECONNRESET", "ECONNABORTED", "ENOTCONN", "ESHUTDOWN", "EBADF",
                 "ETIMEDOUT", "EHOSTUNREACH", "ENETRESET", "ENETUNREACH")
    if hasattr(errno, name)
)
"""errno values meaning the peer went away; callers close quietly on these."""

SENDMSG_MAX_BUFFERS = 512
"""Buffers per sendmsg call: half of Linux's IOV_MAX (1024), a safe bound on every platform."""

SENDFILE_BLOCK_BYTES = 1 << 20
"""os.sendfile call size: large enough to amortise the call, small enough to notice stops."""

_KERNEL_TIMEOUTS = sys.platform.startswith("linux") and hasattr(socket, "SO_RCVTIMEO")
_HAS_SENDMSG = hasattr(socket.socket, "sendmsg")
_HAS_POLL = hasattr(select, "poll")


def timeval(seconds: float) -> bytes:
    """``seconds`` as the ``struct timeval`` of ``SO_RCVTIMEO``/``SO_SNDTIMEO`` (never 0/0,
    which means no timeout)."""
    whole = int(seconds)
    micros = int((seconds - whole) * 1e6)
    return struct.pack("ll", whole, micros if whole or micros else 1)  # 0/0 would mean forever


def _timed_out() -> socket.timeout:
    return socket.timeout("timed out")


class Connection(NoWaitIO):
    """A client socket plus its reader; see the module docstring.

    ``fill(timeout)`` with ``timeout=None`` uses ``read_timeout`` (the header/body timeout);
    a timeout of 0 tries once without waiting. Every method raises ``OSError`` when the peer is
    gone (``socket.timeout`` when nothing arrived in time).

    ``inherited``: the socket is TCP and already has ``TCP_NODELAY`` and ``SO_SNDTIMEO`` =
    ``send_timeout``, set once on its listener (:class:`~rocket.net.listener.Listener`), from
    which Linux copies them to each accepted socket; that saves two system calls per accept.
    """

    __slots__ = ("sock", "client_addr", "server_addr", "secure", "peer_cert", "reader",
                 "last_active", "read_timeout", "send_timeout", "needs_handshake", "closed",
                 "on_close", "head_since", "proxy", "body_min_rate", "send_min_rate", "min_rate_grace", "_waiting_since",
                 "_waited_bytes", "_recv_timeout", "_kernel", "_fd", "watch", "environ_base",
                 "__weakref__")

    def __init__(self, sock: socket.socket, client_addr: Any, server_addr: Any, reader: Any,
                 secure: bool = False, read_timeout: float = 10.0,
                 send_timeout: float = 10.0, body_min_rate: float = 0.0,
                 send_min_rate: float = 0.0, min_rate_grace: float = 5.0,
                 inherited: bool = False) -> None:
        self.sock = sock
        self.client_addr: Tuple[str, int] = _address(client_addr)
        self.server_addr: Tuple[str, int] = _address(server_addr)
        self.secure = secure
        self.peer_cert: Optional[bytes] = None
        self.reader = reader
        self.last_active = time.monotonic()
        """When the connection was last parked (set by the monitor, which alone reads it)."""
        self.read_timeout = read_timeout
        self.send_timeout = send_timeout
        self.needs_handshake = secure
        self.closed = False
        self.on_close: Any = None
        """Called as ``on_close(conn)`` once, after the socket is closed (connection hooks)."""
        self.proxy: Any = None
        """What a trusted PROXY protocol header said (:class:`~rocket.net.proxied.Proxied`;
        ``client_addr`` is then its client), else None."""
        self.head_since = 0.0
        """When the request head handed over with the connection began (monotonic s): set
        by whoever hands it on (accept, the monitor, a worker giving back a partial head)."""
        self.body_min_rate = body_min_rate
        """Bytes/s a request body must average once ``min_rate_grace`` passed (the body
        reader enforces it); ``send_min_rate`` is the same floor for reading responses."""
        self.send_min_rate = send_min_rate
        self.min_rate_grace = min_rate_grace
        self._waiting_since = 0.0  # when sends began to wait on the client; 0 = they do not
        self._waited_bytes = 0
        self._recv_timeout: Optional[float] = -1.0
        self._fd = sock.fileno()
        self.watch: Any = None
        """The monitor's watch of this connection, kept between hand-ins (the monitor's)."""
        self.environ_base: Any = None
        """The worker's per-connection part of the environ, kept between hand-ins (the worker's)."""
        if inherited:
            self._kernel = _KERNEL_TIMEOUTS and not secure
            if self._kernel and sock.gettimeout() is not None:
                sock.settimeout(None)
            return
        family = sock.family
        self._kernel = _KERNEL_TIMEOUTS and not secure and family != getattr(socket, "AF_UNIX", -1)
        if family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        if self._kernel:
            if sock.gettimeout() is not None:
                sock.settimeout(None)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval(send_timeout))
        elif not secure:
            sock.settimeout(send_timeout or None)

    def fileno(self) -> int:
        """The socket's file descriptor (so a selector can register the connection)."""
        return self._fd

    def fill(self, timeout: Optional[float] = None) -> bool:
        """One read fed to the reader; False on EOF (the reader got ``b""``)."""
        if timeout is None:
            timeout = self.read_timeout
        try:
            buf = thread_buffers.buf
        except AttributeError:
            buf = thread_buffer()
        if self._kernel:
            try:
                if timeout > 0:
                    if timeout != self._recv_timeout:
                        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                                             timeval(timeout))
                        self._recv_timeout = timeout
                    n = self.sock.recv_into(buf)
                else:  # the kernel timeout stays as it is: MSG_DONTWAIT ignores it
                    n = self.sock.recv_into(buf, 0, _MSG_DONTWAIT)
            except BlockingIOError:
                raise _timed_out() from None
        else:
            if timeout != self._recv_timeout:
                self.sock.settimeout(timeout)
                self._recv_timeout = timeout
            try:
                n = self.sock.recv_into(buf)
            except BlockingIOError:
                raise _timed_out() from None
            except OSError as exc:  # TLS without waiting: nothing decrypted yet
                if timeout == 0 and tls_wants_io(exc):
                    raise _timed_out() from None
                raise
        if n:
            self.reader.feed(buf[:n].tobytes())
            return True
        self.reader.feed(b"")
        return False

    def _ready_to_send(self) -> None:
        if not self._kernel and self._recv_timeout != self.send_timeout:
            self.sock.settimeout(self.send_timeout or None)
            self._recv_timeout = self.send_timeout

    def sendall(self, data: bytes) -> None:
        """Send every byte or raise OSError (``socket.timeout`` after ``send_timeout``, or
        when the client reads slower than ``send_min_rate``)."""
        if self._kernel:
            try:
                sent = self.sock.send(data, _MSG_DONTWAIT)
            except BlockingIOError:
                sent = 0
            if sent == len(data):
                self._waiting_since = 0.0
                return
            view = memoryview(data)[sent:]
            while view:
                self._wait_for_room()
                try:
                    sent = self.sock.send(view, _MSG_DONTWAIT)
                except BlockingIOError:
                    continue
                view = view[sent:]
                self._waited_bytes += sent
            return
        self._ready_to_send()
        try:
            self.sock.sendall(data)
        except BlockingIOError:
            raise _timed_out() from None

    def _wait_for_room(self) -> None:
        """Wait until the client makes room for more bytes, within ``send_timeout`` and the
        ``send_min_rate`` floor; raise ``socket.timeout`` once either is passed."""
        now = time.monotonic()
        if not self._waiting_since:
            self._waiting_since, self._waited_bytes = now, 0
        wait = self.send_timeout or None
        rate = self.send_min_rate
        too_slow = None
        if rate:
            left = self._waiting_since + max(self.min_rate_grace,
                                             self._waited_bytes / rate) - now
            too_slow = socket.timeout(f"the client reads slower than send_min_rate={rate:g} B/s")
            if left <= 0:
                raise too_slow
            if wait is None or left < wait:
                wait = left
            else:
                too_slow = None
        if not _wait_for(self._fd, select.POLLOUT if _HAS_POLL else 0, wait):
            raise too_slow or _timed_out()

    @property
    def gathers(self) -> bool:
        """True when :meth:`sendmany` sends its buffers as they are (``sendmsg``), without
        joining them first (plain sockets); TLS joins them."""
        return _HAS_SENDMSG and not self.secure

    def sendmany(self, buffers: Sequence[bytes]) -> None:
        """Send several buffers in order as gathered writes (``sendmsg``), without joining them.

        One system call for a head plus a list of body blocks where ``sendall`` per block makes
        one each (and a blocked thread per block). TLS sockets join and ``sendall``.
        """
        if self.secure or not _HAS_SENDMSG:
            self.sendall(b"".join(buffers))
            return
        self._ready_to_send()
        pending = [memoryview(b) for b in buffers if b]
        sendmsg = self.sock.sendmsg
        kernel = self._kernel
        flags = _MSG_DONTWAIT if kernel else 0
        waited = False
        try:
            while pending:
                try:
                    sent = sendmsg(pending[:SENDMSG_MAX_BUFFERS], (), flags)
                except BlockingIOError:
                    if not kernel:
                        raise
                    self._wait_for_room()
                    waited = True
                    continue
                if waited:
                    self._waited_bytes += sent
                while sent:
                    first = pending[0]
                    if sent >= len(first):
                        sent -= len(first)
                        del pending[0]
                    else:
                        pending[0] = first[sent:]
                        sent = 0
        except BlockingIOError:
            raise _timed_out() from None
        if not waited:
            self._waiting_since = 0.0

    def sendfile(self, file: Any, offset: int = 0, count: Optional[int] = None) -> int:
        """Send ``count`` bytes (or to EOF) of ``file`` from ``offset``; returns bytes sent.

        ``os.sendfile`` on plain sockets, a read and sendall loop under TLS or for objects
        without a file descriptor. The file position ends after the last byte sent.
        """
        self._ready_to_send()
        total = 0
        try:
            fileno = file.fileno()
        except (AttributeError, OSError, ValueError):
            fileno = None
        if fileno is not None and not self.secure and hasattr(os, "sendfile"):
            started = time.monotonic()
            try:
                while count is None or total < count:
                    self._check_rate(started, total)
                    block = SENDFILE_BLOCK_BYTES if count is None else min(
                        SENDFILE_BLOCK_BYTES, count - total)
                    try:
                        sent = os.sendfile(self._fd, fileno, offset + total, block)
                    except BlockingIOError:
                        if self._kernel:
                            raise _timed_out() from None
                        if not _wait_for(self._fd, select.POLLOUT if _HAS_POLL else 0,
                                         self.send_timeout or None):
                            raise _timed_out() from None
                        continue
                    if not sent:
                        break
                    total += sent
            finally:
                if total and hasattr(file, "seek"):
                    file.seek(offset + total)
            return total
        if hasattr(file, "seek"):
            file.seek(offset)
        readinto = getattr(file, "readinto", None)
        if self.secure and readinto is not None:
            return self._write_file(readinto, self.sock.send, count)
        while count is None or total < count:
            block = RECV_BUFFER_BYTES if count is None else min(RECV_BUFFER_BYTES, count - total)
            data = file.read(block)
            if not data:
                break
            self.sock.sendall(data)
            total += len(data)
        return total

    @staticmethod
    def _write_file(readinto: Any, write: Any, count: Optional[int]) -> int:
        """The TLS path of :meth:`sendfile`: blocks read into one buffer and written with
        ``SSLSocket.send`` (one ``SSL_write``: all of it on a blocking socket). A new bytes
        object per block, or ``sendall`` (which slices a memoryview), made PyPy's heap grow
        by 1x to 6x the file's size (its GC frees them only at a major collection)."""
        total = 0
        buf = bytearray(RECV_BUFFER_BYTES)
        while count is None or total < count:
            if count is not None and count - total < len(buf):
                buf = bytearray(count - total)  # the last block: a buffer of its own size
            n = readinto(buf)
            if not n:
                break
            data = buf if n == len(buf) else buf[:n]
            sent = write(data)
            while sent < n:  # not with SSL's default modes; a partial write all the same
                sent += write(data[sent:])
            total += n
        return total

    def _check_rate(self, started: float, sent: int) -> None:
        """Between sendfile calls (each bounded by ``send_timeout``): the rate floor."""
        rate = self.send_min_rate
        if rate and sent:
            elapsed = time.monotonic() - started
            if elapsed > self.min_rate_grace and sent < rate * elapsed:
                raise socket.timeout(f"the client reads slower than send_min_rate={rate:g} B/s")

    @property
    def has_buffered(self) -> bool:
        """True when request bytes already sit in user space (reader or TLS layer)."""
        if self.reader.trailing_data:
            return True
        return self.secure and not self.needs_handshake and bool(self.sock.pending())  # type: ignore[attr-defined]

    def close(self) -> None:
        """Close the socket; safe to call more than once and from any thread."""
        if self.closed:
            return
        self.closed = True
        self.watch = None  # the watch refers back to this connection: no cycle left behind
        try:
            self.sock.close()
        except OSError:
            pass
        on_close = self.on_close
        if on_close is not None:
            self.on_close = None
            on_close(self)

    def abort(self) -> None:
        """Wake a thread blocked on this connection (used at stop): shut down both directions."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Connection {self.client_addr[0]}:{self.client_addr[1]} {state}>"


def _wait_for(fd: int, events: int, timeout: Optional[float]) -> bool:
    """True when ``fd`` is writable within ``timeout`` seconds (None = forever)."""
    if _HAS_POLL:
        poller = select.poll()
        poller.register(fd, events)
        return bool(poller.poll(None if timeout is None else max(0, int(timeout * 1000) + 1)))
    _, writable, _ = select.select([], [fd], [], timeout)
    return bool(writable)


def _address(addr: Any) -> Tuple[str, int]:
    if (addr.__class__ is tuple and len(addr) == 2 and addr[0].__class__ is str
            and addr[1].__class__ is int):
        return addr  # an IPv4 address is (str, int) already: kept as it is
    if isinstance(addr, tuple) and len(addr) >= 2:
        return (str(addr[0]), int(addr[1]))
    return (str(addr or ""), 0)
