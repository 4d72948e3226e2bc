"""The PROXY protocol on a new connection: its header, read without waiting, before TLS and HTTP.

With ``proxy_protocol`` v1, v2 or auto, the monitor holds each new connection in its ``proxy``
phase (:mod:`rocket.net.phases`) and calls :meth:`ProxyGate.step` on every readable event. A
step peeks at what arrived (``MSG_PEEK``, below any TLS layer), feeds it to the sans-I/O
:class:`~rocket.http.proxy.ProxyHeaderParser` and takes from the socket only the bytes of the
header, so whatever follows it (a TLS ClientHello, a request head) stays in the socket for the
next reader. While the header is not whole every byte peeked belongs to it and is taken, so a
slow sender never makes the monitor spin on the same bytes.

The header is believed only from a peer on the ``forwarded_allow_ips`` trust list. Then its
source address becomes the connection's ``client_addr`` (``REMOTE_ADDR``, the access log, the
forwarding headers' trust and the SocketServer's ``conn.client_addr``), and ``conn.proxy``
keeps a :class:`Proxied`: the socket's own peer (``rocket.peer_addr``), whether the client used
TLS with the proxy (``PP2_TYPE_SSL``: ``wsgi.url_scheme`` https) and the authority it asked for
(``PP2_TYPE_AUTHORITY``: ``rocket.proxy_authority``). A LOCAL header (v2 LOCAL, v1 UNKNOWN: the
proxy's own health check) keeps the socket's peer and sets nothing.

An untrusted peer that sends a header, a malformed, truncated or oversized header (v1 past 107
bytes, v2 past :data:`~rocket.http.proxy.DEFAULT_MAX_BYTES`), a missing one in v1 or v2 mode,
or one not whole within ``header_timeout`` of accept closes the connection without an answer,
with one rate-limited warning on ``Rocket.Errors.Proxy``.
"""

from __future__ import annotations

import weakref
from typing import Any, NamedTuple, Optional

from rocket.http.events import NEED_DATA
from rocket.http.proxy import NO_HEADER, ProxyHeaderError, ProxyHeaderParser, ProxyInfo
from rocket.http.trust import DEFAULT_TRUSTED, TrustList, trust_list
from rocket.logs import RateLimitedLog, errors_log

__all__ = ["ProxyGate", "ProxyRefused", "Proxied", "maybe_gate"]


class ProxyRefused(Exception):
    """The connection must close (the gate already logged why, when it says something)."""


class Proxied(NamedTuple):
    """What a trusted PROXY header said, kept on ``conn.proxy`` for the environ."""

    peer_addr: Any
    """The socket's own peer (the proxy): ``rocket.peer_addr``."""
    info: ProxyInfo


class ProxyGate:
    """Reads the PROXY header of new connections for the monitor (``mode``: v1, v2, auto)."""

    def __init__(self, mode: str, trusted: TrustList) -> None:
        self.mode = mode
        self.trusted = trusted
        self.refused = 0
        """Connections closed for their header (or its absence)."""
        self._parsers: Any = weakref.WeakKeyDictionary()  # conn -> parser; monitor thread only
        self._log = RateLimitedLog(errors_log("Proxy"))

    def step(self, conn: Any) -> bool:
        """Read what arrived of ``conn``'s header without waiting: True once it is applied
        (or, in auto mode, found absent), False while more bytes are needed. Raises
        :class:`ProxyRefused` when the connection must close."""
        parser = self._parsers.get(conn)
        if parser is None:
            parser = self._parsers[conn] = ProxyHeaderParser(self.mode)
        try:
            data = conn.peek_nowait(parser.max_bytes)
            if data is None:
                return False
            if not data and not parser.buffered:
                raise ProxyRefused()  # connected and closed without a byte
            parser.feed(data)
            event = parser.next_event()
            if event is NEED_DATA:
                conn.take_nowait(len(data))  # every byte belongs to the header
                return False
            taken_before = len(parser.trailing_data) - len(data)
            if event is NO_HEADER:
                del self._parsers[conn]
                if taken_before:  # auto: "PRO" then not a header; give those bytes back
                    if conn.secure:
                        return self._refuse(conn, "neither a PROXY header nor TLS")
                    conn.reader.feed(parser.trailing_data[:taken_before])
                return True
            conn.take_nowait(len(data) - len(parser.trailing_data))
        except ProxyHeaderError as exc:
            return self._refuse(conn, str(exc))
        except OSError:  # reset by the peer
            raise ProxyRefused() from None
        del self._parsers[conn]
        return self._apply(conn, event)

    def _apply(self, conn: Any, info: ProxyInfo) -> bool:
        peer = conn.client_addr
        if not self.trusted.trusts(peer[0]):
            return self._refuse(conn, f"a PROXY v{info.version} header from a peer not in "
                                      "forwarded_allow_ips")
        if not info.local and info.source is not None:
            source = info.source
            conn.client_addr = source if isinstance(source, tuple) else (source, 0)
            conn.proxy = Proxied(peer, info)
        return True

    def expired(self, conn: Any, header_timeout: float) -> None:
        """The monitor's deadline passed before the header was whole."""
        self._parsers.pop(conn, None)
        self._warn(conn, f"no whole PROXY header within header_timeout="
                                   f"{header_timeout:g}s")

    def _refuse(self, conn: Any, reason: str) -> bool:
        self._parsers.pop(conn, None)
        self._warn(conn, reason)
        raise ProxyRefused(reason)

    def _warn(self, conn: Any, reason: str) -> None:
        self.refused += 1
        self._log.warning("closed the connection from %s: %s", _describe(conn.client_addr),
                          reason)


def _describe(addr: Any) -> str:
    host, port = addr
    return f"{host}:{port}" if port else (host or "a unix-socket peer")


def maybe_gate(mode: str, trusted: Optional[TrustList]) -> Optional[ProxyGate]:
    """The gate for ``proxy_protocol`` ``mode``, or None when it is off."""
    if mode == "off":
        return None
    return ProxyGate(mode, trusted if trusted is not None else trust_list(DEFAULT_TRUSTED))
