"""The monitor: one thread holding every connection that waits on its client.

How it works
------------
- A connection waits here in one of five phases, each with its own deadline
  (:mod:`rocket.net.phases` says what each phase does):

  - ``idle``: keep-alive between requests, closed after ``keep_alive`` s (0 = never);
  - ``head``: a new connection, or part of a request head, until the head is whole; closed
    ``header_timeout`` s after accept or after the head's first byte (a 408 when part of a
    head came);
  - ``handshake``: a TLS handshake, stepped without waiting, for ``tls_handshake_timeout`` s;
    the head deadline starts when it is done;
  - ``proxy``: with ``proxy_protocol``, a new connection until its PROXY header is read, then
    on to its handshake or head (same deadline as ``head``);
  - ``drain``: a lingering close, reading and dropping what the client still sends;
  - ``session``: an HTTP/2 connection, held until it closes (:mod:`rocket.net.sessions`).

- Any thread hands a connection in (:meth:`Monitor.park`, :meth:`Monitor.wait_head`,
  :meth:`Monitor.handshake`, :meth:`Monitor.read_proxy_header`, :meth:`Monitor.close_gently`). Under a lock its :class:`Watch`
  goes into ``_watched`` (fd -> watch), its deadline into the heap and its descriptor into
  the poller, armed for one event (:mod:`rocket.net.pollers`).
- The thread waits in ``poll()`` until the earliest deadline (at most ``MAX_WAIT_S``; a hand-in
  with an earlier deadline wakes it through a socketpair). A fired descriptor goes to its
  phase, which reads or writes without waiting and then re-arms it, hands the connection to
  ``dispatch`` (the thread pool) once a whole request is buffered (``ready(conn)``), or
  closes it.
- Deadlines live in a heap of ``(deadline, seq, watch)``. A watch whose deadline moves later
  keeps its entry, which re-queues it when it comes up; entries of watches that left are
  skipped, and the heap is rebuilt once they outnumber the live ones. Each event thus costs
  O(log n), with no scan of the connections, and a deadline fires when it is due.
- A connection keeps its watch (``conn.watch``) from one hand-in to the next, and with it its
  heap entry: a busy keep-alive connection parked after every request pays one heap push per
  ``keep_alive``, not one per request; bytes that make a whole head at once go to the pool
  without a head deadline being queued.
- ``stop()`` wakes the thread, joins it and closes every connection held; one handed in
  afterwards is closed at once.
- **Serving on the monitor's thread** (``serve_here``): while the interpreter lock is
  saturated (``saturation.cpu_bound``, the pool's CPU reading), a whole request found on an
  idle or waiting connection is served right here instead of being queued for a pool thread,
  and the pool threads give their connection back after every request (the server's
  ``has_waiting``). One thread then polls, reads, runs the application and writes for every
  busy connection, the way a single-threaded event loop does, with no hand-off between
  threads per request: each hand-off costs a wake-up and a race for the interpreter lock,
  which is what a saturated server cannot afford (see docs/reliability.md). The pool's
  manager calls :meth:`Monitor.tick` every tick: a request that has run here for
  ``INLINE_STALL_S`` (a slow application, a large body, a client slow to read) hands the
  polling to a new monitor thread, and the old one finishes that request as a pool thread
  would, then ends; serving here stays off for ``INLINE_BACKOFF_S`` after that. A tick with
  no load keeps the mode; once on, a tick of a little less CPU (``saturation.cpu_busy``)
  keeps it on. A plain connection served here stays armed between its requests
  (``READ_ALWAYS``, level-triggered: no system call to re-arm it per request); it is
  disarmed before a pool thread or a new monitor thread could see it fire while it is being
  served.

Thousands of slow or idle clients thus cost a selector entry and a heap entry each, never a
thread.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from rocket.logs import monitor_log as log
from rocket.net.phases import DRAIN, HANDSHAKE, HEAD, IDLE, PROXY, Phases
from rocket.net.pollers import READ_ALWAYS, EpollPoller, make_poller
from rocket.net.sessions import SESSION, Sessions

__all__ = ["Monitor", "Watch", "MAX_WAIT_S"]

MAX_WAIT_S = 1.0
"""Longest poll() wait: bounds how late a deadline fires if a wake-up was ever missed."""
INLINE_STALL_S = 0.05
"""A request served on the monitor's thread for this long (seen at the pool's next tick, so
up to one tick later) hands the polling over to a new monitor thread."""
INLINE_BACKOFF_S = 1.0
"""After such a hand-over, requests go to the pool threads for this long."""

_INF = float("inf")


def _whole(conn: Any) -> bool:
    return True


def _evictable(watch: Watch) -> bool:
    """Waits for nothing but its client: idle keep-alive, a lingering close, or a head of
    which no byte came yet (see :meth:`Monitor.evict_idle`)."""
    phase = watch.phase
    return phase is IDLE or phase is DRAIN or (phase is HEAD and not getattr(
        getattr(watch.conn, "reader", None), "trailing_data", b""))


class Watch:
    """A connection held by the monitor: its phase and deadlines (monotonic s; 0 = none)."""

    __slots__ = ("conn", "fd", "phase", "deadline", "queued", "until", "heap", "writing",
                 "always")

    def __init__(self, conn: Any, fd: int, phase: str, until: float = 0.0) -> None:
        self.conn = conn
        self.fd = fd
        self.phase = phase
        self.deadline = 0.0
        self.queued = _INF  # the earliest deadline this watch has in the heap
        self.until = until  # drain: the end of close_drain_time
        self.heap = 0  # the heap (Monitor._heap_gen) that ``queued`` is about
        self.writing = False  # armed for writing (a TLS handshake's flight), not reading
        self.always = False  # armed READ_ALWAYS (served on the monitor's thread), not once

    def __repr__(self) -> str:
        return f"<Watch {self.phase} {self.conn!r}>"


class Monitor(Phases, Sessions):
    """Holds connections that wait on their client; hands ready ones to ``dispatch(conn)``.

    ``timeout`` is ``keep_alive``; ``header_timeout``, ``handshake_timeout``, ``drain_time``
    and ``drain_gap`` (``close_drain_time`` and ``close_drain_timeout``) bound the other
    phases, in seconds, 0 = no bound. ``ready(conn)`` says whether the buffered bytes make a
    whole request (or bytes the worker must refuse); ``answer(conn, reason)`` gives the bytes
    to send before closing, for ``"timeout"`` (part of a head came too slowly) and
    ``"plain_http"`` (plain HTTP on a TLS port), or None. Without ``clients_speak_first``
    a connection goes to ``dispatch`` as soon as its TLS handshake is done. ``proxy_gate``
    (a :class:`~rocket.net.proxied.ProxyGate`) reads the PROXY headers.
    """

    def __init__(self, dispatch: Callable[[Any], None], timeout: float = 600.0,
                 clock: Callable[[], float] = time.monotonic, name: str = "rocket-monitor",
                 poller: Any = None, header_timeout: float = 10.0,
                 handshake_timeout: float = 5.0, drain_time: float = 30.0,
                 drain_gap: float = 5.0, ready: Callable[[Any], bool] = _whole,
                 answer: Optional[Callable[[Any, str], Optional[bytes]]] = None,
                 clients_speak_first: bool = True, proxy_gate: Any = None,
                 serve_here: Optional[Callable[[Any], bool]] = None,
                 saturation: Any = None) -> None:
        self.dispatch = dispatch
        self.serve_here = serve_here
        """Serves a connection with a whole request on the calling thread: True when it is
        to be parked idle again, False when it was closed or handed elsewhere; None: always
        ``dispatch``."""
        self.saturation = saturation
        """An object whose ``cpu_bound`` is True while serving here pays, and ``cpu_busy``
        while serving here goes on paying (the thread pool)."""
        self.inline = False
        """True while whole requests are served on the monitor's thread (set by ``tick``)."""
        self.crowd = 0
        """Serve here only once a poll found at least this many connections ready within a
        tick (0: whenever saturated); see :meth:`tick`."""
        self._peak = 0  # the most events one poll returned since the last tick
        self._served_at_tick = 0  # served_here at the last tick
        self.serving = 0
        """Connections being served on a monitor thread now (busy, not held)."""
        self.served_here = 0
        """Hand-ons served on the monitor's thread rather than queued for the pool."""
        self.takeovers = 0
        """Times a slow request served here handed the polling to a new thread."""
        self._serving_since = 0.0  # when the request served here now began; 0.0: none
        self._serving: Optional[Watch] = None  # the watch of that request
        self._inline_off_until = 0.0
        self._generation = 0  # the polling thread's; an older thread ends after its request
        self._batch: List[Watch] = []  # the events the polling thread took from its last poll
        self._batch_next = 0  # the index of the first one not yet begun
        self.timeout = timeout
        self.header_timeout = header_timeout
        self.handshake_timeout = handshake_timeout
        self.drain_time = drain_time
        self.drain_gap = drain_gap
        self.ready = ready
        self.answer = answer
        self.clients_speak_first = clients_speak_first
        self.proxy_gate = proxy_gate
        self.clock = clock
        self.name = name
        self.closed_idle = 0
        self.evicted = 0
        self.parks = 0
        self.timed_out = 0
        """Connections closed at a head, handshake or drain deadline."""
        self._poller = poller if poller is not None else make_poller()
        self._modify = getattr(self._poller, "modify", None)  # epoll's, for re-arming inline
        self._lock = threading.Lock()
        self._watched: Dict[int, Watch] = {}
        self._heap: List[Tuple[float, int, Watch]] = []
        self._heap_gen = 1  # bumped when the heap is rebuilt or cleared: older entries are gone
        self._seq = itertools.count()
        self._wake_at = 0.0
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._wake_fd = self._wake_r.fileno()
        self._poller.watch(self._wake_fd)
        self._running = False
        self._waiting_allowed = True
        self._closed = False
        self._thread: Optional[threading.Thread] = None

    def __len__(self) -> int:
        return len(self._watched)

    def phases(self) -> Dict[str, int]:
        """How many connections each phase holds (a snapshot)."""
        counts = {IDLE: 0, HEAD: 0, HANDSHAKE: 0, PROXY: 0, DRAIN: 0, SESSION: 0}
        for watch in list(self._watched.values()):
            counts[watch.phase] += 1
        return counts

    def start(self) -> None:
        """Start the monitor thread."""
        self._running = True
        self._start_thread()

    def _start_thread(self) -> None:
        self._generation += 1
        self._thread = threading.Thread(target=self._run, args=(self._generation,),
                                        name=self.name, daemon=True)
        self._thread.start()

    def tick(self) -> None:
        """Called every few tens of ms (the pool's manager): decide whether whole requests are
        served on this thread, and hand the polling to a new thread when the request served
        here has run for ``INLINE_STALL_S``."""
        now = self.clock()
        since = self._serving_since
        if since and now - since >= INLINE_STALL_S:
            with self._lock:
                if self._running and self._serving_since == since:
                    self._serving_since = 0.0
                    self._inline_off_until = now + INLINE_BACKOFF_S
                    self.inline = False
                    self.takeovers += 1
                    # The events its thread took and has not begun: armed again, they fire
                    # for the new thread (their bytes are still unread).
                    serving = self._serving
                    if serving is not None and serving.always:  # polled by the new thread
                        self._disarm(serving)
                    rest, self._batch = self._batch[self._batch_next:], []
                    for watch in rest:
                        if self._watched.get(watch.fd) is watch:
                            watch.always = False  # armed once from here on
                            try:
                                self._poller.arm(watch.fd, watch.conn, watch.writing)
                            except (ValueError, KeyError, OSError):  # closed meanwhile
                                pass
                    self._start_thread()
                    log.debug("a request served on the monitor thread ran %.0f ms; "
                              "a new thread polls", (now - since) * 1000)
        peak, self._peak = self._peak, 0
        served = self.served_here
        moved = served != self._served_at_tick
        self._served_at_tick = served
        saturation = self.saturation
        cpu_bound = bool(saturation is not None and saturation.cpu_bound)
        allowed = self.serve_here is not None and now >= self._inline_off_until and self._running
        if not (cpu_bound or peak or moved):
            # An idle tick (no load at all) says nothing about the next load: the mode stays,
            # so a pause between bursts does not send the next burst's first tick through the
            # pool. Load the monitor saw, or a saturated pool, decides.
            self.inline = self.inline and allowed
            return
        if self.inline:  # serving here: a tick of a little less CPU does not stop it
            cpu_bound = cpu_bound or bool(getattr(saturation, "cpu_busy", False))
        self.inline = allowed and cpu_bound and peak >= self.crowd

    # -- handing connections in (any thread) ---------------------------------------------------
    def park(self, conn: Any) -> None:
        """Hold an idle keep-alive connection until its next request or ``keep_alive``."""
        now = conn.last_active = self.clock()
        self.parks += 1
        self._add(conn, IDLE, now + self.timeout if self.timeout else 0.0)

    def wait_head(self, conn: Any, since: float) -> None:
        """Hold ``conn`` until a whole request head is buffered, or ``header_timeout`` after
        ``since`` (accept, or the head's first byte)."""
        self._add(conn, HEAD, since + self.header_timeout if self.header_timeout else 0.0)

    def handshake(self, conn: Any) -> None:
        """Run the TLS handshake of a new connection, then wait for its head."""
        timeout = self.handshake_timeout
        self._add(conn, HANDSHAKE, self.clock() + timeout if timeout else 0.0)

    def read_proxy_header(self, conn: Any) -> None:
        """Read the PROXY header of a new connection (``proxy_gate``), then go on to its
        handshake or head; all within ``header_timeout`` of accept (``conn.head_since``)."""
        timeout = self.header_timeout
        self._add(conn, PROXY, conn.head_since + timeout if timeout else 0.0)

    def close_gently(self, conn: Any) -> None:
        """Lingering close once an answer is sent: FIN, then read and drop what the client
        still sends for up to ``drain_time`` s in all and ``drain_gap`` s between reads, so
        closing does not reset the connection and destroy the answer in flight. The FIN goes
        out only once the connection is held in the drain phase, so a client that saw it finds
        the monitor draining (``len``, ``phases()``, a graceful stop's wait)."""
        if not self.drain_time:
            conn.shut_write()
            conn.close()
            return
        now = self.clock()
        until = now + self.drain_time
        self._add(conn, DRAIN, min(until, now + self.drain_gap) if self.drain_gap else until,
                  until=until, draining=True)

    def close_waiting(self) -> None:
        """Graceful stop: close every connection but the draining ones and the sessions (told
        to finish their streams); from now on only lingering closes are taken (anything else
        handed in is closed at once)."""
        with self._lock:
            self._waiting_allowed = False
            closing = [w for w in self._watched.values() if w.phase not in (DRAIN, SESSION)]
            sessions = [w for w in self._watched.values() if w.phase == SESSION]
            for watch in closing:
                self._forget(watch)
        for watch in closing:
            watch.conn.close()
        self._drain_sessions(sessions)

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread and close every connection held; idempotent."""
        with self._lock:
            was_running = self._running
            self._running = False
        if was_running:
            self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None
        with self._lock:
            held = list(self._watched.values())
            for watch in held:
                self._poller.forget(watch.fd)
            self._watched.clear()
            self._heap.clear()
            self._heap_gen += 1
            if not self._closed:
                self._closed = True
                self._poller.close()
                self._wake_r.close()
                self._wake_w.close()
        for watch in held:
            watch.conn.close()

    # -- bookkeeping (callers hold no lock unless said) ----------------------------------------
    def _add(self, conn: Any, phase: str, deadline: float, write: bool = False,
             until: float = 0.0, draining: bool = False) -> Optional[Watch]:
        with self._lock:
            if self._running and (self._waiting_allowed or draining):
                fd = conn.fileno()
                watch = getattr(conn, "watch", None)
                if watch is None or watch.fd != fd:
                    watch = Watch(conn, fd, phase, until)
                    try:
                        conn.watch = watch
                    except AttributeError:  # a connection class without the slot
                        pass
                else:
                    watch.phase = phase
                    watch.until = until
                watch.writing = write
                watch.always = False
                self._watched[fd] = watch  # before arming: the event may fire at once
                if draining:
                    conn.shut_write()
                try:
                    self._poller.arm(fd, conn, write)
                except (ValueError, KeyError, OSError):  # closed meanwhile, or a bad fd
                    del self._watched[fd]
                else:
                    if deadline and (deadline < watch.queued or watch.heap != self._heap_gen):
                        self._schedule(watch, deadline)
                        if deadline < self._wake_at:
                            self._wake()
                    else:  # _schedule without a heap push, inline: once per request
                        watch.deadline = deadline
                    return watch
        conn.close()
        return None

    def _schedule(self, watch: Watch, deadline: float) -> None:
        """Set ``watch``'s deadline (under the lock); only an earlier one costs a heap push."""
        watch.deadline = deadline
        if deadline and (deadline < watch.queued or watch.heap != self._heap_gen):
            heap = self._heap
            heapq.heappush(heap, (deadline, next(self._seq), watch))
            watch.queued = deadline
            watch.heap = self._heap_gen
            if len(heap) > 2 * len(self._watched) + 1024:
                self._rebuild_heap()

    def _rebuild_heap(self) -> None:
        self._heap_gen += 1  # watches held elsewhere (a worker) lose their entries here
        entries = []
        for watch in self._watched.values():
            watch.queued = watch.deadline or _INF
            watch.heap = self._heap_gen
            if watch.deadline:
                entries.append((watch.deadline, next(self._seq), watch))
        heapq.heapify(entries)
        self._heap = entries

    def _forget(self, watch: Watch) -> None:
        """Under the lock: stop holding ``watch`` and disarm its descriptor for good."""
        if self._watched.get(watch.fd) is watch:
            del self._watched[watch.fd]
        self._poller.forget(watch.fd)

    def _rearm(self, watch: Watch, write: bool = False) -> None:
        with self._lock:
            if self._watched.get(watch.fd) is watch:
                watch.writing = write
                watch.always = False
                self._poller.arm(watch.fd, watch.conn, write)

    def _reschedule(self, watch: Watch, phase: str, deadline: float) -> None:
        with self._lock:
            watch.phase = phase
            self._schedule(watch, deadline)

    def _disarm(self, watch: Watch) -> None:
        """Under the lock: stop reporting a descriptor armed ``READ_ALWAYS``; :meth:`arm`
        arms it again (once) when the connection comes back."""
        watch.always = False
        try:
            self._modify(watch.fd, 0)  # type: ignore[misc]
        except (ValueError, OSError):  # closed meanwhile
            pass

    def _hand_on(self, watch: Watch) -> None:
        """The connection has work: to the pool (its descriptor stays registered, disarmed),
        or served right here while ``inline`` (see the module docstring)."""
        inline = self.inline and not self._serving_since
        with self._lock:
            if self._watched.get(watch.fd) is watch:
                del self._watched[watch.fd]
            if inline:
                self.serving += 1
                self._serving = watch
            elif watch.always:  # armed for good: disarm it before a pool thread takes it
                self._disarm(watch)
        if not inline:
            self.dispatch(watch.conn)
            return
        self.served_here += 1
        self._serving_since = since = self.clock()
        park = False
        try:
            park = self.serve_here(watch.conn)  # type: ignore[misc]
        finally:
            self._served(watch, since, park)

    def _served(self, watch: Watch, since: float, park: bool) -> None:
        """A request served here is done: count it, and with ``park`` hold the connection
        idle again (:meth:`park`, with the watch at hand: this runs once per request)."""
        now = self.clock()
        conn = watch.conn
        with self._lock:
            self.serving -= 1
            if self._serving_since == since:  # not handed over meanwhile
                self._serving_since = 0.0
                self._serving = None
            if not park:
                return
            if self._running and self._waiting_allowed:
                conn.last_active = now
                self.parks += 1
                fd = watch.fd
                watch.phase = IDLE
                watch.writing = False
                self._watched[fd] = watch
                try:
                    if watch.always:
                        pass  # still armed: nothing to do, no system call
                    elif self._modify is not None and not conn.secure:
                        # Armed for good while it is served here (plain TCP only: a TLS
                        # connection may go from here to a pool thread, see _serve_here).
                        self._modify(fd, READ_ALWAYS)
                        watch.always = True
                    else:
                        self._poller.arm(fd, conn)
                except (ValueError, KeyError, OSError):  # closed meanwhile
                    del self._watched[fd]
                else:
                    deadline = now + self.timeout if self.timeout else 0.0
                    if deadline and (deadline < watch.queued or watch.heap != self._heap_gen):
                        self._schedule(watch, deadline)
                    else:
                        watch.deadline = deadline
                    return
        conn.close()

    def _drop(self, watch: Watch) -> None:
        with self._lock:
            self._forget(watch)
        watch.conn.close()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    # -- the thread --------------------------------------------------------------------------
    def _run(self, generation: int = 0) -> None:
        poll = self._poller.poll
        fired = None if isinstance(self._poller, EpollPoller) else self._poller.fired
        on_event = self._on_event
        clock = self.clock
        watched = self._watched
        wake_fd = self._wake_fd
        while self._running and self._generation == generation:
            with self._lock:
                now = self.clock()
                wait = min(max(self._heap[0][0] - now, 0.0), MAX_WAIT_S) if self._heap \
                    else MAX_WAIT_S
                self._wake_at = now + wait
            try:
                fds = poll(wait)
            except OSError as exc:  # a held socket closed under us: drop closed ones
                log.debug("poll failed: %s", exc)
                self._drop_closed()
                continue
            ready = []
            with self._lock:
                if not self._running:
                    return
                for fd in fds:
                    if fd == wake_fd:
                        try:
                            self._wake_r.recv(4096)
                        except OSError:
                            pass
                        continue
                    watch = watched.get(fd)
                    if watch is not None:
                        if fired is not None:  # epoll disarmed it already (one-shot)
                            fired(fd)
                        ready.append(watch)
                self._batch = ready
                if len(ready) > self._peak:
                    self._peak = len(ready)
            for index, watch in enumerate(ready):
                self._batch_next = index + 1
                try:  # _guarded, inline: this runs once per event
                    on_event(watch)
                except Exception:  # the monitor must outlive any one connection
                    log.exception("dispatching or watching %r failed; closing it", watch.conn)
                    self._drop(watch)
                if self._generation != generation:
                    return  # handed over while serving: the rest went to the new thread
            try:  # read unlocked (stop() may clear it): a miss waits one poll at most
                due = self._heap[0][0] <= clock()
            except IndexError:
                due = False
            if due:
                for watch in self._pop_expired():
                    self._guarded(self._on_expire, watch)

    def _guarded(self, handler: Callable[[Watch], None], watch: Watch) -> None:
        try:
            handler(watch)
        except Exception:  # the monitor must outlive any one connection
            log.exception("dispatching or watching %r failed; closing it", watch.conn)
            self._drop(watch)

    def _pop_expired(self) -> List[Watch]:
        """Watches whose deadline passed, no longer held (their phase decides what follows)."""
        expired = []
        with self._lock:
            heap = self._heap
            now = self.clock()
            while heap and heap[0][0] <= now:
                deadline, _, watch = heapq.heappop(heap)
                if deadline == watch.queued:
                    watch.queued = _INF
                if self._watched.get(watch.fd) is not watch:
                    continue
                if watch.deadline and watch.deadline <= now:
                    self._forget(watch)
                    expired.append(watch)
                elif watch.deadline and watch.deadline < watch.queued:
                    heapq.heappush(heap, (watch.deadline, next(self._seq), watch))
                    watch.queued = watch.deadline
        return expired

    def evict_idle(self, count: int = 1) -> int:
        """Close up to ``count`` connections that wait for nothing but their client, the
        longest held first, to make room (``max_connections``, ``EMFILE``); returns how many
        were closed. Idle keep-alive connections, silent ones (a new connection or a head
        with no byte yet) and lingering closes qualify; a started head, a handshake and a
        connection a worker holds never do. ``_watched`` keeps hand-in order, so the scan
        stops at the first ``count`` that qualify."""
        evicted = []
        with self._lock:
            for watch in list(self._watched.values()):
                if len(evicted) >= count:
                    break
                if _evictable(watch):
                    self._forget(watch)
                    evicted.append(watch.conn)
            self.evicted += len(evicted)
        for conn in evicted:
            conn.close()
        return len(evicted)

    def has_evictable(self) -> bool:
        """Whether :meth:`evict_idle` would find a connection to close now. It scans the held
        connections until the first one qualifies (at once while any is idle): admission asks
        only at ``max_connections``."""
        with self._lock:
            return any(_evictable(watch) for watch in self._watched.values())

    def _drop_closed(self) -> None:
        with self._lock:
            for watch in list(self._watched.values()):
                if getattr(watch.conn, "closed", False):
                    self._forget(watch)
