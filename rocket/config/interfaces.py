"""Addresses to listen on: :class:`Interface` and the converters that read them (Rocket's
interface tuples, ``HOST:PORT``, ``[IPV6]:PORT``, ``unix:PATH``, ``fd://N``)."""

from __future__ import annotations

from typing import Any, NamedTuple, Optional, Tuple

__all__ = ["Interface", "to_interfaces", "optional_tcp_bind"]


class Interface(NamedTuple):
    """One address to listen on: TCP ``host``/``port`` (with optional TLS files) or a unix path."""

    host: str
    port: int
    keyfile: Optional[str] = None
    certfile: Optional[str] = None
    ca_certs: Optional[str] = None
    unix_path: Optional[str] = None
    fd: Optional[int] = None

    @property
    def secure(self) -> bool:
        """True when this interface serves TLS."""
        return self.certfile is not None

    def describe(self) -> str:
        """``ip:port`` (``*`` appended for TLS, as Rocket logs it) or ``unix:PATH``."""
        if self.fd is not None:
            return f"fd://{self.fd}"
        if self.unix_path is not None:
            return "unix:" + self.unix_path
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" + ("*" if self.secure else "")


def _interface(value: Any) -> Interface:
    if isinstance(value, Interface):
        return value
    if isinstance(value, str):
        if value.startswith("fd://"):  # an inherited listening socket, adopted not bound
            digits = value[5:]
            if not digits.isdigit():
                raise ValueError(f"{value!r}: fd:// needs a descriptor number, e.g. fd://3")
            return Interface("", 0, fd=int(digits))
        if value.startswith("unix:"):
            path = value[5:]
            if not path:
                raise ValueError("empty unix socket path")
            return Interface("", 0, unix_path=path)
        host, sep, port = value.rpartition(":")
        if not sep:
            raise ValueError(f"{value!r} has no port")
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        return Interface(host or "0.0.0.0", _port(port))
    if isinstance(value, (tuple, list)) and len(value) in (2, 4, 5):
        host, port = str(value[0]), _port(value[1])
        if len(value) == 2:
            return Interface(host, port)
        key, cert = value[2], value[3]
        if not key or not cert:
            raise ValueError("a TLS interface needs both a keyfile and a certfile")
        ca = value[4] if len(value) == 5 and value[4] else None
        return Interface(host, port, str(key), str(cert), str(ca) if ca else None)
    raise ValueError(f"{value!r} is not (ip, port), (ip, port, key, cert), "
                     "(ip, port, key, cert, ca_certs), 'host:port' or 'unix:PATH'")


def _port(value: Any) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is outside 0-65535")
    return port


def to_interfaces(value: Any) -> Tuple[Interface, ...]:
    """One interface (tuple or string) or a list of them, as Rocket's ``interfaces``."""
    if isinstance(value, (str, Interface)) or (
        isinstance(value, (tuple, list)) and len(value) in (2, 4, 5)
        and isinstance(value[0], str) and _is_port(value[1])
    ):
        value = [value]
    items = [_interface(v) for v in value]
    if not items:
        raise ValueError("at least one interface is required")
    return tuple(items)


def _is_port(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.isdigit())


def optional_tcp_bind(value: Any) -> Optional[Interface]:
    """HOST:PORT (TCP), or None; needs prometheus_client (the metrics extra)."""
    if value is None or value == "":
        return None
    interface = _interface(value)
    if interface.unix_path is not None or interface.fd is not None or interface.secure:
        raise ValueError(f"{value!r}: the metrics listener takes a plain TCP HOST:PORT")
    import importlib.util

    if importlib.util.find_spec("prometheus_client") is None:
        raise ValueError("prometheus_client is not installed: pip install 'rocket-wsgi[metrics]'")
    return interface
