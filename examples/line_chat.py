"""Line chat: each line a client sends goes to every other client (rocket.SocketServer).

    python examples/line_chat.py --bind 127.0.0.1:8071 --keep-alive 300   # then: nc ... 8071
Clients meet within one process (--concurrency thread).
"""

import logging
import threading

from rocket import LineProtocol, SocketServer
from rocket.server.sockets import send, settings_from_argv

clients: set = set()
lock = threading.Lock()


def joined(conn):
    with lock:
        clients.add(conn)
        send(conn, f"* welcome, {len(clients)} online")


def left(conn, exc):
    with lock:
        clients.discard(conn)


def say(conn, line):
    with lock:
        others = [c for c in clients if c is not conn]
    for other in others:
        send(other, b"%s:%d: %s" % (conn.client_addr[0].encode(), conn.client_addr[1], line))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    settings = settings_from_argv(prog="line_chat.py", description="Rocket line chat")
    SocketServer(LineProtocol, handler=say, connection_made=joined, connection_lost=left,
                 **settings).start()
