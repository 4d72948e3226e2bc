"""The settings table: one row per setting drives the API (and later CLI, TOML, env and docs).

``Config(**kwargs)`` converts and validates every value, rejects unknown keys and
contradictions with a ``ConfigError`` naming the setting and the accepted form.
"""

from __future__ import annotations

import socket
from typing import Any, Callable, Dict, List, NamedTuple, Tuple

from rocket.config.converters import (
    auto_switch,
    byte_count,
    byte_rate,
    concurrency_mode,
    non_negative_float,
    non_negative_int,
    optional_hook,
    optional_path,
    optional_str,
    optional_url_path,
    positive_int,
    static_mount_text,
    to_bool,
)
from rocket.config.interfaces import Interface, optional_tcp_bind, to_interfaces
from rocket.http.forwarded import header_family
from rocket.http.proxy import proxy_mode
from rocket.http.trust import DEFAULT_TRUSTED, trust_list
from rocket.logs import ROCKET_FORMAT


class ConfigError(ValueError):
    """A setting has a bad value, is unknown, or contradicts another one."""


def static_mounts(value: Any) -> Tuple[Tuple[Any, ...], ...]:
    """URL=DIR[;OPTION[=VALUE]...], e.g. /assets=./public or /=./site;display_index."""
    from rocket.static.mounts import parse_static_spec, to_static_mounts  # only when used

    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        value = [_mount_with_options(e, parse_static_spec) if isinstance(e, str) else e
                 for e in value]
    return to_static_mounts(value)


class _SameDefault:
    def __repr__(self) -> str:
        return "SAME_DEFAULT"


SAME_DEFAULT: Any = _SameDefault()
"""A row's ``compat_default`` when the compatibility APIs use the production default too."""


def _mount_with_options(spec: str, parse: Callable[[str], Tuple[str, str]]) -> Tuple[Any, ...]:
    head, options = static_mount_text(spec)
    return parse(head) + ((options,) if options else ())


GROUPS = ("binding", "TLS", "HTTP/2", "threads and processes", "timeouts and limits", "logging", "static",
          "proxies and monitoring", "development", "hooks")
"""The sections of ``rocket --help``, in order; each row names one."""


class Setting(NamedTuple):
    """One row of the table: name, converter (raises ValueError/TypeError), default, help and
    the :data:`GROUPS` section it is listed in.

    ``default`` is the production default (the CLI, ``serve()``, ``Server``, ``SocketServer``);
    ``compat_default``, when given, is the one the compatibility APIs (``Rocket(...)``,
    ``Rocket3``, ``CherryPyWSGIServer``) keep, Rocket 1.x's own value.
    """

    name: str
    converter: Callable[[Any], Any]
    default: Any
    help: str
    group: str = ""
    compat_default: Any = SAME_DEFAULT

    def default_for(self, compatible: bool) -> Any:
        """The default of the compatibility APIs when ``compatible``, else the production one."""
        if compatible and self.compat_default is not SAME_DEFAULT:
            return self.compat_default
        return self.default


MAX_THREADS_BOUND = 128
"""The production default of ``max_threads`` (see docs/reliability.md for the measurement)."""

SETTINGS: List[Setting] = [
    Setting("bind", to_interfaces, (Interface("127.0.0.1", 8000),),
            "address to listen on: HOST:PORT, [IPV6]:PORT, unix:PATH or fd://N (an inherited "
            "listening socket); Rocket's interface tuples in the API", "binding"),
    Setting("backlog", non_negative_int, socket.SOMAXCONN,
            "listen() backlog: connections the kernel holds until they are accepted; high so "
            "bursts of connects are not dropped", "binding"),
    Setting("min_threads", positive_int, 10,
            "worker threads kept alive when idle (at least 1)", "threads and processes"),
    Setting("max_threads", non_negative_int, MAX_THREADS_BOUND,
            f"upper bound of worker threads; 0 = no bound. {MAX_THREADS_BOUND} serves a "
            "blocking app on 100 busy connections at full speed (sleep-c100) and caps memory "
            "and GIL contention under a burst; Rocket(...) keeps Rocket's 0",
            "threads and processes", compat_default=0),
    Setting("thread_idle_timeout", non_negative_float, 10.0,
            "seconds a surplus worker thread may stay idle; those idle for a whole period "
            "retire together, down to min_threads (a 2,000-thread burst is gone within 20 s, "
            "while bursts a few seconds apart reuse their threads)", "threads and processes"),
    Setting("queue_size", non_negative_int, 1024,
            "connections that may wait for a thread once max_threads are busy; bounded so an "
            "overloaded server pushes back through the listen backlog instead of growing memory",
            "threads and processes"),
    Setting("max_connections", non_negative_int, 0,
            "open connections at most; at the limit the longest-idle keep-alive connection is "
            "closed, or accepting pauses (the listen backlog holds new connects) when none is "
            "idle; 0 = the open-file limit (RLIMIT_NOFILE, soft raised to hard at start) minus "
            "64 and one per worker thread", "timeouts and limits"),
    Setting("keep_alive", non_negative_float, 75.0,
            "seconds an idle keep-alive connection is kept (Rocket's `timeout`); 0 = never closed; "
            "75 outlasts the idle keep-alive of the proxies usually in front (nginx's upstream "
            "keepalive_timeout and cloud balancers' 60 s), so the proxy, not Rocket, closes an "
            "idle connection and never reuses one Rocket just closed",
            "timeouts and limits", compat_default=600.0),
    Setting("header_timeout", non_negative_float, 10.0,
            "seconds a request head may take in total: from accept for a new connection, from "
            "its first byte otherwise (Rocket's SOCKET_TIMEOUT); 0 = no bound", "timeouts and limits"),
    Setting("body_timeout", non_negative_float, 10.0,
            "seconds to wait for each piece of a request body and for each send",
            "timeouts and limits"),
    Setting("linger", non_negative_float, 0.05,
            "seconds a worker waits for the next request before parking the connection in the "
            "monitor; long enough to keep busy clients on their thread, short enough that idle "
            "ones never pin it", "timeouts and limits"),
    Setting("tls_handshake_timeout", non_negative_float, 5.0,
            "seconds a client gets to finish the TLS handshake; a silent client is cut after it",
            "TLS"),
    Setting("body_min_rate", byte_rate, 240.0,
            "bytes/s a request body must average once min_rate_grace passed (408 below it); "
            "240 as Kestrel: cuts trickling clients, spares slow links; 0 = no floor",
            "timeouts and limits"),
    Setting("send_min_rate", byte_rate, 240.0,
            "bytes/s a client must read a response at, averaged once min_rate_grace passed "
            "while sends wait on it (the connection closes below it); 0 = no floor",
            "timeouts and limits"),
    Setting("min_rate_grace", non_negative_float, 5.0,
            "seconds before body_min_rate and send_min_rate apply; 5 as Kestrel",
            "timeouts and limits"),
    Setting("close_drain_time", non_negative_float, 30.0,
            "seconds in total the monitor reads and discards what a client still sends after "
            "an answer that closes the connection, so it reads the answer, not a reset; 30 as "
            "nginx's lingering_time", "timeouts and limits"),
    Setting("close_drain_timeout", non_negative_float, 5.0,
            "seconds of silence that end that draining early; 5 as nginx's lingering_timeout",
            "timeouts and limits"),
    Setting("http2", auto_switch, "auto",
            "serve HTTP/2: ALPN h2 on TLS listeners, the h2c preface on plain ones; auto = on "
            "when the http2 extra (the h2 package) is installed", "HTTP/2"),
    Setting("http2_max_concurrent_streams", positive_int, 100,
            "streams one HTTP/2 connection may have open at once (advertised in SETTINGS)",
            "HTTP/2"),
    Setting("http2_max_threads", positive_int, 8,
            "worker threads one HTTP/2 connection may use at once (its other streams queue); "
            "8: a computing app is no faster past it (measured, docs/http2.md) and 16 such "
            "connections fit the default max_threads", "HTTP/2"),
    Setting("http2_stream_window", byte_count, 256 * 1024,
            "bytes of request body a stream may send ahead of the application's reads (its "
            "flow control window)", "HTTP/2"),
    Setting("http2_max_header_list_size", byte_count, 65536,
            "bytes of one decoded header list (HPACK bombs and CONTINUATION floods end in "
            "GOAWAY)", "HTTP/2"),
    Setting("http2_max_resets_per_s", positive_int, 100,
            "streams a client may reset per second before GOAWAY ENHANCE_YOUR_CALM (the "
            "rapid reset attack, CVE-2023-44487)", "HTTP/2"),
    Setting("certfile", optional_path, None, "PEM certificate chain for every TCP interface",
            "TLS"),
    Setting("keyfile", optional_path, None, "PEM private key for certfile", "TLS"),
    Setting("ca_certs", optional_path, None, "CA bundle to verify optional client certificates",
            "TLS"),
    Setting("ciphers", optional_str, None,
            "OpenSSL cipher string; unset = Python's defaults", "TLS"),
    Setting("max_request_line", byte_count, 8190,
            "bytes in the request line (414); 8 KiB as Apache, nginx and gunicorn",
            "timeouts and limits"),
    Setting("max_field_bytes", byte_count, 8190,
            "bytes in one header field (431); 8 KiB as Apache", "timeouts and limits"),
    Setting("max_header_bytes", byte_count, 65536,
            "bytes in the whole header block (431); room for large cookies, bounded memory",
            "timeouts and limits"),
    Setting("max_headers", non_negative_int, 100, "header fields per request (431), as Apache",
            "timeouts and limits"),
    Setting("max_chunk_line", byte_count, 4096,
            "bytes in a chunk-size line with extensions; real ones are a few bytes",
            "timeouts and limits"),
    Setting("max_trailer_bytes", byte_count, 8192, "bytes of chunked trailer fields",
            "timeouts and limits"),
    Setting("min_chunk_avg_bytes", byte_count, 256,
            "past a body's first 4096 chunks, the least average chunk size (400 below it), so "
            "a body of tiny chunks cannot burn CPU out of proportion to its bytes; 0 = off",
            "timeouts and limits"),
    Setting("max_body", byte_count, 1 << 30,
            "bytes in a request body (413); 0 = unbounded", "timeouts and limits"),
    Setting("access_log", to_bool, True, "log one line per request to Rocket.Requests",
            "logging"),
    Setting("access_log_format", str, ROCKET_FORMAT,
            "%-style format of the access-log line (Rocket's own line by default)", "logging"),
    Setting("handle_signals", to_bool, True,
            "SIGTERM/SIGINT stop, SIGHUP/SIGUSR1 restart (main thread only)",
            "threads and processes"),
    Setting("workers", positive_int, 1,
            "worker processes; above 1 an arbiter binds the sockets once and supervises them",
            "threads and processes"),
    Setting("reuse_port", to_bool, False,
            "with workers > 1, give each worker its own SO_REUSEPORT socket instead of sharing "
            "one; off by default: the shared, accept-balanced socket measured as fast here "
            "(1.06x reuse_port, 2 workers, keep-alive hello) and loses no queued connection "
            "when a worker exits", "threads and processes"),
    Setting("max_requests", non_negative_int, 0,
            "requests after which a worker process is replaced (bounds leaks); 0 = never; "
            "SocketServer: messages per connection before it is closed", "threads and processes"),
    Setting("max_requests_jitter", non_negative_int, 0,
            "random 0..N added to max_requests per worker so workers do not all restart at once",
            "threads and processes"),
    Setting("graceful_timeout", non_negative_float, 30.0,
            "seconds in-flight requests get to finish when a server or worker stops or "
            "restarts (stop(), SIGTERM, SIGHUP, retirement) before they are cut; 30 as gunicorn",
            "threads and processes"),
    Setting("worker_timeout", non_negative_float, 30.0,
            "seconds one request may go without progress (not finished, no body byte read or "
            "sent, not waiting on its client: a hung app) before the arbiter kills and "
            "replaces its worker process, however many other requests finish; 0 = never; 30 "
            "as gunicorn's timeout",
            "threads and processes"),
    Setting("server_name", optional_str, None,
            "SERVER_NAME in the environ; unset = this host's name", "binding"),
    Setting("concurrency", concurrency_mode, "thread",
            "thread: one process and its thread pool; process: `workers` processes under an "
            "arbiter (workers > 1 implies process whatever this says)", "threads and processes"),
    Setting("max_message_bytes", byte_count, 1 << 20,
            "SocketServer: bytes of one buffered, not yet decoded message (larger closes the "
            "connection); bounds memory per connection; 0 = unbounded", "timeouts and limits"),
    Setting("static", static_mounts, (),
            "static files in front of the app: URL=DIR, with per-mount options after `;` "
            "(display_index, cache_control=..., follow_symlinks, show_dotfiles, "
            "precompressed=off, cache_bytes=SIZE), e.g. /=./site;display_index; the longest URL "
            "wins and owns its whole prefix; repeatable on the command line, where the app may "
            "then be omitted (the API also takes (url, dir[, options]) tuples)", "static"),
    Setting("profile", optional_path, None,
            "write cProfile stats of the server's threads to this file when it stops (FILE.PID "
            "per worker process); `python -m rocket.bench profile-report FILE` shows the top "
            "functions", "development"),
    Setting("forwarded_allow_ips", trust_list, trust_list(DEFAULT_TRUSTED),
            "peers trusted to speak for the client (X-Forwarded-*, Forwarded, PROXY protocol, "
            "X-Request-ID): addresses, CIDRs, 'unix' for unix-socket peers, '*' for all "
            "(warned at start)",
            "proxies and monitoring"),
    Setting("forwarded_headers", header_family, "x-forwarded",
            "the header family a trusted peer's client details come from: x-forwarded "
            "(X-Forwarded-For/-Proto/-Host/-Port) or forwarded (RFC 7239); the other is removed",
            "proxies and monitoring"),
    Setting("strip_untrusted_forwarded", to_bool, True,
            "remove forwarding headers sent by untrusted peers from the environ, so apps that "
            "read them (Django's SECURE_PROXY_SSL_HEADER) never see a spoofed one",
            "proxies and monitoring"),
    Setting("proxy_protocol", proxy_mode, "off",
            "PROXY protocol header expected before TLS and HTTP: off, v1, v2 or auto (a "
            "trusted peer may send v1, v2 or nothing); believed only from forwarded_allow_ips, "
            "whose header's client becomes REMOTE_ADDR",
            "proxies and monitoring"),
    Setting("request_id", to_bool, False,
            "give each request an id: a trusted peer's valid X-Request-ID or a new one; passed "
            "as HTTP_X_REQUEST_ID, echoed in the response and the %(request_id)s log atom",
            "proxies and monitoring"),
    Setting("health_path", optional_url_path, None,
            "a path (e.g. /healthz) the server answers itself, without the app: 200, or 503 "
            "while the server drains",
            "proxies and monitoring"),
    Setting("health_log", to_bool, False, "write health_path requests to the access log",
            "proxies and monitoring"),
    Setting("drain_grace", non_negative_float, 0.0,
            "seconds a graceful stop (SIGTERM) keeps serving with health_path answering 503 "
            "before it closes the listeners, so a balancer stops sending first",
            "proxies and monitoring"),
    Setting("metrics_bind", optional_tcp_bind, None,
            "HOST:PORT of a separate listener serving Prometheus metrics at /metrics, summed "
            "over worker processes (needs the metrics extra); None = off",
            "proxies and monitoring"),
    Setting("connection_made", optional_hook, None,
            "hook connection_made(conn), called when a connection is first served "
            "(a callable or MODULE:NAME)", "hooks"),
    Setting("pre_request", optional_hook, None,
            "hook pre_request(conn, message) before each request or message is handled", "hooks"),
    Setting("post_request", optional_hook, None,
            "hook post_request(conn, message, reply) after it was answered (reply is None "
            "for HTTP: the response is already sent)", "hooks"),
    Setting("connection_lost", optional_hook, None,
            "hook connection_lost(conn, exc) once the connection is closed; exc is what "
            "ended it when known (a decode error, a reset), else None", "hooks"),
]

SETTINGS_BY_NAME: Dict[str, Setting] = {s.name: s for s in SETTINGS}
ALIASES = {"timeout": "keep_alive", "interfaces": "bind"}
"""Rocket's names for settings of the table."""


class Config:
    """Validated settings; attributes by setting name (``config.max_threads``)."""

    def __init__(self, *, compatible: bool = False, **kwargs: Any) -> None:
        for alias, name in ALIASES.items():
            if alias in kwargs:
                if name in kwargs:
                    raise ConfigError(f"give either {alias!r} or {name!r}, not both")
                kwargs[name] = kwargs.pop(alias)
        unknown = sorted(set(kwargs) - set(SETTINGS_BY_NAME))
        if unknown:
            raise ConfigError(f"unknown setting {unknown[0]!r}; known settings: "
                              + ", ".join(sorted(SETTINGS_BY_NAME)))
        self.explicit = frozenset(kwargs)
        self.compatible = compatible
        """True for the compatibility APIs: unset settings take their ``compat_default``."""
        for setting in SETTINGS:
            value = kwargs.get(setting.name, setting.default_for(compatible))
            if setting.name in kwargs:
                value = convert(setting, value)
            setattr(self, setting.name, value)
        self._check()

    @property
    def timeout(self) -> float:
        """Rocket's name for ``keep_alive``."""
        return self.keep_alive  # type: ignore[attr-defined,no-any-return]

    def _check(self) -> None:
        c: Any = self
        if c.max_threads and c.min_threads > c.max_threads and "max_threads" not in c.explicit:
            c.max_threads = c.min_threads  # MIN alone (--threads 500) raises the default bound
        if c.max_threads and c.min_threads > c.max_threads:
            raise ConfigError(f"min_threads ({c.min_threads}) exceeds max_threads "
                              f"({c.max_threads}); lower min_threads or raise max_threads "
                              "(0 = unbounded)")
        if (c.keyfile is None) != (c.certfile is None):
            raise ConfigError("certfile and keyfile must be given together")
        if c.ca_certs is not None and c.certfile is None:
            raise ConfigError("ca_certs (client certificates) needs certfile and keyfile")
        if c.header_timeout and c.linger > c.header_timeout:
            raise ConfigError(f"linger ({c.linger}) must not exceed header_timeout "
                              f"({c.header_timeout})")
        if c.http2 != "false":
            import importlib.util

            has_h2 = importlib.util.find_spec("h2") is not None
            if c.http2 == "true" and not has_h2:
                raise ConfigError("http2 = true needs the h2 package: "
                                  "pip install 'rocket-wsgi[http2]'")
            c.http2 = "true" if has_h2 else "false"
        if c.certfile is not None:
            c.bind = tuple(i if i.secure or i.unix_path is not None
                           else i._replace(keyfile=c.keyfile, certfile=c.certfile,
                                           ca_certs=c.ca_certs) for i in c.bind)

    def limits(self) -> Any:
        """The parser ``Limits`` built from the max_* settings."""
        from rocket.http.parser import Limits

        return Limits(**{name: getattr(self, name) for name in LIMIT_FIELDS})

    def as_dict(self) -> Dict[str, Any]:
        """Every setting and its value."""
        return {s.name: getattr(self, s.name) for s in SETTINGS}

    def __repr__(self) -> str:
        changed = ", ".join(f"{n}={getattr(self, n)!r}" for n in sorted(self.explicit))
        return f"Config({changed})"


LIMIT_FIELDS = ("max_request_line", "max_field_bytes", "max_header_bytes", "max_headers",
                "max_chunk_line", "max_trailer_bytes", "max_body", "min_chunk_avg_bytes")


def convert(setting: Setting, value: Any) -> Any:
    """Run a row's converter; any failure becomes a ConfigError naming the setting."""
    try:
        return setting.converter(value)
    except (TypeError, ValueError) as exc:
        doc = (setting.converter.__doc__ or "").strip().splitlines()[0:1]
        form = doc[0] if doc else setting.help
        raise ConfigError(f"setting {setting.name!r}: {exc} (expected {form})") from None
