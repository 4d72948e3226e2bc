"""The WSGI worker: runs a PEP 3333 application for each request.

How it works
------------
``handle_request`` builds the environ (a copy of a per-connection base dict plus the request
line and headers), calls the application with a per-request :class:`Exchange` (which holds
``start_response`` and ``write``), sends what the application returns and calls its
``close()``. The head goes out with the first non-empty body block — a single-block result
goes out as head + body in one ``sendall``. Framing comes from the response writer:
Content-Length when known, else chunked on HTTP/1.1 or close-delimited on HTTP/1.0.

If the application fails before the head is sent, the client gets a 500 (or the status of
the body error it hit, such as 413) and the connection closes; after the head, the
connection is closed so the client sees a truncated message, never a wrong one. Either way
the traceback goes to ``Rocket.Errors.<thread>`` and the server goes on serving.
"""

from __future__ import annotations

import logging
import threading
from time import perf_counter
from typing import Any, Optional, Tuple

from rocket import accesslog
from rocket.http.errorpage import error_response
from rocket.http.errors import HTTPError, InternalServerError, InvalidResponse
from rocket.http.events import Request
from rocket.http.trust import DEFAULT_TRUSTED, trust_list
from rocket.http.writer import ResponseHead, plan_response
from rocket.metrics.recorder import STARTED, Recorder, record
from rocket.workers.access import AccessLine
from rocket.workers.base import HTTPWorker, WorkerContext, error_logger
from rocket.workers.environ import (
    build_environ,
    connection_environ,
    forwarding_keys,
    listener_environ,
)
from rocket.workers.exchange import DRAIN_MAX_BYTES, Exchange, WSGIViolation
from rocket.workers.filewrapper import FileWrapper
from rocket.workers.forwarding import Forwarding
from rocket.workers.input import EMPTY_INPUT, WSGIInput
from rocket.workers.requestid import RequestIds

__all__ = ["WSGIWorker", "WSGIViolation", "DRAIN_MAX_BYTES"]

_DEFAULT_LOG_FORMAT = '%(client_ip)s - "%(request_line)s" - %(status)s %(size)s'
_INFO = logging.INFO
# Blocks of a list result are joined into writes of about this size. Measured on the 1 MiB
# benchmark (16 x 64 KiB): 1 MiB writes cost ~360 us/request, 64 KiB ~430, 256 KiB ~520; the
# joined copy is transient (one per busy thread) and bounded by this size.
_COALESCE_BYTES = 1024 * 1024
# From this total on, a list of at most _GATHER_MAX_BLOCKS blocks goes out as it is, gathered
# (sendmsg) on a plain socket: no joined copy at all. On the 1 MiB benchmark (16 x 64 KiB):
# user time 70 -> 24 us per request on CPython, 104 -> 41-52 us on PyPy, whose peak RSS fell
# from 1.4 GiB (the joined copies, freed by its GC only later) to 241 MiB. Below it, joining
# the few blocks costs less than gathering them.
_GATHER_BYTES = 256 * 1024
_GATHER_MAX_BLOCKS = 64
_access_log = logging.getLogger("Rocket.Requests")
# Listening addresses whose environ part is kept (a server has a few; an address per unix
# socket peer or per ephemeral test listener must not grow it without bound).
_LISTENER_ENVIRONS_MAX = 64


class _ThreadState(threading.local):
    """Per thread: the metrics counters, the progress record."""

    counters: Any = None  # this thread's metrics counters
    progress: Any = None  # this thread's ThreadProgress (the worker's tracker)


class WSGIWorker(HTTPWorker):
    """Serves ``app_info['wsgi_app']``; ``app_info['futures']`` adds ``wsgiorg.executor``."""

    def __init__(self, app_info: Optional[dict], context: Optional[WorkerContext] = None) -> None:
        super().__init__(app_info, context)
        app = self.app_info.get("wsgi_app")
        if not callable(app):
            raise TypeError(f"app_info['wsgi_app'] must be a WSGI callable, got {app!r}")
        self.app = app
        context = self.context
        self.shared_environ = {
            "SCRIPT_NAME": "",
            "SERVER_NAME": context.server_name,
            "SERVER_SOFTWARE": context.software,
            "GATEWAY_INTERFACE": "CGI/1.1",
            "wsgi.version": (1, 0),
            "wsgi.multithread": context.setting("max_threads", 0) != 1,
            "wsgi.multiprocess": context.setting("workers", 1) > 1,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
            "wsgi.file_wrapper": FileWrapper,
        }
        self.executor = None
        if self.app_info.get("futures"):
            from rocket.workers.futures import WSGIExecutor

            self.executor = self.app_info.get("executor")
            if self.executor is None:
                self.executor = self.app_info["executor"] = WSGIExecutor()
            self.shared_environ["wsgiorg.executor"] = self.executor
            self.shared_environ["wsgiorg.futures"] = self.executor.futures
        self.access_log_on = bool(context.setting("access_log", True))
        self.access_log_format = context.setting("access_log_format", _DEFAULT_LOG_FORMAT)
        self.access_line = AccessLine(self.access_log_format)
        self.forwarding = Forwarding(
            context.setting("forwarded_allow_ips", None) or trust_list(DEFAULT_TRUSTED),
            context.setting("forwarded_headers", "x-forwarded"),
            bool(context.setting("strip_untrusted_forwarded", True)))
        self.request_ids = RequestIds() if context.setting("request_id", False) else None
        health = context.setting("health_path", None)
        self.health_target: Optional[bytes] = health.encode("latin-1") if health else None
        self.health_log = bool(context.setting("health_log", False))
        self.metrics: Optional[Recorder] = None
        """Per-request counters (``metrics_bind``); None: metrics cost one test per request."""
        if context.setting("metrics_bind", None) is not None:
            self.metrics = Recorder()
        self.timed = self.metrics is not None or self.access_line.timed
        self._local = _ThreadState()
        self.plans: dict = {}
        self.last_plan: Optional[tuple] = None
        """The head planned last (:meth:`Exchange.plan`): (Date, status, method, HTTP version,
        keep-alive, body length, headers, head)."""
        self.listener_environs: dict = {}
        """(listening address, TLS) -> :func:`~rocket.workers.environ.listener_environ`."""

    def close(self) -> None:
        """Shut down the futures executor, if this worker created one."""
        if self.executor is not None:
            self.executor.shutdown(wait=False)

    def _base(self, conn: Any) -> Tuple[dict, bool]:
        """The connection's base environ and whether its peer is trusted (forwarding), made
        once per connection and kept on it (``environ_base``), from its listener's part
        (made once per listening address and scheme, ``listener_environs``)."""
        key = (conn.server_addr, conn.secure)
        template = self.listener_environs.get(key)
        if template is None:
            template = listener_environ(self.shared_environ, key[0], key[1])
            if len(self.listener_environs) < _LISTENER_ENVIRONS_MAX:
                self.listener_environs[key] = template
        kept = (connection_environ(template, conn), self.forwarding.peer_trusted(conn))
        try:
            conn.environ_base = kept
        except AttributeError:  # a connection class without the slot: made per request
            pass
        return kept

    def handle_request(self, conn: Any, request: Request) -> bool:
        """Run the application for ``request``; True when the connection may be reused."""
        local = self._local
        kept = getattr(conn, "environ_base", None)
        base, trusted = kept if kept is not None else self._base(conn)
        health = self.health_target
        if health is not None and (request.target == health
                                   or request.target.startswith(health + b"?")):
            return self._health(conn, request, base)
        started = perf_counter() if self.timed else 0.0
        metrics = self.metrics
        if metrics is not None:
            counters = local.counters
            if counters is None:
                counters = local.counters = metrics.thread_counters()
            counters[STARTED] += 1
        environ = build_environ(base, request)
        forwarded = forwarding_keys(environ)
        if forwarded:
            self.forwarding.apply(environ, trusted, forwarded)
        progress = local.progress
        if progress is None:
            progress = local.progress = self.progress.mine()
        exchange = Exchange(self, conn, request, progress)
        start_response = exchange.start_response
        if self.request_ids is not None:
            start_response = _echoing(start_response, self.request_ids.assign(environ,
                                                                              trusted))
        if request.chunked or request.content_length:
            inp = exchange.input = WSGIInput(
                conn, self.body_timeout_s,
                exchange.send_continue if request.expect_continue else None, progress,
            )
            environ["wsgi.input"] = inp
        else:
            environ["wsgi.input"] = EMPTY_INPUT
            conn.reader.next_event()  # the EndOfMessage of a body-less request
        if self.executor is not None:
            self.executor.futures.purge()
        result = None
        try:
            result = self.app(environ, start_response)
            keep_alive = self._send(exchange, result)
        except Exception as exc:
            if exchange.peer_gone or (exc is exchange.input.error and isinstance(exc, OSError)):
                raise  # an OSError from the socket: the request loop closes quietly
            keep_alive = False
            self._failed(exchange, exc)
        finally:
            close = None if result.__class__ is list else getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    keep_alive = False
                    error_logger().exception("close() of the application's result raised")
        if self.access_log_on and (accesslog.active is not None
                                   or _access_log.isEnabledFor(_INFO)):
            self._log_access(conn, exchange, environ, started)
        inp = exchange.input
        if keep_alive and inp is not EMPTY_INPUT and not inp.at_eof:
            keep_alive = inp.drain(DRAIN_MAX_BYTES)
        if metrics is not None:
            head = exchange.head
            record(counters, request.method, head.status_code if head is not None else None,
                   perf_counter() - started, 0 if inp is EMPTY_INPUT else inp.received,
                   exchange.body_sent)
        return keep_alive

    def _health(self, conn: Any, request: Request, base: dict) -> bool:
        """Answer ``health_path`` without the app: 200, or 503 while shedding (draining)."""
        shedding = self.context.is_shedding()
        body = b"draining\n" if shedding else b"ok\n"
        status = "503 Service Unavailable" if shedding else "200 OK"
        has_body = bool(request.chunked or request.content_length)
        head = plan_response(request.method, request.http_version,
                             request.keep_alive and not shedding and not has_body, status,
                             [("Content-Type", "text/plain"), ("Cache-Control", "no-store"),
                              ("Content-Length", str(len(body)))], len(body),
                             self.server_header)
        conn.sendall(head.data if head.framing == "none" else head.data + body)
        if not has_body:
            conn.reader.next_event()  # the EndOfMessage of a body-less request
        if self.health_log and self.access_log_on:
            exchange = Exchange(self, conn, request, None)  # for the access line only
            exchange.head = head
            exchange.body_sent = 0 if head.framing == "none" else len(body)
            self._log_access(conn, exchange, base, 0.0)
        return head.keep_alive

    def _send(self, exchange: Exchange, result: Any) -> bool:
        cls = result.__class__
        if (cls is list or cls is tuple) and len(result) == 1:
            block = result[0]
            if block.__class__ is bytes and exchange.head is None:
                head = exchange.head = exchange.plan(len(block))
                if head.framing == "length" and head.content_length == len(block):
                    exchange.send(head.data + block)
                    exchange.body_sent = len(block)
                    return head.keep_alive
                if head.framing == "none":
                    exchange.send(head.data)
                    return head.keep_alive
                exchange.head = None
        elif (cls is list or cls is tuple) and exchange.head is None and exchange.status:
            sized = self._send_sized_sequence(exchange, result)
            if sized is not None:
                return sized
        elif cls is FileWrapper:
            return self._send_file(exchange, result)
        elif result is None or cls is str or cls is bytes:
            raise WSGIViolation(
                f"the application returned {type(result).__name__}; PEP 3333 requires an "
                "iterable of bytestrings (e.g. [body])"
            )
        if exchange.request.method == b"HEAD" and exchange.status is not None:
            return exchange.finish()  # no body for HEAD: do not even iterate
        return self._send_blocks(exchange, result)

    def _send_blocks(self, exchange: Exchange, blocks: Any) -> bool:
        """Send the blocks of an iterable until it ends or no more body can be sent; an
        endless iterable is then left for its ``close()`` (PEP 3333), which follows."""
        write = exchange.write
        for block in blocks:
            if not write(block):
                break
        return exchange.finish()

    def _send_sized_sequence(self, exchange: Exchange, blocks: Any) -> Optional[bool]:
        """Send a list of bytes blocks with a known total in few large writes.

        Every block already exists, so joining them delays nothing (PEP 3333 forbids holding
        back a block while the app produces the next one); fewer, larger ``sendall`` calls
        cost less than one per block. Returns None when the general path must be used.
        """
        total = 0
        for block in blocks:
            if block.__class__ is not bytes:
                return None
            total += len(block)
        head = exchange.plan(total)
        if head.framing != "length" or head.content_length != total:
            if head.framing == "none":
                exchange.head = head
                exchange.send(head.data)
                return head.keep_alive
            return None
        exchange.head = head
        if (total >= _GATHER_BYTES and len(blocks) <= _GATHER_MAX_BLOCKS
                and getattr(exchange.conn, "gathers", False)):
            exchange.send([head.data, *blocks])
            exchange.body_sent = total
            return head.keep_alive
        pending = [head.data]
        size = 0
        for block in blocks:
            pending.append(block)
            size += len(block)
            if size >= _COALESCE_BYTES:
                exchange.send(b"".join(pending))
                pending = []
                size = 0
        if pending:
            exchange.send(b"".join(pending))
        exchange.body_sent = total
        return head.keep_alive

    def _send_file(self, exchange: Exchange, wrapper: FileWrapper) -> bool:
        span = wrapper.sendfile_span()
        if span is None or exchange.status is None or exchange.head is not None:
            return self._send_blocks(exchange, wrapper)
        head = exchange.head = exchange.plan(span)
        if head.framing == "none":
            exchange.send(head.data)
            return head.keep_alive
        if head.framing != "length":
            exchange.head = None
            return self._send_blocks(exchange, wrapper)
        exchange.send(head.data)
        count = min(span, head.content_length)
        if count:
            exchange.body_sent = exchange.sendfile(wrapper.filelike, wrapper.offset, count)
        if span > head.content_length:
            error_logger().warning(
                "file is larger than the application's Content-Length %s; body truncated",
                head.content_length,
            )
        return exchange.finish()

    def _failed(self, exchange: Exchange, exc: Exception) -> None:
        log = error_logger()
        if isinstance(exc, WSGIViolation):
            log.error("WSGI rule broken by %r: %s", self.app, exc)
        elif isinstance(exc, HTTPError) and exchange.input.error is exc:
            log.info("request body failed: %s", exc.message)
        else:
            log.error("the application raised an exception", exc_info=exc)
        if exchange.head is not None:  # the head is out: closing is the only honest answer
            cut = getattr(exchange.conn, "cut_response", None)  # an HTTP/2 stream: reset it
            if cut is not None:
                cut()
            return
        error = exc if isinstance(exc, HTTPError) and not isinstance(exc, InvalidResponse) \
            else InternalServerError()
        body = (error.reason + "\n").encode("latin-1")
        request = exchange.request
        data = error_response(error.status, error.reason, body, request.http_version,
                              self.server_header, "text/plain", request.method == b"HEAD")
        # Recorded as sent for the access log, which reads its status and size.
        exchange.head = ResponseHead(data, "length", False, error.status, len(body))
        exchange.body_sent = len(body)
        try:
            exchange.send(data)
        except OSError:
            pass  # the peer is gone; the connection is closed by the request loop

    def _log_access(self, conn: Any, exchange: Exchange, environ: dict,
                    started: float) -> None:
        try:
            line = self.access_line.render(conn, exchange, environ, started,
                                           self.request_ids is not None)
        except (KeyError, ValueError, TypeError) as exc:
            self.access_log_on = False
            error_logger().error("access_log_format %r is unusable (%r); access log disabled",
                                 self.access_log_format, exc)
            return
        writer = accesslog.active
        if writer is not None:
            writer.write(line)
        else:
            _access_log.info(line)


def _echoing(start_response: Any, request_id: str) -> Any:
    """``start_response`` that adds ``X-Request-ID: request_id`` to the application's headers."""
    def echo(status: str, headers: list, exc_info: Any = None) -> Any:
        if headers.__class__ is list:
            headers = headers + [("X-Request-ID", request_id)]
        return start_response(status, headers, exc_info)
    return echo
