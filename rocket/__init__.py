"""Rocket: a fast, strict, production-grade pure-Python WSGI server."""

from rocket._version import __version__

VERSION = __version__

from rocket.compat import CherryPyWSGIServer  # noqa: E402
from rocket.config.settings import Config, ConfigError  # noqa: E402
from rocket.logs import NullHandler  # noqa: E402
from rocket.server.sockets import LineProtocol, Protocol, SocketServer  # noqa: E402
from rocket.server.wsgi import (  # noqa: E402
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
from rocket.workers import get_worker_class, register_method  # noqa: E402

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
    "Worker",
    "WSGIWorker",
    "FileSystemWorker",
    "register_method",
    "get_worker_class",
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


def __getattr__(name: str):
    # Worker classes on first use (PEP 562), so ``import rocket`` stays light.
    if name in ("Worker", "WSGIWorker", "FileSystemWorker"):
        import rocket.workers

        if name == "FileSystemWorker":
            return get_worker_class("fs")
        return getattr(rocket.workers, name)
    raise AttributeError(f"module 'rocket' has no attribute {name!r}")
