"""Rocket: a fast, strict, production-grade pure-Python WSGI server."""

__version__ = "2.0.0.dev0"
VERSION = __version__

from rocket.compat import CherryPyWSGIServer  # noqa: E402
from rocket.config import Config, ConfigError  # noqa: E402
from rocket.logs import NullHandler  # noqa: E402
from rocket.server import (  # noqa: E402
    BUF_SIZE,
    DEFAULTS,
    HTTP_SERVER_SOFTWARE,
    SERVER_NAME,
    SERVER_SOFTWARE,
    SOCKET_TIMEOUT,
    Rocket,
    Rocket3,
    Server,
    serve,
)
from rocket.sockets import LineProtocol, Protocol, SocketServer  # noqa: E402

__all__ = [
    "VERSION",
    "__version__",
    "Rocket",
    "Rocket3",
    "Server",
    "serve",
    "SocketServer",
    "Protocol",
    "LineProtocol",
    "CherryPyWSGIServer",
    "Config",
    "ConfigError",
    "SOCKET_TIMEOUT",
    "SERVER_NAME",
    "SERVER_SOFTWARE",
    "HTTP_SERVER_SOFTWARE",
    "BUF_SIZE",
    "DEFAULTS",
    "NullHandler",
]
