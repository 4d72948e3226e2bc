"""The PROXY protocol (haproxy's, versions 1 and 2), sans-I/O.

A load balancer that speaks it sends one header before anything else on the connection,
before TLS and before HTTP, naming the client it accepted the connection from. Bytes go in
with :meth:`ProxyHeaderParser.feed`; :meth:`~ProxyHeaderParser.next_event` returns
``NEED_DATA``, a :class:`ProxyInfo` (the header), or ``NO_HEADER`` (``auto`` mode: the stream
starts with something else). What follows the header stays in ``trailing_data`` for the next
reader. A malformed header raises :class:`ProxyHeaderError`; the server then closes the
connection without an answer (there is nobody to answer: the peer is a proxy that spoke
wrongly, or not a proxy).

Version 1 (text): ``PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\\r\\n``, at most 107 bytes
(spec §2.1). Version 2 (binary): a 12-byte signature, version/command, family, a 16-bit
length, the addresses and TLVs (spec §2.2). Of the TLVs, ``PP2_TYPE_AUTHORITY`` (the TLS SNI
the client asked for) and ``PP2_TYPE_SSL`` (the client spoke TLS to the proxy: the scheme is
https; its ``PP2_SUBTYPE_SSL_VERSION`` is kept) are decoded; the rest are kept raw.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Any, Dict, NamedTuple, Optional, Tuple, Union

from rocket.http.events import NEED_DATA

__all__ = ["ProxyHeaderParser", "ProxyInfo", "ProxyHeaderError", "NO_HEADER", "PROXY_MODES",
           "proxy_mode", "V2_SIGNATURE", "V1_MAX_BYTES", "DEFAULT_MAX_BYTES"]

PROXY_MODES = ("off", "v1", "v2", "auto")
V1_PREFIX = b"PROXY "
V1_MAX_BYTES = 107
"""Spec §2.1: the longest v1 line (TCP6 with the longest addresses) with its CRLF."""
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
DEFAULT_MAX_BYTES = 2048
"""A v2 header past this is refused: addresses take at most 216 bytes (unix) and the TLVs a
proxy sends (ALPN, authority, SSL with a cipher and a CN) a few hundred; the 16-bit length
would otherwise let a peer make the server buffer 64 KiB before a single HTTP byte."""

PP2_TYPE_ALPN = 0x01
PP2_TYPE_AUTHORITY = 0x02
PP2_TYPE_SSL = 0x20
PP2_SUBTYPE_SSL_VERSION = 0x21
PP2_CLIENT_SSL = 0x01
_FAMILIES = {0x00: ("UNSPEC", 0), 0x11: ("TCP4", 12), 0x12: ("UDP4", 12),
             0x21: ("TCP6", 36), 0x22: ("UDP6", 36), 0x31: ("UNIX", 216), 0x32: ("UNIX", 216)}
_V2_HEAD = struct.Struct("!12sBBH")


class ProxyHeaderError(Exception):
    """The PROXY header is malformed, too long, of the wrong version, or missing."""


class _NoHeader:
    def __repr__(self) -> str:
        return "NO_HEADER"


NO_HEADER = _NoHeader()
"""``auto`` mode: the connection does not start with a PROXY header."""

Address = Optional[Tuple[str, int]]


class ProxyInfo(NamedTuple):
    """One parsed header. ``local`` (v2 LOCAL, v1 UNKNOWN): the proxy speaks for itself (a
    health check), so the connection's own peer stands; else ``source`` is the client."""

    version: int
    local: bool
    family: str
    source: Union[Address, str]
    destination: Union[Address, str]
    tlvs: Dict[int, bytes]
    ssl: bool = False
    tls_version: Optional[str] = None
    authority: Optional[str] = None


def proxy_mode(value: Any) -> str:
    """off, v1, v2 or auto (a trusted peer may send v1, v2 or nothing)."""
    if value is False or value is None:
        return "off"
    mode = str(value).strip().lower()
    if mode not in PROXY_MODES:
        raise ValueError(f"{value!r} is not one of off, v1, v2, auto")
    return mode


class ProxyHeaderParser:
    """Parses the header of one connection (``mode``: v1, v2 or auto)."""

    def __init__(self, mode: str = "auto", max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if mode not in PROXY_MODES[1:]:
            raise ValueError(f"mode {mode!r} is not v1, v2 or auto")
        self.mode = mode
        self.max_bytes = max_bytes
        self._buffer = b""
        self._done: Any = None
        self.trailing_data = b""
        """The bytes after the header (all of them after ``NO_HEADER``)."""

    @property
    def buffered(self) -> int:
        """Bytes of a header not yet whole (0 once it is decided)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        """Add received bytes (``b""`` means the peer closed)."""
        if self._done is not None:
            self.trailing_data += data
        elif not data:
            self._done = ProxyHeaderError(f"connection closed after {len(self._buffer)} bytes "
                                          "of a PROXY header")
        else:
            self._buffer += data

    def next_event(self) -> Any:
        """``NEED_DATA``, a :class:`ProxyInfo` or ``NO_HEADER``; raises ProxyHeaderError."""
        done = self._done
        if done is not None:
            if isinstance(done, ProxyHeaderError):
                raise done
            return done
        buf = self._buffer
        v1 = buf[:6] == V1_PREFIX[:len(buf)]
        v2 = buf[:12] == V2_SIGNATURE[:len(buf)]
        if not v1 and not v2:
            if self.mode != "auto":
                return self._fail(f"expected a PROXY {self.mode} header, got {buf[:16]!r}")
            return self._finish(NO_HEADER, 0)
        if (v1 and self.mode == "v2") or (v2 and self.mode == "v1"):
            if len(buf) >= 12 or (v1 and len(buf) >= 6):
                return self._fail(f"expected a PROXY {self.mode} header, got the other version")
            return NEED_DATA
        if v1 and len(buf) >= len(V1_PREFIX):
            return self._v1(buf)
        if v2 and len(buf) >= 16:
            return self._v2(buf)
        return NEED_DATA

    def _finish(self, event: Any, used: int) -> Any:
        self._done = event
        self.trailing_data = self._buffer[used:]
        self._buffer = b""
        return event

    def _fail(self, message: str) -> Any:
        self._done = ProxyHeaderError(message)
        raise self._done

    def _v1(self, buf: bytes) -> Any:
        newline = buf.find(b"\n", 0, V1_MAX_BYTES)
        if newline < 0:
            if len(buf) >= V1_MAX_BYTES:
                return self._fail(f"PROXY v1 line longer than {V1_MAX_BYTES} bytes")
            return NEED_DATA
        end = newline - 1
        if buf[end:newline] != b"\r":
            return self._fail("PROXY v1 line ends without CRLF")
        try:
            parts = buf[:end].decode("ascii").split(" ")
        except UnicodeDecodeError:
            return self._fail("PROXY v1 line is not ASCII")
        if len(parts) >= 2 and parts[1] == "UNKNOWN":  # spec: the rest is to be ignored
            return self._finish(ProxyInfo(1, True, "UNKNOWN", None, None, {}), end + 2)
        if len(parts) != 6 or parts[1] not in ("TCP4", "TCP6"):
            return self._fail(f"malformed PROXY v1 line {buf[:end]!r}")
        family, src, dst, sport, dport = parts[1:]
        try:
            source = (_ip(src, family), _port(sport))
            dest = (_ip(dst, family), _port(dport))
        except ValueError as exc:
            return self._fail(f"PROXY v1: {exc}")
        return self._finish(ProxyInfo(1, False, family, source, dest, {}), end + 2)

    def _v2(self, buf: bytes) -> Any:
        _, ver_cmd, fam, length = _V2_HEAD.unpack_from(buf)
        total = 16 + length
        if ver_cmd >> 4 != 2:
            return self._fail(f"PROXY v2 header of version {ver_cmd >> 4}")
        command = ver_cmd & 0x0F
        if command not in (0, 1):
            return self._fail(f"PROXY v2 command {command} is neither LOCAL nor PROXY")
        if fam not in _FAMILIES:
            return self._fail(f"PROXY v2 address family 0x{fam:02x} is unknown")
        if total > self.max_bytes:
            return self._fail(f"PROXY v2 header of {total} bytes exceeds {self.max_bytes}")
        family, address_bytes = _FAMILIES[fam]
        if length < address_bytes:
            return self._fail(f"PROXY v2 length {length} is too short for {family}")
        if len(buf) < total:
            return NEED_DATA
        body = buf[16:total]
        source: Union[Address, str] = None
        dest: Union[Address, str] = None
        if family in ("TCP4", "UDP4", "TCP6", "UDP6"):
            size = 4 if family.endswith("4") else 16
            source = (str(ipaddress.ip_address(body[:size])),
                      int.from_bytes(body[2 * size:2 * size + 2], "big"))
            dest = (str(ipaddress.ip_address(body[size:2 * size])),
                    int.from_bytes(body[2 * size + 2:2 * size + 4], "big"))
        elif family == "UNIX":
            source = body[:108].split(b"\0", 1)[0].decode("latin-1")
            dest = body[108:216].split(b"\0", 1)[0].decode("latin-1")
        try:
            tlvs = _tlvs(body[address_bytes:])
            ssl, tls_version = _ssl(tlvs.get(PP2_TYPE_SSL))
            authority = tlvs[PP2_TYPE_AUTHORITY].decode("ascii") \
                if PP2_TYPE_AUTHORITY in tlvs else None
        except (ValueError, UnicodeDecodeError) as exc:
            return self._fail(f"PROXY v2 TLVs: {exc}")
        local = command == 0 or family == "UNSPEC"
        return self._finish(ProxyInfo(2, local, family, source, dest, tlvs, ssl, tls_version,
                                      authority), total)


def _ip(text: str, family: str) -> str:
    address = ipaddress.ip_address(text)  # ValueError names the bad text
    if address.version != (4 if family == "TCP4" else 6):
        raise ValueError(f"{text!r} is not an {family} address")
    return str(address)


def _port(text: str) -> int:
    if not (text.isdigit() and len(text) <= 5 and int(text) < 65536):
        raise ValueError(f"port {text!r} is not 0-65535")
    if len(text) > 1 and text[0] == "0":
        raise ValueError(f"port {text!r} has a leading zero")
    return int(text)


def _tlvs(data: bytes) -> Dict[int, bytes]:
    found: Dict[int, bytes] = {}
    i = 0
    while i < len(data):
        if len(data) - i < 3:
            raise ValueError(f"truncated TLV at byte {i}")
        kind, size = data[i], int.from_bytes(data[i + 1:i + 3], "big")
        if i + 3 + size > len(data):
            raise ValueError(f"TLV 0x{kind:02x} of {size} bytes overruns the header")
        found[kind] = data[i + 3:i + 3 + size]
        i += 3 + size
    return found


def _ssl(value: Optional[bytes]) -> Tuple[bool, Optional[str]]:
    """(client used TLS, its version) from a PP2_TYPE_SSL value (spec §2.2.5)."""
    if value is None:
        return False, None
    if len(value) < 5:
        raise ValueError("PP2_TYPE_SSL shorter than its 5-byte head")
    sub = _tlvs(value[5:])
    version = sub.get(PP2_SUBTYPE_SSL_VERSION)
    return bool(value[0] & PP2_CLIENT_SSL), version.decode("ascii") if version else None
