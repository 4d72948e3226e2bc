"""Echo server: every byte a client sends comes straight back (rocket.SocketServer).

    python examples/echo.py --bind 127.0.0.1:8070 --backlog 1000 --keep-alive 10
    python examples/echo.py --bind unix:/tmp/echo.sock --concurrency process --workers 2

Every setting of the rocket table is a flag here (see --help).
"""

import logging
from typing import Any, Optional, Sequence

from rocket import Protocol, SocketServer
from rocket.server.sockets import settings_from_argv


def echo(conn: Any, message: bytes) -> bytes:
    """The reply is the message: the base Protocol passes bytes through unchanged."""
    return message


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Parse the flags and serve until Ctrl-C or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    settings = settings_from_argv(argv, prog="echo.py", description="Rocket echo server")
    SocketServer(Protocol, handler=echo, **settings).start()


if __name__ == "__main__":
    main()
