"""HTTP/2 under ``rocket --workers 2``: streams are served by both worker processes, and a
SIGHUP reload sends GOAWAY while the stream in flight still finishes."""

from __future__ import annotations

import signal
import time

from tests.functional.h2client import H2Client
from tests.functional.test_workers import BOOTED, ServerProcess


def worker_pid(reply) -> int:
    return int(reply["body"].split()[1])


def test_streams_over_h2c_reach_both_workers(rocket_process):
    server = rocket_process(ServerProcess()).start()
    pids = set()
    for _ in range(100):  # which process accepts is the kernel's choice
        client = H2Client(server.listen_port)
        try:
            replies = client.wait_for(client.request("/"), client.request("/"))
        finally:
            client.close()
        assert [reply["status"] for reply in replies] == [200, 200]
        pids.update(worker_pid(reply) for reply in replies)
        if len(pids) == 2:
            break
    assert pids == set(server.booted_pids()[:2])


def test_sighup_sends_goaway_and_the_stream_in_flight_finishes(rocket_process):
    server = rocket_process(ServerProcess()).start()
    client = H2Client(server.listen_port, timeout=20)
    try:
        stream = client.request("/slow?ms=1500")
        time.sleep(0.3)  # the stream reaches its worker's app before the reload begins
        server.signal(signal.SIGHUP)
        server.wait_for_all(BOOTED, 4, timeout=15)  # the new generation is up
        reply = client.wait_for(stream)[0]
        assert reply["status"] == 200 and reply["reset"] is None
        while client.goaway is None and client.read_once():
            pass
        assert client.goaway is not None and client.goaway.error_code == 0
        assert client.goaway.last_stream_id >= stream
    finally:
        client.close()
    fresh = H2Client(server.listen_port)
    try:
        assert fresh.get("/")[0] == 200
    finally:
        fresh.close()
