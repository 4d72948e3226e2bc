"""Building the PEP 3333 environ, cheaply.

Everything that is the same for every request on a connection (server and client addresses,
scheme, ``wsgi.*``) goes into a per-connection *base* dict once; each request then costs one
``base.copy()`` plus the request-specific keys. Header names are mapped to environ keys through
a bounded cache, so the common headers cost one dict lookup each.
"""

from __future__ import annotations

import re
import sys
from typing import Any, Dict, Tuple
from urllib.parse import unquote_to_bytes

from rocket.http.events import Request
from rocket.workers.forwarding import FORWARDING_KEYS

__all__ = ["base_environ", "build_environ", "connection_environ", "decode_path", "environ_key",
           "forwarding_keys", "listener_environ"]

# Header name -> environ key. "" marks a dropped name. Bounded so that a client sending random
# header names cannot grow it without limit; 1024 covers every header real clients send.
_KEY_CACHE_MAX = 1024
_KEYS: Dict[bytes, str] = {b"content-type": "CONTENT_TYPE", b"content-length": "CONTENT_LENGTH"}
# Header value -> its str. A browser repeats most of its values on every request; a lookup
# by the bytes (whose hash the parser's line cache already computed) costs less than a decode
# on CPython and keeps PyPy on its fast bytes-keyed dicts: keyed by (name, value) pairs, as it
# was, the tuple hashing cost PyPy 0.4 us for 12 headers. Bounded in entries and value length
# (memory), and cleared when full, so that ever new values (a changing cookie) cannot freeze it.
_VALUES: Dict[bytes, str] = {}
_VALUES_MAX = 512
_VALUE_MAX_BYTES = 256

# Whether environ_key has made a forwarding key yet: until then no environ can hold one.
_forwarding_seen = False
_FORWARDING = tuple(sorted(FORWARDING_KEYS))

_METHODS: Dict[bytes, str] = {
    m.encode(): m
    for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT")
}
_PROTOCOLS: Dict[bytes, str] = {b"1.1": "HTTP/1.1", b"1.0": "HTTP/1.0", b"2.0": "HTTP/2"}

# Rocket keeps an encoded slash in PATH_INFO as the literal "%2F" (either case), so routers can
# tell "/a%2Fb" (one segment) from "/a/b" (two).
_ENCODED_SLASH = re.compile(rb"(%2[Ff])")


def environ_key(name: bytes) -> str:
    """The environ key for a lower-cased header name; "" when the header must be dropped.

    Names containing "_" are dropped: "X_Forwarded_For" and "X-Forwarded-For" would both become
    ``HTTP_X_FORWARDED_FOR``, letting a client spoof a header a proxy set (as gunicorn/nginx do).
    """
    key = _KEYS.get(name)
    if key is not None:
        return key
    text = name.decode("latin-1")
    key = "" if "_" in text else "HTTP_" + text.upper().replace("-", "_")
    if key in FORWARDING_KEYS:
        global _forwarding_seen
        _forwarding_seen = True
    if len(_KEYS) < _KEY_CACHE_MAX:
        _KEYS[name] = key
    return key


def decode_path(path: bytes) -> str:
    """Percent-decode a request path to a latin-1 str, keeping ``%2F`` literally (Rocket)."""
    if path.find(b"%") < 0:  # not "in", which pays a TypeError first (see parser._check_target)
        return path.decode("latin-1")
    parts = _ENCODED_SLASH.split(path)
    # Odd indexes are the captured "%2F" separators; decode only the text between them.
    return b"".join(
        part if i % 2 else unquote_to_bytes(part) for i, part in enumerate(parts)
    ).decode("latin-1")


_LINE_PLACEHOLDERS = dict.fromkeys(
    ("REQUEST_METHOD", "SERVER_PROTOCOL", "REQUEST_URI", "RAW_URI", "PATH_INFO", "QUERY_STRING"),
    "",
)


def base_environ(conn: Any, shared: Dict[str, Any]) -> Dict[str, Any]:
    """The per-connection part of the environ; ``shared`` holds the per-server part."""
    return connection_environ(listener_environ(shared, conn.server_addr, conn.secure), conn)


def listener_environ(shared: Dict[str, Any], local: Any, secure: bool) -> Dict[str, Any]:
    """What every connection to the listening address ``local`` has in its environ: ``shared``
    plus SERVER_PORT and the scheme. Made once per listener and copied per connection
    (:func:`connection_environ`): one dict copy instead of building it key by key."""
    env = dict(shared)
    # Every request sets these; having them here sizes the dict so that per-request copies
    # overwrite in place instead of growing (and rehashing) the table.
    env.update(_LINE_PLACEHOLDERS)
    if isinstance(local, tuple) and len(local) >= 2:
        env["SERVER_PORT"] = str(local[1])
    else:
        env["SERVER_PORT"] = ""
    env["REMOTE_ADDR"] = env["REMOTE_PORT"] = ""  # placeholders, as above
    env["rocket.peer_addr"] = None
    env["wsgi.errors"] = None
    if secure:
        env["HTTPS"] = "on"
        env["wsgi.url_scheme"] = "https"
    else:
        env["wsgi.url_scheme"] = "http"
    return env


def connection_environ(template: Dict[str, Any], conn: Any) -> Dict[str, Any]:
    """The per-connection part of the environ: ``template`` (:func:`listener_environ` for the
    connection's listener) plus the client's address, ``wsgi.errors`` (``sys.stderr`` as it is
    now), the client certificate and what a PROXY header said."""
    env = template.copy()
    client = conn.client_addr
    if isinstance(client, tuple) and len(client) >= 2:
        env["REMOTE_ADDR"] = str(client[0])
        env["REMOTE_PORT"] = str(client[1])
    else:  # unix socket: no address
        env["REMOTE_ADDR"] = str(client or "")
    env["rocket.peer_addr"] = client
    env["wsgi.errors"] = sys.stderr
    if conn.secure:
        cert = getattr(conn, "peer_cert", None)
        if cert:
            import ssl  # only TLS connections with a client certificate pay for the import

            env["SSL_CLIENT_RAW_CERT"] = ssl.DER_cert_to_PEM_cert(cert)
    proxy = conn.proxy
    if proxy is not None:  # a PROXY protocol header: client_addr is already its client
        _proxied(env, proxy)
    return env


def _proxied(env: Dict[str, Any], proxy: Any) -> None:
    """What a trusted PROXY header said (:class:`~rocket.net.proxied.Proxied`): the socket's
    own peer stays in ``rocket.peer_addr``; PP2_TYPE_SSL (the client spoke TLS to the proxy)
    makes the scheme https; PP2_TYPE_AUTHORITY (the host name the client asked for with TLS
    SNI) goes to ``rocket.proxy_authority``."""
    env["rocket.peer_addr"] = proxy.peer_addr
    info = proxy.info
    if info.ssl:
        env["HTTPS"] = "on"
        env["wsgi.url_scheme"] = "https"
    if info.authority is not None:
        env["rocket.proxy_authority"] = info.authority


def build_environ(base: Dict[str, Any], request: Request) -> Dict[str, Any]:
    """The environ of one request: a copy of ``base`` plus the request line and headers.

    Each header's environ key and str value come from two bounded caches keyed by the bytes
    (:data:`_KEYS`, :data:`_VALUES`), and are set straight into the copy. A name that is
    dropped, or given twice, sends the headers through :func:`_combined` instead.
    ``wsgi.input`` is left to the caller.

    There was a per-thread memo of the last header block here; with fields that change on
    every request (a cookie, as browsers send) comparing the blocks cost more than it saved:
    0.7 us per request on CPython 3.11 and on PyPy, against 0.1 us gained on a repeated block.
    """
    env = base.copy()
    line_keys = _LINES.get((request.method, request.target, request.http_version))
    if line_keys is None:
        line_keys = _line_keys(request)
    env.update(line_keys)
    headers = request.headers
    if not _set_headers(env, headers):  # a dropped name, or same-name fields
        env = base.copy()
        env.update(line_keys)
        env.update(_combined(headers))
    authority = line_keys.get("_authority")
    if authority is not None:
        # RFC 9112 §3.2.2: the authority of an absolute-form target replaces Host.
        del env["_authority"]
        env["HTTP_HOST"] = authority
    return env


def forwarding_keys(env: Dict[str, Any]) -> Tuple[str, ...]:
    """The :data:`~rocket.workers.forwarding.FORWARDING_KEYS` present in ``env``.

    Free until some request carries one of them (:func:`environ_key` makes every key and
    notes the first forwarding one), then one lookup per forwarding key (0.1 us on PyPy,
    0.3 us on CPython 3.11; a loop over a tuple, which PyPy runs 3x faster than
    ``keys().isdisjoint``)."""
    if not _forwarding_seen:
        return ()
    for key in _FORWARDING:
        if key in env:
            return tuple(k for k in _FORWARDING if k in env)
    return ()


def _text(value: bytes) -> str:
    """``value`` decoded, and cached when short (:data:`_VALUES`)."""
    text = value.decode("latin-1")
    if len(value) <= _VALUE_MAX_BYTES:
        if len(_VALUES) >= _VALUES_MAX:
            _VALUES.clear()
        _VALUES[value] = text
    return text


def _set_headers(env: Dict[str, Any], headers: Any) -> bool:
    """Set each header's environ key to its value in ``env``: False when a name is dropped or
    comes twice (``env`` then holds some of them), for :func:`_combined` to do instead."""
    size = len(env)
    keys = _KEYS
    values = _VALUES
    for name, value in headers:
        key = keys.get(name)
        if not key:
            key = environ_key(name)
            if not key:  # a dropped name
                return False
        text = values.get(value)
        if text is None:
            text = _text(value)
        env[key] = text
    return len(env) - size == len(headers)


def _combined(headers: Any) -> Dict[str, str]:
    """The header keys of an environ, the general way: dropped names left out, same-name
    fields combined (what :func:`build_environ` falls back on)."""
    env: Dict[str, str] = {}
    for name, value in headers:
        key = environ_key(name)
        if not key:
            continue
        if key not in env:
            env[key] = value.decode("latin-1")
        else:
            # RFC 9110 §5.3: same-name fields combine with ", "; Cookie with "; " (RFC 6265 §5.4).
            sep = "; " if key == "HTTP_COOKIE" else ", "
            env[key] = env[key] + sep + value.decode("latin-1")
    return env


# (method, target, version) -> the environ keys of that request line. Clients repeat a few
# request lines; the bound keeps a client sending distinct targets from growing it forever,
# and emptying it when full (rather than no longer adding) lets the lines a site repeats
# come back after any number of distinct ones.
_LINES_MAX = 2048
_LINES: Dict[tuple, Dict[str, str]] = {}


def _line_keys(request: Request) -> Dict[str, str]:
    """REQUEST_METHOD, SERVER_PROTOCOL, PATH_INFO, QUERY_STRING and REQUEST_URI/RAW_URI."""
    method, target, version = request.method, request.target, request.http_version
    uri = rest = target.decode("latin-1")
    authority = None
    if target[:1] != b"/":
        origin, authority = _split_target(target)
        rest = origin.decode("latin-1")
    # latin-1 maps byte to character one to one: split the decoded target, decode nothing twice.
    path, _, query = rest.partition("?")
    keys = {
        "REQUEST_METHOD": _METHODS.get(method) or method.decode("latin-1"),
        "SERVER_PROTOCOL": _PROTOCOLS.get(version) or "HTTP/" + version.decode("latin-1"),
        "REQUEST_URI": uri,
        "RAW_URI": uri,
        "PATH_INFO": path if "%" not in path else decode_path(path.encode("latin-1")),
        "QUERY_STRING": query,
    }
    if authority is not None:
        keys["_authority"] = authority.decode("latin-1")
    if len(_LINES) >= _LINES_MAX:
        _LINES.clear()  # not frozen with the first targets: a site's hot ones come back
    _LINES[(method, target, version)] = keys
    return keys


def _split_target(target: bytes):
    """(path-and-query, authority or None) for an absolute-form or asterisk-form target."""
    if target == b"*":
        return b"", None
    scheme, sep, rest = target.partition(b"://")
    if not sep:
        return target, None  # authority-form (CONNECT) or unusual: pass through
    slash = rest.find(b"/")
    query = rest.find(b"?")
    cut = min(i for i in (slash, query, len(rest)) if i >= 0)
    path = rest[cut:]
    if path[:1] == b"?":
        path = b"/" + path
    return path or b"/", rest[:cut]
