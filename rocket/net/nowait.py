"""The monitor's side of a connection: operations that return at once, never waiting.

The monitor thread reads request heads (:meth:`NoWaitIO.read_nowait`), steps TLS handshakes
(:meth:`NoWaitIO.handshake_nowait`), sends short answers (:meth:`NoWaitIO.send_nowait`) and
HTTP/2 frames (:meth:`NoWaitIO.send_some_nowait`), drains lingering closes
(:meth:`NoWaitIO.shut_write`, :meth:`NoWaitIO.discard_nowait`) and reads PROXY headers
(:meth:`NoWaitIO.peek_nowait`, :meth:`NoWaitIO.take_nowait`) for thousands of connections, so
none of these may block. :class:`~rocket.net.connection.Connection`
inherits them; the reads go into the calling thread's buffer, as its blocking reads do.
"""

from __future__ import annotations

import socket
import threading
from typing import Any, Callable, Optional

__all__ = ["NoWaitIO", "RECV_BUFFER_BYTES", "MSG_DONTWAIT", "thread_buffer", "thread_buffers",
           "tls_wants_io"]

RECV_BUFFER_BYTES = 65536
"""One read: large enough for a whole pipelined burst or a big body piece. The buffer belongs
to the thread, not the connection (bytes are copied out at once), so 1,000 idle connections
cost no buffer memory."""

MSG_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
MSG_PEEK = socket.MSG_PEEK

thread_buffers = threading.local()
"""``thread_buffers.buf``: the calling thread's read buffer, once :func:`thread_buffer` made it."""


def thread_buffer() -> memoryview:
    """The calling thread's read buffer (``RECV_BUFFER_BYTES``), made on first use."""
    try:
        return thread_buffers.buf  # type: ignore[no-any-return]
    except AttributeError:
        buf = thread_buffers.buf = memoryview(bytearray(RECV_BUFFER_BYTES))
        return buf


def tls_wants_io(exc: OSError) -> bool:
    """True when ``exc`` is TLS asking to wait for the socket (nothing decrypted or sent)."""
    import ssl

    return isinstance(exc, (ssl.SSLWantReadError, ssl.SSLWantWriteError))


class NoWaitIO:
    """Mixin of :class:`~rocket.net.connection.Connection` (which provides ``sock``,
    ``secure``, ``needs_handshake``, ``peer_cert``, ``fill`` and the timeout cache)."""

    __slots__ = ()

    sock: Any
    secure: bool
    needs_handshake: bool
    peer_cert: Optional[bytes]
    _recv_timeout: Optional[float]
    _kernel: bool
    fill: Callable[..., bool]

    def handshake_nowait(self) -> Optional[str]:
        """One step of the TLS handshake without waiting: None once it is done (the client
        certificate read), else ``"read"`` or ``"write"``, what it waits for. Raises OSError
        (``ssl.SSLError``) when it failed."""
        import ssl

        sock: Any = self.sock
        self._no_wait()
        try:
            sock.do_handshake()
        except ssl.SSLWantReadError:
            return "read"
        except ssl.SSLWantWriteError:
            return "write"
        self.needs_handshake = False
        self.peer_cert = sock.getpeercert(binary_form=True)
        return None

    def read_nowait(self) -> Optional[bool]:
        """One read that never waits (the monitor's), fed to the reader: True when bytes
        came, False at EOF, None when nothing had arrived. TLS: every decrypted byte is read."""
        try:
            got = self.fill(0)
            while got and self.secure and self.sock.pending():  # type: ignore[attr-defined]
                got = self.fill(0)
        except socket.timeout:
            return None
        except OSError as exc:
            if self.secure and tls_wants_io(exc):
                return None
            raise
        return got

    def send_nowait(self, data: bytes) -> None:
        """Send a short answer from the monitor without waiting; what does not fit is lost
        (the client is not reading). Before a TLS handshake it goes out as plain bytes."""
        try:
            if self.secure and not self.needs_handshake:
                self._no_wait()
                self.sock.send(data)
            else:
                socket.socket.send(self.sock, data, MSG_DONTWAIT)
        except OSError:
            pass

    def send_some_nowait(self, data: bytes) -> int:
        """Send what the socket takes now of ``data`` (an HTTP/2 session's writes): the bytes
        sent, 0 when it takes none. A TLS send that took none must be repeated with the same
        length. OSError: the peer is gone."""
        try:
            if self.secure:
                self._no_wait()
                return self.sock.send(data)  # type: ignore[no-any-return]
            return socket.socket.send(self.sock, data, MSG_DONTWAIT)
        except BlockingIOError:
            return 0
        except OSError as exc:
            if self.secure and tls_wants_io(exc):
                return 0
            raise

    def shut_write(self) -> None:
        """Lingering close, first step: the answer is sent, so send FIN (below any TLS layer)
        and make reads non-blocking for :meth:`discard_nowait`."""
        try:
            socket.socket.shutdown(self.sock, socket.SHUT_WR)
            socket.socket.setblocking(self.sock, False)
        except OSError:
            pass
        self._recv_timeout = 0.0

    def discard_nowait(self) -> Optional[int]:
        """Read and drop what the client still sends (lingering close), below any TLS layer:
        the bytes dropped, 0 at EOF, None when nothing had arrived. OSError: the peer is gone."""
        try:
            return socket.socket.recv_into(self.sock, thread_buffer())
        except BlockingIOError:
            return None

    def peek_nowait(self, size: int) -> Optional[bytes]:
        """Up to ``size`` bytes the peer sent, left in the socket, below any TLS layer (a
        PROXY header comes before the ClientHello): ``b""`` at EOF, None when nothing had
        arrived. OSError: the peer is gone."""
        if not self._kernel:  # a Python timeout would wait in poll() before recv()
            self._no_wait()
        try:
            return socket.socket.recv(self.sock, size, MSG_PEEK | MSG_DONTWAIT)
        except BlockingIOError:
            return None

    def take_nowait(self, size: int) -> None:
        """Remove ``size`` bytes that :meth:`peek_nowait` saw from the socket; OSError when
        fewer are there."""
        taken = len(socket.socket.recv(self.sock, size, MSG_DONTWAIT))
        if taken != size:
            raise OSError(f"took {taken} of {size} peeked bytes")

    def _no_wait(self) -> None:
        if self._recv_timeout != 0.0:
            self.sock.settimeout(0.0)
            self._recv_timeout = 0.0
