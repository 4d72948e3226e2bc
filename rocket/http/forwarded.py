"""What a trusted proxy says about the client: ``Forwarded`` (RFC 7239) and ``X-Forwarded-*``.

Sans-I/O: header values in, a :class:`Hop` out. Every function raises ``ValueError`` on a
malformed value (the caller ignores the header and logs one debug line); nothing else.

With several proxies each appends its peer, so the chain reads client, proxy1, proxy2 and
the last entry was written by the peer we trust. Walking from the right, every address that
is itself trusted is one more of our proxies; the first one that is not is the client
(:func:`pick_hop`). Entries left of it were written by that client and prove nothing.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from rocket.http.trust import parse_ip

__all__ = ["HEADER_FAMILIES", "header_family", "Hop", "parse_node", "parse_forwarded", "pick_hop", "from_forwarded",
           "from_x_forwarded", "check_proto", "check_host", "check_port"]

# RFC 3986 §3.2.2 host (reg-name, IPv4 or [IPv6]) with an optional port; no "," (a list
# separator), no "/" or "@" (they would change what a URL built from it means).
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+;=%-]+)(?::([0-9]{1,5}))?\Z")
# RFC 7230 §3.2.6 token, and quoted-string without the surrounding quotes.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_QDTEXT = re.compile(r'"((?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[\t\x20-\x7e\x80-\xff])*)"\Z')

HEADER_FAMILIES = ("x-forwarded", "forwarded")
"""The values of ``forwarded_headers``: one family is honoured, never both."""


def header_family(value: Any) -> str:
    """x-forwarded (X-Forwarded-For/-Proto/-Host/-Port) or forwarded (RFC 7239)."""
    family = str(value).strip().lower()
    if family not in HEADER_FAMILIES:
        raise ValueError(f"{value!r} is neither x-forwarded nor forwarded (one family only)")
    return family


class Hop(NamedTuple):
    """The client as a proxy chain describes it; None where the chain does not say."""

    addr: Optional[str] = None
    port: Optional[str] = None
    proto: Optional[str] = None
    host: Optional[str] = None
    server_port: Optional[str] = None


def check_proto(value: str) -> str:
    """``http`` or ``https`` (any case in, lower case out)."""
    proto = value.strip().lower()
    if proto not in ("http", "https"):
        raise ValueError(f"scheme {value!r} is neither http nor https")
    return proto


def check_host(value: str) -> str:
    """A ``host[:port]`` that is safe to use as HTTP_HOST."""
    host = value.strip()
    match = _HOST.match(host)
    if match is None or (match.group(1) is not None and not 0 < int(match.group(1)) < 65536):
        raise ValueError(f"host {value!r} is not host[:port]")
    return host


def check_port(value: str) -> str:
    """A TCP port 1-65535, as text."""
    port = value.strip()
    if not (port.isdigit() and len(port) <= 5 and 0 < int(port) < 65536):
        raise ValueError(f"port {value!r} is not 1-65535")
    return str(int(port))


def parse_node(text: str) -> Tuple[Optional[str], Optional[str]]:
    """(address, port) of one hop: ``1.2.3.4``, ``1.2.3.4:80``, ``::1``, ``[::1]:80``.

    RFC 7239 §6's ``unknown`` and obfuscated ``_names`` give (None, None): the proxy does not
    know (or say) who its peer was.
    """
    node = text.strip()
    if node.lower() == "unknown" or node.startswith("_"):
        return None, None
    port: Optional[str] = None
    if node.startswith("["):
        end = node.find("]")
        if end < 0:
            raise ValueError(f"node {text!r} has no closing ']'")
        rest = node[end + 1:]
        node = node[1:end]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"node {text!r} has bytes after ']'")
            port = rest[1:]
    elif node.count(":") == 1:
        node, _, port = node.partition(":")
    if port is not None and not port.startswith("_"):
        port = check_port(port)
    elif port is not None:
        port = None  # obfuscated port
    ip = parse_ip(node)
    if ip is None:
        raise ValueError(f"node {text!r} is not an IP address")
    return str(ip), port


def _unquote(value: str) -> str:
    if value.startswith('"'):
        match = _QDTEXT.match(value)
        if match is None:
            raise ValueError(f"bad quoted-string {value!r}")
        return re.sub(r"\\(.)", r"\1", match.group(1))
    if not _TOKEN.match(value):
        raise ValueError(f"value {value!r} is neither a token nor a quoted-string")
    return value


def _split_outside_quotes(text: str, sep: str) -> List[str]:
    parts, start, quoted, escaped = [], 0, False, False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == sep and not quoted:
            parts.append(text[start:i])
            start = i + 1
    if quoted:
        raise ValueError(f"unterminated quoted-string in {text!r}")
    parts.append(text[start:])
    return parts


def parse_forwarded(value: str) -> List[Dict[str, str]]:
    """RFC 7239 §4: one dict per hop (``for``, ``proto``, ``host``, ``by``; lower-case keys)."""
    hops = []
    for element in _split_outside_quotes(value, ","):
        pairs: Dict[str, str] = {}
        for pair in _split_outside_quotes(element, ";"):
            pair = pair.strip()
            if not pair:
                continue
            name, sep, raw = pair.partition("=")
            name = name.strip().lower()
            if not sep or not _TOKEN.match(name):
                raise ValueError(f"Forwarded pair {pair!r} is not name=value")
            if name in pairs:
                raise ValueError(f"Forwarded parameter {name!r} repeated in one element")
            pairs[name] = _unquote(raw.strip())
        if not pairs:
            raise ValueError(f"empty element in Forwarded {value!r}")
        hops.append(pairs)
    return hops


def pick_hop(nodes: List[Tuple[Optional[str], Optional[str]]], trusted: Any) -> int:
    """The index of the client in a chain of (address, port) nodes: the right-most address
    that ``trusted`` (a :class:`~rocket.http.trust.TrustList`) does not trust, or the left-most
    when all are trusted. An unknown node there raises: the client's address is not known."""
    index = len(nodes) - 1
    while index > 0:
        addr = nodes[index][0]
        if addr is None or not trusted.trusts_ip(parse_ip(addr)):
            break
        index -= 1
    if nodes[index][0] is None:
        raise ValueError("the client's hop is 'unknown' or obfuscated")
    return index


def from_forwarded(value: str, trusted: Any) -> Hop:
    """The client's :class:`Hop` from a ``Forwarded`` value: its ``for``, ``proto``, ``host``."""
    hops = parse_forwarded(value)
    proto = host = None
    if all("for" not in hop for hop in hops):
        hop = hops[-1]
        addr = port = None
    else:
        nodes = [parse_node(hop["for"]) if "for" in hop else (None, None) for hop in hops]
        index = pick_hop(nodes, trusted)
        hop = hops[index]
        addr, port = nodes[index]
    if "proto" in hop:
        proto = check_proto(hop["proto"])
    if "host" in hop:
        host = check_host(hop["host"])
    return Hop(addr, port, proto, host, None)


def _last(value: Optional[str]) -> Optional[str]:
    """The right-most item of a comma list: the one our own proxy wrote."""
    if value is None:
        return None
    return value.rpartition(",")[2].strip()


def from_x_forwarded(forwarded_for: Optional[str], proto: Optional[str], host: Optional[str],
                     port: Optional[str], trusted: Any) -> Hop:
    """The client's :class:`Hop` from ``X-Forwarded-For`` (its chain), ``-Proto``, ``-Host``
    and ``-Port`` (the right-most item of each: the one our own proxy wrote)."""
    addr = client_port = None
    if forwarded_for is not None:
        nodes = [parse_node(item) for item in forwarded_for.split(",")]
        addr, client_port = nodes[pick_hop(nodes, trusted)]
    proto = _last(proto)
    host = _last(host)
    port = _last(port)
    return Hop(addr, client_port, check_proto(proto) if proto is not None else None,
               check_host(host) if host is not None else None,
               check_port(port) if port is not None else None)
