"""One listening socket and the accepting on it, by its own thread (``rocket-listener-<port>``,
:meth:`Listener.start`), which passes each client to ``on_accept``.

The socket is bound (:func:`rocket.net.binding.bind_socket`) and any TLS context loaded
(:mod:`rocket.net.tls`) in the constructor, so a busy port or a missing/unusable key or
certificate raises there and never degrades to plain HTTP. TLS
sockets are wrapped with ``do_handshake_on_connect=False``: the handshake runs later in the
monitor, without waiting, so a client that never handshakes blocks nobody.

With ``send_timeout_s`` a TCP socket on Linux gets ``TCP_NODELAY`` and ``SO_SNDTIMEO`` once,
which every accepted socket inherits (:attr:`Listener.inherited_options`).

With ``defer_accept_s`` (HTTP, where the client speaks first) a TCP socket on Linux gets
``TCP_DEFER_ACCEPT``: the kernel completes accept() once the first bytes arrived (or the
period passed), so the accepting thread usually finds the request already there.

``on_accept`` may serve the request on the accepting thread itself (the server's "serving on
the accepting thread"); it brackets that with :meth:`Listener.begin_serving` and
:meth:`Listener.end_serving`, and when such a request runs long, :meth:`Listener.hand_over`
makes a new thread accept while the old one finishes its request and ends.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import sys
import threading
import time
from typing import Any, Callable, Optional, Sequence, Tuple

from rocket.config.settings import Interface
from rocket.logs import RateLimitedLog, errors_log
from rocket.net.binding import bind_socket
from rocket.net.connection import timeval
from rocket.net.tls import make_tls_context

ACCEPT_CAPACITY_ERRNOS = frozenset(
    getattr(errno, name) for name in ("EMFILE", "ENFILE", "ENOBUFS", "ENOMEM")
    if hasattr(errno, name)
)
"""accept() failures meaning "out of descriptors or memory": back off instead of spinning."""

ACCEPT_BACKOFF_S = (0.01, 0.5)
"""First and largest pause after a capacity error; doubles in between."""

ACCEPT_POLL_S = 1.0
"""How long the accepting thread waits for a client before it looks again (at ``stop()``, on
systems where shutdown() does not wake it, and at ``has_room()``)."""

DEFER_ACCEPT_S = 1
"""TCP_DEFER_ACCEPT period (s) for HTTP listeners: a client sends its request right after
connecting, so 1 s covers it; a client that sends nothing is accepted after it anyway and
then bounded by ``header_timeout`` in the monitor."""


class Listener:
    """Accepts connections on one interface: its own thread passes each on as
    ``on_accept(sock, addr, listener)``.

    ``has_room()`` is asked before each accept; while it says no, the thread waits and the
    kernel's backlog absorbs new connects (back-pressure instead of unbounded queueing; in
    process mode another worker may take them). ``make_room()`` runs for each connection
    accepted, before it is passed on, so room is only ever made for a client that is there;
    when it returns False the connection is closed at once (no room could be made).
    When accept() fails for lack of descriptors, ``on_capacity_error(exc)`` may free some
    (True: accept again at once); otherwise the thread backs off, and ``on_capacity_recovered()``
    is called once an accept succeeds again.
    """

    def __init__(self, interface: Interface,
                 on_accept: Callable[[Any, Any, Listener], None],
                 backlog: int = socket.SOMAXCONN, ciphers: Optional[str] = None,
                 has_room: Callable[[], bool] = lambda: True, sock: Optional[socket.socket] = None,
                 make_room: Callable[[], Any] = lambda: True,
                 on_capacity_error: Callable[[OSError], bool] = lambda exc: False,
                 on_capacity_recovered: Callable[[], None] = lambda: None,
                 defer_accept_s: int = 0, send_timeout_s: float = 0.0,
                 alpn: Sequence[str] = ()) -> None:
        self.tls_context = make_tls_context(interface, ciphers, alpn) if interface.secure \
            else None
        # A socket passed in (inherited from an arbiter or systemd) may be shared with other
        # processes: shutdown() would stop them accepting too, so only close our descriptor.
        self.owns_socket = sock is None
        self.sock = sock if sock is not None else bind_socket(interface, backlog,
                                                              inheritable=False)
        if interface.unix_path is None and self.sock.family != getattr(socket, "AF_UNIX", -1):
            interface = interface._replace(port=self.sock.getsockname()[1])
        self.interface = interface
        self.port = interface.port
        self.secure = interface.secure
        self.address = self.sock.getsockname()
        self.on_accept = on_accept
        self.has_room = has_room
        self.make_room = make_room
        self.on_capacity_error = on_capacity_error
        self.on_capacity_recovered = on_capacity_recovered
        self.log = errors_log(f"Port{self.port}")
        self._accept_failed_log = RateLimitedLog(self.log)
        self._setup_failed_log = RateLimitedLog(self.log)
        self._running = False
        self._thread: Optional[threading.Thread] = None
        self._generation = 0  # of the accepting thread: an older one ends after its request
        self._serving_lock = threading.Lock()
        self.serving_since = 0.0
        """When the accepting thread began serving a request itself (monotonic s), else 0."""
        self.hand_overs = 0
        """Times a request served on the accepting thread ran long and a new thread took over
        the accepting (:meth:`hand_over`)."""
        self._accept_fd = self.sock._accept  # type: ignore[attr-defined]
        self._family, self._type = int(self.sock.family), int(self.sock.type)
        self._backoff = 0.0
        # Non-blocking: accept() first, and wait (_wait_for_client) only when no client is
        # there. A socket timeout would poll() before every accept(): a system call (and on
        # CPython a release and retake of the interpreter lock) per connection while clients
        # queue up. The descriptor was non-blocking in timeout mode already, which sockets
        # shared with other processes see alike.
        self.sock.setblocking(False)
        self.inherited_options = False
        """True when accepted sockets inherit ``TCP_NODELAY`` and ``SO_SNDTIMEO`` (Linux TCP)
        from this one, so a :class:`~rocket.net.connection.Connection` need not set them."""
        if self.sock.family in (socket.AF_INET, socket.AF_INET6):
            self._set_tcp_options(defer_accept_s, send_timeout_s)

    def _set_tcp_options(self, defer_accept_s: int, send_timeout_s: float) -> None:
        """Options set once here rather than on every accepted socket, which copies them."""
        sock = self.sock
        if defer_accept_s and hasattr(socket, "TCP_DEFER_ACCEPT"):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, defer_accept_s)
            except OSError:  # an inherited socket of another kind: accept as it comes
                pass
        if sys.platform.startswith("linux") and send_timeout_s > 0:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval(send_timeout_s))
            except OSError:
                return
            self.inherited_options = True

    def start(self) -> None:
        """Start accepting on the listener's own thread."""
        self._running = True
        self._start_thread()

    def _start_thread(self) -> None:
        self._generation += 1
        name = f"rocket-listener-{self.port or os.path.basename(self.interface.unix_path or '')}"
        self._thread = threading.Thread(target=self._run, args=(self._generation,), name=name,
                                        daemon=True)
        self._thread.start()

    def begin_serving(self) -> float:
        """The accepting thread serves a request itself from now on: returns the start, for
        :meth:`end_serving` and :meth:`hand_over`."""
        self.serving_since = since = time.monotonic()
        return since

    def end_serving(self, since: float) -> None:
        """The request begun at ``since`` is done."""
        with self._serving_lock:
            if self.serving_since == since:  # not handed over meanwhile
                self.serving_since = 0.0

    def hand_over(self, since: float) -> bool:
        """The request the accepting thread began serving at ``since`` runs long: a new thread
        accepts from now on, and the old one ends once that request is done. False when that
        request ended meanwhile or the listener stopped."""
        with self._serving_lock:
            if not self._running or not since or self.serving_since != since:
                return False
            self.serving_since = 0.0
            self.hand_overs += 1
            self._start_thread()
            return True

    def stop(self, timeout: float = 2.0) -> None:
        """Stop accepting and close the socket so the port can be bound again at once."""
        self._running = False
        if self.owns_socket:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept() on Linux
            except OSError:
                pass
        thread = self._thread
        # A thread serving a request itself is not waited for: it ends after that request,
        # which a graceful stop waits for as for any other.
        if thread is not None and thread is not threading.current_thread() \
                and not self.serving_since:
            thread.join(timeout)
        self._thread = None
        self.close()

    def close(self) -> None:
        """Close the listening socket (and remove a unix socket file)."""
        try:
            self.sock.close()
        except OSError:
            pass
        if self.interface.unix_path is not None and self.owns_socket:
            try:
                os.unlink(self.interface.unix_path)
            except OSError:
                pass

    def _accept_once(self) -> Optional[Tuple[Any, Any]]:
        """One accepted client ``(sock, addr)`` (wrapped for TLS, the handshake left for
        later), or None: nothing came within ACCEPT_POLL_S, no room, a failed accept, or the
        listener stopped."""
        if not self.has_room():
            time.sleep(0.005)
            return None
        try:
            fd, addr = self._accept_fd()
        except BlockingIOError:  # no client queued: wait for one, then look again
            self._wait_for_client()
            return None
        except OSError as exc:
            if not self._running:
                return None
            if exc.errno in ACCEPT_CAPACITY_ERRNOS:
                if self.on_capacity_error(exc):
                    return None  # idle connections were closed: there is room now
                self._backoff = min(ACCEPT_BACKOFF_S[1], self._backoff * 2 or ACCEPT_BACKOFF_S[0])
                self._accept_failed_log.warning("accept() failed (%s); pausing %.2fs",
                                                exc, self._backoff)
                time.sleep(self._backoff)
            elif exc.errno in (errno.EINVAL, errno.EBADF):  # socket shut down or closed
                self._running = False
            return None  # ECONNABORTED, EPROTO...: that client is gone, keep accepting
        if self._backoff:
            self._backoff = 0.0
            self.on_capacity_recovered()
        # socket.accept() without its per-call enum conversions and setblocking(True): an
        # accepted descriptor is blocking already (flags are not inherited from the listener).
        client = socket.socket(self._family, self._type, 0, fileno=fd)
        if self.make_room() is False:
            client.close()
            return None
        if self.tls_context is not None:
            try:
                client = self.tls_context.wrap_socket(client, server_side=True,
                                                      do_handshake_on_connect=False)
            except Exception:
                self._setup_failed_log.exception("cannot set up a connection from %s", addr)
                client.close()
                return None
        return client, addr

    def _wait_for_client(self) -> None:
        """Wait until a client is queued, ``stop()`` shuts the socket down, or ACCEPT_POLL_S
        passed."""
        try:
            if not hasattr(select, "poll"):
                select.select([self.sock], [], [], ACCEPT_POLL_S)
                return
            # A poll object per wait, not one kept: waits come only when no client is queued,
            # and a kept one could see a second thread's poll() (RuntimeError) after a
            # hand-over.
            poller = select.poll()
            poller.register(self.sock.fileno(), select.POLLIN)
            poller.poll(ACCEPT_POLL_S * 1000)
        except (OSError, ValueError):  # closed meanwhile (stop): the caller sees it
            time.sleep(0.005)

    def _run(self, generation: int = 0) -> None:
        while self._running and self._generation == generation:
            got = self._accept_once()
            if got is None:
                continue
            try:
                self.on_accept(got[0], got[1], self)
            except Exception:
                self._setup_failed_log.exception("cannot set up a connection from %s", got[1])
                got[0].close()
