"""A flexing pool of worker threads fed by one queue.

How it works:
- It keeps ``min_threads`` threads and grows at once, up to ``max_threads`` (0 = no bound),
  whenever more work is queued than there are idle threads; a manager thread re-checks that
  every ``tick_s`` so a missed race is repaired within 100 ms.
- Growth past ``min_threads`` pauses while the interpreter lock looks saturated: the process
  used between ``GROW_CPU_SHARE`` and ``GIL_FREE_SHARE`` of a CPU over the manager's last
  tick. Threads added then only queue for the lock and stretch every request's latency;
  work that blocks (I/O, sleep) leaves the CPU idle and gets its threads, and a process using
  more than ``GIL_FREE_SHARE`` CPUs runs code that releases the lock, so it grows too.
  Between two ticks at most ``GROW_PER_TICK`` threads start, so a burst that arrives before
  the manager measured the CPU cannot start hundreds; a tick that finds the lock saturated
  while the pool is crowded (``CROWDED`` items wait) retires every thread beyond
  ``min_threads``.
- Retirement is in bulk: the manager tracks the fewest idle threads seen during each window
  of ``idle_timeout_s``; that many threads were surplus for the whole window, so that many
  retire at once (down to ``min_threads``), one ``_RETIRE`` sentinel each.
- A thread that cannot start (``can't start new thread``: a pids limit, ``RLIMIT_NPROC``)
  pauses growth for a back-off that doubles up to ``START_RETRY_S[1]``; the failure is logged
  once per ``LOG_EVERY_S`` with a count, and the pool serves with the threads it has.
- Once ``max_threads`` are busy, work waits in the queue, whose bound (``queue_size``) the
  producers check with ``has_room()``.
- ``stop()`` never hangs: sentinels, a bounded join, then the items still being handled are
  aborted (their sockets shut down) and joined again, bounded.
- The queue is ``queue.SimpleQueue`` on CPython (C); on PyPy, where that class is written in
  Python on a ``Semaphore`` (a ``Condition``, a new lock for every wait, all waiters on one
  lock), it is :class:`HandOffQueue`: an idle thread sleeps on a lock of its own and ``put``
  hands the item straight to the thread that went idle last. Measured with a new connection
  per request (hello-close, 16 clients): PyPy 10.7-11.3k -> 15.7-15.8k req/s; CPython with
  it 13.1-13.5k -> 8.6-9.0k, so CPython keeps ``SimpleQueue``.
"""

from __future__ import annotations

import platform
import queue
import threading
import time
from collections import deque
from typing import Any, Callable, Dict, List, Optional

from rocket.logs import RateLimitedLog, errors_log

log = errors_log("ThreadPool")

START_RETRY_S = (0.05, 5.0)
"""First and largest pause of growth after a thread failed to start; doubles in between, so a
lasting limit costs one attempt per 5 s instead of one per tick."""

GROW_CPU_SHARE = 0.85
"""Share of one CPU, over the manager's last tick, from which the pool stops growing past
``min_threads`` (the interpreter lock is busy: more threads would only wait for it)."""
GIL_FREE_SHARE = 1.5
"""...unless the process used more than this many CPUs: then threads run code that releases
the lock (C extensions, I/O) and more of them help."""
BUSY_CPU_SHARE = 0.5
"""Share of one CPU from which the lock counts as still busy (``cpu_busy``): a monitor that
serves on its own thread keeps doing so through a tick below ``GROW_CPU_SHARE`` but above this
(another process took the core for a moment), and stops below it (the requests it serves
wait on I/O)."""
CROWDED = 8
"""Queued items beyond the idle threads from which the pool counts as crowded: connections
then take turns of one request (``rocket.server.wsgi``), and while the lock is saturated the
threads beyond ``min_threads`` retire."""
GROW_PER_TICK = 64
"""Threads that may start between two ticks of the manager, beyond ``min_threads``."""

_STOP = object()
_RETIRE = object()


class HandOffQueue:
    """``queue.SimpleQueue``'s ``put``, ``get``, ``get_nowait`` and ``qsize`` (unbounded, no
    timeouts): a ``get`` that finds nothing sleeps on its thread's own lock, and ``put`` gives
    the item to the waiter that came last (its stack and caches are the warmest), or queues it.
    An item handed over never counts in ``qsize``, as with ``SimpleQueue`` once taken."""

    def __init__(self) -> None:
        self._items: deque = deque()
        self._waiters: List[List[Any]] = []  # [lock held until an item is in slot 1, item]
        self._lock = threading.Lock()
        self._mine = threading.local()

    def put(self, item: Any) -> None:
        """Hand ``item`` to the latest waiter, or queue it."""
        with self._lock:
            if self._waiters:
                waiter = self._waiters.pop()
                waiter[1] = item
                waiter[0].release()
                return
            self._items.append(item)

    def get(self) -> Any:
        """The oldest queued item, else wait for one (no timeout)."""
        with self._lock:
            if self._items:
                return self._items.popleft()
            waiter = getattr(self._mine, "waiter", None)
            if waiter is None:
                waiter = self._mine.waiter = [threading.Lock(), None]
            waiter[0].acquire()  # free: it is released only by the put that fills the slot
            self._waiters.append(waiter)
        waiter[0].acquire()  # until put() released it
        item, waiter[1] = waiter[1], None
        waiter[0].release()
        return item

    def get_nowait(self) -> Any:
        """The oldest queued item, or ``queue.Empty``."""
        with self._lock:
            if self._items:
                return self._items.popleft()
        raise queue.Empty

    def qsize(self) -> int:
        """Items queued (not those handed to a waiting thread)."""
        return len(self._items)


_QUEUE = HandOffQueue if platform.python_implementation() == "PyPy" else queue.SimpleQueue


def _noop(item: Any) -> None:
    return None


class ThreadPool:
    """Runs ``handler(item)`` for each submitted item on threads named ``rocket-worker-N``.

    ``discard(item)`` is called for items that will never be handled (submitted after stop or
    still queued at stop); ``abort(item)`` wakes a thread stuck handling an item at stop.
    ``thread_factory`` makes the threads (``threading.Thread``'s signature).
    """

    def __init__(self, handler: Callable[[Any], None], min_threads: int = 10,
                 max_threads: int = 0, queue_size: int = 1024,
                 discard: Callable[[Any], None] = _noop, abort: Callable[[Any], None] = _noop,
                 tick_s: float = 0.05, idle_timeout_s: float = 10.0,
                 name: str = "rocket-worker",
                 thread_factory: Callable[..., threading.Thread] = threading.Thread,
                 clock: Callable[[], float] = time.monotonic,
                 process_time: Callable[[], float] = time.process_time) -> None:
        if max_threads and min_threads > max_threads:
            raise ValueError(f"min_threads ({min_threads}) > max_threads ({max_threads})")
        self.handler = handler
        self.min_threads = min_threads
        self.max_threads = max_threads
        self.queue_size = queue_size
        self.discard = discard
        self.abort = abort
        self.tick_s = tick_s
        self.idle_timeout_s = idle_timeout_s
        self.name = name
        self.thread_factory = thread_factory
        self.clock = clock
        self.process_time = process_time
        self.cpu_bound = False
        """The interpreter lock looked saturated over the manager's last tick (no growth past
        ``min_threads``; see the module docstring)."""
        self.cpu_busy = False
        """Over the last tick the process used between ``BUSY_CPU_SHARE`` and
        ``GIL_FREE_SHARE`` of a CPU (``cpu_bound`` or nearly)."""
        self.on_tick: Optional[Callable[[], None]] = None
        """Called by the manager after each tick (the monitor's ``tick``)."""
        self._budget = min_threads + GROW_PER_TICK  # threads that may start before the next tick
        self._retiring = 0  # _RETIRE sentinels queued and not yet taken
        self.handled = 0
        self.start_failures = 0
        """Threads that could not be started."""
        self._start_log = RateLimitedLog(log, clock=clock)
        self._error_log = RateLimitedLog(log, clock=clock)
        self._retry_in = 0.0
        self._retry_at = 0.0
        self._queue: Any = _QUEUE()
        self._lock = threading.Lock()
        self._threads: Dict[int, threading.Thread] = {}
        self._starting = 0
        self._serial = 0
        self._idle = 0
        self._active: Dict[int, Any] = {}
        self._running = False
        self._stopped = threading.Event()
        self._manager: Optional[threading.Thread] = None

    # -- producers -------------------------------------------------------------------------
    def submit(self, item: Any) -> None:
        """Queue ``item``; starts a thread at once when no idle thread is there to take it."""
        if not self._running:
            self.discard(item)
            return
        self._queue.put(item)
        unserved = self._queue.qsize() - self._idle
        if unserved > 0 and not self._full():
            self._grow(unserved)

    def _full(self) -> bool:
        """No thread may start now (read without the lock; ``_grow`` decides under it): a
        crowded pool skips the lock on every submit."""
        threads = len(self._threads)
        return ((self.cpu_bound and threads >= self.min_threads)
                or (bool(self.max_threads) and threads >= self.max_threads))

    def has_room(self) -> bool:
        """False when ``max_threads`` are busy and ``queue_size`` items already wait."""
        if not self.max_threads or not self.queue_size:
            return True
        return self._queue.qsize() < self.queue_size or self._idle > 0

    @property
    def load(self) -> int:
        """Items on a thread or queued, read in O(1)."""
        return len(self._threads) - self._idle + self._queue.qsize()

    @property
    def backlog(self) -> int:
        """Queued items beyond the idle threads that will take them (0 or less: none wait)."""
        return self._queue.qsize() - self._idle

    @property
    def has_waiting(self) -> bool:
        """True when queued work waits for a thread (workers then yield their connection)."""
        return self._queue.qsize() > self._idle

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start ``min_threads`` threads and the manager."""
        self._running = True
        self._stopped.clear()
        self._grow(self.min_threads)
        self._manager = threading.Thread(target=self._manage, name=f"{self.name}-manager",
                                         daemon=True)
        self._manager.start()

    def stop(self, timeout: float = 5.0) -> List[threading.Thread]:
        """Stop every thread within about ``timeout`` seconds; returns threads still alive."""
        self._running = False
        self._stopped.set()
        deadline = time.monotonic() + timeout
        if self._manager is not None:
            self._manager.join(max(0.0, deadline - time.monotonic()))
        self._drain()
        with self._lock:
            threads = list(self._threads.values())
        for _ in threads:
            self._queue.put(_STOP)
        grace = deadline - min(1.0, timeout / 2)
        threads = [t for t in threads if t is not threading.current_thread()]
        for thread in threads:
            thread.join(max(0.0, grace - time.monotonic()))
        for item in list(self._active.values()):
            self.abort(item)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._drain()
        alive = [t for t in threads if t.is_alive()]
        if alive:
            log.warning("%d worker thread(s) still busy after stop: %s", len(alive),
                        ", ".join(t.name for t in alive))
        return alive

    def stats(self) -> Dict[str, int]:
        """Cheap counters: threads, busy, idle, queued, handled."""
        threads = len(self._threads)
        idle = self._idle
        return {"threads": threads, "busy": max(0, threads - idle), "idle": idle,
                "queued": self._queue.qsize(), "handled": self.handled}

    # -- internals -------------------------------------------------------------------------
    def _drain(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not _STOP and item is not _RETIRE:
                self.discard(item)

    def _grow(self, count: int) -> None:
        with self._lock:
            if not self._running or (self._retry_at and self.clock() < self._retry_at):
                return
            total = len(self._threads) + self._starting
            if self.max_threads:
                count = min(count, self.max_threads - total)
            if self.cpu_bound:
                count = min(count, self.min_threads - total)
            count = min(count, self._budget)
            if count <= 0:
                return
            self._budget -= count
            self._starting += count
            serials = list(range(self._serial + 1, self._serial + count + 1))
            self._serial += count
        for index, serial in enumerate(serials):
            try:
                self.thread_factory(target=self._run, name=f"{self.name}-{serial}",
                                    daemon=True).start()
            except RuntimeError as exc:  # can't start new thread: keep serving with what we have
                self._start_failed(exc, len(serials) - index)
                return
        if self._retry_in:
            self._retry_in = self._retry_at = 0.0

    def _start_failed(self, exc: BaseException, not_started: int) -> None:
        with self._lock:
            self._starting -= not_started
            self.start_failures += 1
            self._retry_in = min(START_RETRY_S[1], self._retry_in * 2 or START_RETRY_S[0])
            self._retry_at = self.clock() + self._retry_in
            running, retry_in = len(self._threads), self._retry_in
        self._start_log.error("cannot start a worker thread (%s); serving with %d, next try "
                              "in %.2fs", exc, running, retry_in)

    def _run(self) -> None:
        me = threading.current_thread()
        ident = threading.get_ident()
        lock = self._lock
        with lock:
            self._starting -= 1
            self._threads[ident] = me
        get = self._queue.get
        get_nowait = self._queue.get_nowait
        queued = self._queue.qsize
        handler = self.handler
        active = self._active
        try:
            while True:
                item = None
                if queued():  # work waiting: no idle bookkeeping (two lock rounds per item)
                    try:
                        item = get_nowait()
                    except queue.Empty:  # another thread took it
                        pass
                if item is None:
                    with lock:
                        self._idle += 1
                    item = get()
                    with lock:
                        self._idle -= 1
                if item is _STOP:
                    return
                if item is _RETIRE:
                    with lock:
                        self._retiring -= 1
                        if len(self._threads) > self.min_threads:
                            del self._threads[ident]  # counted out now: no overshoot below min
                            return
                    continue
                active[ident] = item
                try:
                    handler(item)
                except BaseException:
                    self._error_log.exception("unhandled error in worker thread")
                    self.discard(item)
                finally:
                    del active[ident]
                    self.handled += 1
        finally:
            with lock:
                self._threads.pop(ident, None)

    def _retire(self, count: int) -> None:
        """Queue sentinels until ``count`` threads are on their way out, counting those
        queued at an earlier tick and not taken yet (a saturated pool's threads are slow to
        come back for them; more would only lengthen the queue)."""
        with self._lock:
            count -= self._retiring
            if count <= 0:
                return
            self._retiring += count
        for _ in range(count):
            self._queue.put(_RETIRE)

    def _manage(self) -> None:
        min_idle = None
        window_end = self.clock() + self.idle_timeout_s
        cpu_at, wall_at = self.process_time(), self.clock()
        while not self._stopped.wait(self.tick_s):
            cpu, wall = self.process_time(), self.clock()
            share = (cpu - cpu_at) / max(wall - wall_at, 1e-6)
            cpu_at, wall_at = cpu, wall
            with self._lock:
                self.cpu_bound = GROW_CPU_SHARE <= share < GIL_FREE_SHARE
                self.cpu_busy = BUSY_CPU_SHARE <= share < GIL_FREE_SHARE
                self._budget = GROW_PER_TICK
            queued = self._queue.qsize()
            idle = self._idle
            if queued > idle:
                self._grow(queued - idle)
                if self.cpu_bound and queued - idle >= CROWDED:  # they only wait for the lock
                    self._retire(len(self._threads) - self.min_threads)
            min_idle = idle if min_idle is None else min(min_idle, idle)
            now = self.clock()
            if now >= window_end:
                # min_idle threads stayed idle through the window (min_idle <= idle now, so
                # the sentinels never look like waiting work): retire them all at once.
                self._retire(min(min_idle, len(self._threads) - self.min_threads))
                min_idle = None
                window_end = now + self.idle_timeout_s
            on_tick = self.on_tick
            if on_tick is not None:
                try:
                    on_tick()
                except Exception:  # the manager must outlive its callback
                    self._error_log.exception("the pool's tick callback failed")
