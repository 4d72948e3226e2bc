"""Per-thread request progress (the evidence behind worker_timeout): the stall rule alone, then
recorded by the real request loops of the WSGI and SocketServer workers on scripted
connections."""

from __future__ import annotations

import threading

from rocket.server.sockets import LineProtocol
from rocket.workers.progress import ProgressTracker
from rocket.workers.protocol import MessageStream, ProtocolWorker
from rocket.workers.wsgi import WSGIWorker
from tests.apps import hello
from tests.unit.workers.fakes import FakeConnection, fake_context

GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def test_no_request_in_flight_is_never_stalled():
    tracker = ProgressTracker()
    tracker.mine()
    assert tracker.stalled_since(5.0) == 5.0
    assert tracker.stalled_since(9.0) == 9.0


def test_a_request_is_stalled_from_the_first_look_that_saw_it_unchanged():
    tracker = ProgressTracker()
    record = tracker.mine()
    record.serial += 1                      # a request starts
    assert tracker.stalled_since(1.0) == 1.0
    assert tracker.stalled_since(2.0) == 1.0
    record.bytes_moved += 10                # it moves a body byte: progress
    assert tracker.stalled_since(3.0) == 3.0
    record.waiting = True                   # waits on its client: not the app's fault
    assert tracker.stalled_since(4.0) == 4.0
    assert tracker.stalled_since(5.0) == 5.0
    record.waiting = False                  # back in the app: stalled from the last wait seen
    assert tracker.stalled_since(6.0) == 5.0
    assert tracker.stalled_since(7.0) == 5.0
    record.serial += 1                      # it finishes
    assert tracker.stalled_since(8.0) == 8.0


def test_requests_finishing_on_other_threads_do_not_hide_a_stuck_one():
    tracker = ProgressTracker()
    stuck = tracker.mine()
    stuck.serial += 1
    assert tracker.stalled_since(1.0) == 1.0
    for look in (2.0, 3.0, 4.0):
        busy = threading.Thread(target=lambda: _serve_one(tracker))
        busy.start()
        busy.join()
        assert tracker.stalled_since(look) == 1.0


def _serve_one(tracker: ProgressTracker) -> None:
    record = tracker.mine()
    record.serial += 2
    record.bytes_moved += 100


def test_records_of_ended_threads_are_dropped():
    tracker = ProgressTracker()
    threads = [threading.Thread(target=tracker.mine) for _ in range(20)]
    for thread in threads:
        thread.start()
        thread.join()
    tracker.stalled_since(1.0)
    assert tracker._records == []
    tracker.mine()
    assert len(tracker._records) == 1


def test_the_wsgi_request_loop_marks_a_hung_request_and_other_connections_do_not_hide_it():
    entered, release = threading.Event(), threading.Event()

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/hang":
            entered.set()
            release.wait(10)
        return hello.app(environ, start_response)

    worker = WSGIWorker({"wsgi_app": app}, fake_context())
    hung = FakeConnection([b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n"])
    thread = threading.Thread(target=worker.handle, args=(hung,))
    thread.start()
    try:
        assert entered.wait(5)
        assert worker.progress.stalled_since(10.0) == 10.0
        busy = FakeConnection([GET * 5])
        worker.handle(busy)                 # five requests finish on this thread meanwhile
        assert busy.output.count(b"200 OK") == 5
        assert worker.progress.stalled_since(20.0) == 10.0
    finally:
        release.set()
        thread.join(5)
    assert hung.output.count(b"200 OK") == 1
    assert worker.progress.stalled_since(30.0) == 30.0


def test_a_send_waiting_on_the_client_is_not_a_stall():
    seen = []

    class SlowReader(FakeConnection):
        def sendall(self, data):
            seen.append(worker.progress.stalled_since(float(len(seen))))
            super().sendall(data)

    worker = WSGIWorker({"wsgi_app": hello.app}, fake_context())
    conn = SlowReader([GET])
    worker.handle(conn)
    assert conn.output.count(b"200 OK") == 1
    assert seen == [float(i) for i in range(len(seen))] and seen


class LineConnection(FakeConnection):
    def __init__(self, reads):
        super().__init__(reads)
        self.reader = MessageStream(LineProtocol())


def test_the_socket_server_worker_counts_each_exchange_and_its_bytes():
    looks = []

    def handler(conn, message):
        looks.append(worker.progress.mine().serial)
        return message.upper()

    worker = ProtocolWorker({"handler": handler}, fake_context())
    conn = LineConnection([b"one\ntwo\n", b"three\n"])
    assert worker.handle(conn) is False      # EOF after the script
    assert conn.output == b"ONE\nTWO\nTHREE\n"
    record = worker.progress.mine()
    assert looks == [1, 3, 5]                # odd while each message is in flight
    assert record.serial == 6 and record.bytes_moved == len(conn.output)
    assert not record.waiting
