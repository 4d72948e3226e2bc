"""The forwarding policy of the WSGI worker: which proxy headers reach the environ, and how.

A trusted peer (``forwarded_allow_ips``) speaks for the client through the one header family
``forwarded_headers`` names: ``x-forwarded`` (``X-Forwarded-For``/``-Proto``/``-Host``/
``-Port``) or ``forwarded`` (RFC 7239). What it says sets ``REMOTE_ADDR``, ``REMOTE_PORT``,
``wsgi.url_scheme`` (and ``HTTPS``), ``HTTP_HOST`` and ``SERVER_PORT``; the other family is
removed from the environ, so an application reading it directly sees nothing a client made
up. From an untrusted peer every forwarding header is removed (``strip_untrusted_forwarded``,
as waitress does): Django's ``SECURE_PROXY_SSL_HEADER`` and similar code read
``HTTP_X_FORWARDED_PROTO`` themselves, and a spoofed one left in place is a hole.

A malformed value changes nothing and costs one debug line. The original peer stays in the
environ as ``rocket.peer_addr``.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, FrozenSet, Tuple

from rocket.http.forwarded import Hop, from_forwarded, from_x_forwarded

__all__ = ["Forwarding", "FORWARDING_KEYS", "X_FORWARDED_KEYS"]

X_FORWARDED_KEYS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
                    "HTTP_X_FORWARDED_PORT")
"""The headers ``forwarded_headers = "x-forwarded"`` honours."""

FORWARDING_KEYS: FrozenSet[str] = frozenset(X_FORWARDED_KEYS + (
    "HTTP_FORWARDED", "HTTP_X_FORWARDED_SSL", "HTTP_X_FORWARDED_SCHEME",
    "HTTP_X_FORWARDED_PREFIX", "HTTP_X_FORWARDED_BY", "HTTP_X_REAL_IP", "HTTP_X_URL_SCHEME"))
"""Every header that claims something about the client or the scheme (removed from an
untrusted peer's environ)."""

log = logging.getLogger("Rocket.Forwarded")


class Forwarding:
    """Applies the policy to one request's environ (see the module docstring)."""

    def __init__(self, trusted: Any, family: str = "x-forwarded",
                 strip_untrusted: bool = True) -> None:
        self.trusted = trusted
        self.family = family
        self.strip_untrusted = strip_untrusted
        honoured = X_FORWARDED_KEYS if family == "x-forwarded" else ("HTTP_FORWARDED",)
        self.honoured = frozenset(honoured)
        other = X_FORWARDED_KEYS if family == "forwarded" else ("HTTP_FORWARDED",)
        self.dropped_when_trusted = frozenset(other)

    def peer_trusted(self, conn: Any) -> bool:
        """True when the connection's peer is on the trust list (asked once per connection)."""
        client = conn.client_addr
        return bool(self.trusted.trusts(client[0] if isinstance(client, tuple) else client))

    def apply(self, env: Dict[str, Any], trusted: bool, present: Tuple[str, ...]) -> None:
        """Rewrite ``env`` for the forwarding keys ``present`` in it."""
        if not trusted:
            if self.strip_untrusted:
                for key in present:
                    del env[key]
            return
        honoured = False
        for key in present:
            if key in self.dropped_when_trusted:
                del env[key]
            elif key in self.honoured:
                honoured = True
        if not honoured:
            return
        try:
            if self.family == "forwarded":
                hop = from_forwarded(env["HTTP_FORWARDED"], self.trusted)
            else:
                get = env.get
                hop = from_x_forwarded(get("HTTP_X_FORWARDED_FOR"), get("HTTP_X_FORWARDED_PROTO"),
                                       get("HTTP_X_FORWARDED_HOST"), get("HTTP_X_FORWARDED_PORT"),
                                       self.trusted)
        except ValueError as exc:
            log.debug("ignored the forwarding headers of %r: %s", env.get("rocket.peer_addr"),
                      exc)
            return
        _set(env, hop)


def _set(env: Dict[str, Any], hop: Hop) -> None:
    if hop.addr is not None:
        env["REMOTE_ADDR"] = hop.addr
        env["REMOTE_PORT"] = hop.port or "0"
    if hop.proto is not None:
        env["wsgi.url_scheme"] = hop.proto
        if hop.proto == "https":
            env["HTTPS"] = "on"
        else:
            env.pop("HTTPS", None)
    if hop.host is not None:
        env["HTTP_HOST"] = hop.host
    port = hop.server_port
    if port is None:
        host = hop.host if hop.host is not None else env.get("HTTP_HOST", "")
        head, sep, tail = host.rpartition(":")
        if sep and head and not tail.endswith("]") and tail.isdigit():
            port = tail
    if port is None and hop.proto is not None:
        port = "443" if hop.proto == "https" else "80"
    if port is not None:
        env["SERVER_PORT"] = port
