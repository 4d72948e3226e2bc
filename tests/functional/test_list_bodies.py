"""A list result with a known total: large ones of few blocks go out gathered (``sendmsg``,
no joined copy), the rest joined into writes of up to 1 MiB; either way the client gets
every byte in order, and the connection serves the next request."""

from __future__ import annotations

import socket

import pytest

from rocket.net.connection import Connection
from tests.functional.client import raw_get, read_response
from tests.functional.test_tls import client_context, tls_interface

KIB = 1024


def blocks_of(sizes):
    """Blocks of distinct content (a block sent twice or out of order shows)."""
    return [bytes([65 + i % 26]) * size for i, size in enumerate(sizes)]


SHAPES = {
    "16 x 64 KiB": ([64 * KIB] * 16, True),
    "uneven, 300 KiB": ([200 * KIB, 1, 100 * KIB - 1, 0], True),  # an empty block too
    "just below 256 KiB": ([128 * KIB, 128 * KIB - 1], False),
    "100 x 4 KiB (too many blocks)": ([4 * KIB] * 100, False),
    "3 x 1 KiB": ([KIB] * 3, False),
}


def list_app(blocks):
    total = str(sum(map(len, blocks)))

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", total)])
        return list(blocks)

    return app


@pytest.mark.parametrize("name", list(SHAPES))
def test_a_list_result_arrives_whole_by_the_path_its_size_takes(start_server, monkeypatch, name):
    sizes, gathered = SHAPES[name]
    blocks = blocks_of(sizes)
    calls = []
    sendmany = Connection.sendmany

    def spy(self, buffers):
        calls.append([len(b) for b in buffers])
        return sendmany(self, buffers)

    monkeypatch.setattr(Connection, "sendmany", spy)
    server = start_server(list_app(blocks))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        for _ in range(2):  # the same connection serves the next request
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            status, body = read_response(sock)
            assert status == b"HTTP/1.1 200 OK"
            assert body == b"".join(blocks)
    if gathered:  # the head, then every block as the app gave it: no copy joined first
        assert len(calls) == 2 and calls[0][1:] == sizes and calls[0][0] > 0
    else:
        assert calls == []


def test_over_tls_a_large_list_is_joined_and_arrives_whole(start_server, monkeypatch,
                                                          tls_files):
    """TLS cannot gather (``gathers`` is False): the blocks are joined into 1 MiB writes as
    before, never handed to ``sendmany``, which would join the whole body at once."""
    blocks = blocks_of([64 * KIB] * 16)
    calls = []
    sendmany = Connection.sendmany
    monkeypatch.setattr(Connection, "sendmany",
                        lambda self, buffers: calls.append(1) or sendmany(self, buffers))
    server = start_server(list_app(blocks), interfaces=tls_interface(tls_files))
    status, body = raw_get(server.ports[0], context=client_context(tls_files), timeout=10)
    assert status == b"HTTP/1.1 200 OK" and body == b"".join(blocks)
    assert calls == []
