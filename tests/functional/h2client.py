"""A small HTTP/2 client on the ``h2`` library, for tests that need frames curl cannot send
(many streams at once, RST_STREAM at a chosen moment, watching for GOAWAY)."""

from __future__ import annotations

import socket
from typing import Any, Dict, List, Optional, Tuple

import h2.config
import h2.connection
import h2.events


class H2Client:
    """One prior-knowledge (h2c) connection to ``127.0.0.1:port``; every wait is bounded."""

    def __init__(self, port: int, timeout: float = 10.0, preamble: bytes = b"") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if preamble:  # e.g. a PROXY protocol header, sent before the connection preface
            self.sock.sendall(preamble)
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None))
        self.conn.initiate_connection()
        self.flush()
        self.responses: Dict[int, Dict[str, Any]] = {}
        self.events: List[Any] = []
        self.goaway: Optional[h2.events.ConnectionTerminated] = None
        self.closed = False

    def flush(self) -> None:
        """Send what the state machine queued."""
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, path: str, method: str = "GET", body: bytes = b"",
                end: bool = True) -> int:
        """Open a stream; returns its id (the body is sent whole, so keep it small)."""
        stream_id = self.conn.get_next_available_stream_id()
        headers = [(":method", method), (":path", path), (":scheme", "http"),
                   (":authority", "127.0.0.1")]
        self.conn.send_headers(stream_id, headers, end_stream=end and not body)
        if body:
            self.conn.send_data(stream_id, body, end_stream=end)
        self.responses[stream_id] = {"status": None, "headers": [], "body": b"",
                                     "ended": False, "reset": None}
        self.flush()
        return stream_id

    def reset(self, stream_id: int) -> None:
        """RST_STREAM CANCEL."""
        self.conn.reset_stream(stream_id, 8)
        self.flush()

    def read_once(self) -> bool:
        """One read, its events recorded; False at EOF."""
        data = self.sock.recv(65536)
        if not data:
            self.closed = True
            return False
        for event in self.conn.receive_data(data):
            self.events.append(event)
            reply = self.responses.get(getattr(event, "stream_id", 0))
            if isinstance(event, h2.events.ResponseReceived) and reply is not None:
                reply["headers"] = event.headers
                reply["status"] = int(dict(event.headers)[b":status"])
            elif isinstance(event, h2.events.DataReceived) and reply is not None:
                reply["body"] += event.data
                self.conn.acknowledge_received_data(event.flow_controlled_length,
                                                    event.stream_id)
            elif isinstance(event, h2.events.StreamEnded) and reply is not None:
                reply["ended"] = True
            elif isinstance(event, h2.events.StreamReset) and reply is not None:
                reply["reset"] = event.error_code
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.goaway = event
                # h2 closes its side at once; a real client still reads the streams the
                # GOAWAY lets finish (RFC 9113 §6.8), so this one keeps going too.
                self.conn.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN
        self.flush()
        return True

    def wait_for(self, *stream_ids: int) -> List[Dict[str, Any]]:
        """Read until every stream named ended (or was reset); their replies."""
        while not all(self.responses[s]["ended"] or self.responses[s]["reset"] is not None
                      for s in stream_ids):
            if not self.read_once():
                raise ConnectionError("the server closed the connection")
        return [self.responses[s] for s in stream_ids]

    def get(self, path: str) -> Tuple[int, bytes]:
        """One GET on a new stream: (status, body)."""
        reply = self.wait_for(self.request(path))[0]
        return reply["status"], reply["body"]

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()
