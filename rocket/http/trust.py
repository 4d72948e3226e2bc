"""Which peers may speak for a client: the ``forwarded_allow_ips`` trust list.

A proxy in front of Rocket tells who the client was (``X-Forwarded-For``, ``Forwarded``, the
PROXY protocol). Only a peer on this list is believed; anyone else could lie. The list holds
addresses and CIDR networks (IPv4 and IPv6), ``unix`` for peers on a unix socket (a local
proxy such as nginx), or ``*`` for everyone (only safe when nothing but the proxy can reach
Rocket; the server warns at start).
"""

from __future__ import annotations

import ipaddress
from typing import Any, Dict, Iterable, Optional, Tuple, Union

__all__ = ["TrustList", "trust_list", "parse_ip", "DEFAULT_TRUSTED"]

DEFAULT_TRUSTED = "127.0.0.1,::1,unix"
"""The default: a proxy on this machine, over TCP loopback or a unix socket."""

_Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
_Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

# Parsed addresses by text. A proxy chain repeats a few addresses; the bound keeps clients that
# send random ones from growing the cache without limit.
_PARSED_MAX = 4096
_parsed: Dict[str, Optional[_Address]] = {}


def parse_ip(text: str) -> Optional[_Address]:
    """The IP address in ``text`` (IPv4, IPv6, IPv4-mapped IPv6 as IPv4), or None."""
    found = _parsed.get(text, False)
    if found is not False:
        return found  # type: ignore[return-value]
    try:
        address: Optional[_Address] = ipaddress.ip_address(text)
    except ValueError:
        address = None
    else:
        mapped = getattr(address, "ipv4_mapped", None)
        if mapped is not None:
            address = mapped
    if len(_parsed) < _PARSED_MAX:
        _parsed[text] = address
    return address


class TrustList:
    """Networks, ``unix`` and ``*``; ``trusts(address)`` answers for one peer.

    ``str()`` gives the list back in the form it was written (the ``--check-config`` output).
    """

    def __init__(self, networks: Iterable[_Network] = (), unix: bool = False,
                 everyone: bool = False) -> None:
        self.networks: Tuple[_Network, ...] = tuple(networks)
        self.unix = unix
        self.everyone = everyone
        self._answers: Dict[str, bool] = {}

    def trusts(self, address: Any) -> bool:
        """True when the peer at ``address`` (IP text; "" or a path for a unix socket) is
        trusted. Text that is no IP address is a unix-socket peer."""
        if self.everyone:
            return True
        text = str(address or "")
        answer = self._answers.get(text)
        if answer is None:
            ip = parse_ip(text) if text else None
            if ip is None:
                answer = self.unix
            else:
                answer = any(ip.version == net.version and ip in net for net in self.networks)
            if len(self._answers) < _PARSED_MAX:
                self._answers[text] = answer
        return answer

    def trusts_ip(self, ip: _Address) -> bool:
        """True when the parsed address ``ip`` is trusted (a hop of a forwarded chain)."""
        return self.everyone or any(ip.version == net.version and ip in net
                                    for net in self.networks)

    @property
    def empty(self) -> bool:
        """True when no peer at all is trusted."""
        return not (self.networks or self.unix or self.everyone)

    def __str__(self) -> str:
        if self.everyone:
            return "*"
        parts = [str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n)
                 for n in self.networks]
        return ",".join(parts + (["unix"] if self.unix else []))

    def __repr__(self) -> str:
        return f"TrustList({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TrustList) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


def trust_list(value: Any) -> TrustList:
    """Comma-separated addresses or CIDRs, 'unix' and '*', e.g. 127.0.0.1,10.0.0.0/8,unix."""
    if isinstance(value, TrustList):
        return value
    if value is None:
        return TrustList()
    items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    networks = []
    unix = everyone = False
    for item in (i.strip() for i in items):
        if not item:
            continue
        if item == "*":
            everyone = True
        elif item.lower() == "unix":
            unix = True
        else:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"{item!r} is neither an IP address, a CIDR network, "
                                 "'unix' nor '*'") from None
    return TrustList(networks, unix, everyone)
