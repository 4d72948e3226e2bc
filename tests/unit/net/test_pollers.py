"""The monitor's pollers: each reports a descriptor armed from another thread while it waits
in poll(), and arming a descriptor already armed (for the other event) re-arms it.

``FALLBACKS`` are the selectors the fallback poller meets where epoll is missing: select()
and poll() see only the descriptors registered when the call began, so they exercise the
wake-up that the fallback needs; the monitor and session tests run on the first of them."""

from __future__ import annotations

import selectors
import socket
import threading
import time

import pytest

from rocket.net.pollers import SelectorPoller, make_poller

FALLBACKS = [selectors.SelectSelector] + (
    [selectors.PollSelector] if hasattr(selectors, "PollSelector") else [])


def fallback_poller():
    """The fallback poller on select(), the weakest of the selectors."""
    return SelectorPoller(FALLBACKS[0])


@pytest.fixture(params=["native"] + [s.__name__ for s in FALLBACKS])
def poller(request):
    made = make_poller() if request.param == "native" else SelectorPoller(
        getattr(selectors, request.param))
    yield made
    made.close()


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_an_arm_from_another_thread_reaches_a_poll_already_waiting(poller, pair):
    a, b = pair
    b.send(b"x")
    reported = []

    def poll_until_reported():
        deadline = time.monotonic() + 8.0
        while time.monotonic() < deadline:
            if a.fileno() in poller.poll(5.0):
                reported.append(time.monotonic())
                return

    thread = threading.Thread(target=poll_until_reported)
    thread.start()
    time.sleep(0.2)  # the poll is waiting, on no descriptor yet
    armed_at = time.monotonic()
    poller.arm(a.fileno(), a)
    thread.join(10.0)
    assert reported and reported[0] - armed_at < 2.0  # not at the end of the 5 s poll


def test_arming_an_armed_descriptor_for_the_other_event_re_arms_it(poller, pair):
    a, b = pair
    poller.arm(a.fileno(), a)  # readable: nothing to read yet
    poller.arm(a.fileno(), a, write=True)  # a stream's send arms it for writing meanwhile
    assert poller.poll(2.0) == [a.fileno()]
    poller.fired(a.fileno())
    poller.arm(a.fileno(), a)
    assert poller.poll(0.05) == []  # armed for reading only now
    b.send(b"x")
    assert poller.poll(2.0) == [a.fileno()]


def test_a_descriptor_number_reused_by_another_connection_is_armed_afresh(poller):
    a, b = socket.socketpair()
    fd = a.fileno()
    poller.arm(fd, a)
    a.close()  # closed without forget(): its number is free for the next socket
    c, d = socket.socketpair()
    try:
        reused = c if c.fileno() == fd else d if d.fileno() == fd else None
        if reused is None:
            pytest.skip("the descriptor number was not reused")
        other = d if reused is c else c
        other.send(b"x")
        poller.arm(fd, reused)
        assert poller.poll(2.0) == [fd]
    finally:
        for s in (b, c, d):
            s.close()
