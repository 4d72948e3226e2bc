"""Writes the PROXY protocol corpus: ``valid/NNN.bin`` and ``invalid/NNN.bin``, each with a
``NNN.json`` sidecar (``description``, ``mode``; valid: ``expect``, the ProxyInfo fields;
invalid: ``error`` (a part of the message) and ``eof`` (the peer closes after the bytes)).

Run ``python tests/corpus/proxy/make_corpus.py`` after changing a case.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIG = b"\r\n\r\n\x00\r\nQUIT\n"
HTTP = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
VALID, INVALID = [], []


def v2(command: int, family: int, body: bytes, version: int = 2, length=None) -> bytes:
    size = len(body) if length is None else length
    return SIG + bytes([(version << 4) | command, family]) + struct.pack("!H", size) + body


def inet(src: str, dst: str, sport: int, dport: int) -> bytes:
    return (ipaddress.ip_address(src).packed + ipaddress.ip_address(dst).packed
            + struct.pack("!HH", sport, dport))


def tlv(kind: int, value: bytes) -> bytes:
    return bytes([kind]) + struct.pack("!H", len(value)) + value


def ssl_tlv(client: int, version: bytes = b"", cn: bytes = b"") -> bytes:
    sub = (tlv(0x21, version) if version else b"") + (tlv(0x22, cn) if cn else b"")
    return tlv(0x20, bytes([client]) + b"\0\0\0\0" + sub)


def valid(description, mode, data, **expect):
    VALID.append((data, {"description": description, "mode": mode, "expect": expect}))


def invalid(description, mode, data, error, eof=False):
    INVALID.append((data, {"description": description, "mode": mode, "error": error,
                           "eof": eof}))


TCP4 = dict(version=1, local=False, family="TCP4", source=["192.0.2.1", 56324],
            destination=["198.51.100.1", 443])
valid("v1 TCP4", "v1", b"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n", **TCP4)
valid("v1 TCP4 in auto mode", "auto", b"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n", **TCP4)
valid("v1 TCP6", "v1", b"PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n", version=1,
      local=False, family="TCP6", source=["2001:db8::1", 1], destination=["2001:db8::2", 65535])
valid("v1 UNKNOWN", "v1", b"PROXY UNKNOWN\r\n", version=1, local=True, family="UNKNOWN",
      source=None, destination=None)
valid("v1 UNKNOWN with ignored addresses", "auto",
      b"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", version=1, local=True,
      family="UNKNOWN", source=None, destination=None)
valid("v1 longest line (107 bytes)", "v1",
      b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
      b" 65535 65535\r\n", version=1, local=False, family="TCP6",
      source=["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535],
      destination=["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535])
valid("v2 PROXY TCP4", "v2", v2(1, 0x11, inet("192.0.2.1", "198.51.100.1", 56324, 443)),
      **dict(TCP4, version=2))
valid("v2 PROXY TCP4 in auto mode", "auto",
      v2(1, 0x11, inet("192.0.2.1", "198.51.100.1", 56324, 443)), **dict(TCP4, version=2))
valid("v2 PROXY TCP6", "v2", v2(1, 0x21, inet("2001:db8::1", "::1", 4711, 80)), version=2,
      local=False, family="TCP6", source=["2001:db8::1", 4711], destination=["::1", 80])
valid("v2 LOCAL (a health check from the proxy itself)", "v2", v2(0, 0x00, b""), version=2,
      local=True, family="UNSPEC", source=None, destination=None)
valid("v2 LOCAL with TCP4 addresses", "auto", v2(0, 0x11, inet("10.0.0.1", "10.0.0.2", 1, 2)),
      version=2, local=True, family="TCP4", source=["10.0.0.1", 1], destination=["10.0.0.2", 2])
valid("v2 with PP2_TYPE_SSL (TLSv1.3) and PP2_TYPE_AUTHORITY", "v2",
      v2(1, 0x11, inet("192.0.2.1", "198.51.100.1", 56324, 443)
         + tlv(0x02, b"shop.example") + ssl_tlv(0x07, b"TLSv1.3", b"client")),
      **dict(TCP4, version=2), ssl=True, tls_version="TLSv1.3", authority="shop.example")
valid("v2 SSL TLV whose client did not use TLS", "v2",
      v2(1, 0x11, inet("192.0.2.1", "198.51.100.1", 56324, 443) + ssl_tlv(0x00)),
      **dict(TCP4, version=2), ssl=False, tls_version=None)
valid("v2 with ALPN, NOOP and an unknown TLV kept raw", "v2",
      v2(1, 0x11, inet("192.0.2.1", "198.51.100.1", 56324, 443)
         + tlv(0x01, b"h2") + tlv(0x04, b"\0\0") + tlv(0xE0, b"custom")),
      **dict(TCP4, version=2), tlvs={"1": "h2", "4": "\u0000\u0000", "224": "custom"})
valid("v2 UNIX stream", "v2",
      v2(1, 0x31, b"/tmp/client".ljust(108, b"\0") + b"/run/server".ljust(108, b"\0")),
      version=2, local=False, family="UNIX", source="/tmp/client", destination="/run/server")
valid("auto: no header, an HTTP request", "auto", HTTP, no_header=True)
valid("auto: one byte that is neither signature", "auto", b"G", no_header=True)

invalid("v1 line ending in a bare LF", "v1", b"PROXY TCP4 192.0.2.1 198.51.100.1 1 2\n",
        "without CRLF")
invalid("v1 longer than 107 bytes without CRLF", "v1", b"PROXY TCP4 " + b"1" * 120, "longer than")
invalid("v1 bad IPv4 address", "v1", b"PROXY TCP4 192.0.2.300 198.51.100.1 1 2\r\n",
        "does not appear to be")
invalid("v1 TCP4 with IPv6 addresses", "v1", b"PROXY TCP4 ::1 ::1 1 2\r\n", "not an TCP4")
invalid("v1 port out of range", "v1", b"PROXY TCP4 192.0.2.1 198.51.100.1 65536 2\r\n",
        "0-65535")
invalid("v1 port with a leading zero", "v1", b"PROXY TCP4 192.0.2.1 198.51.100.1 080 2\r\n",
        "leading zero")
invalid("v1 missing a field", "v1", b"PROXY TCP4 192.0.2.1 198.51.100.1 1\r\n", "malformed")
invalid("v1 double space", "v1", b"PROXY TCP4  192.0.2.1 198.51.100.1 1 2\r\n", "malformed")
invalid("v1 unknown protocol", "v1", b"PROXY UDP4 192.0.2.1 198.51.100.1 1 2\r\n", "malformed")
invalid("v1 not ASCII", "v1", b"PROXY TCP4 \xff.0.2.1 198.51.100.1 1 2\r\n", "not ASCII")
invalid("wrong signature: HTTP where v1 is required", "v1", HTTP, "expected a PROXY v1")
invalid("wrong signature: HTTP where v2 is required", "v2", HTTP, "expected a PROXY v2")
invalid("v2 header where v1 is required", "v1", v2(1, 0x11, inet("1.1.1.1", "2.2.2.2", 1, 2)),
        "other version")
invalid("v1 header where v2 is required", "v2", b"PROXY TCP4 1.1.1.1 2.2.2.2 1 2\r\n",
        "other version")
invalid("v2 signature with version 1", "v2", v2(1, 0x11, inet("1.1.1.1", "2.2.2.2", 1, 2), 1),
        "version 1")
invalid("v2 command 2", "auto", v2(2, 0x11, inet("1.1.1.1", "2.2.2.2", 1, 2)), "command 2")
invalid("v2 unknown family", "v2", v2(1, 0x41, b""), "family 0x41")
invalid("v2 length too short for TCP4", "v2", v2(1, 0x11, b"\1\2\3\4"), "too short")
invalid("v2 oversized header (4000 bytes)", "v2",
        v2(1, 0x11, inet("1.1.1.1", "2.2.2.2", 1, 2), length=3984), "exceeds 2048")
invalid("v2 TLV overrunning the header", "v2",
        v2(1, 0x11, inet("1.1.1.1", "2.2.2.2", 1, 2) + b"\x02\x00\x10ab"), "overruns")
invalid("v2 truncated TLV head", "v2", v2(1, 0x11, inet("1.1.1.1", "2.2.2.2", 1, 2) + b"\x02\x00"),
        "truncated TLV")
invalid("v2 SSL TLV shorter than its head", "v2",
        v2(1, 0x11, inet("1.1.1.1", "2.2.2.2", 1, 2) + tlv(0x20, b"\1\0")), "5-byte head")
invalid("v2 AUTHORITY not ASCII", "v2",
        v2(1, 0x11, inet("1.1.1.1", "2.2.2.2", 1, 2) + tlv(0x02, b"\xff")), "TLVs")
invalid("truncated v1: the peer closes mid-line", "v1", b"PROXY TCP4 192.0.2.1", "closed after",
        eof=True)
invalid("truncated v2: the peer closes mid-header", "auto",
        v2(1, 0x11, inet("1.1.1.1", "2.2.2.2", 1, 2))[:20], "closed after", eof=True)
invalid("truncated signature: the peer closes", "auto", SIG[:7], "closed after", eof=True)


def write(kind: str, cases: list) -> None:
    folder = HERE / kind
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for n, (data, meta) in enumerate(cases, 1):
        (folder / f"{n:03d}.bin").write_bytes(data)
        (folder / f"{n:03d}.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    write("valid", VALID)
    write("invalid", INVALID)
    print(f"{len(VALID)} valid and {len(INVALID)} invalid PROXY cases written")
